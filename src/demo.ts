// `npm run demo`: a whole conversation typed into the console, against LyncSim: status, a setup that its requester
// may not approve herself, bob's approval, the run with its replication wait and Edge comparison, verify, a
// rollback, and status again. Each line goes through the console exactly as if typed; after each, the demo checks
// what should now be true (in the views shown and in the simulator's state) and stops at the first surprise.
// Exit code 0 only when every expectation held.
import { pathToFileURL } from 'node:url';
import { PowerShellNotFoundError } from './agent/locatePowerShell.js';
import type { View } from './core/ports.js';
import { startConsole, type ConsoleApp } from './console/runConsole.js';
import type { Output } from './console/notifier.js';

export interface DemoOptions {
  /** where the conversation is printed; default process.stdout */
  out?: Output & NodeJS.WritableStream;
  /** the PowerShell to run; default: found or installed by locatePowerShell */
  executable?: string;
  /** NO_COLOR, LOG_LEVEL, LYNC_EXO_PWSH; LYNC_EXO_CONFIG is ignored: the demo's people are alice, bob and carol */
  env?: NodeJS.ProcessEnv;
  /** LyncSim's replication lag (default 3 s, so the wait shows) */
  lagSeconds?: number;
}

/** A line to type, and what must be true afterwards: each check returns a failure reason, or nothing. */
interface DemoStep {
  line: string | ((app: ConsoleApp) => string);
  checks?: { says: string; check: (app: ConsoleApp) => string | undefined }[];
}

function last<K extends View['kind']>(app: ConsoleApp, kind: K): Extract<View, { kind: K }> | undefined {
  return app.notifier.views(kind).at(-1);
}

const pendingId = (app: ConsoleApp): string => last(app, 'plan')?.request.id ?? 'r-?';

function lastRunSucceeded(app: ConsoleApp, runbook: string): string | undefined {
  const run = last(app, 'run')?.run;
  if (!run) return 'no run was shown';
  if (run.runbook !== runbook) return `the last run is a ${run.runbook} run, not ${runbook}`;
  if (run.status !== 'succeeded') return `run ${run.id} ${run.status}: ${run.summary ?? ''}`;
  return undefined;
}

const STEPS: DemoStep[] = [
  {
    line: 'status',
    checks: [
      { says: 'status was reported', check: (app) => (last(app, 'report')?.title === 'status' ? undefined : 'no status report was shown') },
      { says: 'LyncSim starts with no hosting provider', check: (app) => (app.sim.read().cms.hostingProviders.length === 0 ? undefined : 'a provider exists before setup') },
    ],
  },
  {
    line: 'setup',
    checks: [
      {
        says: 'a plan r-1 waits for approval: change the access edge, create the provider',
        check: (app) => {
          const plan = last(app, 'plan');
          if (!plan) return `no plan was shown: ${app.notifier.lastEphemeral('alice') ?? ''}`;
          const actions = plan.request.plan.steps.map((s) => s.action).join(', ');
          if (plan.request.status !== 'pending') return `the request is ${plan.request.status}`;
          return actions === 'change, create' ? undefined : `the plan's actions are ${actions}`;
        },
      },
    ],
  },
  {
    line: 'approve',
    checks: [
      {
        says: 'alice may not approve her own request',
        check: (app) => (/someone else must approve/.test(app.notifier.lastEphemeral('alice') ?? '') ? undefined : `alice was told: ${app.notifier.lastEphemeral('alice') ?? '(nothing)'}`),
      },
      { says: 'the request is still pending', check: (app) => (last(app, 'plan')?.request.status === 'pending' && !last(app, 'run') ? undefined : 'the request moved on') },
    ],
  },
  { line: 'as bob' },
  {
    line: (app) => `approve ${pendingId(app)}`,
    checks: [
      { says: "bob's approval ran the setup and it succeeded", check: (app) => lastRunSucceeded(app, 'setup') },
      {
        says: 'every replica reported up to date',
        check: (app) => {
          const step = last(app, 'run')?.run.steps.find((s) => s.kind === 'replication');
          return step?.replicas?.length && step.replicas.every((r) => r.upToDate) ? undefined : 'replication did not complete';
        },
      },
      {
        says: "the Edge's local store matches every property set",
        check: (app) => {
          const edges = last(app, 'run')?.run.steps.find((s) => s.kind === 'edge-check')?.edges ?? [];
          return edges.length && edges.every((e) => e.ok && e.checks.every((c) => c.ok)) ? undefined : 'the Edge comparison failed';
        },
      },
      {
        says: 'LyncSim holds the provider Exchange Online (exap.um.outlook.com) and allows federated users',
        check: (app) => {
          const cms = app.sim.read().cms;
          const p = cms.hostingProviders.find((x) => x.Identity === 'Exchange Online');
          if (!p) return 'no provider Exchange Online in the simulator';
          if (p.ProxyFqdn !== 'exap.um.outlook.com' || !p.EnabledSharedAddressSpace || p.VerificationLevel !== 'UseSourceVerification') return `the provider is ${JSON.stringify(p)}`;
          return cms.accessEdge.AllowFederatedUsers ? undefined : 'AllowFederatedUsers is still False';
        },
      },
    ],
  },
  { line: 'as alice' },
  {
    line: 'verify',
    checks: [
      {
        says: 'verify passes item by item',
        check: (app) => {
          const r = last(app, 'report');
          if (r?.title !== 'verify') return 'no verify report was shown';
          return r.verdict === 'pass' ? undefined : `verdict ${r.verdict}: ${r.items?.filter((i) => !i.ok).map((i) => i.item).join(', ')}`;
        },
      },
    ],
  },
  {
    line: 'rollback',
    checks: [
      {
        says: 'a rollback plan waits for approval',
        check: (app) => {
          const plan = last(app, 'plan');
          return plan?.request.runbook === 'rollback' && plan.request.status === 'pending' ? undefined : `no pending rollback plan: ${app.notifier.lastEphemeral('alice') ?? ''}`;
        },
      },
    ],
  },
  { line: 'as bob' },
  {
    line: 'approve',
    checks: [
      { says: 'the rollback ran and succeeded', check: (app) => lastRunSucceeded(app, 'rollback') },
      {
        says: 'LyncSim is back where it started: no provider, federated users not allowed',
        check: (app) => {
          const cms = app.sim.read().cms;
          if (cms.hostingProviders.length) return `providers left: ${cms.hostingProviders.map((p) => p.Identity).join(', ')}`;
          return cms.accessEdge.AllowFederatedUsers ? 'AllowFederatedUsers is still True' : undefined;
        },
      },
    ],
  },
  {
    line: 'status',
    checks: [
      {
        says: "the Edge's local store shows no hosting provider",
        check: (app) => {
          const r = last(app, 'report');
          const read = r?.steps.find((s) => s.kind === 'read' && /Hosting provider/i.test(s.title));
          if (r?.title !== 'status' || !read?.objects) return 'no status report with the Edge providers';
          const left = read.objects.flatMap((o) => o.items);
          return left.length === 0 ? undefined : `the Edge still shows ${left.length} provider(s)`;
        },
      },
    ],
  },
  { line: 'history' },
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
    for (const step of STEPS) {
      const line = typeof step.line === 'string' ? step.line : step.line(app);
      await app.type(line);
      for (const { says, check } of step.checks ?? []) {
        const why = check(app);
        if (why !== undefined) {
          failure = `after "${app.session.prompt}${line}": expected ${says}, but ${why}`;
          break;
        }
        held++;
        note(`  [demo] ✓ ${says}`);
      }
      if (failure) break;
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
