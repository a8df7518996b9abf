// Every View the core emits, as a Slack message: fallback text (notifications, screen readers) plus blocks, in the
// reader's words (RenderOptions.words: their language).
import type { View } from '../../core/ports.js';
import { renderDetail } from './detail.js';
import { renderHistory, renderHistoryPages } from './history.js';
import { noticeText } from '../../labels.js';
import { type Block, fallback, section } from './kit.js';
import { renderPlan, wordsOf, type RenderOptions } from './plan.js';
import { renderNothingToChange, renderRefusedPlan } from './refusals.js';
import { renderReport } from './report.js';
import { renderRun } from './run.js';

export type { Block, RenderOptions };

export function renderView(view: View, opts: RenderOptions = { command: '/lync-exo' }): { text: string; blocks: Block[] } {
  const out = renderKind(view, opts);
  return { text: fallback(out.text), blocks: out.blocks };
}

/** A view as one or more messages: history pages; everything else is one message. */
export function renderViewPages(view: View, opts: RenderOptions = { command: '/lync-exo' }): { text: string; blocks: Block[] }[] {
  if (view.kind !== 'history') return [renderView(view, opts)];
  return renderHistoryPages(view.requests, view.runs, view.names, wordsOf(opts)).map((p) => ({ text: fallback(p.text), blocks: p.blocks }));
}

function renderKind(view: View, opts: RenderOptions): { text: string; blocks: Block[] } {
  const w = wordsOf(opts);
  switch (view.kind) {
    case 'plan':
      return renderPlan(view.request, view.rule, view.dryRun, opts, view.run, view.window);
    case 'refused-plan':
      return renderRefusedPlan(view.runbook, view.requester, view.plan, w);
    case 'nothing-to-change':
      return renderNothingToChange(view.runbook, view.requester, view.plan, opts.command, view.verify, w);
    case 'run':
      return renderRun(view.run, view, w);
    case 'report':
      return renderReport(view, w, opts.command);
    case 'history':
      return renderHistory(view.requests, view.runs, view.names, w);
    case 'detail':
      return renderDetail(view, w);
    case 'notice': {
      const text = noticeText(view.notice, w);
      return { text, blocks: [section(text)] };
    }
    case 'text':
      return { text: view.text, blocks: [section(view.text)] };
  }
}
