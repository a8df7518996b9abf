// The conversation: one flow behind every adapter (Slack, console). An adapter acknowledges first, then calls in;
// what people should see comes back through the Notifier as views, and long runs go to the Scheduler.
import { randomBytes } from 'node:crypto';
import { helpText } from './command/vocabulary.js';
import { parseCommand, type Command } from './command/parse.js';
import { Courier, type CourierOptions } from './outbox.js';
import { describeProblem, type AgentPool, type Clock, type Directory, type Notifier, type Reply, type Scheduler, type View, type VerifyItem } from './ports.js';
import { checkApprover, checkChannel, checkRequester, describeApprovers, type PolicyConfig } from './policy.js';
import type { MessageRef, RequestRecord, RunRecord } from './records.js';
import { executePlan, newRunSteps, readState, runChecks, skipRest, type RunContext } from './run/execute.js';
import { resolveInputs } from './runbook/inputs.js';
import { inverseTargets, isNoop, plan, type Plan, type PreState, type Target } from './runbook/planner.js';
import { renderValueForPeople } from './runbook/render.js';
import type { Runbook } from './runbook/schema.js';
import type { Store } from './store.js';

/** pino's shape, so the core can log without importing it. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

export interface ServiceDeps {
  runbooks: ReadonlyMap<string, Runbook>;
  store: Store;
  agents: AgentPool;
  notifier: Notifier;
  directory: Directory;
  clock: Clock;
  scheduler: Scheduler;
  policy: PolicyConfig;
  log: Log;
  /** the slash command as people type it, for help and hints */
  commandName?: string;
  newId?: (prefix: 'r' | 'run') => string;
  /** how the outbox is delivered (coalescing interval, backoff, a test clock) */
  delivery?: Partial<Pick<CourierOptions, 'minIntervalMs' | 'maxAgeMs' | 'backoffMs' | 'maxBackoffMs' | 'now' | 'setTimer'>>;
}

export interface Actor {
  user: string;
  channel: string;
  /** answers this person wherever they typed or clicked (Slack: the response_url); else an ephemeral in `channel` */
  reply?: Reply;
}

/** Outbox keys: one per message. A run's message is a reply in its request's thread. */
export const messageKey = {
  request: (id: string) => `request:${id}`,
  run: (id: string) => `run:${id}`,
  detail: (runId: string, n: number) => `run:${runId}:detail:${n}`,
};

const defaultId = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

/** an error longer than this is shown whole in the thread, besides its first lines in the run message */
const DETAIL_AFTER_CHARS = 600;
/** one detail message at most: under the smallest per-message limit of the front ends (Slack's ~12,000 in all) */
const DETAIL_CHARS = 8000;

export class LyncExoService {
  private readonly newId: (prefix: 'r' | 'run') => string;
  private readonly commandName: string;
  /** runs started by this process and not finished: shutdown waits for them */
  private readonly active = new Map<string, RunRecord>();
  private accepting = true;
  readonly courier: Courier;

  constructor(private readonly deps: ServiceDeps) {
    this.newId = deps.newId ?? defaultId;
    this.commandName = deps.commandName ?? '/lync-exo';
    this.courier = new Courier({
      store: deps.store,
      notifier: deps.notifier,
      log: deps.log,
      now: () => deps.clock.now().getTime(),
      ...deps.delivery,
      onDelivered: (key, ref) => this.delivered(key, ref),
    });
  }

  /** Where a plan was posted is kept on its request (history, recovery and the process tests read it). */
  async delivered(key: string, ref: MessageRef): Promise<void> {
    if (key.startsWith('request:')) await this.deps.store.setRequestMessage(key.slice('request:'.length), ref);
  }

  private runbook(name: string): Runbook {
    const rb = this.deps.runbooks.get(name);
    if (!rb) throw new Error(`runbook ${name} is not loaded`);
    return rb;
  }

  private get runContext(): Omit<RunContext, 'progress'> {
    return { agents: this.deps.agents, clock: this.deps.clock, replication: this.deps.policy.replication, edgeStandIns: this.deps.policy.edgeStandIns };
  }

  /** A reply to the person; a failure to deliver it is logged, never a reason to stop what was decided. */
  private tell(actor: Actor, text: string): Promise<void> {
    return this.answer(actor, { kind: 'text', text });
  }

