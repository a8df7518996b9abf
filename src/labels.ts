// The words of lync-exo, for every front end: what each notice and run outcome says, the names of plan actions and
// run states. Slack and the console both read this table and differ only in their marks (how a person, a channel,
// a user group or a piece of code is shown: `<@U…>` in Slack, `@alice` in a terminal).
import type { Approvers, Notice, RunOutcome, UsageRow } from './core/notices.js';
import type { DeliveryProblem } from './core/ports.js';
import type { RunStatus } from './core/records.js';

export interface Marks {
  user(id: string): string;
  channel(id: string): string;
  group(id: string): string;
  /** inline code: a command to type, an id */
  code(text: string): string;
}

/** What each plan action is called, with its sign. */
export const ACTION_WORDS: Record<string, string> = { create: '+ create', change: '~ change', 'no-op': '= no-op', replace: '-/+ replace', remove: '- remove' };

/** A run's status as its verdict reads. */
export const RUN_STATUS_WORDS: Record<RunStatus, string> = {
  running: 'Running',
  succeeded: 'Succeeded',
  failed: 'Failed',
  refused: 'Refused',
  interrupted: 'Interrupted',
  stopped: 'Stopped',
};

export function approversText(a: Approvers, m: Marks): string {
  return [...a.users.map((u) => m.user(u)), ...a.groups.map((g) => m.group(g))].join(', ');
}

/** Why the bot cannot post in a channel, and what to do; undefined for problems that pass by themselves. */
export function deliveryProblemText(problem: DeliveryProblem, channel: string, m: Marks): string | undefined {
  switch (problem) {
    case 'not_in_channel':
      return `lync-exo is not a member of ${m.channel(channel)}, so it cannot post the plan there. Invite it with ${m.code('/invite @lync-exo')} in that channel, or use the channel configured for lync-exo`;
    case 'channel_not_found':
      return `lync-exo cannot see ${m.channel(channel)} (a private channel it was not added to, or a channel that no longer exists). Add the app to the channel, or use the channel configured for lync-exo`;
    case 'is_archived':
      return `${m.channel(channel)} is archived, so lync-exo cannot post there. Unarchive it, or use the channel configured for lync-exo`;
    case 'message_not_found':
      return 'the message lync-exo wanted to update was deleted; it posts a new one instead';
    default:
      return undefined;
  }
}

function usageLine(command: string, s: UsageRow): string {
  return [command, s.name, s.usage].filter(Boolean).join(' ');
}

/** One line per subcommand: its usage as code, what it does, and whether it needs approval. */
export function helpLines(command: string, subcommands: UsageRow[], m: Marks): string[] {
  return [`usage of ${command}:`, ...subcommands.map((s) => `${m.code(usageLine(command, s))}: ${s.summary}${s.approval ? ' (needs approval)' : ''}`), `${m.code(`${command} help SUBCOMMAND`)} (or ${m.code('SUBCOMMAND --help')}) shows one subcommand's options`];
}

/** One subcommand: usage, what it does, and each option with its values and default. */
export function usageLines(command: string, s: UsageRow, m: Marks): string[] {
  const lines = [`usage: ${m.code(usageLine(command, s))}`, `${s.summary}${s.approval ? ' (needs approval)' : ''}`];
  if (s.options.length) lines.push('options:', ...s.options.map((o) => `  ${m.code(`--${o.name} ${o.placeholder}`)}: ${o.description} (default: ${o.default})`));
  return lines;
}

const more = (n: number) => `${n} more approval${n === 1 ? '' : 's'}`;

