// `npm run demo`: a whole conversation typed into the console, against LyncSim: status, a setup that its requester
// may not approve herself, bob's approval, the run with its replication wait and Edge comparison, verify, a
// rollback, and status again. Each line goes through the console exactly as if typed; after each, the demo checks
// what should now be true and stops at the first surprise, with the reason. A check reads the records themselves
// (the views this line posted, the request and run in the store, every step's status, the replica rows, the Edge
// comparison rows, the simulator's state and calls), never just that something was shown: a `[demo] ✓` holds only
// when what its sentence names held. Exit code 0 only when every expectation held.
import { pathToFileURL } from 'node:url';
import { PowerShellNotFoundError } from './agent/locatePowerShell.js';
import type { View } from './core/ports.js';
import type { RequestRecord, RunRecord, StepResult } from './core/records.js';
import type { PlannedStep } from './core/runbook/planner.js';
import { startConsole, type ConsoleApp } from './console/runConsole.js';
import type { Output } from './console/notifier.js';
import { SIM_EDGE, SIM_FRONT_END } from './simulator.js';

export interface DemoOptions {
  /** where the conversation is printed; default process.stdout */
  out?: Output & NodeJS.WritableStream;
  /** the PowerShell to run; default: found or installed by locatePowerShell */
  executable?: string;
  /** NO_COLOR, LOG_LEVEL, LYNC_EXO_PWSH; LYNC_EXO_CONFIG is ignored: the demo's people are alice, bob and carol */
  env?: NodeJS.ProcessEnv;
  /** LyncSim's replication lag (default 3 s, so the wait shows) */
  lagSeconds?: number;
  /** called once the sessions are up, before the first line: tests break the deployment here to see the demo fail */
  beforeFirstLine?: (app: ConsoleApp) => void | Promise<void>;
}

/** What one typed line produced: the messages it posted (as last shown) and the replies its typist got. */
export interface Turn {
  app: ConsoleApp;
  user: string;
  posted: View[];
  replies: string[];
  /** how many calls LyncSim had recorded before the line */
  callsBefore: number;
}

/** A check returns why it did not hold, or nothing. */
type Check = (turn: Turn) => string | undefined | Promise<string | undefined>;

/** A line to type, and what must be true afterwards. Every line has checks: a line that did nothing is a surprise too. */
interface DemoStep {
  line: string | ((app: ConsoleApp) => string);
  checks: { says: string; check: Check }[];
}

type ReportView = Extract<View, { kind: 'report' }>;

function postedOne<K extends View['kind']>(turn: Turn, kind: K): Extract<View, { kind: K }> | undefined {
  return turn.posted.filter((v): v is Extract<View, { kind: K }> => v.kind === kind).at(-1);
}

const said = (turn: Turn): string => (turn.replies.length ? `${turn.user} was told: ${turn.replies.join(' / ')}` : 'nothing was shown');

/** PowerShell's booleans and enums as text, compared as Lync compares them (without regard to case). */
const same = (a: unknown, b: unknown): boolean => String(a).toLowerCase() === String(b).toLowerCase();

/** The failed steps of a report or run, each with its error: the reason a check gives. */
function failedSteps(steps: StepResult[]): string {
  return steps
    .filter((s) => s.status !== 'succeeded')
    .map((s) => `step "${s.title}" ${s.status}${s.error ? `: ${s.error}` : ''}`)
    .join('; ');
}

/** A status report, shown by this line, in which every read of the status runbook ran and succeeded. */
export function statusProblem(report: ReportView | undefined, expectedSteps: number): string | undefined {
  if (report?.title !== 'status') return 'no status report was shown';
  if (report.steps.length !== expectedSteps) return `the report has ${report.steps.length} steps, not the status runbook's ${expectedSteps}`;
  const bad = failedSteps(report.steps);
  return bad || undefined;
}

/** The agents the status report lists, each online. */
export function agentsProblem(report: ReportView | undefined, names: string[]): string | undefined {
  for (const name of names) {
    const a = report?.agents?.find((x) => x.name === name);
    if (!a) return `the report lists no agent ${name}`;
    if (!a.online) return `agent ${name} is offline`;
  }
  return undefined;
}

