// High availability on PostgreSQL (issue 15), one instance vs two on one database, side by side:
// 1. approvals per second through the store: the compare-and-set every click makes (4 approvers race on each of
//    300 requests, 50 calls in flight), over one store handle vs two (two instances' pools); SQLite for reference;
// 2. the bot as real processes (HTTP mode, LyncSim on the real PowerShell, a loopback Slack stand-in): 50 Approve
//    clicks on one request, to one instance vs spread over two, until every click was decided and answered; and a
//    setup's duration (click to the run's report) with one instance running vs two.
// 3. remote agents' jobs through the hub over real HTTP (an agent that claims and answers at once, no PowerShell):
//    steps per second when the agent waits on the instance that queues them vs on the other instance (the job and
//    its end cross by the table and LISTEN/NOTIFY), and on SQLite for reference.
// The PostgreSQL server is a throwaway cluster (test/support/postgres.ts) unless LYNC_EXO_TEST_DATABASE_URL is set.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import { locatePowerShell } from '../src/agent/locatePowerShell.js';
import { createSimState, LYNCSIM_MODULE, SIM_FRONT_END } from '../src/simulator.js';
import type { AgentJobStore, Store } from '../src/core/store.js';
import { createLogger } from '../src/log.js';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../src/remote/hub.js';
import { openPostgresStore } from '../src/store/postgres.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { blockAction, interactiveBody, slashCommandFields } from '../test/slack/support/payloads.js';
import { send, SIGNING_SECRET } from '../test/slack/support/signing.js';
import { startSlackStandIn, type SlackStandIn } from '../test/slack/support/slackApi.js';
import { request } from '../test/store/fixtures.js';
import { startPostgres, type TestPostgres } from '../test/support/postgres.js';
import { freePort } from '../test/support/net.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const CHANNEL = 'C0LYNCOPS';
const APPROVERS = ['U0BOB001', 'U0CAROL1', 'U0DAVE01', 'U0ERIN01'];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, ms = 180_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`bench: timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Decisions per second: `stores` take turns, 50 approve calls in flight, 4 approvers racing on each request. */
async function storeRate(stores: Store[]): Promise<{ callsPerSecond: number; completed: number }> {
  const N = 300;
  const far = new Date(Date.now() + 3_600_000).toISOString();
  for (let i = 0; i < N; i++) await stores[0]!.createRequest(request(`r-${i}`, { expiresAt: far }));
  const calls = Array.from({ length: N * APPROVERS.length }, (_, i) => ({ id: `r-${Math.floor(i / APPROVERS.length)}`, user: APPROVERS[i % APPROVERS.length]! }));
  let next = 0;
  let completed = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: 50 }, async (_, worker) => {
      for (let c = next++; c < calls.length; c = next++) {
        const r = await stores[(c + worker) % stores.length]!.approve(calls[c]!.id, calls[c]!.user, 1, new Date());
        if (r?.outcome === 'completed') completed++;
      }
    }),
  );
  return { callsPerSecond: (calls.length / (performance.now() - started)) * 1000, completed };
}

async function storeFigures(server: TestPostgres): Promise<void> {
  const row = (label: string, r: { callsPerSecond: number; completed: number }) => console.log(`  ${label.padEnd(44)} ${r.callsPerSecond.toFixed(0).padStart(6)} approve calls/s (${r.completed} of 300 completed, once each)`);
  console.log('approvals through the store: 300 requests, 4 approvers racing on each, 50 calls in flight');
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-bench-ha-'));
  try {
    const sqlite = openSqliteStore(path.join(dir, 'lync-exo.db'));
    row('SQLite, one instance (reference)', await storeRate([sqlite]));
    sqlite.closeDatabase();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  for (const n of [1, 2]) {
    const url = await server.freshDatabase();
    const stores = await Promise.all(Array.from({ length: n }, () => openPostgresStore(url, { poolSize: 10 })));
    row(`PostgreSQL, ${n} instance${n > 1 ? 's' : ''} (a pool of 10 each)`, await storeRate(stores));
    for (const s of stores) await s.end();
  }
}


interface Bot {
  child: ChildProcess;
  url: string;
}

async function startBot(env: Record<string, string>): Promise<Bot> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts')], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, HOME: process.env.HOME, LYNC_EXO_SLACK_MODE: 'http', PORT: String(port), LYNC_EXO_HOST: '127.0.0.1', SLACK_SIGNING_SECRET: SIGNING_SECRET, SLACK_BOT_TOKEN: 'xoxb-0000-bench', LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stderr.on('data', (b: Buffer) => (out += b.toString('utf8')));
  // at level warn the listening line is not logged: the bot is up once it answers a signed request
  const url = `http://127.0.0.1:${port}/slack/events`;
  await until(`the bot to listen\n${out}`, async () => {
    if (child.exitCode !== null) throw new Error(`bench: the bot exited:\n${out}`);
    return fetch(url.replace('/slack/events', '/healthz'))
      .then((r) => (r.ok ? true : undefined))
      .catch(() => undefined);
  });
  return { child, url };
}

