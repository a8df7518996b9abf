// Running a plan: change steps in order on the agent serving their role (the first failure stops the run), then
// replication polling and the Edge local-store comparison. Progress is reported after every change of state.
import type { Result } from '../errors.js';
import { ReplicaStatusSchema } from '../lync.js';
import type { AgentPool, Clock } from '../ports.js';
import type { EdgeRow, InvocationRecord, PropertyCheck, ReplicaRow, RunRecord, StepResult } from '../records.js';
import type { Plan, PlannedStep, PreState } from '../runbook/planner.js';
import { renderInvocation, text } from '../runbook/render.js';
import type { ReadSpec, Step } from '../runbook/schema.js';
import type { Agent, Invocation, InvocationResult, Role } from '../types.js';

/**
 * How replication is checked. `require`: replica FQDNs that must be up to date besides the Edges the Edge check reads;
 * `ignore`: replicas never waited for (trusted application pools and retired hosts that never report).
 */
export interface ReplicationPolicy {
  pollIntervalMs: number;
  timeoutMs: number;
  require?: readonly string[];
  ignore?: readonly string[];
}

export interface RunContext {
  agents: AgentPool;
  clock: Clock;
  replication: ReplicationPolicy;
  /** called after each change of a run's state; the adapter updates its message */
  progress: (run: RunRecord) => Promise<void>;
  /** true once the process is shutting down: the run stops between steps, never inside one */
  stopping?: () => boolean;
  /** edge-role agents not on an Edge Server, with the host they run on (PolicyConfig.edgeStandIns) */
  edgeStandIns?: Record<string, string>;
}

/** What an Edge read on a stand-in shows, and what to configure instead. */
export function standInNote(agent: string, host: string): string {
  return (
    `${agent} is not an Edge Server: -LocalStore there reads the local store of ${host}, the host it runs on, which does not prove that the change reached an Edge. ` +
    'To check the Edges, run `lync-exo agent` with LYNC_EXO_AGENT_ROLES=edge on each Edge Server, list each in agents.remote and agents.expectedEdges, and take the edge role off the embedded agent'
  );
}

function noteStandIns(ctx: RunContext, step: StepResult, agents: readonly string[]): void {
  const notes = agents.filter((a) => ctx.edgeStandIns?.[a] !== undefined).map((a) => standInNote(a, ctx.edgeStandIns![a]!));
  if (notes.length) step.warnings = [...new Set([...(step.warnings ?? []), ...notes])];
}

/** The summary of a run whose checks passed: where the change was seen, and no more than that. */
function succeededSummary(ctx: RunContext, steps: readonly StepResult[]): string {
  const checked = [...new Set(steps.filter((s) => s.kind === 'edge-check').flatMap((s) => (s.edges ?? []).map((e) => e.agent)))];
  const standIns = checked.filter((a) => ctx.edgeStandIns?.[a] !== undefined);
  const edges = checked.filter((a) => ctx.edgeStandIns?.[a] === undefined);
  if (standIns.length === 0) return 'the change is in the Central Management Store and on every Edge';
  const read = standIns.map((a) => `${a} read the local store of ${ctx.edgeStandIns![a]!}`).join('; ');
  const todo = 'To prove replication to an Edge, run an agent with the edge role on each Edge Server (agents.remote, agents.expectedEdges)';
  if (edges.length) return `the change is in the Central Management Store and on the Edges checked (${edges.join(', ')}); ${read}, not an Edge's. ${todo}`;
  return `the change is in the Central Management Store; no Edge Server was checked: ${read}, not an Edge's. ${todo}`;
}

export const REPLICATION_HINTS = [
  'the "Lync Server Replica Replicator Agent" service (REPLICA) is running on the lagging server',
  "TCP 4443 is open from the Front End to the Edge's internal interface (event 1017 on the Front End means it is not)",
  "the Edge's internal certificate chains to the same PKI as the Front End and matches its name (event 1015)",
  'Invoke-CsManagementStoreReplication -ReplicaFqdn <fqdn> forces a full replication (it can take 2–3 minutes to start)',
  'a replica that never reports (a trusted application pool without a local store, a retired server) can be left out with replication.ignore in the config, or fixed with Set-CsTrustedApplicationPool -RequiresReplication $False',
];

