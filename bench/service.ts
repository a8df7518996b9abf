// Figures for running lync-exo as a service (issue 13), measured in one run:
// 1. acks side by side: a bare Bolt app and lync-exo's app (createSlackApp, with its listeners, guard and logger
//    adapter at level info), the same signed slash command, at 50 and 200 connections, with and without the same
//    pending work (each command's work goes on for 2 s after the ack, or ends at once).
//    Goal: lync-exo's app at least 0.9x bare Bolt's throughput and at most 1.1x its p99.
// 2. the bot as a real process (HTTP mode, LyncSim on the real PowerShell, a loopback Slack stand-in): time to the
//    first visible answer on a cold start, Approve click to the run's first progress, and a setup's duration minus
//    the time its cmdlets and the replication lag took (the bot's own overhead).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import { stringify } from 'yaml';
import { locatePowerShell } from '../src/agent/locatePowerShell.js';
import { createSimState, LYNCSIM_MODULE, SIM_FRONT_END } from '../src/simulator.js';
import { SIGNING_SECRET, signature } from '../test/slack/support/signing.js';
import { blockAction, interactiveBody, slashCommandBody } from '../test/slack/support/payloads.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const WORK_MS = 2000;
const THROUGHPUT_GOAL = 0.9;
const P99_GOAL = 1.1;

interface Load {
  rps: number;
  p99: number;
  non2xx: number;
  errors: number;
  total: number;
}

async function load(url: string, connections: number, seconds: number): Promise<Load> {
  const body = slashCommandBody({ text: 'status', user: 'U0ALICE', channel: 'C0LYNCOPS' });
  const ts = Math.floor(Date.now() / 1000);
  const r = await autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature(SIGNING_SECRET, ts, body) },
  });
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx, errors: r.errors, total: r.requests.total };
}

/** One app (bench/ackServer.ts) in a child process: its URL, and the CPU time it has used so far. */
async function ackServer(which: 'bolt' | 'app', pending: boolean): Promise<{ url: string; cpuUs(): Promise<number>; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'bench', 'ackServer.ts'), which, pending ? 'pending' : 'none'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
  const waiting: ((line: string) => void)[] = [];
  let buffered = '';
  child.stdout.on('data', (c: Buffer) => {
    buffered += c.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      waiting.shift()?.(line);
    }
  });
  const next = () => new Promise<string>((resolve) => waiting.push(resolve));
  const url = await next();
  return {
    url,
    cpuUs: async () => {
      const answer = next();
      child.stdin.write('cpu\n');
      return (JSON.parse(await answer) as { cpuUs: number }).cpuUs;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.stdin.end();
      }),
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * On a shared machine one run of each swings by half either way, so each case is measured in `rounds` rounds,
 * bare Bolt and lync-exo back to back in alternating order, and the ratio is the median of the rounds' ratios.
 */
