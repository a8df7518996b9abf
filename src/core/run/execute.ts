// Running a plan: change steps in order on the agent serving their role (the first failure stops the run), then
// replication polling and the Edge local-store comparison. Progress is reported after every change of state.
import { ReplicaStatusSchema } from '../lync.js';
import type { AgentPool, Clock } from '../ports.js';
import type { EdgeRow, InvocationRecord, PropertyCheck, ReplicaRow, RunRecord, StepResult } from '../records.js';
import type { Plan, PlannedStep, PreState } from '../runbook/planner.js';
import { renderInvocation, text } from '../runbook/render.js';
import type { ReadSpec, Step } from '../runbook/schema.js';
import type { Agent, Invocation, InvocationResult, Role } from '../types.js';

export interface RunContext {
  agents: AgentPool;
  clock: Clock;
  replication: { pollIntervalMs: number; timeoutMs: number };
  /** called after each change of a run's state; the adapter updates its message */
  progress: (run: RunRecord) => Promise<void>;
  /** true once the process is shutting down: the run stops between steps, never inside one */
  stopping?: () => boolean;
}

export const REPLICATION_HINTS = [
  'the "Lync Server Replica Replicator Agent" service (REPLICA) is running on the lagging server',
  "TCP 4443 is open from the Front End to the Edge's internal interface (event 1017 on the Front End means it is not)",
  "the Edge's internal certificate chains to the same PKI as the Front End and matches its name (event 1015)",
  'Invoke-CsManagementStoreReplication -ReplicaFqdn <fqdn> forces a full replication (it can take 2–3 minutes to start)',
];

function firstAgent(pool: AgentPool, role: Role): Agent | undefined {
  return pool.forRole(role)[0];
}

function failureText(result: Extract<InvocationResult, { ok: false }>, cmdlet?: string): string {
  const e = result.error;
  // the agent may already name the cmdlet; the caller names it once, first
  const message = cmdlet && e.message.startsWith(`${cmdlet}: `) ? e.message.slice(cmdlet.length + 2) : e.message;
  return [message, e.category && `(${e.category}${e.errorId ? `, ${e.errorId}` : ''})`].filter(Boolean).join(' ');
}

/** Reads the state a plan needs. A read that fails stops the request with the cmdlet and agent named. */
export async function readState(reads: Record<string, ReadSpec>, pool: AgentPool): Promise<{ ok: true; state: PreState } | { ok: false; error: string; hint?: string }> {
  const state: PreState = {};
  for (const [name, spec] of Object.entries(reads)) {
    const agent = firstAgent(pool, spec.role);
    if (!agent) return { ok: false, error: `reading ${spec.cmdlet}: no agent serves the ${spec.role} role` };
    const result = await agent.invoke({ cmdlet: spec.cmdlet, parameters: spec.parameters ?? {} });
    if (!result.ok) return { ok: false, error: `reading ${spec.cmdlet}: agent ${agent.name}: ${failureText(result, spec.cmdlet)}`, hint: result.error.hint };
    state[name] = result.output;
  }
  return { ok: true, state };
}

function initialSteps(plan: Plan): StepResult[] {
  const changes: StepResult[] = plan.steps.map((s) => ({
    stepId: s.stepId,
    title: s.title,
    role: s.role,
    kind: 'change',
    action: s.action,
    status: s.action === 'no-op' ? 'no-op' : 'pending',
    invocations: s.invocations.map((inv) => ({ line: renderInvocation(inv) })),
  }));
  const checks: StepResult[] = plan.checks.map((c) => ({
    stepId: c.id,
    title: c.title,
    role: c.role,
    kind: c.type === 'replication' ? 'replication' : c.type === 'edge-check' ? 'edge-check' : 'read',
    status: 'pending',
    invocations: [],
  }));
  return [...changes, ...checks];
}

export function newRunSteps(plan: Plan): StepResult[] {
  return initialSteps(plan);
}

async function invokeRecorded(agent: Agent, inv: Invocation, record: InvocationRecord): Promise<InvocationResult> {
  const result = await agent.invoke(inv);
  record.agent = agent.name;
  record.ok = result.ok;
  record.durationMs = result.durationMs;
  if (!result.ok) record.error = result.error;
  return result;
}

async function runChange(ctx: RunContext, planned: PlannedStep, step: StepResult): Promise<boolean> {
  const agent = firstAgent(ctx.agents, planned.role);
  if (!agent) {
    step.error = `no agent serves the ${planned.role} role`;
    return false;
  }
  for (const [i, inv] of planned.invocations.entries()) {
    const result = await invokeRecorded(agent, inv, step.invocations[i]!);
    if (!result.ok) {
      step.error = `${inv.cmdlet}: agent ${agent.name}: ${failureText(result, inv.cmdlet)}`;
      if (result.error.hint) step.hints = [result.error.hint];
      return false;
    }
  }
  return true;
}

