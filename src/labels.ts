// What each notice and run outcome says, the names of plan actions, run and step states: for every front end, in
// the reader's language. The sentences live in the catalogues (src/i18n/*.json); this file picks the message for a
// notice and fills in its values. Slack and the console differ only in their marks (`<@U…>` in Slack, `@alice` in a
// terminal), carried by the Words they pass.
import type { Words } from './i18n/index.js';
import type { Approvers, Notice, RunOutcome, UsageRow } from './core/notices.js';
import type { DeliveryProblem } from './core/ports.js';
import type { RequestStatus, RunStatus, StepProblem, StepStatus } from './core/records.js';

export type { Marks, Words } from './i18n/index.js';

const ACTIONS = ['create', 'change', 'no-op', 'replace', 'remove'] as const;
const isAction = (a: string): a is (typeof ACTIONS)[number] => (ACTIONS as readonly string[]).includes(a);

/** What a plan action is called, with its sign: `+ create`. */
export function actionWord(action: string, w: Words): string {
  return isAction(action) ? w.t(`action.${action}`) : w.marks.text(action);
}

/** A run's status as its verdict reads: `Succeeded`. */
export const runStatusWord = (status: RunStatus, w: Words): string => w.t(`run.status.${status}`);

/** A run's status inside a sentence: `succeeded`. */
export const runStatusInline = (status: RunStatus, w: Words): string => w.t(`run.state.${status}`);

/** A step's status: `succeeded`, `already as desired`. */
export const stepStatusWord = (status: StepStatus, w: Words): string => w.t(`step.status.${status}`);

/** A replica's verdict (the core's label, records.ts replicaVerdict) in the reader's words. */
const REPLICA_WORDS = { 'yes (not required)': 'replica.yes-not-required', 'no (not required)': 'replica.no-not-required', 'NO (older update)': 'replica.no-older', yes: 'replica.yes', NO: 'replica.no' } as const;
export function replicaWord(label: string, w: Words): string {
  const key = (REPLICA_WORDS as Record<string, (typeof REPLICA_WORDS)[keyof typeof REPLICA_WORDS]>)[label];
  return key ? w.raw(key) : label;
}

export const requestStatusWord = (status: RequestStatus | 'gone', w: Words): string => w.t(`request.status.${status}`);

/** A step's (or an Edge row's) failure, in the reader's words when the core found it, else the error as written. */
export function stepErrorText(s: { error?: string; problem?: StepProblem }, w: Words): string | undefined {
  if (s.problem) return s.problem.code === 'edge-mismatch' ? w.t('step.problem.edge-mismatch', { agents: w.list(s.problem.agents) }) : w.t(`step.problem.${s.problem.code}`);
  return s.error === undefined ? undefined : w.marks.text(s.error);
}

export function approversText(a: Approvers, w: Words): string {
  return w.list([...a.users.map((u) => w.marks.user(u)), ...a.groups.map((g) => w.marks.group(g))]);
}

/** Why the bot cannot post in a channel, and what to do; undefined for problems that pass by themselves. */
export function deliveryProblemText(problem: DeliveryProblem, channel: string, w: Words): string | undefined {
  const c = w.marks.channel(channel);
  switch (problem) {
    case 'not_in_channel':
      return w.t('delivery.not_in_channel', { channel: c, invite: w.marks.code('/invite @lync-exo') });
    case 'channel_not_found':
    case 'is_archived':
      return w.t(`delivery.${problem}`, { channel: c });
    case 'message_not_found':
      return w.t('delivery.message_not_found');
    default:
      return undefined;
  }
}

function usageLine(command: string, s: UsageRow): string {
  return [command, s.name, s.usage].filter(Boolean).join(' ');
}

const summary = (s: UsageRow, w: Words) => (s.approval ? w.t('help.needsApproval', { summary: s.summary }) : w.marks.text(s.summary));

/** One line per subcommand: its usage as code, what it does, and whether it needs approval. */
export function helpLines(command: string, subcommands: UsageRow[], w: Words): string[] {
  return [
    w.t('help.title', { command }),
    ...subcommands.map((s) => `${w.marks.code(w.marks.text(usageLine(command, s)))}: ${summary(s, w)}`),
    w.t('help.more', { help: w.marks.code(w.marks.text(`${command} help SUBCOMMAND`)), flag: w.marks.code('SUBCOMMAND --help') }),
  ];
}

/** One subcommand: usage, what it does, and each option with its values and default. */
export function usageLines(command: string, s: UsageRow, w: Words): string[] {
  const lines = [w.t('help.usage', { usage: w.marks.code(w.marks.text(usageLine(command, s))) }), summary(s, w)];
  if (s.options.length) {
    lines.push(w.t('help.options'), ...s.options.map((o) => `  ${w.marks.code(w.marks.text(`--${o.name} ${o.placeholder}`))}: ${w.t('help.option', { description: o.description, default: o.default })}`));
  }
  return lines;
}

const code = (w: Words, text: string) => w.marks.code(w.marks.text(text));