export async function acksSideBySide(seconds = 3, rounds = 3): Promise<void> {
  console.log(
    `acks side by side: bare Bolt vs lync-exo's app, signed slash commands over HTTP, ${rounds} rounds of ${seconds} s each (goal: >= ${THROUGHPUT_GOAL}x throughput, <= ${P99_GOAL}x p99; median of the rounds' ratios)`,
  );
  for (const pending of [true, false]) {
    for (const connections of [50, 200]) {
      const tputs: number[] = [];
      const p99s: number[] = [];
      const seen: string[] = [];
      const cpuPerAck = { bolt: [] as number[], app: [] as number[] };
      for (let round = 0; round < rounds; round++) {
        const order = round % 2 === 0 ? (['bolt', 'app'] as const) : (['app', 'bolt'] as const);
        const results: Partial<Record<'bolt' | 'app', Load>> = {};
        for (const which of order) {
          const server = await ackServer(which, pending);
          await load(server.url, 10, 1); // warm-up
          const cpuBefore = await server.cpuUs();
          const r = await load(server.url, connections, seconds);
          const cpuUs = (await server.cpuUs()) - cpuBefore;
          results[which] = r;
          cpuPerAck[which].push(cpuUs / Math.max(r.total, 1));
          await new Promise((res) => setTimeout(res, pending ? WORK_MS + 200 : 50));
          await server.stop();
        }
        const b = results.bolt!;
        const a = results.app!;
        tputs.push(a.rps / b.rps);
        p99s.push(a.p99 / Math.max(b.p99, 1));
        seen.push(`${b.rps.toFixed(0)}/${a.rps.toFixed(0)} req/s, p99 ${b.p99}/${a.p99} ms${a.non2xx + b.non2xx + a.errors + b.errors ? ` [non-2xx ${b.non2xx}/${a.non2xx}, errors ${b.errors}/${a.errors}]` : ''}`);
      }
      const tput = median(tputs);
      const p99 = median(p99s);
      console.log(
        `  ${pending ? 'with 2 s pending work' : 'no pending work     '} ${String(connections).padStart(3)} connections: throughput ${tput.toFixed(2)}x (goal >= ${THROUGHPUT_GOAL}) ${tput >= THROUGHPUT_GOAL ? 'ok' : 'MISSED'}, p99 ${p99.toFixed(2)}x (goal <= ${P99_GOAL}) ${p99 <= P99_GOAL ? 'ok' : 'MISSED'}`,
      );
      console.log(`      rounds (bare Bolt/lync-exo): ${seen.join('; ')}`);
      // CPU time per ack in the server's process: the cost per request itself, much less swayed by a busy machine
      const cb = median(cpuPerAck.bolt);
      const ca = median(cpuPerAck.app);
      console.log(`      CPU per ack in the server process: bare Bolt ${cb.toFixed(0)} µs, lync-exo ${ca.toFixed(0)} µs (${(ca / cb).toFixed(2)}x)`);
    }
  }
}

// --- the bot as a process ----------------------------------------------------------------------------------------

interface Call {
  method: string;
  body: Record<string, unknown>;
  at: number;
  ts?: string;
}

