// The run message, updated in place as the run goes: per-step status, cmdlets, replicas, Edge comparison, verdict.
import type { RunOutcome } from '../../core/notices.js';
import type { RunRecord, RunStatus } from '../../core/records.js';
import { outcomeText, RUN_STATUS_WORDS } from '../../labels.js';
import { assemble, type Block, context, duration, esc, escText, header, section, slackDate, user, words } from './kit.js';
import { stepBlock } from './steps.js';
import { targetFields } from './plan.js';

const VERDICT_EMOJI: Record<RunStatus, string> = {
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  refused: ':no_entry:',
  interrupted: ':warning:',
  stopped: ':octagonal_sign:',
};
const verdict = (status: RunStatus) => `${VERDICT_EMOJI[status]} *${RUN_STATUS_WORDS[status]}*`;

export function renderRun(run: RunRecord, about: { outcome?: RunOutcome; note?: string } = {}): { text: string; blocks: Block[] } {
  const took = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined;
  const head: Block[] = [
    header(`Run ${run.id}: ${run.runbook} — ${run.status}`),
    section(
      `Requested by ${user(run.requester)} · approved by ${run.approvers.length ? run.approvers.map(user).join(', ') : '(nobody)'} · request \`${esc(run.requestId)}\`\n` +
        targetFields(run.deployment, run.values),
    ),
  ];
  const body = run.steps.map(stepBlock);
  const { outcome, note } = about;
  const summary = outcome ? words((m) => outcomeText(outcome, m)) : run.summary && escText(run.summary);
  const tail: Block[] = [
    section(`${verdict(run.status)}${summary ? `: ${summary}` : ''}`),
    ...(note && run.status === 'succeeded' ? [section(`:information_source: *Besides*: ${escText(note)}`)] : []),
    context(
      `Run \`${esc(run.id)}\``,
      `Started ${slackDate(run.startedAt)}${run.finishedAt ? ` · finished ${slackDate(run.finishedAt)} (${duration(took)})` : ''}`,
    ),
  ];
  const said = outcome ? words((m) => outcomeText(outcome, m)) : run.summary;
  return { text: `Run ${run.id} (${run.runbook}) for <@${run.requester}>: ${run.status}${said ? ` — ${said}` : ''}`, blocks: assemble(head, body, tail, 'steps') };
}
