// /healthz, /readyz and /metrics on their own listener (Socket Mode's), and readiness following the agents: the
// only Edge agent stops calling in and /readyz turns unready, naming the role and the Edge.
import { afterEach, expect, it } from 'vitest';
import { loadRunbooks } from '../../src/config/runbooks.js';
import type { AgentPool } from '../../src/core/ports.js';
import { memoryStore } from '../../src/core/store.js';
import type { Agent } from '../../src/core/types.js';
import { instrumentPorts, startOpsServer, type OpsServer } from '../../src/ops/index.js';
import { readiness, rolesNeeded } from '../../src/ops/health.js';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import { agentPost, memoryLog } from '../remote/support.js';

const EDGE_TOKEN = 'edge01-token-0123456789abcdef';
const internal: Agent = { name: 'lync01', roles: ['internal'], invoke: async () => ({ ok: true, output: [], durationMs: 1, agent: 'lync01' }), close: async () => undefined };
const notifier = { post: async () => ({ channel: 'C1', ts: '1.1' }), update: async () => undefined, ephemeral: async () => undefined };
const directory = { groupMembers: async () => [] };

let ops: OpsServer | undefined;
let hubServer: AgentHubServer | undefined;
let hub: AgentHub | undefined;
afterEach(async () => {
  await ops?.close();
  await hubServer?.close();
  await hub?.close();
  ops = hubServer = hub = undefined;
});

it('the runbooks need an internal and an edge agent', () => {
  expect(rolesNeeded(loadRunbooks())).toEqual(['edge', 'internal']);
});

it('/readyz follows the only Edge agent: unready before it calls in, ready while it does, unready once it goes quiet', async () => {
  let now = new Date('2026-12-01T08:00:00Z');
  hub = createAgentHub({ agents: [{ name: 'edge01', roles: ['edge'], token: EDGE_TOKEN }], log: memoryLog('silent').log, claimWaitMs: 100, clock: { now: () => now } });
  hubServer = await startAgentHubServer({ hub, port: 0, host: '127.0.0.1' });
  const pool: AgentPool = hub.pool([internal], ['edge01']);
  const src = { store: memoryStore(), slackConnected: () => true, agents: pool, roles: rolesNeeded(loadRunbooks()) };

  const before = await readiness(src);
  expect(before.ready).toBe(false);
  expect(before.checks.filter((c) => !c.ok)).toEqual([
    { name: 'agents:edge', ok: false, detail: 'no agent online serves the edge role' },
    { name: 'expected-edges', ok: false, detail: 'offline: edge01' },
  ]);

  const claim = await agentPost(hubServer.url, 'claim', { name: 'edge01', token: EDGE_TOKEN, body: { name: 'edge01', roles: ['edge'], version: 'test' } });
  expect(claim.status).toBe(204);
  expect(await readiness(src)).toMatchObject({ ready: true });

  // nothing from edge01 for a minute
  now = new Date(now.getTime() + 60_000);
  const after = await readiness(src);
  expect(after.ready).toBe(false);
  expect(after.checks.find((c) => c.name === 'agents:edge')).toEqual({ name: 'agents:edge', ok: false, detail: 'no agent online serves the edge role' });
});

it('serves /healthz, /readyz and /metrics on a loopback listener of its own; unready when Slack is not connected', async () => {
  const store = memoryStore();
  const p = instrumentPorts({ store, agents: { forRole: (r) => (r === 'internal' ? [internal] : []), expected: () => [], describe: () => [{ name: 'lync01', roles: ['internal'], online: true }] }, notifier, directory });
  let connected = false;
  ops = await startOpsServer(p.routes(() => connected, loadRunbooks()), { port: 0, host: '127.0.0.1' });
  expect(ops.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

  const health = await fetch(`${ops.url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ status: 'alive' });

  const unready = await fetch(`${ops.url}/readyz`);
  expect(unready.status).toBe(503);
  const body = (await unready.json()) as { status: string; checks: { name: string; ok: boolean }[] };
  expect(body.status).toBe('not ready');
  expect(body.checks.filter((c) => !c.ok).map((c) => c.name)).toEqual(['slack', 'agents:edge']);
  connected = true;
  expect((await fetch(`${ops.url}/readyz`)).status).toBe(503); // still no edge agent

  const metrics = await fetch(`${ops.url}/metrics`);
  expect(metrics.status).toBe(200);
  expect(metrics.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  const text = await metrics.text();
  expect(text).toMatch(/^lync_exo_agents_online\{role="internal"\} 1$/m);
  expect(text).toMatch(/^lync_exo_agents_online\{role="edge"\} 0$/m);
  expect(text).toMatch(/^lync_exo_pending_approvals 0$/m);
  expect(text).toMatch(/^lync_exo_outbox_depth 0$/m);
  expect(text).toContain('# TYPE lync_exo_cmdlet_duration_seconds histogram');

  expect((await fetch(`${ops.url}/nothing`)).status).toBe(404);
  expect((await fetch(`${ops.url}/metrics`, { method: 'POST' })).status).toBe(405);
});

it("counts Slack Web API failures by method and Slack's error code, and passes the error on", async () => {
  const failing = {
    post: async () => {
      throw Object.assign(new Error('An API error occurred: not_in_channel'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'not_in_channel' } });
    },
    update: async () => {
      throw Object.assign(new Error('A rate limit was exceeded'), { code: 'slack_webapi_rate_limited_error' });
    },
    ephemeral: async () => undefined,
  };
  const p = instrumentPorts({ store: memoryStore(), agents: { forRole: () => [], expected: () => [], describe: () => [] }, notifier: failing, directory });
  await expect(p.notifier.post('C1', { kind: 'text', text: 'x' })).rejects.toThrow('not_in_channel');
  await expect(p.notifier.post('C1', { kind: 'text', text: 'x' })).rejects.toThrow('not_in_channel');
  await expect(p.notifier.update({ channel: 'C1', ts: '1.1' }, { kind: 'text', text: 'x' })).rejects.toThrow('rate limit');
  const text = await p.metrics.registry.metrics();
  expect(text).toMatch(/^lync_exo_slack_api_errors_total\{method="chat\.postMessage",code="not_in_channel"\} 2$/m);
  expect(text).toMatch(/^lync_exo_slack_api_errors_total\{method="chat\.update",code="slack_webapi_rate_limited_error"\} 1$/m);
});