  /** A view for the person who asked (dry runs, refused plans, verify, status, history): wherever they asked. */
  private async answer(actor: Actor, view: View): Promise<void> {
    try {
      if (actor.reply) await actor.reply(view);
      else if (view.kind === 'text') await this.deps.notifier.ephemeral(actor.channel, actor.user, view.text);
      else await this.deps.notifier.post(actor.channel, view);
    } catch (err) {
      this.deps.log.warn({ err, user: actor.user, channel: actor.channel, view: view.kind }, `reply to ${actor.user}: could not be delivered`);
    }
  }

  /** The latest view of a message, into the outbox: a store write, never a wait for Slack. */
  private show(key: string, channel: string, view: View, parent?: string): Promise<void> {
    return this.courier.put({ key, channel, view, ...(parent ? { parent } : {}) });
  }

  private async audit(actor: string, action: string, extra: { channel?: string; requestId?: string; runId?: string; fingerprint?: string; detail?: string } = {}): Promise<void> {
    const record = { at: this.deps.clock.now().toISOString(), actor, action, ...extra };
    this.deps.log.info({ audit: record }, `audit: ${action}`);
    await this.deps.store.audit(record);
  }

  /** Stops taking new work (shutdown). */
  stopAccepting(): void {
    this.accepting = false;
  }

  /** A slash command, after the adapter has acknowledged it. */
  async command(actor: Actor, text: string): Promise<void> {
    const parsed = parseCommand(text, this.commandName);
    if (!parsed.ok) return this.tell(actor, parsed.message);
    const cmd = parsed.command;
    if (cmd.name === 'help') return this.tell(actor, helpText(this.commandName));
    const channel = checkChannel(this.deps.policy, actor.channel);
    if (!channel.ok) return this.tell(actor, channel.message);
    if (!this.accepting && (cmd.name === 'setup' || cmd.name === 'rollback')) return this.tell(actor, 'lync-exo is shutting down and takes no new changes; try again in a minute');
    switch (cmd.name) {
      case 'setup':
      case 'plan':
        return this.requestSetup(actor, cmd.options, cmd.name === 'plan');
      case 'verify':
        return this.verify(actor, cmd.options);
      case 'status':
        return this.status(actor);
      case 'rollback':
        return this.requestRollback(actor, cmd.runId);
      case 'history':
        return this.history(actor, cmd.limit);
      case 'cancel':
        return this.cancel(actor, cmd.requestId);
    }
  }

  private async lockedMessage(): Promise<string | undefined> {
    const lock = await this.deps.store.getLock(this.deps.policy.deployment);
    return lock && `a change is already running on ${lock.deployment}: run ${lock.runId} for request ${lock.requestId} by <@${lock.requester}>, since ${lock.since}`;
  }

  private async requestSetup(actor: Actor, options: Record<string, string>, dryRun: boolean): Promise<void> {
    const setup = this.runbook('setup');
    if (!dryRun) {
      const who = await checkRequester(this.deps.policy, actor.user, this.deps.directory);
      if (!who.ok) return this.tell(actor, who.message);
      const locked = await this.lockedMessage();
      if (locked) return this.tell(actor, locked);
    }
    const inputs = resolveInputs(setup, options);
    if (!inputs.ok) return this.tell(actor, inputs.message);
    const read = await readState(setup.read, this.deps.agents);
    if (!read.ok) return this.tell(actor, `could not read the current state, so nothing was planned: ${read.error}${read.hint ? `\nhint: ${read.hint}` : ''}`);
    const p = plan({ runbook: setup, values: inputs.values, preState: read.state });
    await this.offerPlan(actor, setup, p, dryRun);
  }