/**
 * The replication step succeeded and each host that matters (the Front End and the Edge) is up to date; with
 * `since`, with an update created after it (a replica may still report an old UpToDate = True just after a write).
 * Other replicas are shown but not required (a deployment may list some that never report).
 */
export function replicasProblem(step: StepResult | undefined, hosts: string[], since?: string): string | undefined {
  if (!step) return 'there is no replication step';
  if (step.status !== 'succeeded') return `step "${step.title}" ${step.status}${step.error ? `: ${step.error}` : ''}`;
  for (const fqdn of hosts) {
    const r = step.replicas?.find((x) => same(x.fqdn, fqdn));
    if (!r) return `no replica ${fqdn} was reported (replicas: ${step.replicas?.map((x) => x.fqdn).join(', ') || 'none'})`;
    if (!r.upToDate) return `${fqdn} is not up to date`;
    if (since !== undefined) {
      const created = r.lastUpdateCreation ? Date.parse(r.lastUpdateCreation) : NaN;
      if (!(created >= Date.parse(since))) return `${fqdn} holds an update created ${r.lastUpdateCreation ?? '(never)'}, before the run started at ${since}`;
    }
  }
  return undefined;
}

/**
 * The Edge comparison step succeeded on `agent`, and compared what the plan expects: every property the plan set,
 * each equal to its value (checked again here, not taken from the row's ok), or the object's absence.
 */
export function edgeProblem(step: StepResult | undefined, agent: string, expected: PlannedStep['expected'] | undefined): string | undefined {
  if (!step) return 'there is no Edge comparison step';
  if (!expected) return 'the plan expects nothing on the Edge';
  if (step.status !== 'succeeded') return `step "${step.title}" ${step.status}${step.error ? `: ${step.error}` : ''}`;
  const row = step.edges?.find((e) => e.agent === agent);
  if (!row) return `the Edge ${agent} was not compared`;
  if (row.error) return `${agent}: ${row.error}`;
  if (expected.properties === null) return row.found || !row.ok ? `${agent} still holds ${expected.keyValue}` : undefined;
  if (!row.found) return `${agent} does not hold ${expected.keyValue}`;
  for (const [property, want] of Object.entries(expected.properties)) {
    const c = row.checks.find((x) => x.property === property);
    if (!c) return `${property} was not compared on ${agent}`;
    if (!c.ok || !same(c.actual, want)) return `${property} on ${agent} is ${String(c.actual)}, expected ${String(want)}`;
  }
  return undefined;
}

/** A run shown by this line, of `runbook`, for request `requestId`, approved by `approver`, every step succeeded. */
export function runProblem(run: RunRecord | undefined, runbook: string, requestId: string, approver: string): string | undefined {
  if (!run) return 'no run was shown';
  if (run.runbook !== runbook) return `the run is a ${run.runbook} run, not ${runbook}`;
  if (run.requestId !== requestId) return `run ${run.id} is for request ${run.requestId}, not ${requestId}`;
  if (!run.approvers.includes(approver)) return `run ${run.id} was approved by ${run.approvers.join(', ') || 'nobody'}, not ${approver}`;
  if (run.status !== 'succeeded') return `run ${run.id} ${run.status}: ${run.summary ?? ''}${failedSteps(run.steps) ? ` (${failedSteps(run.steps)})` : ''}`;
  return failedSteps(run.steps) || undefined;
}

/** The one object a read step found on `agent`, with its items. */
function readItems(report: ReportView | undefined, pattern: RegExp, agent: string): Record<string, unknown>[] | string {
  const step = report?.steps.find((s) => s.kind === 'read' && pattern.test(s.title));
  if (!step) return `the report has no read step matching ${String(pattern)}`;
  if (step.status !== 'succeeded') return `step "${step.title}" ${step.status}${step.error ? `: ${step.error}` : ''}`;
  const read = step.objects?.find((o) => o.agent === agent);
  return read ? read.items : `step "${step.title}" holds nothing read on ${agent}`;
}

const statusReport = (turn: Turn) => postedOne(turn, 'report');

