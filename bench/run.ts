// npm run bench: figures for the goals that matter to a ChatOps bot, measured in one run so ratios compare.
// 1. Slack's 3-second ack: signed slash commands flood the real Bolt HTTP app while every command's work takes
//    2 s (a slow agent); the ack latency must not follow the work.
// 2. The planner: plans per second (it runs on every request and again before every run).
// 3. The PowerShell boundary against LyncSim, on the real PowerShell: session start, the raw framing floor, the
//    cmdlet alone inside the session, and what the agent adds over the raw call (goal: at most 3 ms per step).
// 4. Slack down vs up: a setup run's duration on LyncSim with the Slack stand-in hanging every call, and answering.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { locatePowerShell } from '../src/agent/locatePowerShell.js';
import { PowerShell } from 'node-powershell';
import { childEnv, PowerShellAgent } from '../src/agent/session.js';
import { loadRunbooks } from '../src/config/runbooks.js';
import { resolveInputs } from '../src/core/runbook/inputs.js';
import { plan } from '../src/core/runbook/planner.js';
import { createSlackApp } from '../src/slack/app.js';
import { createSimState, LYNCSIM_MODULE, simEnv } from '../src/simulator.js';
import { webApi } from '@slack/bolt';
import { boundedClientOptions } from '../src/slack/client.js';
import { SlackNotifier } from '../src/slack/notifier.js';
import { SIGNING_SECRET, send, signature } from '../test/slack/support/signing.js';
import { startSlackStandIn, type Outage } from '../test/slack/support/slackApi.js';
import { CHANNEL, createWorld, USERS } from '../test/support/world.js';
import { slashCommandBody } from '../test/slack/support/payloads.js';
import { DEFAULT_HTTP_BOUNDS } from '../src/http/bounded.js';
import { openFor, slowFlood } from './slowClients.js';

const log = pino({ level: 'silent' });
const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

async function ackLatency(): Promise<void> {
  const WORK_MS = 2000;
  let handled = 0;
  const slow = async () => {
    await new Promise((r) => setTimeout(r, WORK_MS));
    handled++;
  };
  const service = { command: slow, approve: slow, deny: slow, mayDeny: async () => ({ ok: true as const }) };
  const slack = createSlackApp({
    env: { mode: 'http', botToken: 'xoxb-bench', signingSecret: SIGNING_SECRET, port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service,
    log,
    bot: { botId: 'B0BENCH', botUserId: 'U0BENCH' },
    clientOptions: { retryConfig: { retries: 0 } },
  });
  const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
  const body = slashCommandBody({ text: 'status', user: 'U0ALICE', channel: 'C0LYNCOPS' });
  const ts = Math.floor(Date.now() / 1000);
  const rssBefore = process.memoryUsage().rss;
  const result = await autocannon({
    url,
    method: 'POST',
    connections: 20,
    amount: 400,
    body,
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(ts),
      'x-slack-signature': signature(SIGNING_SECRET, ts, body),
    },
  });
  const rssAfter = process.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, WORK_MS + 500));
  await slack.stop();
  const p99 = result.latency.p99;
  console.log('ack latency under load (400 signed slash commands, 20 at a time, each command\'s work takes 2 s)');
  console.log(`  status codes: 2xx ${result['2xx']}, non-2xx ${result.non2xx}, errors ${result.errors}; handlers finished ${handled}`);
  console.log(`  latency ms: p50 ${result.latency.p50}, p90 ${result.latency.p90}, p99 ${p99}, max ${result.latency.max}`);
  console.log(`  p99 ack / work time: ${(p99 / WORK_MS).toFixed(3)}   p99 ack / Slack's 3 s budget: ${(p99 / 3000).toFixed(3)}`);
  console.log(`  rss before ${mb(rssBefore)}, after ${mb(rssAfter)}`);
}

