// The run message, updated in place as the run goes: per-step status, cmdlets, replicas, Edge comparison, verdict.
import type { RunRecord, RunStatus } from '../../core/records.js';
import { assemble, type Block, context, duration, esc, escText, header, section, slackDate, user } from './kit.js';
import { stepBlock } from './steps.js';
import { targetFields } from './plan.js';

const VERDICT: Record<RunStatus, string> = {
  running: ':arrows_counterclockwise: *Running*',
  succeeded: ':white_check_mark: *Succeeded*',
  failed: ':x: *Failed*',
  refused: ':no_entry: *Refused*',
  interrupted: ':warning: *Interrupted*',
  stopped: ':octagonal_sign: *Stopped*',
};

export function renderRun(run: RunRecord): { text: string; blocks: Block[] } {
  const took = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined;
  const head: Block[] = [
    header(`Run ${run.id}: ${run.runbook} — ${run.status}`),
    section(
      `Requested by ${user(run.requester)} · approved by ${run.approvers.length ? run.approvers.map(user).join(', ') : '(nobody)'} · request \`${esc(run.requestId)}\`\n` +
        targetFields(run.deployment, run.values),
    ),
  ];
  const body = run.steps.map(stepBlock);
  const tail: Block[] = [
    section(`${VERDICT[run.status]}${run.summary ? `: ${escText(run.summary)}` : ''}`),
    context(
      `Run \`${esc(run.id)}\``,
      `Started ${slackDate(run.startedAt)}${run.finishedAt ? ` · finished ${slackDate(run.finishedAt)} (${duration(took)})` : ''}`,
    ),
  ];
  return { text: `Run ${run.id} (${run.runbook}) for <@${run.requester}>: ${run.status}${run.summary ? ` — ${run.summary}` : ''}`, blocks: assemble(head, body, tail, 'steps') };
}