async function fakeSlack(): Promise<{ url: string; calls: Call[]; close(): Promise<void> }> {
  const calls: Call[] = [];
  let seq = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
      const raw = Buffer.concat(chunks).toString('utf8');
      const body = (req.headers['content-type'] ?? '').includes('json') ? (JSON.parse(raw || '{}') as Record<string, unknown>) : Object.fromEntries(new URLSearchParams(raw));
      const call: Call = { method, body, at: performance.now() };
      calls.push(call);
      const ts = `${1740823000 + ++seq}.000100`;
      if (method === 'chat.postMessage') call.ts = ts;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(method === 'chat.postMessage' ? { ok: true, channel: body.channel, ts } : method === 'chat.update' ? { ok: true, channel: body.channel, ts: body.ts } : { ok: true, users: [] }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
    calls,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

async function until<T>(what: string, check: () => T | undefined, ms = 180_000): Promise<T> {
  const end = performance.now() + ms;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (performance.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const post = (url: string, body: string) => {
  const ts = Math.floor(Date.now() / 1000);
  return fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature(SIGNING_SECRET, ts, body) } });
};

function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

export async function botProcessFigures(): Promise<void> {
  const pwsh = locatePowerShell({ install: true }).executable;
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-bench-bot-'));
  const slack = await fakeSlack();
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const statePath = createSimState(dir, { replicationLagSeconds: 2 });
  const configPath = path.join(dir, 'lync-exo.yml');
  writeFileSync(
    configPath,
    stringify({
      deployment: { name: 'contoso' },
      slack: { command: '/lync-exo', channels: ['C0LYNCOPS'] },
      approval: { requesters: { users: ['U0ALICE'] }, approvers: { users: ['U0BOB001'], groups: [] }, required: 1, expiresAfterMinutes: 60 },
      replication: { pollIntervalSeconds: 1, timeoutSeconds: 60 },
      agents: { embedded: { name: 'lync01', roles: ['internal', 'edge'], module: LYNCSIM_MODULE, powershell: pwsh, env: { LYNCSIM_STATE: statePath, LYNCSIM_HOST: SIM_FRONT_END } }, expectedEdges: ['lync01'] },
    }),
  );
  const spawned = performance.now();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      LYNC_EXO_SLACK_MODE: 'http',
      PORT: String(port),
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_BOT_TOKEN: 'xoxb-0000-bench',
      LYNC_EXO_CONFIG: configPath,
      LYNC_EXO_DATA_DIR: path.join(dir, 'data'),
      LYNC_EXO_SLACK_API_URL: slack.url,
      LOG_LEVEL: 'info',
    },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
  const url = `http://127.0.0.1:${port}/slack/events`;
  try {
    await until('the bot to listen', () => (out.includes('slack: listening for signed HTTP requests') ? true : undefined));
    const listening = performance.now();
    // cold start: the session is still starting when the first command arrives
    const sent = performance.now();
    // the command's response_url is the fake Slack's: "reading the deployment…" goes there, the plan to the channel
    await post(url, slashCommandBody({ text: 'setup', user: 'U0ALICE', channel: 'C0LYNCOPS', responseUrl: `${slack.url.replace(/\/api\/$/, '')}/respond/setup-1` }));
    const first = await until('the first visible answer', () => slack.calls.find((c) => c.method.startsWith('/respond/')));
    const plan = await until('the plan', () => slack.calls.find((c) => c.method === 'chat.postMessage' && String(c.body.text).toLowerCase().includes('setup')));
    const warmLine = /session started at boot[^\n]*"ms":(\d+)/.exec(out) ?? /"ms":(\d+)[^\n]*session started at boot/.exec(out);
    console.log('the bot as a process, cold start (HTTP mode, LyncSim on the real PowerShell, replication lag 2 s)');
    console.log(`  spawn to listening: ${(listening - spawned).toFixed(0)} ms; PowerShell session start at boot: ${warmLine ? `${warmLine[1]} ms` : 'not logged'}`);
    console.log(`  setup sent to the first visible answer ("reading the deployment…"): ${(first.at - sent).toFixed(0)} ms (goal: within 1000 ms) ${first.at - sent <= 1000 ? 'ok' : 'MISSED'}`);
    console.log(`  setup sent to the plan in the channel: ${(plan.at - sent).toFixed(0)} ms`);

    const requestId = /r-[0-9a-f]{6}/.exec(JSON.stringify(plan.body))?.[0];
    if (!requestId) throw new Error('bench: no request id in the plan');
    const before = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const callsBefore = slack.calls.length;
    const clicked = performance.now();
    await post(url, interactiveBody(blockAction({ user: 'U0BOB001', channel: 'C0LYNCOPS', requestId, messageTs: plan.ts! }, 'approve')));
    const progress = await until('the first progress', () => slack.calls.slice(callsBefore).find((c) => c.method === 'chat.postMessage'));
    console.log(`  Approve click to the run's first progress message: ${(progress.at - clicked).toFixed(0)} ms`);
    const done = await until('the run to finish', () => slack.calls.slice(callsBefore).find((c) => c.method === 'chat.update' && /succeeded|failed/i.test(String(c.body.text)) && c.body.ts === progress.ts), 240_000);
    const after = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const runMs = done.at - progress.at;
    const cmdletMs = (metricSum(after, 'lync_exo_cmdlet_duration_seconds_sum') - metricSum(before, 'lync_exo_cmdlet_duration_seconds_sum')) * 1000;
    const replicationMs = (metricSum(after, 'lync_exo_replication_wait_seconds_sum') - metricSum(before, 'lync_exo_replication_wait_seconds_sum')) * 1000;
    const pollsMs = (metricSum(after, 'lync_exo_cmdlet_duration_seconds_sum{cmdlet="Get-CsManagementStoreReplicationStatus"') - metricSum(before, 'lync_exo_cmdlet_duration_seconds_sum{cmdlet="Get-CsManagementStoreReplicationStatus"')) * 1000;
    const lagMs = Math.max(0, replicationMs - pollsMs);
    const overhead = runMs - cmdletMs - lagMs;
    console.log(
      `  setup run: ${runMs.toFixed(0)} ms from its progress message to its report; cmdlets ${cmdletMs.toFixed(0)} ms; replication lag (waiting between polls) ${lagMs.toFixed(0)} ms; the bot's own overhead ${overhead.toFixed(0)} ms (${((overhead / runMs) * 100).toFixed(1)}%)`,
    );
  } catch (err) {
    console.log(`  failed: ${(err as Error).message}; the bot said:\n${out.split('\n').slice(-15).join('\n')}\n  Slack calls: ${slack.calls.map((c) => c.method).join(', ')}`);
    throw err;
  } finally {
    child.kill('SIGKILL');
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
