// Resources bounded before authentication, on both listeners anyone can reach: Slack's HTTP endpoint (with the agents'
// routes on it) and the agents' hub of a Socket Mode deployment. 100 slow clients are cut within the configured
// bound, and meanwhile a signed slash command and an agent's claim are answered at once.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { afterEach, describe, expect, it } from 'vitest';
import { openFor, slowFlood, type SlowFlood } from '../../bench/slowClients.js';
import type { HttpBounds } from '../../src/http/bounded.js';
import { agentHubRoutes, createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { agentPost, memoryLog } from '../remote/support.js';
import { slashCommandBody } from '../slack/support/payloads.js';
import { send } from '../slack/support/signing.js';
import { createTestCa } from '../support/tls.js';

// small bounds so the test is short; the assertions allow seconds of slack on top (a loaded 2-core machine)
const BOUNDS: Partial<HttpBounds> = { headersTimeoutMs: 1_500, requestTimeoutMs: 3_000, checkIntervalMs: 250, maxPendingConnections: 64 };
const SLACK_OF_A_LOADED_MACHINE_MS = 4_000;
const TOKEN = 'fe01-bounds-token-0123456789';

let cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function slackApp(hub?: AgentHub) {
  const logs = memoryLog();
  let commands = 0;
  const service = { command: async () => void commands++, approve: async () => {}, deny: async () => {}, mayDeny: async () => ({ ok: true as const }) };
  const slack: SlackApp = createSlackApp({
    env: { mode: 'http', botToken: 'xoxb-bounds', signingSecret: '8f742231b10e8888abcd99yyyzzz85a5', port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service,
    log: logs.log,
    bot: { botId: 'B0BOUNDS', botUserId: 'U0BOUNDS' },
    clientOptions: { retryConfig: { retries: 0 } },
    customRoutes: hub ? agentHubRoutes(hub) : [],
    http: { bounds: BOUNDS },
  });
  const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
  cleanup.push(() => slack.stop());
  const port = (server.address() as AddressInfo).port;
  return { port, url: `http://127.0.0.1:${port}/slack/events`, logs, commands: () => commands };
}

function flood(port: number, path: string): SlowFlood {
  const f = slowFlood({ port, path, count: 100, trickleMs: 200 });
  cleanup.push(() => f.destroy());
  return f;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const t = performance.now();
  const value = await work();
  return { value, ms: performance.now() - t };
}

describe('bounds before authentication', () => {
  it("Slack's endpoint: 100 slow clients are cut within the request bound, and a signed command is acked within 1 s meanwhile", async () => {
    const hub = createAgentHub({ agents: [{ name: 'fe01', roles: ['internal'], token: TOKEN }], log: memoryLog().log, claimWaitMs: 100 });
    cleanup.push(() => hub.close());
    const app = await slackApp(hub);
    const f = flood(app.port, '/slack/events');
    await f.connected;
    const ack = await timed(() => send(app.url, slashCommandBody({ text: 'status', user: 'U0ALICE', channel: 'C0LYNCOPS' })));
    expect(ack.value.status).toBe(200);
    expect(ack.ms).toBeLessThan(1_000);
    // an agent's claim on the same listener is answered too (204 after its 100 ms wait)
    const claim = await timed(() => agentPost(`http://127.0.0.1:${app.port}`, 'claim', { name: 'fe01', token: TOKEN, body: { name: 'fe01', roles: ['internal'], version: 't' } }));
    expect(claim.value.status).toBe(204);
    expect(claim.ms).toBeLessThan(1_000 + 100);

    await f.closed(BOUNDS.requestTimeoutMs! + SLACK_OF_A_LOADED_MACHINE_MS);
    const open = openFor(f);
    expect(open).toHaveLength(100);
    expect(open.at(-1)!).toBeLessThanOrEqual(BOUNDS.requestTimeoutMs! + SLACK_OF_A_LOADED_MACHINE_MS);
    // past the cap of 64 connections without a whole request, the oldest were dropped at once (and said so)
    expect(app.logs.find(/too many connections without a whole request/)[0]).toMatchObject({ listener: 'slack', cap: 64 });
    expect(app.logs.find(/too many connections/)[0]!.dropped as number).toBeGreaterThanOrEqual(36);
    expect(app.commands()).toBe(1);
  });

  it("the agents' hub (Socket Mode): 100 slow clients are cut within the bound, and an agent's claim is answered meanwhile", async () => {
    const hub = createAgentHub({ agents: [{ name: 'fe01', roles: ['internal'], token: TOKEN }], log: memoryLog().log, claimWaitMs: 100 });
    const logs = memoryLog();
    const server: AgentHubServer = await startAgentHubServer({ hub, port: 0, bounds: BOUNDS, log: logs.log });
    cleanup.push(() => server.close(), () => hub.close());
    const port = Number(new URL(server.url).port);
    const f = flood(port, '/agents/v1/claim');
    await f.connected;
    const claim = await timed(() => agentPost(server.url, 'claim', { name: 'fe01', token: TOKEN, body: { name: 'fe01', roles: ['internal'], version: 't' } }));
    expect(claim.value.status).toBe(204);
    expect(claim.ms).toBeLessThan(1_000 + 100);
    await f.closed(BOUNDS.requestTimeoutMs! + SLACK_OF_A_LOADED_MACHINE_MS);
    const open = openFor(f);
    expect(open).toHaveLength(100);
    expect(open.at(-1)!).toBeLessThanOrEqual(BOUNDS.requestTimeoutMs! + SLACK_OF_A_LOADED_MACHINE_MS);
  });

  it("serves Slack's endpoint over HTTPS when given a certificate", async () => {
    const ca = createTestCa();
    const logs = memoryLog();
    const service = { command: async () => {}, approve: async () => {}, deny: async () => {}, mayDeny: async () => ({ ok: true as const }) };
    const slack = createSlackApp({
      env: { mode: 'http', botToken: 'xoxb-bounds', signingSecret: '8f742231b10e8888abcd99yyyzzz85a5', port: 0 },
      config: { slack: { command: '/lync-exo' } },
      service,
      log: logs.log,
      bot: { botId: 'B0BOUNDS', botUserId: 'U0BOUNDS' },
      clientOptions: { retryConfig: { retries: 0 } },
      http: { tls: ca.server() },
    });
    const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
    cleanup.push(() => slack.stop());
    const port = (server.address() as AddressInfo).port;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/slack/events', method: 'POST', ca: ca.cert, headers: { 'content-type': 'application/json', 'content-length': '2' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end('{}');
    });
    // unsigned: refused, but over TLS with the certificate verified against the test CA
    expect(status).toBe(401);
    expect(logs.find(/slack: listening/)[0]).toMatchObject({ tls: true, host: '127.0.0.1' });
  });

  it('refuses a body larger than the limit from its declared length (413), and one with no declared length (411), unread', async () => {
    const app = await slackApp();
    const raw = (headers: Record<string, string>, chunk: string) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: app.port, path: '/slack/events', method: 'POST', headers }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        // never ended: the answer must come without the rest of the body
        req.write(chunk);
      });
    const big = await raw({ 'content-type': 'application/x-www-form-urlencoded', 'content-length': String(2 * 1024 * 1024) }, 'payload=');
    expect(big).toEqual({ status: 413, text: JSON.stringify({ error: `body of ${2 * 1024 * 1024} bytes; at most ${1024 * 1024}` }) });
    const chunked = await raw({ 'content-type': 'application/x-www-form-urlencoded', 'transfer-encoding': 'chunked' }, 'payload=');
    expect(chunked.status).toBe(411);
    expect(app.commands()).toBe(0);
  });
});
