// The command handlers: one per verb of the vocabulary, in a table the compiler checks (a verb without a handler,
// or a handler for no verb, does not build). A handler reads and plans, then answers; what runs after approval is
// in runs.ts, the decisions in decisions.ts.
import type { Command } from './command/parse.js';
import type { Verb } from './command/vocabulary.js';
import type { Actor, Conversation } from './conversation.js';
import type { Notice, UsageRow } from './notices.js';
import { changedSomething, compareNow, planChange, planUndo } from './planning.js';
import { checkChangeReference, checkRequester } from './policy.js';
import type { Result } from './errors.js';
import { waitingChanges } from './runs.js';
import { cancel } from './decisions.js';
import { cannotPostThere, type View } from './ports.js';
import { messageKey } from './conversation.js';
import type { RequestRecord, RunRecord } from './records.js';
import { newRunSteps, runChecks } from './run/execute.js';
import { isNoop, plan, type Plan } from './runbook/planner.js';
import type { Runbook } from './runbook/schema.js';

type Handler<V extends Verb> = (c: Conversation, actor: Actor, command: Extract<Command, { verb: V }>) => Promise<void>;
export type Handlers = { [V in Verb]: Handler<V> };

/** May this person ask for a change now? A refusal, or nothing. */
async function mayChange(c: Conversation, actor: Actor): Promise<Notice | undefined> {
  if (!c.accepting) return { code: 'shutting-down' };
  const who = await checkRequester(c.deps.policy, actor.user, c.deps.directory);
  if (!who.ok) return who.error;
  return c.locked();
}

/** The subcommand that checks a change runbook: `verify` for the default one, `verify hybrid` for another. */
function verifyCommand(c: Conversation, procedure: string): string | undefined {
  const compare = c.runbookOfKind('compare');
  if (!compare) return undefined;
  return c.vocabulary.defaultProcedure?.name === procedure ? compare.name : `${compare.name} ${procedure}`;
}

/** A plan offered to the person: refused, nothing to change, a dry run, or a request posted for approval. */
async function offerPlan(c: Conversation, actor: Actor, runbook: Runbook, p: Plan, dryRun: boolean, rollbackOf?: string, changeRef?: string): Promise<void> {
  if (p.refusals.length) {
    await c.audit(actor.user, 'plan-refused', { channel: actor.channel, fingerprint: p.fingerprint, detail: p.refusals.join('; ') });
    return c.answer(actor, { kind: 'refused-plan', runbook: runbook.name, requester: actor.user, plan: p });
  }
  if (isNoop(p)) {
    const verify = verifyCommand(c, p.procedure ?? runbook.name);
    return c.answer(actor, { kind: 'nothing-to-change', runbook: runbook.name, requester: actor.user, plan: p, ...(verify ? { verify } : {}) });
  }
  const now = c.now();
  const request: RequestRecord = {
    id: dryRun ? 'dry-run' : c.newId('r'),
    runbook: runbook.name,
    deployment: c.deps.policy.deployment,
    requester: actor.user,
    channel: actor.channel,
    values: p.values,
    plan: p,
    status: 'pending',
    approvals: [],
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + c.deps.policy.expiresAfterMs).toISOString(),
    ...(rollbackOf ? { rollbackOf } : {}),
    ...(changeRef ? { change: changeRef } : {}),
  };
  if (dryRun) return c.answer(actor, c.planView(request, true));
  const who = await c.identify(actor.user);
  await c.deps.store.createRequest(request);
  await c.audit(actor.user, 'requested', { channel: actor.channel, requestId: request.id, fingerprint: p.fingerprint, detail: runbook.name, change: changeRef, who });
  const key = messageKey.request(request.id);
  await c.show(key, actor.channel, c.planView(request, false));
  // the one wait on Slack in the flow, and only for the person's sake: can the plan be posted where they asked?
  const posted = await c.courier.deliverNow(key);
  if (posted.ok) return;
  if (cannotPostThere(posted.problem)) {
    // nobody could approve a plan nobody can see: it is closed, and the person told what to do
    await c.deps.store.close(request.id, 'cancelled', 'lync-exo', `the plan could not be posted in ${actor.channel}: ${posted.problem}`, c.now());
    await c.audit('lync-exo', 'cancelled', { channel: actor.channel, requestId: request.id, detail: posted.problem });
    await c.deps.store.outboxDrop(key);
    return c.tell(actor, { code: 'plan-not-posted', problem: posted.problem, channel: actor.channel, requestId: request.id });
  }
  if (posted.problem === 'unavailable' || posted.problem === 'rate_limited') return c.tell(actor, { code: 'plan-delayed', requestId: request.id, channel: actor.channel });
}