function statusChecks(): DemoStep['checks'] {
  return [
    {
      says: 'status was reported, and every read it makes succeeded',
      check: (t) => statusProblem(statusReport(t), t.app.runbooks.get('status')?.steps.length ?? NaN),
    },
    { says: 'both agents are online', check: (t) => agentsProblem(statusReport(t), ['fe01', 'edge01']) },
    {
      says: `${SIM_FRONT_END} and ${SIM_EDGE} report up to date`,
      check: (t) => replicasProblem(statusReport(t)?.steps.find((s) => s.kind === 'replication'), [SIM_FRONT_END, SIM_EDGE]),
    },
    {
      says: "the Edge's local store holds no hosting provider",
      check: (t) => {
        const items = readItems(statusReport(t), /Hosting provider/i, 'edge01');
        if (typeof items === 'string') return items;
        return items.length === 0 ? undefined : `the Edge shows ${items.length} provider(s): ${items.map((i) => String(i.Identity)).join(', ')}`;
      },
    },
    {
      says: 'the Edge does not allow federated users',
      check: (t) => {
        const items = readItems(statusReport(t), /Access Edge/i, 'edge01');
        if (typeof items === 'string') return items;
        if (items.length !== 1) return `the Edge shows ${items.length} Access Edge configurations`;
        return same(items[0]!.AllowFederatedUsers, false) ? undefined : `AllowFederatedUsers is ${String(items[0]!.AllowFederatedUsers)}`;
      },
    },
  ];
}

/** The plan posted by this line, as the store holds it now. */
async function postedPlan(turn: Turn): Promise<RequestRecord | string> {
  const shown = postedOne(turn, 'plan');
  if (!shown) return `no plan was shown; ${said(turn)}`;
  const stored = await turn.app.store.getRequest(shown.request.id);
  return stored ?? `request ${shown.request.id} is not in the store`;
}

function planProblem(r: RequestRecord, id: string, runbook: string, steps: { action: string; target: string; changes?: Record<string, [unknown, unknown]> }[]): string | undefined {
  if (r.id !== id) return `the plan is request ${r.id}, not ${id}`;
  if (r.runbook !== runbook) return `the plan is for ${r.runbook}, not ${runbook}`;
  if (r.status !== 'pending') return `request ${r.id} is ${r.status}`;
  if (r.plan.refusals.length) return `the plan was refused: ${r.plan.refusals.join('; ')}`;
  const got = r.plan.steps.map((s) => `${s.action} ${s.target}`).join(', ');
  const want = steps.map((s) => `${s.action} ${s.target}`).join(', ');
  if (got !== want) return `the plan's steps are ${got || '(none)'}, not ${want}`;
  for (const [i, s] of steps.entries()) {
    for (const [property, [from, to]] of Object.entries(s.changes ?? {})) {
      const c = r.plan.steps[i]!.changes.find((x) => x.property === property);
      if (!c) return `step "${r.plan.steps[i]!.title}" does not change ${property}`;
      if ((from !== undefined && !same(c.from, from)) || !same(c.to, to)) return `step "${r.plan.steps[i]!.title}" changes ${property} from ${String(c.from)} to ${String(c.to)}`;
    }
  }
  return undefined;
}

/** The approval of `requestId` is in the audit log with the approver's directory email and account, and on the run. */
async function approverAudited(turn: Turn, requestId: string, user: string): Promise<string | undefined> {
  const email = `${user}@contoso.com`;
  const account = `CONTOSO\\${user}`;
  const approved = (await turn.app.store.listAudit()).find((a) => a.action === 'approved' && a.requestId === requestId && a.actor === user);
  if (!approved) return `the audit has no approval of ${requestId} by ${user}`;
  if (approved.email !== email || approved.account !== account) return `the audit's approval by ${user} says email ${approved.email ?? '(none)'}, account ${approved.account ?? '(none)'}`;
  const run = await postedRun(turn);
  const on = run?.approvedBy?.find((a) => a.user === user);
  if (on?.email !== email) return `run ${run?.id ?? '(none)'} records ${user}'s email as ${on?.email ?? '(none)'}`;
  return undefined;
}

/** The run posted by this line, as the store holds it now. */
async function postedRun(turn: Turn): Promise<RunRecord | undefined> {
  const shown = postedOne(turn, 'run');
  return shown ? ((await turn.app.store.getRun(shown.run.id)) ?? shown.run) : undefined;
}