async function botFigures(server: TestPostgres): Promise<void> {
  const pwsh = locatePowerShell({ install: true }).executable;
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-bench-ha-bots-'));
  const slack: SlackStandIn = await startSlackStandIn({ members: [CHANNEL] });
  const statePath = createSimState(dir, { replicationLagSeconds: 1 });
  const configPath = path.join(dir, 'lync-exo.yml');
  writeFileSync(
    configPath,
    stringify({
      deployment: { name: 'contoso' },
      slack: { command: '/lync-exo', channels: [CHANNEL] },
      approval: { requesters: { users: ['U0ALICE'] }, approvers: { users: APPROVERS, groups: [] }, required: 1, expiresAfterMinutes: 60 },
      replication: { pollIntervalSeconds: 1, timeoutSeconds: 60 },
      agents: { embedded: { name: 'lync01', roles: ['internal', 'edge'], module: LYNCSIM_MODULE, powershell: pwsh, env: { LYNCSIM_STATE: statePath, LYNCSIM_HOST: SIM_FRONT_END } }, expectedEdges: ['lync01'] },
    }),
  );
  const env = { LYNC_EXO_CONFIG: configPath, LYNC_EXO_DATA_DIR: path.join(dir, 'data'), LYNC_EXO_SLACK_API_URL: slack.url, LYNC_EXO_DATABASE_URL: await server.freshDatabase() };
  // the requests as the bots stored them: the new one and where its plan was posted (Slack's messages mix rounds)
  const db = new pg.Pool({ connectionString: env.LYNC_EXO_DATABASE_URL, max: 1 });
  const latest = async () => (await db.query<{ id: string; message: string | null }>('SELECT id, message FROM requests ORDER BY seq DESC LIMIT 1').catch(() => ({ rows: [] }))).rows[0];
  const bots: Bot[] = [];
  /** one setup, asked on `asked`, 50 clicks over `clicked`: how long the clicks took to be decided, and the run */
  const round = async (asked: Bot, clicked: Bot[]) => {
    createSimState(dir, { replicationLagSeconds: 1 });
    const before = slack.calls.length;
    const previous = (await latest())?.id;
    await send(asked.url, new URLSearchParams(slashCommandFields({ user: 'U0ALICE', channel: CHANNEL, text: 'setup', responseUrl: slack.responseUrl('commands') })).toString());
    const posted = await until('the plan', async () => {
      const r = await latest();
      return r && r.id !== previous && r.message ? { requestId: r.id, ts: (JSON.parse(r.message) as { ts: string }).ts } : undefined;
    });
    const { requestId } = posted;
    const respondsBefore = slack.of('respond').length;
    const clicks = performance.now();
    const clickedAt = Date.now(); // the stand-in stamps calls with Date.now()
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        send(clicked[i % clicked.length]!.url, interactiveBody(blockAction({ user: APPROVERS[i % APPROVERS.length]!, channel: CHANNEL, requestId, messageTs: posted.ts, responseUrl: slack.responseUrl('actions') }, 'approve'))),
      ),
    );
    // 49 clicks lost the race and are each told so: then all 50 were decided
    await until('49 answers', () => (slack.of('respond').length - respondsBefore >= 49 ? true : undefined));
    const decidedMs = performance.now() - clicks;
    const runId = await until('the run', async () => (await db.query<{ id: string }>('SELECT id FROM runs WHERE request_id = $1', [requestId])).rows[0]?.id);
    const report = await until('the run report', () =>
      slack.calls.slice(before).find((c) => (c.method === 'chat.update' || c.method === 'chat.postMessage') && new RegExp(`^Run ${runId} \\(setup\\) for \\S+: (succeeded|failed|refused|interrupted)`).test(String(c.body.text))),
    );
    if (!/succeeded/.test(String(report.body.text))) throw new Error(`bench: the run did not succeed: ${String(report.body.text)}`);
    return { clicksPerSecond: (50 / decidedMs) * 1000, setupMs: report.at - clickedAt };
  };
  try {
    bots.push(await startBot(env));
    const one = [];
    for (let i = 0; i < 3; i++) one.push(await round(bots[0]!, [bots[0]!]));
    bots.push(await startBot(env));
    const two = [];
    for (let i = 0; i < 3; i++) two.push(await round(bots[i % 2]!, bots));
    console.log('the bot on PostgreSQL, one instance vs two (HTTP mode, LyncSim on the real PowerShell, replication lag 1 s; medians of 3 setups each)');
    const line = (label: string, a: number, b: number, unit: string) => console.log(`  ${label.padEnd(58)} one ${a.toFixed(0).padStart(6)} ${unit}   two ${b.toFixed(0).padStart(6)} ${unit}   two/one ${(b / a).toFixed(2)}`);
    line('50 Approve clicks on one request, decided and answered', median(one.map((r) => r.clicksPerSecond)), median(two.map((r) => r.clicksPerSecond)), 'clicks/s');
    line("a setup's duration, first click to the run's report", median(one.map((r) => r.setupMs)), median(two.map((r) => r.setupMs)), 'ms');
  } finally {
    for (const b of bots) b.child.kill('SIGKILL');
    await db.end();
    await slack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** An agent that claims on `url` and answers each job at once, until stopped; returns how many it answered. */
async function quickAgent(url: string, token: string, stop: AbortSignal): Promise<number> {
  const headers = { 'content-type': 'application/json', 'x-lync-exo-agent': 'fe01', authorization: `Bearer ${token}` };
  let answered = 0;
  while (!stop.aborted) {
    const r = await fetch(`${url}/agents/v1/claim`, { method: 'POST', headers, body: JSON.stringify({ name: 'fe01', roles: ['internal'], version: 'bench', session: 'beefbeef' }), signal: stop }).catch(() => undefined);
    if (!r || r.status !== 200) {
      await r?.text();
      continue;
    }
    const job = (await r.json()) as { id: string };
    const done = await fetch(`${url}/agents/v1/jobs/${job.id}/result`, { method: 'POST', headers, body: JSON.stringify({ ok: true, output: [], durationMs: 0 }) });
    await done.text();
    answered++;
  }
  return answered;
}

/** Steps per second: `queue` invokes N jobs one after another (a run's steps), the agent waits on `serve`. */
async function jobRate(hubs: { hub: AgentHub; url: string }[], queue: number, serve: number): Promise<{ stepsPerSecond: number; medianMs: number }> {
  const token = 'fe01-bench-token-0123456789';
  const stop = new AbortController();
  const agent = quickAgent(hubs[serve]!.url, token, stop.signal);
  await until('the agent online', () => (hubs[queue]!.hub.registry()[0]!.online ? true : undefined));
  const N = 200;
  const took: number[] = [];
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const t = performance.now();
    const r = await hubs[queue]!.hub.agent('fe01')!.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    if (!r.ok) throw new Error(`bench: job ${i}: ${r.error.message}`);
    took.push(performance.now() - t);
  }
  const elapsed = performance.now() - started;
  stop.abort();
  await agent;
  return { stepsPerSecond: (N / elapsed) * 1000, medianMs: median(took) };
}