/** The change reference typed, as the policy wants it: a dry run may leave a required one out. */
function changeReference(c: Conversation, given: string | undefined, dryRun: boolean): Result<string | undefined> {
  if (dryRun && given === undefined) return { ok: true, value: undefined };
  return checkChangeReference(c.deps.policy, given);
}

/** A change runbook: plan it and post the request (or, `dryRun`, only show the plan). */
async function change(c: Conversation, actor: Actor, procedure: Runbook, options: Record<string, string>, dryRun: boolean, given?: string): Promise<void> {
  if (!dryRun) {
    const refused = await mayChange(c, actor);
    if (refused) return c.tell(actor, refused);
  }
  const ref = changeReference(c, given, dryRun);
  if (!ref.ok) return c.tell(actor, ref.error);
  const planned = await planChange(c, procedure, options);
  if (!planned.ok) return c.tell(actor, planned.error);
  await offerPlan(c, actor, procedure, planned.value.plan, dryRun, undefined, ref.value);
}

/** The run to undo: the one named, else the newest change run (or the undo that already undid it). */
async function runToUndo(c: Conversation, undo: Runbook, runId: string | undefined): Promise<{ run: RunRecord } | { notice: Notice }> {
  if (runId) {
    const run = await c.deps.store.getRun(runId);
    return run ? { run } : { notice: { code: 'no-run', runId } };
  }
  const { runs } = await c.deps.store.history(RECENT_RUNS);
  const kinds = (r: RunRecord) => c.deps.runbooks.get(r.runbook)?.kind;
  const latest = runs.find((r) => (kinds(r) === 'change' && changedSomething(r)) || (kinds(r) === 'undo' && r.status !== 'refused'));
  if (!latest) return { notice: { code: 'nothing-to-undo', undo: undo.name } };
  if (kinds(latest) === 'change') return { run: latest };
  // the newest change was itself an undo: undone already if it succeeded, else the run it undoes is tried again
  const undone = (await c.deps.store.getRequest(latest.requestId))?.rollbackOf;
  const run = undone ? await c.deps.store.getRun(undone) : undefined;
  if (!run) return { notice: { code: 'nothing-to-undo', undo: undo.name } };
  if (latest.status === 'succeeded') return { notice: alreadyUndone(c, run, latest.id) };
  return { run };
}

/** How far back `rollback` with no run id looks for the newest change. */
const RECENT_RUNS = 50;

function alreadyUndone(c: Conversation, run: RunRecord, by?: string): Notice {
  const report = c.runbookOfKind('report')?.name;
  return { code: 'already-undone', runId: run.id, runbook: run.runbook, command: c.commandName, ...(by ? { by } : {}), ...(report ? { report } : {}) };
}

function usageRow(c: Conversation, name: string): UsageRow {
  const sub = c.vocabulary.find(name)!;
  return { name: sub.name, usage: sub.usage, summary: sub.summary, approval: sub.approval, options: sub.options };
}

/** The procedure a plan or verify names, else the default one. */
function procedureOf(c: Conversation, command: { runbook?: string }): Runbook {
  return command.runbook ? c.runbook(command.runbook) : c.vocabulary.defaultProcedure!;
}