/** How many times the Edge check reads a local store that does not match yet, a poll interval apart, before failing. */
export const EDGE_READ_ATTEMPTS = 4;

/** A replica row as the replication check leaves it: whether the run waited for it, and why it is not done. */
export type CheckedReplicaRow = ReplicaRow & {
  /** false: shown for information, never waited for */
  required: boolean;
  /** up to date and holding an update created after the change (or no change to wait for) */
  current: boolean;
};

/** Warnings a step's cmdlets wrote, with the agent that ran them, until the step ends. */
const pendingWarnings = new WeakMap<StepResult, { agent: string; text: string }[]>();

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
export async function readState(reads: Record<string, ReadSpec>, pool: AgentPool): Promise<Result<PreState>> {
  const state: PreState = {};
  const failed = (error: string, hint?: string): Result<PreState> => ({ ok: false, error: { code: 'read-failed', error, planned: true, ...(hint ? { hint } : {}) } });
  for (const [name, spec] of Object.entries(reads)) {
    const agent = firstAgent(pool, spec.role);
    if (!agent) return failed(`reading ${spec.cmdlet}: no agent serves the ${spec.role} role`);
    const result = await agent.invoke({ cmdlet: spec.cmdlet, parameters: spec.parameters ?? {} });
    if (!result.ok) return failed(`reading ${spec.cmdlet}: agent ${agent.name}: ${failureText(result, spec.cmdlet)}`, result.error.hint);
    state[name] = result.output;
  }
  return { ok: true, value: state };
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

async function invokeRecorded(agent: Agent, inv: Invocation, record: InvocationRecord, step?: StepResult): Promise<InvocationResult> {
  const result = await agent.invoke(inv);
  record.agent = agent.name;
  record.ok = result.ok;
  record.durationMs = result.durationMs;
  if (!result.ok) record.error = result.error;
  else if (step && result.warnings?.length) {
    const list = pendingWarnings.get(step) ?? [];
    for (const text of result.warnings) if (!list.some((w) => w.agent === agent.name && w.text === text)) list.push({ agent: agent.name, text });
    pendingWarnings.set(step, list);
  }
  return result;
}

/** Moves a step's warnings into its result; each names its agent when several agents ran the step (the Edge check). */
function settleWarnings(step: StepResult): void {
  const list = pendingWarnings.get(step);
  if (!list?.length) return;
  pendingWarnings.delete(step);
  const agents = new Set(step.invocations.map((i) => i.agent).filter(Boolean));
  const texts = list.map((w) => (agents.size > 1 ? `${w.agent}: ${w.text}` : w.text));
  step.warnings = [...(step.warnings ?? []), ...texts.filter((t) => !step.warnings?.includes(t))];
}

async function runChange(ctx: RunContext, planned: PlannedStep, step: StepResult): Promise<boolean> {
  const agent = firstAgent(ctx.agents, planned.role);
  if (!agent) {
    step.error = `no agent serves the ${planned.role} role`;
    return false;
  }
  for (const [i, inv] of planned.invocations.entries()) {
    const result = await invokeRecorded(agent, inv, step.invocations[i]!, step);
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

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

/** An agent serves the replica named after it: its FQDN, or the FQDN's first label (agent edge01, edge01.contoso.local). */
export function agentServesReplica(agent: string, fqdn: string): boolean {
  return sameName(agent, fqdn) || sameName(agent, fqdn.split('.')[0] ?? '');
}

export interface ReplicaSelection {
  /** FQDNs (as the status spells them) the check waits for */
  required: Set<string>;
  /** FQDNs in replication.require that the status does not list */
  missing: string[];
  /** why the selection is what it is, when the operator should know */
  notes: string[];
}

/** A replica as the selection sees it: its FQDN and whether it has ever reported (a date or a version). */
export interface ReplicaSeen {
  fqdn: string;
  reported: boolean;
}

const seenOf = (r: ReplicaRow): ReplicaSeen => ({ fqdn: r.fqdn, reported: r.upToDate || r.lastStatusReport !== null || r.productVersion !== null });

/**
 * Which replicas must be up to date: the Edges the Edge check reads (the replica named after each Edge agent) and
 * what the policy requires, less what it ignores. When an Edge agent cannot be tied to a replica, every replica
 * that has ever reported is required instead (fail closed), and a note says how to name them; replicas that never
 * reported (a trusted application pool without a local store) are then shown, not waited for: nothing ties them to
 * an Edge, and the Edge check reads each Edge's store itself.
 */
export function selectReplicas(replicas: readonly ReplicaSeen[], edgeAgents: readonly string[], policy: Pick<ReplicationPolicy, 'require' | 'ignore'>): ReplicaSelection {
  const fqdns = replicas.map((r) => r.fqdn);
  const ignored = (f: string) => (policy.ignore ?? []).some((i) => sameName(i, f));
  const notes: string[] = [];
  const unmatched = edgeAgents.filter((a) => !fqdns.some((f) => agentServesReplica(a, f)));
  const required = new Set<string>();
  const everyReporting = () => {
    for (const r of replicas) if (r.reported && !ignored(r.fqdn)) required.add(r.fqdn);
  };
  if (unmatched.length > 0) {
    everyReporting();
    notes.push(
      `no replica is named after Edge agent${unmatched.length > 1 ? 's' : ''} ${unmatched.join(', ')}, so every replica that reports and is not in replication.ignore must be up to date; ` +
        "name each Edge agent after its server's FQDN (or its first label), or list the replicas to wait for in replication.require",
    );
  } else {
    for (const f of fqdns) if (edgeAgents.some((a) => agentServesReplica(a, f)) && !ignored(f)) required.add(f);
  }
  const missing: string[] = [];
  for (const want of policy.require ?? []) {
    const found = fqdns.find((f) => sameName(f, want));
    if (found) required.add(found);
    else missing.push(want);
  }
  if (required.size === 0 && edgeAgents.length === 0 && (policy.require ?? []).length === 0) everyReporting();
  // in the status's order, as the table shows them
  return { required: new Set(fqdns.filter((f) => required.has(f))), missing, notes };
}

/** The Edge agents the Edge check reads: those online and those the pool expects. */
function edgeAgentNames(pool: AgentPool): string[] {
  return [...new Set([...pool.forRole('edge').map((a) => a.name), ...pool.expected('edge')])];
}

function describeLag(r: CheckedReplicaRow, since: Date | undefined): string {
  if (!r.upToDate) return r.fqdn;
  return `${r.fqdn} (reports UpToDate with an update created ${r.lastUpdateCreation ?? 'never'}, not after the change began at ${since?.toISOString() ?? '?'})`;
}

/**
 * Polls replication until every required replica is up to date (or reads it once when `wait` is false). After a
 * change (`since`), a replica counts only once its LastUpdateCreation is later than the change began: just after a
 * write the master has not snapshotted yet, and replicas still report UpToDate for the update before it.
 */
export async function checkReplication(
  ctx: RunContext,
  spec: Extract<Step, { type: 'replication' }>,
  step: StepResult,
  wait: boolean,
  onPoll?: () => Promise<void>,
  since?: Date,
): Promise<boolean> {
  const agent = firstAgent(ctx.agents, spec.role);
  if (!agent) {
    step.error = `no agent serves the ${spec.role} role`;
    return false;
  }
  const deadline = ctx.clock.now().getTime() + ctx.replication.timeoutMs;
  const edges = edgeAgentNames(ctx.agents);
  for (;;) {
    const record: InvocationRecord = { line: renderInvocation({ cmdlet: spec.cmdlet, parameters: {} }) };
    const result = await invokeRecorded(agent, { cmdlet: spec.cmdlet, parameters: {} }, record, step);
    step.invocations = [record];
    if (!result.ok) {
      step.error = `${spec.cmdlet}: agent ${agent.name}: ${failureText(result, spec.cmdlet)}`;
      if (result.error.hint) step.hints = [result.error.hint];
      return false;
    }
    let rows: ReplicaRow[];
    try {
      rows = toReplicaRows(result.output);
    } catch {
      step.error = `${spec.cmdlet}: agent ${agent.name}: output is not a replication status`;
      return false;
    }
    const selection = selectReplicas(rows.map(seenOf), edges, ctx.replication);
    const checked: CheckedReplicaRow[] = rows.map((r) => {
      const created = r.lastUpdateCreation === null ? Number.NaN : Date.parse(r.lastUpdateCreation);
      const fresh = since === undefined || created > since.getTime();
      return { ...r, required: selection.required.has(r.fqdn), current: r.upToDate && fresh };
    });
    step.replicas = checked;
    if (selection.notes.length) step.warnings = [...new Set([...(step.warnings ?? []), ...selection.notes])];
    if (selection.missing.length) {
      step.error =
        `replication.require names ${selection.missing.join(', ')}, which ${selection.missing.length > 1 ? 'are' : 'is'} not in the replication status ` +
        `(replicas: ${rows.map((r) => r.fqdn).join(', ') || 'none'})`;
      return false;
    }
    const lagging = checked.filter((r) => r.required && !r.current);
    if (lagging.length === 0) return true;
    if (!wait || ctx.clock.now().getTime() + ctx.replication.pollIntervalMs > deadline) {
      const names = lagging.map((r) => describeLag(r, since)).join(', ');
      step.error = wait
        ? `replication did not complete within ${Math.round(ctx.replication.timeoutMs / 1000)} s: not up to date: ${names}`
        : `not up to date: ${names}`;
      step.hints = REPLICATION_HINTS;
      if (lagging.some((r) => r.upToDate)) {
        step.hints = [
          ...REPLICATION_HINTS,
          "a replica that reports UpToDate but only an update from before the change: compare the clocks of the bot's host and the Central Management Store's Front End (LastUpdateCreation is the store's time)",
        ];
      }
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
export async function checkEdges(
  ctx: RunContext,
  spec: Extract<Step, { type: 'edge-check' }>,
  step: StepResult,
  expected: PlannedStep['expected'],
  retry = false,
): Promise<boolean> {
  const agents = ctx.agents.forRole('edge');
  const online = new Set(agents.map((a) => a.name));
  const missing = ctx.agents.expected('edge').filter((name) => !online.has(name));
  step.edges = missing.map((agent) => ({ agent, ok: false, found: false, checks: [], error: 'agent offline: this Edge was not checked', problem: { code: 'edge-offline' } }));
  if (!expected) {
    step.error = `nothing to compare: the plan has no step "${spec.expect}"`;
    return false;
  }
  if (agents.length === 0) {
    step.error = 'no agent serves the edge role: the Edge local store was not checked';
    step.problem = { code: 'no-edge-agent' };
    return false;
  }
  const attempts = retry ? EDGE_READ_ATTEMPTS : 1;
  // every Edge at once: one that does not answer costs its own bound, once, and never delays or hides the others
  const read = await Promise.all(agents.map((agent) => readEdge(ctx, spec, step, agent, expected, attempts)));
  step.invocations = read.map((r) => r.record);
  for (const r of read) step.edges.push(r.row);
  noteStandIns(ctx, step, agents.map((a) => a.name));
  const bad = step.edges.filter((e) => !e.ok);
  if (bad.length) {
    step.error = `the Edge local store does not match on ${bad.map((e) => e.agent).join(', ')}`;
    step.problem = { code: 'edge-mismatch', agents: bad.map((e) => e.agent) };
  }
  return bad.length === 0;
}

/** A read step on every agent of its role (status). */
export async function readEverywhere(ctx: RunContext, spec: Extract<Step, { type: 'read' }>, step: StepResult): Promise<boolean> {
  step.objects = [];
  const agents = ctx.agents.forRole(spec.role);
  if (spec.role === 'edge' && spec.parameters.LocalStore === true) noteStandIns(ctx, step, agents.map((a) => a.name));
  const { records, results } = await invokeEach(agents, { cmdlet: spec.cmdlet, parameters: spec.parameters }, step);
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
async function invokeEach(agents: readonly Agent[], inv: Invocation, step: StepResult): Promise<{ records: InvocationRecord[]; results: InvocationResult[] }> {
  const records: InvocationRecord[] = agents.map(() => ({ line: renderInvocation(inv) }));
  const results = await Promise.all(agents.map((agent, i) => invokeRecorded(agent, inv, records[i]!, step)));
  return { records, results };
}

/** A failure as a step shows it; an agent that could not be reached (offline, lost) is called unreachable. */
function unreachableText(result: Extract<InvocationResult, { ok: false }>, cmdlet?: string): string {
  const text = failureText(result, cmdlet);
  return result.error.kind === 'agent' ? `unreachable: ${text}` : text;
}

/** One Edge's local store, read again (a poll interval apart) while it does not match yet, up to `attempts` times. */
async function readEdge(
  ctx: RunContext,
  spec: Extract<Step, { type: 'edge-check' }>,
  step: StepResult,
  agent: Agent,
  expected: NonNullable<PlannedStep['expected']>,
  attempts: number,
): Promise<{ row: EdgeRow; record: InvocationRecord }> {
  let row: EdgeRow | undefined;
  let record: InvocationRecord | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    if (attempt > 1) await ctx.clock.sleep(ctx.replication.pollIntervalMs);
    record = { line: renderInvocation({ cmdlet: spec.cmdlet, parameters: spec.parameters }) };
    const result = await invokeRecorded(agent, { cmdlet: spec.cmdlet, parameters: spec.parameters }, record, step);
    if (!result.ok) {
      row = { agent: agent.name, ok: false, found: false, checks: [], error: unreachableText(result) };
      break;
    }
    row = { agent: agent.name, ...compareProvider(expected, result.output) };
    if (row.ok) break;
  }
  return { row: row!, record: record! };
}

async function timed(step: StepResult, clock: Clock, work: () => Promise<boolean>): Promise<boolean> {
  const start = clock.now().getTime();
  step.status = 'running';
  const ok = await work();
  settleWarnings(step);
  step.durationMs = clock.now().getTime() - start;
  step.status = ok ? 'succeeded' : 'failed';
  return ok;
}

/**
 * Runs the checks of a plan (replication, Edge, reads) into their step results; true when all passed. `since`: when
 * the run's first change began (replicas must hold an update created after it); `wait`: poll and retry, or read once.
 */
export async function runChecks(ctx: RunContext, plan: Plan, steps: StepResult[], report: () => Promise<void>, wait = true, since?: Date): Promise<boolean> {
  for (const check of plan.checks) {
    if (ctx.stopping?.()) return false;
    const step = steps.find((s) => s.stepId === check.id)!;
    let ok = true;
    if (check.type === 'replication') ok = await timed(step, ctx.clock, () => checkReplication(ctx, check, step, wait && check.wait, report, since));
    else if (check.type === 'edge-check') {
      const expected = plan.steps.find((s) => s.stepId === check.expect)?.expected ?? null;
      ok = await timed(step, ctx.clock, () => checkEdges(ctx, check, step, expected, wait));
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
  let changeBegan: Date | undefined;
  for (const planned of plan.steps) {
    const step = run.steps.find((s) => s.stepId === planned.stepId)!;
    if (planned.action === 'no-op') continue;
    if (stopped()) return run;
    changeBegan ??= ctx.clock.now();
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
  const ok = await runChecks(ctx, plan, run.steps, report, true, changeBegan);
  if (stopped()) return run;
  run.status = ok ? 'succeeded' : 'failed';
  const failed = run.steps.find((s) => s.status === 'failed');
  run.summary = ok ? succeededSummary(ctx, run.steps) : `${failed?.title ?? 'a check'} failed`;
  return run;
}

