// The conversation: one flow behind every adapter (Slack, console). An adapter acknowledges first, then calls in;
// what people should see comes back through the Notifier as views, and long runs go to the Scheduler.
import { randomBytes } from 'node:crypto';
import { helpText } from './command/vocabulary.js';
import { parseCommand, type Command } from './command/parse.js';
import type { AgentPool, Clock, Directory, Notifier, Scheduler, View, VerifyItem } from './ports.js';
import { checkApprover, checkChannel, checkRequester, describeApprovers, type PolicyConfig } from './policy.js';
import type { RequestRecord, RunRecord } from './records.js';
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
}

export interface Actor {
  user: string;
  channel: string;
}

const defaultId = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

export class LyncExoService {
  private readonly newId: (prefix: 'r' | 'run') => string;
  private readonly commandName: string;
  /** runs started by this process and not finished: shutdown waits for them */
  private readonly active = new Map<string, RunRecord>();
  private accepting = true;

  constructor(private readonly deps: ServiceDeps) {
    this.newId = deps.newId ?? defaultId;
    this.commandName = deps.commandName ?? '/lync-exo';
  }

  private runbook(name: string): Runbook {
    const rb = this.deps.runbooks.get(name);
    if (!rb) throw new Error(`runbook ${name} is not loaded`);
    return rb;
  }

  private get runContext(): Omit<RunContext, 'progress'> {
    return { agents: this.deps.agents, clock: this.deps.clock, replication: this.deps.policy.replication, edgeStandIns: this.deps.policy.edgeStandIns };
  }

  private tell(actor: Actor, text: string): Promise<void> {
    return this.deps.notifier.ephemeral(actor.channel, actor.user, text);
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
      await this.deps.notifier.post(actor.channel, { kind: 'refused-plan', runbook: runbook.name, requester: actor.user, plan: p });
      return this.audit(actor.user, 'plan-refused', { channel: actor.channel, fingerprint: p.fingerprint, detail: p.refusals.join('; ') });
    }
    if (isNoop(p)) {
      await this.deps.notifier.post(actor.channel, { kind: 'nothing-to-change', runbook: runbook.name, requester: actor.user, plan: p });
      return;
    }
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
    if (dryRun) {
      await this.deps.notifier.post(actor.channel, this.planView(request, true));
      return;
    }
    await this.deps.store.createRequest(request);
    await this.audit(actor.user, 'requested', { channel: actor.channel, requestId: request.id, fingerprint: p.fingerprint, detail: runbook.name });
    const ref = await this.deps.notifier.post(actor.channel, this.planView(request, false));
    await this.deps.store.setRequestMessage(request.id, ref);
  }

  private planView(request: RequestRecord, dryRun: boolean): View {
    return { kind: 'plan', request, dryRun, rule: { required: this.deps.policy.required, approvers: describeApprovers(this.deps.policy) } };
  }

  private async refreshPlanMessage(request: RequestRecord): Promise<void> {
    const current = (await this.deps.store.getRequest(request.id)) ?? request;
    if (current.message) await this.deps.notifier.update(current.message, this.planView(current, false));
  }

  async approve(actor: Actor, requestId: string): Promise<void> {
    const request = await this.deps.store.getRequest(requestId);
    if (!request) return this.tell(actor, `there is no request ${requestId}`);
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
        await this.audit(actor.user, 'approved', { channel: actor.channel, requestId, fingerprint: result.request.plan.fingerprint, detail: 'approval complete' });
        await this.refreshPlanMessage(result.request);
        this.deps.scheduler.run(`run for ${requestId}`, () => this.startRun(result.request));
    }
  }

  async deny(actor: Actor, requestId: string, reason: string): Promise<void> {
    const request = await this.deps.store.getRequest(requestId);
    if (!request) return this.tell(actor, `there is no request ${requestId}`);
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
    const lock = await this.deps.store.acquireLock({ deployment: request.deployment, runId, requestId: request.id, requester: request.requester, since: now.toISOString() });
    if (!lock.ok) {
      run.status = 'refused';
      run.summary = `not started: run ${lock.holder.runId} (request ${lock.holder.requestId} by <@${lock.holder.requester}>) holds the lock on ${lock.holder.deployment}; ask for a new plan when it finishes`;
      await this.finish(run, log);
      return;
    }
    this.active.set(runId, run);
    try {
      await this.deps.store.createRun(run);
      await this.deps.store.setRequestRun(request.id, runId);
      await this.refreshPlanMessage(request);
      try {
        run.message = await this.deps.notifier.post(run.channel, { kind: 'run', run });
      } catch (err) {
        // Slack being away does not stop an approved change; the report is posted when the run ends
        log.warn({ err }, 'run: posting the progress message failed; going on without it');
      }
      await this.deps.store.saveRun(run);
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
        await executePlan({ ...this.runContext, progress: (r) => this.progress(r, log), stopping: () => !this.accepting }, run, fresh.plan);
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

  private async progress(run: RunRecord, log: Log): Promise<void> {
    await this.deps.store.saveRun(run);
    if (!run.message) return;
    try {
      await this.deps.notifier.update(run.message, { kind: 'run', run });
    } catch (err) {
      // the run goes on and its state is saved; the next update or the final report catches the message up
      log.warn({ err }, 'run: updating the progress message failed');
    }
  }

  private async finish(run: RunRecord, log: Log): Promise<void> {
    run.finishedAt = this.deps.clock.now().toISOString();
    skipRest(run.steps);
    await this.deps.store.saveRun(run);
    await this.audit('lync-exo', `run-${run.status}`, { runId: run.id, requestId: run.requestId, detail: run.summary });
    log.info({ status: run.status }, `run: ${run.status}`);
    try {
      if (run.message) await this.deps.notifier.update(run.message, { kind: 'run', run });
      else run.message = await this.deps.notifier.post(run.channel, { kind: 'run', run });
      await this.deps.store.saveRun(run);
    } catch (err) {
      log.error({ err }, 'run: posting the report failed; the run is saved and `history` shows it');
    }
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
    await this.deps.notifier.post(actor.channel, { kind: 'report', title: 'verify', requester: actor.user, steps, items, verdict: ok ? 'pass' : 'fail' });
  }

  private async status(actor: Actor): Promise<void> {
    const status = this.runbook('status');
    const p = plan({ runbook: status, values: {}, preState: {} });
    const steps = newRunSteps(p);
    await runChecks({ ...this.runContext, progress: async () => undefined }, p, steps, async () => undefined, false);
    await this.deps.notifier.post(actor.channel, { kind: 'report', title: 'status', requester: actor.user, steps, agents: this.deps.agents.describe() });
  }

  private async history(actor: Actor, limit: number): Promise<void> {
    const { requests, runs } = await this.deps.store.history(limit);
    await this.deps.notifier.post(actor.channel, { kind: 'history', requests, runs });
  }

  /**
   * Start-up recovery: runs cut off by a dead process are marked interrupted and reported in their channel (never
   * re-run), and locks they held are released.
   */
  async recover(): Promise<{ interrupted: RunRecord[]; locks: number }> {
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
      try {
        if (run.message) await this.deps.notifier.update(run.message, { kind: 'run', run });
        else await this.deps.notifier.post(run.channel, { kind: 'run', run });
      } catch (err) {
        this.deps.log.error({ err, runId: run.id }, 'recovery: reporting the interrupted run failed');
      }
    }
    const locks = await this.deps.store.recoverLocks();
    for (const l of locks) await this.audit('lync-exo', 'lock-recovered', { runId: l.runId, requestId: l.requestId, detail: `held since ${l.since}` });
    return { interrupted, locks: locks.length };
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