function plannerRate(): void {
  const runbooks = loadRunbooks();
  const setup = runbooks.get('setup')!;
  const inputs = resolveInputs(setup, { cloud: 'gcchigh' });
  if (!inputs.ok) throw new Error(JSON.stringify(inputs.error));
  const preState = {
    accessEdge: [{ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDnsSrvRouting' }],
    providers: Array.from({ length: 50 }, (_, i) => ({ Identity: `Provider ${i}`, ProxyFqdn: `p${i}.example.com`, Enabled: true, VerificationLevel: 'AlwaysVerifiable', EnabledSharedAddressSpace: false, HostsOCSUsers: false, IsLocal: false })),
  };
  const N = 5000;
  const start = performance.now();
  for (let i = 0; i < N; i++) plan({ runbook: setup, values: inputs.value, preState });
  const ms = performance.now() - start;
  console.log(`planner: ${N} plans against 50 existing providers in ${ms.toFixed(0)} ms: ${((N / ms) * 1000).toFixed(0)} plans/s, ${((ms / N) * 1000).toFixed(0)} µs each`);
}

/** node-powershell as the agent uses it, minus NODE_POWERSHELL replacing the executable we chose. */
class RawShell extends PowerShell {
  protected override setExecutable(options: { executable?: string }): string {
    return options.executable ?? 'pwsh';
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const p90 = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * 0.9))]!;
const ms = (n: number, digits = 2) => `${n.toFixed(digits)} ms`;

async function timedMs<T>(work: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const result = await work();
  return [performance.now() - t0, result];
}

/**
 * The PowerShell boundary, taken apart in one run so the figures compare: what a session costs to start, what a
 * round trip costs with no work (node-powershell's framing), what the cmdlet costs inside PowerShell, and what the
 * agent adds over sending the cmdlet line raw. The calls are interleaved (floor, raw, agent, floor, ...) so load from
 * other work on the machine falls on all of them alike; figures are medians.
 */
async function powershellFigures(): Promise<void> {
  let located: ReturnType<typeof locatePowerShell>;
  try {
    located = locatePowerShell({ install: true });
  } catch (err) {
    console.log(`powershell boundary: skipped (${(err as Error).message})`);
    return;
  }
  const { executable } = located;
  const N = Number(process.env.BENCH_N ?? 200);
  const STARTS = Number(process.env.BENCH_STARTS ?? 3);
  const CMDLET = 'Get-CsHostingProvider';
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-bench-'));
  const providers = [
    { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', EnabledSharedAddressSpace: true, VerificationLevel: 'UseSourceVerification' as const },
    { Identity: 'Fabrikam', ProxyFqdn: 'sip.fabrikam.com' },
  ];
  const statePath = createSimState(dir, { replicationLagSeconds: 1, providers });
  const env = simEnv(statePath);
  const newAgent = () =>
    new PowerShellAgent({ name: 'bench', roles: ['internal'], executable, module: LYNCSIM_MODULE, allowlist: [CMDLET], env, logger: log });
  // the raw shell gets the agent's console environment, so both sessions render alike
  const newRaw = () => new RawShell({ executable, executableOptions: { '-NoProfile': true, '-NonInteractive': true }, spawnOptions: { env: childEnv(process.env, env) }, throwOnInvocationError: false });
  const importLine = `Import-Module '${LYNCSIM_MODULE.replace(/'/g, "''")}' -ErrorAction Stop`;
  const rawOk = (r: { stderr?: Buffer }, what: string) => {
    const err = r.stderr?.toString('utf8').trim();
    if (err) throw new Error(`${what}: ${err.slice(0, 300)}`);
  };
  const agentOk = (r: Awaited<ReturnType<PowerShellAgent['invoke']>>) => {
    if (!r.ok) throw new Error(r.error.message);
    return r;
  };

  const agentStarts: number[] = [];
  const rawStarts: number[] = [];
  let agent: PowerShellAgent | undefined;
  let raw: RawShell | undefined;
  try {
    // session start: a new session each time; the last of each kind stays for the calls below
    for (let i = 0; i < STARTS; i++) {
      await agent?.close();
      agent = newAgent();
      const a = agent;
      const [t] = await timedMs(async () => agentOk(await a.invoke({ cmdlet: CMDLET, parameters: {} })));
      agentStarts.push(t);
      await raw?.dispose('SIGKILL').catch(() => undefined);
      raw = newRaw();
      const r = raw;
      const [u] = await timedMs(async () => {
        rawOk(await r.invoke(importLine), 'importing LyncSim');
        rawOk(await r.invoke('$null'), 'first call');
      });
      rawStarts.push(u);
    }
    const a = agent!;
    const r = raw!;
    const items = agentOk(await a.invoke({ cmdlet: CMDLET, parameters: {} })).output.length;

    // the raw cmdlet line runs the cmdlet through the same framing and drops its output: what the agent adds over
    // it (encoding, the prelude, projection, JSON, parsing and checks) is its overhead. The JSON line is the least a
    // raw caller must do to get the objects back.
    const lines = { floor: '$null', cmdlet: `$null = ${CMDLET}`, json: `${CMDLET} | ConvertTo-Json -Compress` };
    const t = { floor: [] as number[], cmdlet: [] as number[], json: [] as number[], agent: [] as number[] };
    const WARM = 20;
    for (let i = 0; i < WARM + N; i++) {
      const [f, fr] = await timedMs(() => r.invoke(lines.floor));
      const [c, cr] = await timedMs(() => r.invoke(lines.cmdlet));
      const [j, jr] = await timedMs(() => r.invoke(lines.json));
      const [g] = await timedMs(async () => agentOk(await a.invoke({ cmdlet: CMDLET, parameters: {} })));
      rawOk(fr, lines.floor);
      rawOk(cr, lines.cmdlet);
      rawOk(jr, lines.json);
      if (i < WARM) continue;
      t.floor.push(f);
      t.cmdlet.push(c);
      t.json.push(j);
      t.agent.push(g);
    }
    // the cmdlet alone, timed by PowerShell itself: one invoke, a Stopwatch around each call
    const inside = async (body: string): Promise<number[]> => {
      const line = `$t = New-Object 'System.Collections.Generic.List[double]'; for ($i = 0; $i -lt ${N + WARM}; $i++) { $sw = [System.Diagnostics.Stopwatch]::StartNew(); ${body}; $sw.Stop(); $t.Add($sw.Elapsed.TotalMilliseconds) }; 'T=' + (($t | ForEach-Object { $_.ToString([System.Globalization.CultureInfo]::InvariantCulture) }) -join ',')`;
      const res = await r.invoke(line);
      rawOk(res, 'timing inside the session');
      const found = res.raw.match(/T=([0-9.,E+-]+)/);
      if (!found) throw new Error(`timing inside the session: no figures in ${res.raw.slice(0, 200)}`);
      return found[1]!.split(',').map(Number).slice(WARM);
    };
    const alone = await inside(`$null = ${CMDLET}`);
    const aloneJson = await inside(`$null = ${CMDLET} | ConvertTo-Json -Compress`);

    const paired = (xs: number[], ys: number[]) => xs.map((x, i) => x - ys[i]!);
    const over = paired(t.agent, t.cmdlet);
    const overJson = paired(t.agent, t.json);
    const start = median(agentStarts);
    const warm = median(t.agent);
    const floor = median(t.floor);
    const GOAL = 3;
    console.log(`powershell boundary: PowerShell ${located.version} (${located.source}) — ${executable}`);
    console.log(`  ${CMDLET} on LyncSim returning ${items} providers; medians of ${N} interleaved calls each (after ${WARM} to warm up), ${STARTS} session starts`);
    console.log(`  session start, agent: spawn + prelude + module import + first call ${ms(start, 0)}; less one warm call ${ms(start - warm, 0)} (each: ${agentStarts.map((x) => x.toFixed(0)).join(', ')} ms)`);
    console.log(`  session start, raw node-powershell: spawn + Import-Module LyncSim + $null ${ms(median(rawStarts), 0)} (each: ${rawStarts.map((x) => x.toFixed(0)).join(', ')} ms)`);
    const row = (label: string, xs: number[], digits = 2) => console.log(`  ${label.padEnd(74)} ${ms(median(xs), digits).padStart(9)} per call (p90 ${ms(p90(xs), digits)})`);
    row(`raw framing floor: '${lines.floor}' through node-powershell`, t.floor);
    row(`the cmdlet alone, timed inside the session by a Stopwatch`, alone, 3);
    row(`the cmdlet and ConvertTo-Json inside the session`, aloneJson, 3);
    row(`raw cmdlet line through node-powershell: '${lines.cmdlet}'`, t.cmdlet);
    row(`raw cmdlet line as JSON: '${lines.json}'`, t.json);
    row(`PowerShellAgent.invoke({ cmdlet: '${CMDLET}' })`, t.agent);
    const verdict = median(over) <= GOAL ? `within the goal of ${GOAL} ms` : `OVER the goal of ${GOAL} ms`;
    console.log(`  agent overhead over the raw cmdlet line: ${ms(median(over))} per step (paired median; p90 ${ms(p90(over))}) — ${verdict}`);
    console.log(`  agent overhead over the raw JSON line:   ${ms(median(overJson))} per step (paired median; p90 ${ms(p90(overJson))})`);
    console.log(
      `  ratios: agent call / floor ${(warm / floor).toFixed(2)}x; raw cmdlet line / floor ${(median(t.cmdlet) / floor).toFixed(2)}x; cmdlet inside / floor ${(median(alone) / floor).toFixed(3)}x; session start / agent call ${(start / warm).toFixed(0)}x (why the session is kept alive)`,
    );
  } finally {
    await agent?.close();
    await raw?.dispose('SIGKILL').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 4. Slow clients before authentication: 100 connections that never finish their headers or their body, against
 *    Slack's HTTP endpoint with the default bounds; how long each stays open, and the ack of signed commands meanwhile.
 */
async function slowConnections(): Promise<void> {
  const service = { command: async () => {}, approve: async () => {}, deny: async () => {}, mayDeny: async () => ({ ok: true as const }) };
  const slack = createSlackApp({
    env: { mode: 'http', botToken: 'xoxb-bench', signingSecret: SIGNING_SECRET, port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service,
    log,
    bot: { botId: 'B0BENCH', botUserId: 'U0BENCH' },
    clientOptions: { retryConfig: { retries: 0 } },
  });
  const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
  const port = (server.address() as AddressInfo).port;
  const flood = slowFlood({ port, path: '/slack/events', count: 100 });
  await flood.connected;
  const acks: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    const r = await send(`http://127.0.0.1:${port}/slack/events`, slashCommandBody({ text: 'status', user: 'U0ALICE', channel: 'C0LYNCOPS' }));
    if (r.status !== 200) throw new Error(`signed command during the flood: HTTP ${r.status}`);
    acks.push(performance.now() - t);
    await new Promise((res) => setTimeout(res, 300));
  }
  const b = DEFAULT_HTTP_BOUNDS;
  await flood.closed(b.requestTimeoutMs + 10_000);
  const open = openFor(flood);
  flood.destroy();
  await slack.stop();
  acks.sort((x, y) => x - y);
  const s = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(2));
  console.log(`slow clients (100: half never finish their headers, half trickle a body a byte per 0.5 s), Slack's endpoint, default bounds`);
  console.log(`  bounds: headers ${s(b.headersTimeoutMs)} s, whole request ${s(b.requestTimeoutMs)} s, checked every ${s(b.checkIntervalMs)} s; body ${mb(b.maxBodyBytes)}; ${b.maxPendingConnections} connections without a whole request`);
  console.log(`  cut: ${open.length}/100; open for s: min ${s(open[0])}, p50 ${s(open[Math.floor(open.length / 2)])}, max ${s(open.at(-1))}; max / whole-request bound ${((open.at(-1) ?? 0) / b.requestTimeoutMs).toFixed(2)}`);
  console.log(`  10 signed commands during the flood, ack ms: p50 ${acks[5]!.toFixed(0)}, max ${acks[9]!.toFixed(0)} (goal: under 1000)`);
}


/**
 * 5. Slack never stalls a run: one setup on LyncSim with the Slack stand-in up, one with it down (every call hangs
 * until the Web API timeout), the same approval; the run's own duration (its record's start to finish) compared.
 */
async function slackDownVsUp(): Promise<void> {
  const executable = locatePowerShell({ install: false }).executable;
  const once = async (outage: Outage): Promise<number> => {
    const api = await startSlackStandIn();
    const client = new webApi.WebClient('xoxb-bench', boundedClientOptions({ slackApiUrl: api.url, logLevel: webApi.LogLevel.ERROR }));
    // the production coalescing interval; replication on LyncSim takes its usual second
    const world = createWorld({ executable, notifier: new SlackNotifier(client, log), policy: { replication: { pollIntervalMs: 500, timeoutMs: 60_000 } }, delivery: { minIntervalMs: 3000 } });
    try {
      await world.service.command({ user: USERS.alice, channel: CHANNEL }, 'setup');
      const [request] = await world.store.listPending();
      if (!request) throw new Error('bench: no request was planned');
      api.setOutage(outage);
      await world.service.approve({ user: USERS.bob, channel: CHANNEL }, request.id);
      for (;;) {
        const run = (await world.store.history(1)).runs[0];
        if (run?.finishedAt) {
          if (run.status !== 'succeeded') throw new Error(`bench: the run ${run.status}: ${run.summary ?? ''}`);
          return Date.parse(run.finishedAt) - Date.parse(run.startedAt);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      world.courier.stop();
      api.setOutage(false);
      await world.close();
      await api.close();
    }
  };
  const up = await once(false);
  const down = await once('hang');
  console.log(`slack down vs up: one setup run on LyncSim took ${down} ms with every Slack call hanging, ${up} ms with Slack up; ratio ${(down / up).toFixed(2)} (goal ≤ 1.1)`);
}

// `npm run bench` runs every part; `npm run bench -- powershell` (or ack, planner, slow, slack, acks, service, ha) runs only those named.
const only = new Set(process.argv.slice(2));
const wanted = (part: string) => only.size === 0 || only.has(part);
if (wanted('ack')) await ackLatency();
if (wanted('planner')) plannerRate();
if (wanted('powershell')) await powershellFigures();
if (wanted('slow')) await slowConnections();
if (wanted('slack')) await slackDownVsUp();
// issue 13: acks side by side with bare Bolt, and the bot as a process (cold start, approve, overhead)
if (wanted('acks')) await (await import('./service.js')).acksSideBySide();
if (wanted('service')) await (await import('./service.js')).botProcessFigures();
// issue 15: one instance vs two on one PostgreSQL database (approvals per second, a setup's duration)
if (wanted('ha')) await (await import('./ha.js')).haFigures();