async function report(c: Conversation, actor: Actor, view: Omit<Extract<View, { kind: 'report' }>, 'kind'>): Promise<void> {
  await c.answer(actor, { kind: 'report', ...view });
}

export const HANDLERS: Handlers = {
  change: (c, actor, cmd) => change(c, actor, c.runbook(cmd.runbook), cmd.options, false, cmd.change),

  plan: (c, actor, cmd) => change(c, actor, procedureOf(c, cmd), cmd.options, true, cmd.change),

  async undo(c, actor, cmd) {
    const refused = await mayChange(c, actor);
    if (refused) return c.tell(actor, refused);
    const ref = changeReference(c, cmd.change, false);
    if (!ref.ok) return c.tell(actor, ref.error);
    const undo = c.runbook(cmd.runbook);
    const found = await runToUndo(c, undo, cmd.runId);
    if ('notice' in found) return c.tell(actor, found.notice);
    const { run } = found;
    if (c.deps.runbooks.get(run.runbook)?.kind !== 'change' || run.status === 'running' || !run.preState || !changedSomething(run)) {
      return c.tell(actor, { code: 'cannot-undo', runId: run.id, runbook: run.runbook, status: run.status, undo: undo.name });
    }
    const planned = await planUndo(c, run, undo);
    if (!planned.ok) return c.tell(actor, planned.error);
    // nothing left to undo: the deployment is as it was before the run
    if (isNoop(planned.value) && !planned.value.refusals.length) return c.tell(actor, alreadyUndone(c, run));
    await offerPlan(c, actor, undo, planned.value, false, run.id, ref.value);
  },

  async compare(c, actor, cmd) {
    const procedure = procedureOf(c, cmd);
    const compare = c.runbook(cmd.name);
    const result = await compareNow(c, procedure, cmd.options, compare);
    if (!result.ok) return c.tell(actor, result.error);
    const { plan: p, steps, items, verdict } = result.value;
    await report(c, actor, { title: compare.name, runbook: procedure.name, requester: actor.user, steps, items, verdict, ...(p.note ? { note: p.note } : {}) });
  },

  async report(c, actor, cmd) {
    const rb = c.runbook(cmd.runbook);
    const p = plan({ runbook: rb, values: {}, preState: {} });
    const steps = newRunSteps(p);
    await runChecks({ ...c.runContext, progress: async () => undefined }, p, steps, async () => undefined, false);
    const waiting = await waitingChanges(c);
    await report(c, actor, { title: rb.name, requester: actor.user, steps, agents: c.deps.agents.describe(), ...(waiting.length ? { waiting } : {}) });
  },

  async history(c, actor, cmd) {
    const { requests, runs } = await c.deps.store.history(cmd.limit);
    // people are named in a listing, not mentioned: names come from the directory when it knows them
    const names: Record<string, string> = {};
    const lookup = c.deps.directory.userName?.bind(c.deps.directory);
    if (lookup) {
      const ids = new Set([...requests.flatMap((r) => [r.requester, ...r.approvals.map((a) => a.user), ...(r.decidedBy ? [r.decidedBy] : [])]), ...runs.map((r) => r.requester)]);
      await Promise.all(
        [...ids].map(async (id) => {
          const name = await lookup(id).catch(() => undefined);
          if (name) names[id] = name;
        }),
      );
    }
    await c.answer(actor, { kind: 'history', requests, runs, names });
  },

  cancel: (c, actor, cmd) => cancel(c, actor, cmd.requestId),

  async help(c, actor, cmd) {
    if (cmd.topic) return c.tell(actor, { code: 'usage', command: c.commandName, subcommand: usageRow(c, cmd.topic) });
    return c.tell(actor, { code: 'help', command: c.commandName, subcommands: c.vocabulary.subcommands.map((s) => usageRow(c, s.name)) });
  },
};

/** Runs the handler of a parsed command. */
export function handle(c: Conversation, actor: Actor, command: Command): Promise<void> {
  return (HANDLERS[command.verb] as Handler<Verb>)(c, actor, command);
}
