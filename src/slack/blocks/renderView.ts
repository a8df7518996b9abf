// Every View the core emits, as a Slack message: fallback text (notifications, screen readers) plus blocks.
import type { View } from '../../core/ports.js';
import { renderDetail } from './detail.js';
import { renderHistory, renderHistoryPages } from './history.js';
import { noticeText } from '../../labels.js';
import { type Block, clip, LIMITS, section, words } from './kit.js';
import { renderPlan, type RenderOptions } from './plan.js';
import { renderNothingToChange, renderRefusedPlan } from './refusals.js';
import { renderReport } from './report.js';
import { renderRun } from './run.js';

export type { Block, RenderOptions };

export function renderView(view: View, opts: RenderOptions = { command: '/lync-exo' }): { text: string; blocks: Block[] } {
  const out = renderKind(view, opts);
  return { text: clip(out.text, LIMITS.fallback), blocks: out.blocks };
}

/** A view as one or more messages: history pages; everything else is one message. */
export function renderViewPages(view: View, opts: RenderOptions = { command: '/lync-exo' }): { text: string; blocks: Block[] }[] {
  if (view.kind !== 'history') return [renderView(view, opts)];
  return renderHistoryPages(view.requests, view.runs, view.names).map((p) => ({ text: clip(p.text, LIMITS.fallback), blocks: p.blocks }));
}

function renderKind(view: View, opts: RenderOptions): { text: string; blocks: Block[] } {
  switch (view.kind) {
    case 'plan':
      return renderPlan(view.request, view.rule, view.dryRun, opts, view.run);
    case 'refused-plan':
      return renderRefusedPlan(view.runbook, view.requester, view.plan);
    case 'nothing-to-change':
      return renderNothingToChange(view.runbook, view.requester, view.plan, opts.command, view.verify);
    case 'run':
      return renderRun(view.run, view);
    case 'report':
      return renderReport(view);
    case 'history':
      return renderHistory(view.requests, view.runs, view.names);
    case 'detail':
      return renderDetail(view);
    case 'notice': {
      const text = words((m) => noticeText(view.notice, m));
      return { text, blocks: [section(text)] };
    }
    case 'text':
      return { text: view.text, blocks: [section(view.text)] };
  }
}