/** What the core said, in words. */
export function noticeText(n: Notice, w: Words): string {
  const m = w.marks;
  switch (n.code) {
    case 'bad-command':
      return n.usage ? w.t('notice.bad-command.usage', { problem: n.problem, usage: code(w, n.usage) }) : m.text(n.problem);
    case 'unknown-subcommand':
      if (n.guess) return w.t(n.usage ? 'notice.unknown-subcommand.guess-usage' : 'notice.unknown-subcommand.guess', { word: n.word, guess: code(w, n.guess), usage: code(w, n.usage ?? '') });
      return w.t('notice.unknown-subcommand', { word: n.word, known: (n.known ?? []).join(', '), help: code(w, `${n.command ?? '/lync-exo'} help`) });
    case 'bad-option':
      return m.text(n.problem);
    case 'help':
      return helpLines(n.command, n.subcommands, w).join('\n');
    case 'usage':
      return usageLines(n.command, n.subcommand, w).join('\n');
    case 'wrong-channel':
      return w.t('notice.wrong-channel', { channels: w.list(n.channels.map((c) => m.channel(c)), 'disjunction') });
    case 'not-a-requester':
    case 'shutting-down':
    case 'self-approval':
    case 'reason-needed':
      return w.t(`notice.${n.code}`);
    case 'group-unreadable':
      return w.t('notice.group-unreadable', { group: n.group, error: n.error });
    case 'locked':
      return w.t('notice.locked', { deployment: n.holder.deployment, runId: n.holder.runId, requestId: n.holder.requestId, requester: m.user(n.holder.requester), since: w.date(n.holder.since) });
    case 'change-reference-needed':
      return w.t('notice.change-reference-needed', { change: code(w, `--change ${n.example ?? 'REF'}`), pattern: code(w, n.pattern) });
    case 'bad-change-reference':
      return w.t(n.example ? 'notice.bad-change-reference.example' : 'notice.bad-change-reference', { given: JSON.stringify(n.given), pattern: code(w, n.pattern), example: code(w, n.example ?? '') });
    case 'read-failed': {
      const said = w.t(n.planned ? 'notice.read-failed.planned' : 'notice.read-failed', { error: n.error });
      return n.hint ? `${said}\n${w.t('notice.hint', { hint: n.hint })}` : said;
    }
    case 'plan-not-posted': {
      const why = deliveryProblemText(n.problem, n.channel, w) ?? w.t('notice.plan-not-posted.other', { channel: m.channel(n.channel), problem: n.problem });
      return w.raw('notice.plan-not-posted', { why, requestId: m.text(n.requestId) });
    }
    case 'plan-delayed':
      return w.t('notice.plan-delayed', { requestId: n.requestId, channel: m.channel(n.channel) });
    case 'no-request':
      return w.t('notice.no-request', { requestId: n.requestId });
    case 'decide-elsewhere':
      return w.t('notice.decide-elsewhere', { requestId: n.requestId, channel: m.channel(n.channel) });
    case 'not-pending':
      return w.t('notice.not-pending', { requestId: n.requestId, status: requestStatusWord(n.status, w) });
    case 'not-an-approver':
      if (n.action === 'cancel' && n.requester && n.requestId) return w.t('notice.not-an-approver.cancel-own', { requester: m.user(n.requester), requestId: n.requestId });
      return w.t(n.action === 'approve' ? 'notice.not-an-approver' : `notice.not-an-approver.${n.action}`, { approvers: approversText(n.approvers, w) });
    case 'expired':
      return w.t('notice.expired', { requestId: n.requestId, expiresAt: w.date(n.expiresAt), ask: code(w, `${n.command} ${n.runbook}`) });
    case 'already-approved':
    case 'approval-recorded':
      return w.t(`notice.${n.code}`, { requestId: n.requestId, more: n.more });
    case 'cancelled':
      return w.t('notice.cancelled', { requestId: n.requestId });
    case 'cancelled-waiting':
      return w.t('notice.cancelled-waiting', { requestId: n.requestId, startsAt: w.date(n.startsAt) });
    case 'no-run':
      return w.t('notice.no-run', { runId: n.runId });
    case 'nothing-to-undo':
      return w.t('notice.nothing-to-undo', { undo: n.undo });
    case 'cannot-undo':
      return w.t('notice.cannot-undo', { runId: n.runId, runbook: n.runbook, status: runStatusInline(n.status, w), undo: n.undo });
    case 'already-undone': {
      const said = w.t(n.by ? 'notice.already-undone.by' : 'notice.already-undone', { runId: n.runId, runbook: n.runbook, by: n.by ?? '' });
      return n.report ? `${said} ${w.t('notice.already-undone.see', { report: code(w, `${n.command} ${n.report}`) })}` : said;
    }
  }
}

const quoted = (w: Words, titles: string[]) => (titles.length ? w.list(titles.map((t) => w.t('quote', { text: t }))) : w.t('none'));

/** Why a run ended as it did, when the core decided it. */
export function outcomeText(o: RunOutcome, w: Words): string {
  switch (o.code) {
    case 'lock-held':
      return w.t('outcome.lock-held', { runId: o.holder.runId, requestId: o.holder.requestId, requester: w.marks.user(o.holder.requester), deployment: o.holder.deployment });
    case 'changed-since-approval':
      return w.t('outcome.changed-since-approval', { approved: o.approved, now: o.now, ask: `${o.command} ${o.runbook}` });
    case 'reread-failed':
      return w.t('outcome.reread-failed', { error: o.error });
    case 'internal-error':
      return w.t('outcome.internal-error', { runId: o.runId, error: o.error });
    case 'interrupted': {
      const cut = o.cut.length ? w.raw('outcome.interrupted.cut', { steps: quoted(w, o.cut) }) : '';
      return w.raw('outcome.interrupted', { last: o.last ? w.t('quote', { text: o.last }) : w.t('none'), cut, notRun: quoted(w, o.notRun) });
    }
  }
}

/** The one line that says why a run ended: the core's outcome in words, else the run's own summary. */
export function runSummary(run: { outcome?: RunOutcome; summary?: string }, w: Words): string | undefined {
  return run.outcome ? outcomeText(run.outcome, w) : run.summary === undefined ? undefined : w.marks.text(run.summary);
}