  private async offerPlan(actor: Actor, runbook: Runbook, p: Plan, dryRun: boolean, rollbackOf?: string): Promise<void> {
    if (p.refusals.length) {
      await this.audit(actor.user, 'plan-refused', { channel: actor.channel, fingerprint: p.fingerprint, detail: p.refusals.join('; ') });
      return this.answer(actor, { kind: 'refused-plan', runbook: runbook.name, requester: actor.user, plan: p });
    }
    if (isNoop(p)) return this.answer(actor, { kind: 'nothing-to-change', runbook: runbook.name, requester: actor.user, plan: p });
    const now = this.deps.clock.now();
    const request: RequestRecord = {
      id: dryRun ? 'dry-run' : this.newId('r'),
      runbook: runbook.name,
      deployment: this.deps.policy.deployment,
      requester: actor.user,
      channel: actor.channel,
      values: p.values,
      plan: p,
      status: 'pending',
      approvals: [],
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + this.deps.policy.expiresAfterMs).toISOString(),
      ...(rollbackOf ? { rollbackOf } : {}),
    };
    if (dryRun) return this.answer(actor, this.planView(request, true));
    await this.deps.store.createRequest(request);
    await this.audit(actor.user, 'requested', { channel: actor.channel, requestId: request.id, fingerprint: p.fingerprint, detail: runbook.name });
    const key = messageKey.request(request.id);
    await this.show(key, actor.channel, this.planView(request, false));
    // the one wait on Slack in the flow, and only for the person's sake: can the plan be posted where they asked?
    const posted = await this.courier.deliverNow(key);
    if (posted.ok) return;
    const sentence = describeProblem(posted.problem, actor.channel);
    if (sentence && posted.problem !== 'message_not_found') {
      // nobody could approve a plan nobody can see: it is closed, and the person told what to do
      await this.deps.store.close(request.id, 'cancelled', 'lync-exo', `the plan could not be posted in ${actor.channel}: ${posted.problem}`, this.deps.clock.now());
      await this.audit('lync-exo', 'cancelled', { channel: actor.channel, requestId: request.id, detail: posted.problem });
      await this.deps.store.outboxDrop(key);
      return this.tell(actor, `${sentence}. Request ${request.id} was not kept.`);
    }
    if (posted.problem === 'unavailable' || posted.problem === 'rate_limited') {
      return this.tell(actor, `request ${request.id} is saved; Slack did not take its plan message yet, so it appears in <#${actor.channel}> as soon as Slack answers`);
    }
  }

  private planView(request: RequestRecord, dryRun: boolean, run?: RunRecord): View {
    return {
      kind: 'plan',
      request,
      dryRun,
      rule: { required: this.deps.policy.required, approvers: describeApprovers(this.deps.policy) },
      ...(run ? { run: { id: run.id, status: run.status, ...(run.summary ? { summary: run.summary } : {}) } } : {}),
    };
  }

  /** The plan message shows the request's decision (and its run's outcome): queued, delivered when Slack answers. */
  private async refreshPlanMessage(request: RequestRecord, run?: RunRecord): Promise<void> {
    const current = (await this.deps.store.getRequest(request.id)) ?? request;
    await this.show(messageKey.request(current.id), current.channel, this.planView(current, false, run));
  }

  /** A decision counts only where the request was posted: a click from another channel (a forwarded or copied
   * message, a forged payload) is refused. */
  private wrongChannel(actor: Actor, request: RequestRecord): string | undefined {
    if (actor.channel === request.channel) return undefined;
    return `request ${request.id} was posted in <#${request.channel}>; decide on it there. Nothing was changed`;
  }

  /** Whether `actor` may deny the request: the Deny form opens only for them. */
  async mayDeny(actor: Actor, requestId: string): Promise<{ ok: true } | { ok: false; message: string }> {
    const request = await this.deps.store.getRequest(requestId);
    if (!request) return { ok: false, message: `there is no request ${requestId}` };
    const elsewhere = this.wrongChannel(actor, request);
    if (elsewhere) return { ok: false, message: elsewhere };
    if (request.status !== 'pending') return { ok: false, message: `request ${requestId} is already ${request.status}; nothing was changed` };
    const allowed = await checkApprover(this.deps.policy, actor.user, '', this.deps.directory);
    return allowed.ok ? { ok: true } : { ok: false, message: allowed.message.replace('approve it', 'deny it') };
  }

  async approve(actor: Actor, requestId: string): Promise<void> {
    const request = await this.deps.store.getRequest(requestId);
    if (!request) return this.tell(actor, `there is no request ${requestId}`);
    const elsewhere = this.wrongChannel(actor, request);
    if (elsewhere) {
      await this.audit(actor.user, 'approval-refused', { channel: actor.channel, requestId, detail: `clicked in ${actor.channel}, posted in ${request.channel}` });
      return this.tell(actor, elsewhere);
    }
    const allowed = await checkApprover(this.deps.policy, actor.user, request.requester, this.deps.directory);
    if (!allowed.ok) {
      await this.audit(actor.user, 'approval-refused', { channel: actor.channel, requestId, detail: allowed.message });
      return this.tell(actor, allowed.message);
    }
    const result = await this.deps.store.approve(requestId, actor.user, this.deps.policy.required, this.deps.clock.now());
    if (!result) return this.tell(actor, `there is no request ${requestId}`);
    switch (result.outcome) {
      case 'not-pending':
        return this.tell(actor, `request ${requestId} is already ${result.request.status}; nothing was changed`);
      case 'expired':
        await this.audit('expiry', 'expired', { requestId });
        await this.refreshPlanMessage(result.request);
        return this.tell(actor, `request ${requestId} expired at ${result.request.expiresAt}; ask for a new plan with ${this.commandName} ${result.request.runbook}`);
      case 'already-approved-by-you':
        return this.tell(actor, `you have already approved ${requestId}; it needs ${this.deps.policy.required - result.request.approvals.length} more approval(s) from someone else`);
      case 'recorded':
        await this.audit(actor.user, 'approved', { channel: actor.channel, requestId, fingerprint: result.request.plan.fingerprint });
        await this.refreshPlanMessage(result.request);
        return this.tell(actor, `approval recorded; ${requestId} needs ${this.deps.policy.required - result.request.approvals.length} more`);
      case 'completed':
        // the store's approval is the run's schedule (an approved request without a run); it starts now, and after a
        // restart if this process dies first. The plan message follows from the outbox.
        this.deps.scheduler.run(`run for ${requestId}`, () => this.startRun(result.request));
        await this.audit(actor.user, 'approved', { channel: actor.channel, requestId, fingerprint: result.request.plan.fingerprint, detail: 'approval complete' });
        await this.refreshPlanMessage(result.request);
    }
  }

  async deny(actor: Actor, requestId: string, reason: string): Promise<void> {
    const request = await this.deps.store.getRequest(requestId);
    if (!request) return this.tell(actor, `there is no request ${requestId}`);
    const elsewhere = this.wrongChannel(actor, request);
    if (elsewhere) return this.tell(actor, elsewhere);
    const allowed = await checkApprover(this.deps.policy, actor.user, '', this.deps.directory);
    if (!allowed.ok) return this.tell(actor, allowed.message.replace('approve it', 'deny it'));
    if (!reason.trim()) return this.tell(actor, 'a denial needs a reason');
    const result = await this.deps.store.close(requestId, 'denied', actor.user, reason.trim(), this.deps.clock.now());
    if (result?.outcome !== 'closed') return this.tell(actor, `request ${requestId} is already ${result?.request.status ?? 'gone'}; nothing was changed`);
    await this.audit(actor.user, 'denied', { channel: actor.channel, requestId, detail: reason.trim() });
    await this.refreshPlanMessage(result.request);
  }

  private async cancel(actor: Actor, requestId: string): Promise<void> {
    const request = await this.deps.store.getRequest(requestId);
    if (!request) return this.tell(actor, `there is no request ${requestId}`);
    if (request.requester !== actor.user) {
      const approver = await checkApprover(this.deps.policy, actor.user, request.requester, this.deps.directory);
      if (!approver.ok) return this.tell(actor, `only the requester <@${request.requester}> or an approver can cancel ${requestId}`);
    }
    const result = await this.deps.store.close(requestId, 'cancelled', actor.user, undefined, this.deps.clock.now());
    if (result?.outcome !== 'closed') return this.tell(actor, `request ${requestId} is already ${result?.request.status ?? 'gone'}; nothing was changed`);
    await this.audit(actor.user, 'cancelled', { channel: actor.channel, requestId });
    await this.refreshPlanMessage(result.request);
    return this.tell(actor, `request ${requestId} is cancelled`);
  }

  /** Closes pending requests past their expiry and updates their messages; returns how many. */
  async expireDue(): Promise<number> {
    const due = await this.deps.store.listExpired(this.deps.clock.now());
    let closed = 0;
    for (const r of due) {
      const result = await this.deps.store.close(r.id, 'expired', 'expiry', undefined, this.deps.clock.now());
      if (result?.outcome !== 'closed') continue;
      closed++;
      await this.audit('expiry', 'expired', { requestId: r.id, channel: r.channel });
      await this.refreshPlanMessage(result.request);
    }
    return closed;
  }

  /** The targets and pre-state for a request's plan, read afresh: what the run compares with the approved plan. */
  private async replan(request: RequestRecord): Promise<{ ok: true; plan: Plan } | { ok: false; error: string }> {
    const requested = this.runbook(request.runbook);
    const setup = this.runbook('setup');
    let targets: Map<string, Target> | undefined;
    if (request.rollbackOf) {
      const undone = await this.deps.store.getRun(request.rollbackOf);
      if (!undone?.preState) return { ok: false, error: `run ${request.rollbackOf} has no captured pre-state` };
      targets = inverseTargets(plan({ runbook: setup, values: undone.values, preState: undone.preState }), setup);
    }
    const read = await readState(requested.read, this.deps.agents);
    if (!read.ok) return { ok: false, error: read.error };
    return { ok: true, plan: plan({ runbook: setup, requested, values: request.values, preState: read.state, targets }) };
  }

  private async startRun(request: RequestRecord): Promise<void> {
    const now = this.deps.clock.now();
    const runId = this.newId('run');
    const log = this.deps.log.child({ requestId: request.id, runId, runbook: request.runbook, requester: request.requester });
    const run: RunRecord = {
      id: runId,
      requestId: request.id,
      runbook: request.runbook,
      deployment: request.deployment,
      channel: request.channel,
      requester: request.requester,
      approvers: request.approvals.map((a) => a.user),
      status: 'running',
      startedAt: now.toISOString(),
      values: request.values,
      steps: newRunSteps(request.plan),
    };
    if (!(await this.deps.store.claimRun(request.id, run))) {
      log.info({}, 'run: the request was already started by another call; nothing to do');
      return;
    }
    const lock = await this.deps.store.acquireLock({ deployment: request.deployment, runId, requestId: request.id, requester: request.requester, since: now.toISOString() });
    if (!lock.ok) {
      run.status = 'refused';
      run.summary = `not started: run ${lock.holder.runId} (request ${lock.holder.requestId} by <@${lock.holder.requester}>) holds the lock on ${lock.holder.deployment}; ask for a new plan when it finishes`;
      await this.finish(run, log);
      return;
    }
    this.active.set(runId, run);
    try {
      await this.refreshPlanMessage(request, run);
      await this.showRun(run);
      await this.audit('lync-exo', 'run-started', { requestId: request.id, runId, fingerprint: request.plan.fingerprint });
      const fresh = await this.replan(request);
      if (!fresh.ok) {
        run.status = 'failed';
        run.summary = `could not re-read the state before running: ${fresh.error}`;
      } else if (fresh.plan.fingerprint !== request.plan.fingerprint) {
        run.status = 'refused';
        run.summary = `the deployment changed after the plan was approved (fingerprint ${request.plan.fingerprint} → ${fresh.plan.fingerprint}); nothing ran. Ask for a new plan with ${this.commandName} ${request.runbook === 'rollback' ? 'rollback' : 'setup'}`;
      } else {
        run.preState = fresh.plan.preState;
        await executePlan({ ...this.runContext, progress: (r) => this.progress(r), stopping: () => !this.accepting }, run, fresh.plan);
      }
    } catch (err) {
      log.error({ err }, 'run: internal error');
      run.status = 'failed';
      run.summary = `internal error during run ${runId}: ${(err as Error).message}`;
    } finally {
      await this.deps.store.releaseLock(request.deployment, runId);
      this.active.delete(runId);
      await this.finish(run, log);
    }
  }

  /** Progress: saved, and the run's message queued (coalesced by the courier). Slack is never awaited here. */
  private async progress(run: RunRecord): Promise<void> {
    await this.deps.store.saveRun(run);
    await this.showRun(run);
  }

  /**
   * What a run message can only summarise goes whole into the thread: a long error (with its hints) and the
   * per-Edge comparison. Split into parts of DETAIL_CHARS, the most one message of any front end shows.
   */
  private async showDetails(run: RunRecord): Promise<void> {
    const details: { title: string; lines: string[] }[] = [];
    for (const step of run.steps) {
      if (step.error && step.error.length > DETAIL_AFTER_CHARS) details.push({ title: `${step.title}: the whole error`, lines: [...step.error.split('\n'), ...(step.hints ?? []).map((h) => `hint: ${h}`)] });
      if (step.edges?.length) {
        const lines: string[] = [];
        for (const e of step.edges) {
          lines.push(`${e.agent}: ${e.ok ? 'as expected' : e.found ? 'differs' : 'provider absent'}${e.error ? ` (${e.error})` : ''}`);
          for (const c of e.checks) lines.push(`  ${c.ok ? '✓' : '✗'} ${c.property}: expected ${JSON.stringify(c.expected)}, actual ${JSON.stringify(c.actual)}`);
        }
        details.push({ title: `${step.title}: per Edge`, lines });
      }
    }
    let n = 0;
    for (const d of details) {
      const parts: string[][] = [[]];
      let size = 0;
      for (const line of d.lines) {
        if (size + line.length > DETAIL_CHARS && parts.at(-1)!.length) {
          parts.push([]);
          size = 0;
        }
        parts.at(-1)!.push(line);
        size += line.length + 1;
      }
      for (const [i, lines] of parts.entries()) {
        const view: View = { kind: 'detail', runId: run.id, title: d.title, lines, ...(parts.length > 1 ? { part: { n: i + 1, of: parts.length } } : {}) };
        await this.show(messageKey.detail(run.id, ++n), run.channel, view, messageKey.request(run.requestId));
      }
    }
  }

  private showRun(run: RunRecord): Promise<void> {
    return this.show(messageKey.run(run.id), run.channel, { kind: 'run', run }, messageKey.request(run.requestId));
  }

  private async finish(run: RunRecord, log: Log): Promise<void> {
    run.finishedAt = this.deps.clock.now().toISOString();
    skipRest(run.steps);
    await this.deps.store.saveRun(run);
    await this.audit('lync-exo', `run-${run.status}`, { runId: run.id, requestId: run.requestId, detail: run.summary });
    log.info({ status: run.status }, `run: ${run.status}`);
    // the report and the plan message's verdict go out from the outbox, now or when Slack is back
    await this.showRun(run);
    await this.showDetails(run);
    const request = await this.deps.store.getRequest(run.requestId);
    if (request) await this.refreshPlanMessage(request, run);
  }

  private async requestRollback(actor: Actor, runId: string | undefined): Promise<void> {
    const who = await checkRequester(this.deps.policy, actor.user, this.deps.directory);
    if (!who.ok) return this.tell(actor, who.message);
    const locked = await this.lockedMessage();
    if (locked) return this.tell(actor, locked);
    const undone = runId ? await this.deps.store.getRun(runId) : await this.deps.store.latestRun('setup', 'succeeded');
    if (!undone) return this.tell(actor, runId ? `there is no run ${runId}` : 'there is no finished setup run to roll back');
    if (undone.runbook !== 'setup' || undone.status !== 'succeeded' || !undone.preState) {
      return this.tell(actor, `run ${undone.id} is a ${undone.runbook} run that ${undone.status}; only a setup run that succeeded can be rolled back`);
    }
    const setup = this.runbook('setup');
    const rollback = this.runbook('rollback');
    const targets = inverseTargets(plan({ runbook: setup, values: undone.values, preState: undone.preState }), setup);
    const read = await readState(rollback.read, this.deps.agents);
    if (!read.ok) return this.tell(actor, `could not read the current state, so nothing was planned: ${read.error}`);
    const p = plan({ runbook: setup, requested: rollback, values: undone.values, preState: read.state, targets });
    await this.offerPlan(actor, rollback, p, false, undone.id);
  }

  private async verify(actor: Actor, options: Record<string, string>): Promise<void> {
    const setup = this.runbook('setup');
    const verify = this.runbook('verify');
    const inputs = resolveInputs(setup, options);
    if (!inputs.ok) return this.tell(actor, inputs.message);
    const read = await readState(setup.read, this.deps.agents);
    if (!read.ok) return this.tell(actor, `could not read the current state: ${read.error}`);
    const p = plan({ runbook: setup, requested: verify, values: inputs.values, preState: read.state });
    const items = verifyItems(p, read.state);
    const steps = newRunSteps(p).filter((s) => s.kind !== 'change');
    await runChecks({ ...this.runContext, progress: async () => undefined }, p, steps, async () => undefined, false);
    const ok = items.every((i) => i.ok) && steps.every((s) => s.status === 'succeeded');
    await this.answer(actor, { kind: 'report', title: 'verify', requester: actor.user, steps, items, verdict: ok ? 'pass' : 'fail' });
  }

  private async status(actor: Actor): Promise<void> {
    const status = this.runbook('status');
    const p = plan({ runbook: status, values: {}, preState: {} });
    const steps = newRunSteps(p);
    await runChecks({ ...this.runContext, progress: async () => undefined }, p, steps, async () => undefined, false);
    await this.answer(actor, { kind: 'report', title: 'status', requester: actor.user, steps, agents: this.deps.agents.describe() });
  }

  private async history(actor: Actor, limit: number): Promise<void> {
    const { requests, runs } = await this.deps.store.history(limit);
    // people are named in a listing, not mentioned: names come from the directory when it knows them
    const names: Record<string, string> = {};
    const lookup = this.deps.directory.userName?.bind(this.deps.directory);
    if (lookup) {
      const ids = new Set([...requests.flatMap((r) => [r.requester, ...r.approvals.map((a) => a.user), ...(r.decidedBy ? [r.decidedBy] : [])]), ...runs.map((r) => r.requester)]);
      await Promise.all(
        [...ids].map(async (id) => {
          const name = await lookup(id).catch(() => undefined);
          if (name) names[id] = name;
        }),
      );
    }
    await this.answer(actor, { kind: 'history', requests, runs, names });
  }

  /**
   * Start-up recovery: runs cut off by a dead process are marked interrupted and reported in their channel (never
   * re-run), and locks they held are released.
   */
  async recover(): Promise<{ interrupted: RunRecord[]; locks: number; started: string[] }> {
    const interrupted = await this.deps.store.markInterrupted(this.deps.clock.now());
    for (const run of interrupted) {
      const last = run.steps.filter((s) => s.status === 'succeeded').at(-1);
      const inFlight = run.steps.filter((s) => s.status === 'running');
      const notRun = run.steps.filter((s) => s.status === 'pending');
      for (const s of inFlight) s.status = 'failed';
      for (const s of notRun) s.status = 'skipped';
      const cut = inFlight.length ? `; cut off during (may have taken effect): ${inFlight.map((s) => `"${s.title}"`).join(', ')}` : '';
      run.summary = `interrupted: lync-exo stopped during this run; last completed step: ${last ? `"${last.title}"` : 'none'}${cut}; not run: ${notRun.map((s) => `"${s.title}"`).join(', ') || 'none'}. It will not be re-run by itself: check with status, then ask again`;
      await this.deps.store.saveRun(run);
      await this.audit('lync-exo', 'run-interrupted', { runId: run.id, requestId: run.requestId, detail: run.summary });
      await this.showRun(run);
      const request = await this.deps.store.getRequest(run.requestId);
      if (request) await this.refreshPlanMessage(request, run);
    }
    const locks = await this.deps.store.recoverLocks();
    for (const l of locks) await this.audit('lync-exo', 'lock-recovered', { runId: l.runId, requestId: l.requestId, detail: `held since ${l.since}` });
    // approved before the stop, never started: their approval is their schedule
    const unstarted = await this.deps.store.listUnstarted();
    for (const r of unstarted) {
      await this.audit('lync-exo', 'run-resumed', { requestId: r.id, detail: 'approved before a restart; starting its run now' });
      this.deps.scheduler.run(`run for ${r.id}`, () => this.startRun(r));
    }
    // what the outbox still holds from before the stop goes out now
    this.courier.kick();
    return { interrupted, locks: locks.length, started: unstarted.map((r) => r.id) };
  }

  /** Runs in flight in this process (shutdown waits for their current step). */
  activeRuns(): RunRecord[] {
    return [...this.active.values()];
  }
}

/** Verify's per-item comparison: each property the setup would set, as it is now. */
function verifyItems(p: Plan, state: PreState): VerifyItem[] {
  const items: VerifyItem[] = [];
  for (const step of p.steps) {
    if (step.action === 'create') {
      items.push({ item: `${step.title}: ${step.target}`, expected: 'exists', actual: 'absent', ok: false });
      continue;
    }
    const changed = new Map(step.changes.map((c) => [c.property, c]));
    const key = step.expected?.key ?? 'Identity';
    const objects = state[step.read] ?? [];
    const object = objects.find((o) => renderValueForPeople(o[key]).toLowerCase() === step.target.toLowerCase()) ?? objects[0];
    for (const [property, want] of Object.entries(step.expected?.properties ?? {})) {
      const c = changed.get(property);
      items.push({ item: `${step.title}: ${property}`, expected: renderValueForPeople(want), actual: renderValueForPeople(c ? c.from : object?.[property]), ok: !c });
    }
  }
  return items;
}

export type { Command };