async function runChecksHeld(turn: Turn, what: 'replication' | 'edge'): Promise<string | undefined> {
  const run = await postedRun(turn);
  if (!run) return 'no run was shown';
  if (what === 'replication') return replicasProblem(run.steps.find((s) => s.kind === 'replication'), [SIM_FRONT_END, SIM_EDGE], run.startedAt);
  const request = await turn.app.store.getRequest(run.requestId);
  const step = run.steps.find((s) => s.kind === 'edge-check');
  // the runbook names the change step the Edge comparison checks
  const spec = request?.plan.checks.find((c) => c.id === step?.stepId);
  const expected = spec?.type === 'edge-check' ? request?.plan.steps.find((s) => s.stepId === spec.expect)?.expected : undefined;
  return edgeProblem(step, 'edge01', expected);
}

/** Nothing changed in LyncSim: no state-changing cmdlet was called at all. */
function nothingChanged(app: ConsoleApp): string | undefined {
  const calls = app.sim.read().calls;
  return calls.length === 0 ? undefined : `LyncSim recorded ${calls.map((c) => `${c.cmdlet} (${c.outcome})`).join(', ')}`;
}

/** During this line, each cmdlet ran exactly once, successfully, and no other state-changing call was made. */
function ranOnce(turn: Turn, cmdlets: string[]): string | undefined {
  const calls = turn.app.sim.read().calls.slice(turn.callsBefore);
  const failed = calls.filter((c) => c.outcome !== 'ok');
  if (failed.length) return `LyncSim recorded ${failed.map((c) => `${c.cmdlet} ${c.outcome}${c.errorId ? ` (${c.errorId})` : ''}`).join(', ')}`;
  for (const cmdlet of cmdlets) {
    const n = calls.filter((c) => c.cmdlet === cmdlet && c.outcome === 'ok').length;
    if (n !== 1) return `${cmdlet} ran ${n} times`;
  }
  const others = calls.filter((c) => !cmdlets.includes(c.cmdlet));
  return others.length ? `LyncSim also ran ${others.map((c) => c.cmdlet).join(', ')}` : undefined;
}

const actingAs = (user: string): DemoStep => ({
  line: `as ${user}`,
  checks: [{ says: `${user} is typing now`, check: (t) => (t.app.session.prompt === `${user}> ` ? undefined : `the prompt is "${t.app.session.prompt}"; ${said(t)}`) }],
});

const pendingId = (app: ConsoleApp): string => app.notifier.views('plan').at(-1)?.request.id ?? 'r-?';

const SETUP_CALLS = ['Set-CsAccessEdgeConfiguration', 'New-CsHostingProvider'];
const ROLLBACK_CALLS = ['Set-CsAccessEdgeConfiguration', 'Remove-CsHostingProvider'];