function toReplicaRows(output: Record<string, unknown>[]): ReplicaRow[] {
  return output.map((o) => {
    const r = ReplicaStatusSchema.parse(o);
    return { fqdn: r.ReplicaFqdn, upToDate: r.UpToDate, lastStatusReport: r.LastStatusReport, lastUpdateCreation: r.LastUpdateCreation, productVersion: r.ProductVersion };
  });
}

/** Polls replication until every replica is up to date (or reads it once when `wait` is false). */
export async function checkReplication(ctx: RunContext, spec: Extract<Step, { type: 'replication' }>, step: StepResult, wait: boolean, onPoll?: () => Promise<void>): Promise<boolean> {
  const agent = firstAgent(ctx.agents, spec.role);
  if (!agent) {
    step.error = `no agent serves the ${spec.role} role`;
    return false;
  }
  const deadline = ctx.clock.now().getTime() + ctx.replication.timeoutMs;
  for (;;) {
    const record: InvocationRecord = { line: renderInvocation({ cmdlet: spec.cmdlet, parameters: {} }) };
    const result = await invokeRecorded(agent, { cmdlet: spec.cmdlet, parameters: {} }, record);
    step.invocations = [record];
    if (!result.ok) {
      step.error = `${spec.cmdlet}: agent ${agent.name}: ${failureText(result, spec.cmdlet)}`;
      if (result.error.hint) step.hints = [result.error.hint];
      return false;
    }
    try {
      step.replicas = toReplicaRows(result.output);
    } catch {
      step.error = `${spec.cmdlet}: agent ${agent.name}: output is not a replication status`;
      return false;
    }
    const lagging = step.replicas.filter((r) => !r.upToDate);
    if (lagging.length === 0) return true;
    if (!wait || ctx.clock.now().getTime() + ctx.replication.pollIntervalMs > deadline) {
      const names = lagging.map((r) => r.fqdn).join(', ');
      step.error = wait
        ? `replication did not complete within ${Math.round(ctx.replication.timeoutMs / 1000)} s: not up to date: ${names}`
        : `not up to date: ${names}`;
      step.hints = REPLICATION_HINTS;
      return false;
    }
    await onPoll?.();
    await ctx.clock.sleep(ctx.replication.pollIntervalMs);
  }
}

function compareProvider(expected: NonNullable<PlannedStep['expected']>, items: Record<string, unknown>[]): Pick<EdgeRow, 'ok' | 'found' | 'checks'> {
  const found = items.find((o) => typeof o[expected.key] === 'string' && (o[expected.key] as string).toLowerCase() === expected.keyValue.toLowerCase());
  if (expected.properties === null) {
    return { ok: !found, found: !!found, checks: [{ property: expected.key, expected: '(absent)', actual: found ? expected.keyValue : '(absent)', ok: !found }] };
  }
  if (!found) return { ok: false, found: false, checks: [{ property: expected.key, expected: expected.keyValue, actual: '(absent)', ok: false }] };
  const checks: PropertyCheck[] = Object.entries(expected.properties).map(([property, want]) => {
    const actual = found[property];
    const same = typeof want === 'string' && typeof actual === 'string' && property === 'ProxyFqdn' ? want.toLowerCase() === actual.toLowerCase() : text(actual) === text(want);
    return { property, expected: want, actual, ok: same };
  });
  return { ok: checks.every((c) => c.ok), found: true, checks };
}

/** Reads each Edge's local store and compares the provider, property by property, with what the plan set. */
export async function checkEdges(ctx: RunContext, spec: Extract<Step, { type: 'edge-check' }>, step: StepResult, expected: PlannedStep['expected']): Promise<boolean> {
  const agents = ctx.agents.forRole('edge');
  const online = new Set(agents.map((a) => a.name));
  const missing = ctx.agents.expected('edge').filter((name) => !online.has(name));
  step.edges = missing.map((agent) => ({ agent, ok: false, found: false, checks: [], error: 'agent offline: this Edge was not checked' }));
  if (!expected) {
    step.error = `nothing to compare: the plan has no step "${spec.expect}"`;
    return false;
  }
  if (agents.length === 0) {
    step.error = 'no agent serves the edge role: the Edge local store was not checked';
    return false;
  }
  const { records, results } = await invokeEach(agents, { cmdlet: spec.cmdlet, parameters: spec.parameters });
  step.invocations = records;
  results.forEach((result, i) => {
    const agent = agents[i]!;
    if (!result.ok) step.edges!.push({ agent: agent.name, ok: false, found: false, checks: [], error: unreachableText(result) });
    else step.edges!.push({ agent: agent.name, ...compareProvider(expected, result.output) });
  });
  const bad = step.edges.filter((e) => !e.ok);
  if (bad.length) step.error = `the Edge local store does not match on ${bad.map((e) => e.agent).join(', ')}`;
  return bad.length === 0;
}

