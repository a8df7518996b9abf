// npm run bench: figures for the goals that matter to a ChatOps bot, measured in one run so ratios compare.
// 1. Slack's 3-second ack: signed slash commands flood the real Bolt HTTP app while every command's work takes
//    2 s (a slow agent); the ack latency must not follow the work.
// 2. The planner: plans per second (it runs on every request and again before every run).
// 3. The PowerShell boundary: round trips per second through the agent session against LyncSim.
// 4. Slack down vs up: a setup run's duration on LyncSim with the Slack stand-in hanging every call, and answering.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { locatePowerShell } from '../src/agent/locatePowerShell.js';
import { embeddedAgent } from '../src/compose.js';
import { loadRunbooks } from '../src/config/runbooks.js';
import { resolveInputs } from '../src/core/runbook/inputs.js';
import { plan } from '../src/core/runbook/planner.js';
import { createSlackApp } from '../src/slack/app.js';
import { createSimState, LYNCSIM_MODULE, simEnv } from '../src/simulator.js';
import { webApi } from '@slack/bolt';
import { boundedClientOptions } from '../src/slack/client.js';
import { SlackNotifier } from '../src/slack/notifier.js';
import { SIGNING_SECRET, signature } from '../test/slack/support/signing.js';
import { startSlackStandIn, type Outage } from '../test/slack/support/slackApi.js';
import { CHANNEL, createWorld, USERS } from '../test/support/world.js';
import { slashCommandBody } from '../test/slack/support/payloads.js';

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
  if (!inputs.ok) throw new Error(inputs.message);
  const preState = {
    accessEdge: [{ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDnsSrvRouting' }],
    providers: Array.from({ length: 50 }, (_, i) => ({ Identity: `Provider ${i}`, ProxyFqdn: `p${i}.example.com`, Enabled: true, VerificationLevel: 'AlwaysVerifiable', EnabledSharedAddressSpace: false, HostsOCSUsers: false, IsLocal: false })),
  };
  const N = 5000;
  const start = performance.now();
  for (let i = 0; i < N; i++) plan({ runbook: setup, values: inputs.values, preState });
  const ms = performance.now() - start;
  console.log(`planner: ${N} plans against 50 existing providers in ${ms.toFixed(0)} ms: ${((N / ms) * 1000).toFixed(0)} plans/s, ${((ms / N) * 1000).toFixed(0)} µs each`);
}

async function powershellRate(): Promise<void> {
  let executable: string;
  try {
    executable = locatePowerShell({ install: true }).executable;
  } catch (err) {
    console.log(`powershell round trips: skipped (${(err as Error).message})`);
    return;
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-bench-'));
  const statePath = createSimState(dir, { replicationLagSeconds: 1 });
  const agent = embeddedAgent({ name: 'bench', roles: ['internal'], executable, module: LYNCSIM_MODULE, env: simEnv(statePath) }, loadRunbooks(), log);
  try {
    const t0 = performance.now();
    const first = await agent.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    const startup = performance.now() - t0;
    if (!first.ok) throw new Error(first.error.message);
    const N = 40;
    const t1 = performance.now();
    for (let i = 0; i < N; i++) {
      const r = await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
      if (!r.ok) throw new Error(r.error.message);
    }
    const ms = performance.now() - t1;
    console.log(`powershell round trips (Get-CsHostingProvider on LyncSim): session start + first call ${startup.toFixed(0)} ms; ${N} calls ${ms.toFixed(0)} ms, ${(ms / N).toFixed(1)} ms each`);
    console.log(`  start-up / one call: ${(startup / (ms / N)).toFixed(1)}x (why the session is kept alive)`);
  } finally {
    await agent.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * 4. Slack never stalls a run: one setup on LyncSim with the Slack stand-in up, one with it down (every call hangs
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

await ackLatency();
plannerRate();
await powershellRate();
await slackDownVsUp();