const STEPS: DemoStep[] = [
  {
    line: 'status',
    checks: [
      ...statusChecks(),
      {
        says: 'LyncSim starts with no hosting provider and federated users not allowed',
        check: (t) => {
          const cms = t.app.sim.read().cms;
          if (cms.hostingProviders.length) return `providers exist before setup: ${cms.hostingProviders.map((p) => p.Identity).join(', ')}`;
          return cms.accessEdge.AllowFederatedUsers ? 'AllowFederatedUsers is already True' : undefined;
        },
      },
    ],
  },
  {
    line: 'setup',
    checks: [
      {
        says: 'a plan r-1 waits for approval: change the access edge, create the provider',
        check: async (t) => {
          const r = await postedPlan(t);
          if (typeof r === 'string') return r;
          return planProblem(r, 'r-1', 'setup', [
            { action: 'change', target: 'Global', changes: { AllowFederatedUsers: [false, true] } },
            { action: 'create', target: 'Exchange Online', changes: { ProxyFqdn: [undefined, 'exap.um.outlook.com'], EnabledSharedAddressSpace: [undefined, true] } },
          ]);
        },
      },
      { says: 'nothing has changed in LyncSim yet', check: (t) => nothingChanged(t.app) },
    ],
  },
  {
    line: 'approve',
    checks: [
      {
        says: 'alice may not approve her own request',
        check: (t) => (t.replies.some((r) => /someone else must approve/.test(r)) ? undefined : said(t)),
      },
      {
        says: 'the request is still pending, with no approval, and nothing ran',
        check: async (t) => {
          const r = await t.app.store.getRequest('r-1');
          if (r?.status !== 'pending') return `request r-1 is ${r?.status ?? 'missing'}`;
          if (r.approvals.length) return `request r-1 holds approvals by ${r.approvals.map((a) => a.user).join(', ')}`;
          if (postedOne(t, 'run')) return 'a run was shown';
          return nothingChanged(t.app);
        },
      },
    ],
  },
  actingAs('bob'),
  {
    line: (app) => `approve ${pendingId(app)}`,
    checks: [
      { says: "bob's approval ran the setup and every step succeeded", check: async (t) => runProblem(await postedRun(t), 'setup', 'r-1', 'bob') },
      { says: 'the audit records who approved in directory terms: bob@contoso.com, CONTOSO\\bob', check: (t) => approverAudited(t, 'r-1', 'bob') },
      { says: `each change ran once in LyncSim: ${SETUP_CALLS.join(', ')}`, check: (t) => ranOnce(t, SETUP_CALLS) },
      { says: `${SIM_FRONT_END} and ${SIM_EDGE} reported up to date with the change`, check: (t) => runChecksHeld(t, 'replication') },
      { says: "the Edge's local store matches every property the plan set", check: (t) => runChecksHeld(t, 'edge') },
      {
        says: 'LyncSim holds the provider Exchange Online (exap.um.outlook.com) and allows federated users',
        check: (t) => {
          const cms = t.app.sim.read().cms;
          const p = cms.hostingProviders.find((x) => x.Identity === 'Exchange Online');
          if (!p) return 'no provider Exchange Online in the simulator';
          if (p.ProxyFqdn !== 'exap.um.outlook.com' || !p.EnabledSharedAddressSpace || p.VerificationLevel !== 'UseSourceVerification') return `the provider is ${JSON.stringify(p)}`;
          return cms.accessEdge.AllowFederatedUsers ? undefined : 'AllowFederatedUsers is still False';
        },
      },
    ],
  },
  actingAs('alice'),
  {
    line: 'verify',
    checks: [
      {
        says: 'verify passes item by item, with replication and the Edge checked',
        check: (t) => {
          const r = postedOne(t, 'report');
          if (r?.title !== 'verify') return `no verify report was shown; ${said(t)}`;
          if (!r.items?.length) return 'the report has no items';
          const failing = r.items.filter((i) => !i.ok);
          if (failing.length) return `failing items: ${failing.map((i) => `${i.item} (expected ${i.expected}, actual ${i.actual})`).join(', ')}`;
          const kinds = r.steps.map((s) => s.kind).join(', ');
          if (!r.steps.some((s) => s.kind === 'replication') || !r.steps.some((s) => s.kind === 'edge-check')) return `the report's checks are ${kinds || '(none)'}`;
          const bad = failedSteps(r.steps);
          if (bad) return bad;
          return r.verdict === 'pass' ? undefined : `the verdict is ${r.verdict ?? '(none)'}`;
        },
      },
    ],
  },
  {
    line: 'rollback',
    checks: [
      {
        says: 'a rollback plan r-2 of run-1 waits for approval: in reverse order, remove the provider, change the access edge back',
        check: async (t) => {
          const r = await postedPlan(t);
          if (typeof r === 'string') return r;
          if (r.rollbackOf !== 'run-1') return `the plan rolls back ${r.rollbackOf ?? 'nothing'}, not run-1`;
          return planProblem(r, 'r-2', 'rollback', [
            { action: 'remove', target: 'Exchange Online' },
            { action: 'change', target: 'Global', changes: { AllowFederatedUsers: [true, false] } },
          ]);
        },
      },
    ],
  },
  actingAs('bob'),
  {
    line: 'approve',
    checks: [
      { says: 'the rollback ran and every step succeeded', check: async (t) => runProblem(await postedRun(t), 'rollback', 'r-2', 'bob') },
      {
        says: `each change ran once in LyncSim: ${ROLLBACK_CALLS.join(', ')}`,
        check: (t) => ranOnce(t, ROLLBACK_CALLS),
      },
      { says: `${SIM_FRONT_END} and ${SIM_EDGE} reported up to date with the rollback`, check: (t) => runChecksHeld(t, 'replication') },
      { says: "the Edge's local store no longer holds the provider", check: (t) => runChecksHeld(t, 'edge') },
      {
        says: 'LyncSim is back where it started: no provider, federated users not allowed',
        check: (t) => {
          const cms = t.app.sim.read().cms;
          if (cms.hostingProviders.length) return `providers left: ${cms.hostingProviders.map((p) => p.Identity).join(', ')}`;
          return cms.accessEdge.AllowFederatedUsers ? 'AllowFederatedUsers is still True' : undefined;
        },
      },
    ],
  },
  { line: 'status', checks: statusChecks() },
  {
    line: 'history',
    checks: [
      {
        says: 'history lists r-1 and r-2 approved by bob (bob@contoso.com, CONTOSO\\bob), run-1 (setup) and run-2 (rollback) succeeded',
        check: (t) => {
          const h = postedOne(t, 'history');
          if (!h) return `no history was shown; ${said(t)}`;
          for (const id of ['r-1', 'r-2']) {
            const r = h.requests.find((x) => x.id === id);
            if (r?.status !== 'approved') return `request ${id} is ${r?.status ?? 'not listed'}`;
            const bob = r.approvals.find((a) => a.user === 'bob');
            if (bob?.email !== 'bob@contoso.com' || bob.account !== 'CONTOSO\\bob') return `request ${id}'s approval by bob says email ${bob?.email ?? '(none)'}, account ${bob?.account ?? '(none)'}`;
          }
          for (const [id, runbook] of [['run-1', 'setup'], ['run-2', 'rollback']] as const) {
            const r = h.runs.find((x) => x.id === id);
            if (!r) return `run ${id} is not listed`;
            if (r.runbook !== runbook || r.status !== 'succeeded') return `run ${id} is a ${r.runbook} run that ${r.status}`;
          }
          return undefined;
        },
      },
    ],
  },
];