/** What the core said, in words. */
export function noticeText(n: Notice, m: Marks): string {
  switch (n.code) {
    case 'bad-command':
      return `${n.problem}${n.usage ? `; usage: ${m.code(n.usage)}` : ''}`;
    case 'unknown-subcommand':
      if (n.guess) return `unknown subcommand ${n.word}; did you mean ${m.code(n.guess)}?${n.usage ? ` usage: ${m.code(n.usage)}` : ''}`;
      return `unknown subcommand ${n.word}; subcommands: ${(n.known ?? []).join(', ')} (${m.code(`${n.command ?? '/lync-exo'} help`)} shows their usage)`;
    case 'bad-option':
      return n.problem;
    case 'help':
      return helpLines(n.command, n.subcommands, m).join('\n');
    case 'usage':
      return usageLines(n.command, n.subcommand, m).join('\n');
    case 'wrong-channel':
      return `lync-exo does not take requests in this channel; use ${n.channels.map((c) => m.channel(c)).join(' or ')}`;
    case 'not-a-requester':
      return 'you are not on the list of people who may request changes with lync-exo';
    case 'group-unreadable':
      return `could not read the members of user group ${n.group}, so the request is refused: ${n.error}`;
    case 'shutting-down':
      return 'lync-exo is shutting down and takes no new changes; try again in a minute';
    case 'locked':
      return `a change is already running on ${n.holder.deployment}: run ${n.holder.runId} for request ${n.holder.requestId} by ${m.user(n.holder.requester)}, since ${n.holder.since}`;
    case 'read-failed':
      return `could not read the current state${n.planned ? ', so nothing was planned' : ''}: ${n.error}${n.hint ? `\nhint: ${n.hint}` : ''}`;
    case 'plan-not-posted':
      return `${deliveryProblemText(n.problem, n.channel, m) ?? `the plan could not be posted in ${m.channel(n.channel)}: ${n.problem}`}. Request ${n.requestId} was not kept.`;
    case 'plan-delayed':
      return `request ${n.requestId} is saved; Slack did not take its plan message yet, so it appears in ${m.channel(n.channel)} as soon as Slack answers`;
    case 'no-request':
      return `there is no request ${n.requestId}`;
    case 'decide-elsewhere':
      return `request ${n.requestId} was posted in ${m.channel(n.channel)}; decide on it there. Nothing was changed`;
    case 'not-pending':
      return `request ${n.requestId} is already ${n.status}; nothing was changed`;
    case 'self-approval':
      return 'you made this request, so someone else must approve it';
    case 'not-an-approver':
      if (n.action === 'cancel' && n.requester && n.requestId) return `only the requester ${m.user(n.requester)} or an approver can cancel ${n.requestId}`;
      return `you are not an approver for lync-exo${n.action === 'approve' ? '' : `, so you cannot ${n.action} it`} (approvers: ${approversText(n.approvers, m)})`;
    case 'expired':
      return `request ${n.requestId} expired at ${n.expiresAt}; ask for a new plan with ${m.code(`${n.command} ${n.runbook}`)}`;
    case 'already-approved':
      return `you have already approved ${n.requestId}; it needs ${more(n.more)} from someone else`;
    case 'approval-recorded':
      return `approval recorded; ${n.requestId} needs ${more(n.more)}`;
    case 'reason-needed':
      return 'a denial needs a reason';
    case 'cancelled':
      return `request ${n.requestId} is cancelled`;
    case 'no-run':
      return `there is no run ${n.runId}`;
    case 'nothing-to-undo':
      return `there is no change run to ${n.undo}: no run of a change runbook changed anything yet`;
    case 'cannot-undo':
      return `run ${n.runId} is a ${n.runbook} run that ${n.status}; only a run of a change runbook that changed something (succeeded, failed, stopped or interrupted after a change began) can be undone with ${n.undo}`;
    case 'already-undone':
      return (
        `the deployment is already as it was before run ${n.runId} (${n.runbook})${n.by ? `: run ${n.by} rolled it back` : ''}; there is nothing to undo.` +
        (n.report ? ` To see it, run ${m.code(`${n.command} ${n.report}`)}` : '')
      );
  }
}

/** Why a run ended as it did, when the core decided it. */
export function outcomeText(o: RunOutcome, m: Marks): string {
  switch (o.code) {
    case 'lock-held':
      return `not started: run ${o.holder.runId} (request ${o.holder.requestId} by ${m.user(o.holder.requester)}) holds the lock on ${o.holder.deployment}; ask for a new plan when it finishes`;
    case 'changed-since-approval':
      return `the deployment changed after the plan was approved (fingerprint ${o.approved} → ${o.now}); nothing ran. Ask for a new plan with ${o.command} ${o.runbook}`;
    case 'reread-failed':
      return `could not re-read the state before running: ${o.error}`;
    case 'internal-error':
      return `internal error during run ${o.runId}: ${o.error}`;
    case 'interrupted': {
      const cut = o.cut.length ? `; cut off during (may have taken effect): ${o.cut.map((t) => `"${t}"`).join(', ')}` : '';
      return `interrupted: lync-exo stopped during this run; last completed step: ${o.last ? `"${o.last}"` : 'none'}${cut}; not run: ${o.notRun.map((t) => `"${t}"`).join(', ') || 'none'}. It will not be re-run by itself: check with status, then ask again`;
    }
  }
}

/** The one line that says why a run ended: the core's outcome in words, else the run's own summary. */
export function runSummary(run: { outcome?: RunOutcome; summary?: string }, m: Marks): string | undefined {
  return run.outcome ? outcomeText(run.outcome, m) : run.summary;
}