export async function jobFigures(server: TestPostgres): Promise<void> {
  const log = createLogger('silent');
  const made: { hub: AgentHub; listening: AgentHubServer; close: () => Promise<void> }[] = [];
  const hubOn = async (jobs: AgentJobStore, close: () => Promise<void>) => {
    const hub = createAgentHub({ agents: [{ name: 'fe01', roles: ['internal'], token: 'fe01-bench-token-0123456789' }], log, jobs, claimWaitMs: 5_000 });
    const listening = await startAgentHubServer({ hub, port: 0, host: '127.0.0.1' });
    made.push({ hub, listening, close });
    return { hub, url: listening.url };
  };
  const row = (label: string, r: { stepsPerSecond: number; medianMs: number }) => console.log(`  ${label.padEnd(58)} ${r.stepsPerSecond.toFixed(0).padStart(5)} steps/s   median ${r.medianMs.toFixed(1)} ms a step`);
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-bench-jobs-'));
  try {
    const url = await server.freshDatabase();
    const a = await openPostgresStore(url, { leaseMs: 10_000 });
    const b = await openPostgresStore(url, { leaseMs: 10_000 });
    const hubs = [await hubOn(a, () => a.end()), await hubOn(b, () => b.end())];
    const sqlite = openSqliteStore(path.join(dir, 'jobs.db'));
    const single = [await hubOn(sqlite, async () => sqlite.closeDatabase())];
    console.log("remote agents' jobs through the hub over HTTP: 200 steps one after another, the agent answering at once");
    row('SQLite, one instance', await jobRate(single, 0, 0));
    row('PostgreSQL, the agent waiting on the instance that queues', await jobRate(hubs, 0, 0));
    row('PostgreSQL, the agent waiting on the other instance', await jobRate(hubs, 0, 1));
  } finally {
    for (const m of made) {
      await m.hub.close();
      await m.listening.close();
      await m.close();
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The high-availability figures: bench/run.ts calls this. */
export async function haFigures(): Promise<void> {
  let server: TestPostgres;
  try {
    server = await startPostgres();
  } catch (err) {
    console.log(`high availability: skipped, no PostgreSQL (${(err as Error).message})`);
    return;
  }
  try {
    await storeFigures(server);
    await jobFigures(server);
    await botFigures(server);
  } finally {
    await server.stop();
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) await haFigures();