/** Plays the demo; resolves with the exit code (0: every expectation held). */
export async function runDemo(options: DemoOptions = {}): Promise<number> {
  const out = options.out ?? process.stdout;
  const started = Date.now();
  const note = (text: string) => out.write(`${text}\n`);
  note('lync-exo demo: a setup and its rollback, typed into the console against LyncSim\n');
  let app: ConsoleApp;
  try {
    app = await startConsole({
      output: out,
      env: { ...(options.env ?? process.env), LYNC_EXO_CONFIG: '' },
      executable: options.executable,
      lagSeconds: options.lagSeconds ?? 3,
    });
  } catch (err) {
    const why = err instanceof PowerShellNotFoundError ? `no PowerShell to run the simulator: ${err.message}` : (err as Error).message;
    note(`demo: FAILED before the first line: ${why}`);
    return 2;
  }
  let held = 0;
  let failure: string | undefined;
  try {
    await options.beforeFirstLine?.(app);
    for (const step of STEPS) {
      const line = typeof step.line === 'string' ? step.line : step.line(app);
      const user = app.session.prompt.replace(/> $/, '');
      const posted = app.notifier.messages.length;
      const replied = app.notifier.ephemerals.length;
      const prompt = app.session.prompt;
      const callsBefore = app.sim.read().calls.length;
      await app.type(line);
      const turn: Turn = {
        app,
        user,
        posted: app.notifier.messages.slice(posted).map((m) => m.view),
        replies: app.notifier.ephemerals.slice(replied).filter((e) => e.user === user).map((e) => e.text),
        callsBefore,
      };
      for (const { says, check } of step.checks) {
        const why = await check(turn);
        if (why !== undefined) {
          failure = `after "${prompt}${line}": expected ${says}, but ${why}`;
          break;
        }
        held++;
        note(`  [demo] ✓ ${says}`);
      }
      if (failure) break;
    }
    // the audit log as `lync-exo audit` prints it: who did what, approvers with their directory email and account
    if (!failure) {
      note('\naudit (as `lync-exo audit` prints it):');
      for (const record of await app.store.listAudit()) note(JSON.stringify(record));
    }
  } catch (err) {
    failure = `internal error: ${(err as Error).stack ?? String(err)}`;
  } finally {
    await app.close();
  }
  const took = ((Date.now() - started) / 1000).toFixed(1);
  if (failure) {
    note(`\ndemo: FAILED ${failure}`);
    return 1;
  }
  note(`\ndemo: every expectation held (${held} checks) in ${took} s`);
  return 0;
}

// `tsx src/demo.ts` runs it directly (src/main.ts demo is the usual way in).
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await runDemo();
}
