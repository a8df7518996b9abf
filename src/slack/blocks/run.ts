// The run message, updated in place as the run goes: per-step status, cmdlets, replicas, Edge comparison, verdict.
import { withDirectory } from '../../core/identity.js';
import type { RunOutcome } from '../../core/notices.js';
import type { RunRecord } from '../../core/records.js';
import type { Words } from '../../i18n/index.js';
import { runStatusInline, runStatusWord, runSummary } from '../../labels.js';
import { assemble, type Block, context, duration, esc, ENGLISH, header, RUN_EMOJI, section, user } from './kit.js';
import { stepBlock } from './steps.js';
import { targetFields } from './plan.js';


/** `about`: why it ended, when the core decided it, and the runbook's note (the View's, not the record's) */
export function renderRun(run: RunRecord, about: { outcome?: RunOutcome; note?: string } = {}, w: Words = ENGLISH): { text: string; blocks: Block[] } {
  const took = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined;
  // each approver with their directory identity when it was recorded (the audit's words: email, AD account)
  const who = (id: string) => withDirectory(user(id), run.approvedBy?.find((a) => a.user === id), esc);
  const approvers = run.approvers.length ? w.list(run.approvers.map(who)) : w.t('run.nobody');
  const head: Block[] = [
    header(w.t('run.title', { runId: run.id, runbook: run.runbook, status: runStatusInline(run.status, w) })),
    section(`${w.raw('run.by', { requester: user(run.requester), approvers, requestId: esc(run.requestId) })}${run.change ? ` · ${w.t('change.reference', { change: run.change })}` : ''}\n${targetFields(run.deployment, run.values, w)}`),
  ];
  const body = run.steps.map((s) => stepBlock(s, w));
  // core sentences (a run's summary) may carry <@U…> mentions: kept live
  const summary = runSummary({ ...run, ...about }, w)?.replace(/&lt;([@#][UWCG][A-Z0-9]+)&gt;/g, '<$1>');
  const tail: Block[] = [
    section(`${RUN_EMOJI[run.status]} ${w.marks.strong(runStatusWord(run.status, w))}${summary ? `: ${summary}` : ''}`),
    ...(about.note && run.status === 'succeeded' ? [section(`:information_source: ${w.t('besides')}${esc(about.note)}`)] : []),
    context(
      w.t('run.id', { runId: run.id }),
      run.finishedAt ? w.raw('run.started-finished', { started: w.date(run.startedAt), finished: w.date(run.finishedAt), took: duration(took) }) : w.raw('run.started', { started: w.date(run.startedAt) }),
    ),
  ];
  return { text: w.raw(summary ? 'run.fallback.said' : 'run.fallback', { runId: esc(run.id), runbook: esc(run.runbook), requester: user(run.requester), status: runStatusInline(run.status, w), said: summary ?? '' }), blocks: assemble(head, body, tail, w, 'steps') };
}