/** A read step on every agent of its role (status). */
export async function readEverywhere(ctx: RunContext, spec: Extract<Step, { type: 'read' }>, step: StepResult): Promise<boolean> {
  step.objects = [];
  const agents = ctx.agents.forRole(spec.role);
  const { records, results } = await invokeEach(agents, { cmdlet: spec.cmdlet, parameters: spec.parameters });
  step.invocations.push(...records);
  const errors: string[] = [];
  results.forEach((result, i) => {
    const agent = agents[i]!;
    if (result.ok) step.objects!.push({ agent: agent.name, items: result.output });
    else errors.push(`${spec.cmdlet}: agent ${agent.name}: ${unreachableText(result, spec.cmdlet)}`);
  });
  if (errors.length) step.error = errors.join('; ');
  return errors.length === 0;
}

/**
 * One invocation on each agent at once: an agent that does not answer costs its own bound, once, and never delays
 * or hides the others. Records and results are in the agents' order.
 */
async function invokeEach(agents: readonly Agent[], inv: Invocation): Promise<{ records: InvocationRecord[]; results: InvocationResult[] }> {
  const records: InvocationRecord[] = agents.map(() => ({ line: renderInvocation(inv) }));
  const results = await Promise.all(agents.map((agent, i) => invokeRecorded(agent, inv, records[i]!)));
  return { records, results };
}

/** A failure as a step shows it; an agent that could not be reached (offline, lost) is called unreachable. */
function unreachableText(result: Extract<InvocationResult, { ok: false }>, cmdlet?: string): string {
  const text = failureText(result, cmdlet);
  return result.error.kind === 'agent' ? `unreachable: ${text}` : text;
}

async function timed(step: StepResult, clock: Clock, work: () => Promise<boolean>): Promise<boolean> {
  const start = clock.now().getTime();
  step.status = 'running';
  const ok = await work();
  step.durationMs = clock.now().getTime() - start;
  step.status = ok ? 'succeeded' : 'failed';
  return ok;
}

/** Runs the checks of a plan (replication, Edge, reads) into their step results; true when all passed. */
export async function runChecks(ctx: RunContext, plan: Plan, steps: StepResult[], report: () => Promise<void>, wait = true): Promise<boolean> {
  for (const check of plan.checks) {
    if (ctx.stopping?.()) return false;
    const step = steps.find((s) => s.stepId === check.id)!;
    let ok = true;
    if (check.type === 'replication') ok = await timed(step, ctx.clock, () => checkReplication(ctx, check, step, wait && check.wait, report));
    else if (check.type === 'edge-check') {
      const expected = plan.steps.find((s) => s.stepId === check.expect)?.expected ?? null;
      ok = await timed(step, ctx.clock, () => checkEdges(ctx, check, step, expected));
    } else if (check.type === 'read') ok = await timed(step, ctx.clock, () => readEverywhere(ctx, check, step));
    await report();
    if (!ok && check.type === 'replication' && wait) {
      skipRest(steps);
      return false;
    }
  }
  return steps.every((s) => s.status !== 'failed');
}

/** Steps that never started are marked skipped, so a report never shows them as still to come. */
export function skipRest(steps: StepResult[]): void {
  for (const s of steps) if (s.status === 'pending') s.status = 'skipped';
}

/** Executes the change steps, then the checks. The run record is updated in place and reported as it goes. */
export async function executePlan(ctx: RunContext, run: RunRecord, plan: Plan): Promise<RunRecord> {
  const report = () => ctx.progress(run);
  const stopped = (): boolean => {
    if (!ctx.stopping?.()) return false;
    skipRest(run.steps);
    const done = run.steps.filter((s) => s.status === 'succeeded').at(-1);
    run.status = 'stopped';
    run.summary = `stopped by shutdown${done ? ` after "${done.title}"` : ' before any step'}; the steps marked skipped did not run`;
    return true;
  };
  for (const planned of plan.steps) {
    const step = run.steps.find((s) => s.stepId === planned.stepId)!;
    if (planned.action === 'no-op') continue;
    if (stopped()) return run;
    step.status = 'running';
    await report();
    const ok = await timed(step, ctx.clock, () => runChange(ctx, planned, step));
    await report();
    if (!ok) {
      skipRest(run.steps);
      run.status = 'failed';
      run.summary = `step "${planned.title}" failed; later steps did not run`;
      return run;
    }
  }
  if (stopped()) return run;
  const ok = await runChecks(ctx, plan, run.steps, report);
  if (stopped()) return run;
  run.status = ok ? 'succeeded' : 'failed';
  const failed = run.steps.find((s) => s.status === 'failed');
  run.summary = ok ? 'the change is in the Central Management Store and on every Edge' : `${failed?.title ?? 'a check'} failed`;
  return run;
}

