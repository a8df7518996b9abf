// Socket Mode for real: a local WebSocket server plays Slack (apps.connections.open answered by nock), sends
// hello, then envelopes; the app must ack each with its envelope_id and hand the payload to the core.
import type { AddressInfo } from 'node:net';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { webApi } from '@slack/bolt';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { boundedClientOptions } from '../../src/slack/client.js';
import { SlackNotifier } from '../../src/slack/notifier.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { CHANNEL, createWorld, USERS } from '../support/world.js';
import { memoryLog } from './support/memoryLog.js';
import { blockAction, slashCommandFields, viewSubmission } from './support/payloads.js';
import { startSlackStandIn, type SlackStandIn } from './support/slackApi.js';
import { stubService } from './support/stubService.js';

let server: WebSocketServer;
let slack: SlackApp | undefined;
let socket: Promise<WebSocket>;
let api: SlackStandIn;
const received: Record<string, unknown>[] = [];

/**
 * Bolt acks before its handler runs: wait for the handler's effect however long a loaded machine takes. vi.waitFor's
 * default gives up after 1 s; the bound here only ends a hang.
 */
const eventually = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 30_000, interval: 10 });

beforeEach(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  received.length = 0;
  server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve) => server.once('listening', resolve));
  socket = new Promise((resolve) =>
    server.once('connection', (ws) => {
      ws.on('message', (data) => received.push(JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>));
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0LYNCEXO' }, debug_info: { host: 'local' } }));
      resolve(ws);
    }),
  );
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/link`;
  api = await startSlackStandIn({ socketUrl: url });
});

afterEach(async () => {
  await slack?.stop();
  slack = undefined;
  await new Promise((resolve) => server.close(resolve));
  await api.close();
  nock.cleanAll();
  nock.enableNetConnect();
});

async function start(service: ReturnType<typeof stubService>): Promise<WebSocket> {
  slack = createSlackApp({
    env: { mode: 'socket', botToken: 'xoxb-test', appToken: 'xapp-test' },
    config: { slack: { command: '/lync-exo' } },
    service,
    log: memoryLog().log,
    clientOptions: { retryConfig: { retries: 0 }, slackApiUrl: api.url },
    bot: { botId: 'B0LYNCEXO', botUserId: 'U0LYNCEXO' },
    autoReconnect: false,
  });
  expect(slack.mode).toBe('socket');
  await slack.start();
  return socket;
}

const envelope = (ws: WebSocket, id: string, type: string, payload: Record<string, unknown>) =>
  ws.send(JSON.stringify({ envelope_id: id, type, payload, accepts_response_payload: type !== 'events_api', retry_attempt: 0, retry_reason: '' }));


/** The calls the bot made, less the locale look-ups (users.info) that come before each answer to a person. */
const answered = (api: SlackStandIn): string[] => api.calls.map((c) => c.method).filter((m) => m !== 'users.info');
describe('Socket Mode', () => {
  it('acks a slash command envelope and passes it to the core', async () => {
    const service = stubService();
    const ws = await start(service);
    envelope(ws, 'env-cmd-1', 'slash_commands', slashCommandFields({ user: 'U0ALICE', channel: 'C0LYNCOPS', text: 'status' }));
    await eventually(() => expect(received.map((r) => r.envelope_id)).toEqual(['env-cmd-1']));
    await eventually(() => expect(service.calls).toEqual([{ call: 'command', user: 'U0ALICE', channel: 'C0LYNCOPS', text: 'status' }]));
  });

  it('acks interactive envelopes: Approve, Deny (opens the modal) and the reason', async () => {
    const service = stubService();
    const ws = await start(service);
    envelope(ws, 'env-approve', 'interactive', blockAction({ user: 'U0BOB', channel: 'C0LYNCOPS', requestId: 'r-1' }, 'approve'));
    envelope(ws, 'env-deny', 'interactive', blockAction({ user: 'U0CAROL', channel: 'C0LYNCOPS', requestId: 'r-1' }, 'deny'));
    envelope(ws, 'env-reason', 'interactive', viewSubmission({ user: 'U0CAROL', channel: 'C0LYNCOPS', requestId: 'r-1', reason: 'wrong cloud' }));
    await eventually(() => expect(received.map((r) => r.envelope_id).sort()).toEqual(['env-approve', 'env-deny', 'env-reason']));
    await eventually(() => expect(answered(api)).toEqual(['apps.connections.open', 'views.open']));
    await eventually(() =>
      expect(service.calls).toEqual(
        expect.arrayContaining([
          { call: 'approve', user: 'U0BOB', channel: 'C0LYNCOPS', requestId: 'r-1' },
          { call: 'deny', user: 'U0CAROL', channel: 'C0LYNCOPS', requestId: 'r-1', reason: 'wrong cloud' },
        ]) as unknown,
      ),
    );
  });

  it('an empty reason is answered in the ack payload, in the modal', async () => {
    const service = stubService();
    const ws = await start(service);
    envelope(ws, 'env-empty', 'interactive', viewSubmission({ user: 'U0CAROL', channel: 'C0LYNCOPS', requestId: 'r-1', reason: '' }));
    await eventually(() => expect(received).toHaveLength(1));
    expect(received[0]).toMatchObject({ envelope_id: 'env-empty', payload: { response_action: 'errors' } });
    expect(service.calls).toEqual([]);
  });
});

describeWithPwsh('Socket Mode: the socket dropped mid-run', () => {
  it('the bot reconnects, the run goes on to its report, and acks continue on the new socket', async () => {
    const world = createWorld({
      executable: pwshExecutable()!,
      notifier: new SlackNotifier(new webApi.WebClient('xoxb-test', boundedClientOptions({ slackApiUrl: api.url })), memoryLog().log),
      policy: { replication: { pollIntervalMs: 250, timeoutMs: 20_000 } },
      // replication takes 3 s on LyncSim: time enough to drop the socket while the run waits on it
      sim: { replicationLagSeconds: 3 },
    });
    const sockets: WebSocket[] = [];
    server.on('connection', (ws) => {
      sockets.push(ws);
      if (sockets.length > 1) {
        ws.on('message', (data) => received.push(JSON.parse((data as Buffer).toString('utf8')) as Record<string, unknown>));
        ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0LYNCEXO' }, debug_info: { host: 'local' } }));
      }
    });
    try {
      slack = createSlackApp({
        env: { mode: 'socket', botToken: 'xoxb-test', appToken: 'xapp-test' },
        config: { slack: { command: '/lync-exo' } },
        service: world.service,
        log: memoryLog().log,
        clientOptions: { slackApiUrl: api.url },
        bot: { botId: 'B0LYNCEXO', botUserId: 'U0LYNCEXO' },
        autoReconnect: true,
      });
      await slack.start();
      const first = await socket;
      envelope(first, 'env-setup', 'slash_commands', slashCommandFields({ user: USERS.alice, channel: CHANNEL, text: 'setup', responseUrl: api.responseUrl() }));
      const request = await vi.waitFor(
        async () => {
          const [r] = await world.store.listPending();
          expect(r?.message).toBeDefined();
          return r!;
        },
        { timeout: 60_000, interval: 100 },
      );
      envelope(first, 'env-approve', 'interactive', blockAction({ user: USERS.bob, channel: CHANNEL, requestId: request.id, responseUrl: api.responseUrl('actions') }, 'approve'));
      // the run is waiting for replication: drop the socket under it
      await vi.waitFor(async () => expect((await world.store.listRunning()).flatMap((r) => r.steps.filter((s) => s.kind === 'replication' && s.status === 'running'))).toHaveLength(1), { timeout: 60_000, interval: 50 });
      first.terminate();
      // a new connection (apps.connections.open again), and an envelope on it is acked
      await vi.waitFor(() => expect(sockets).toHaveLength(2), { timeout: 30_000, interval: 100 });
      envelope(sockets[1]!, 'env-status', 'slash_commands', slashCommandFields({ user: USERS.alice, channel: CHANNEL, text: 'history 1', responseUrl: api.responseUrl() }));
      await vi.waitFor(() => expect(received.map((r) => r.envelope_id)).toContain('env-status'), { timeout: 30_000, interval: 100 });
      await world.scheduler.idle();
      const run = (await world.store.history(1)).runs[0]!;
      expect(run.status).toBe('succeeded');
      expect(received.map((r) => r.envelope_id)).toEqual(['env-setup', 'env-approve', 'env-status']);
      expect(api.of('apps.connections.open')).toHaveLength(2);
      expect(api.of('chat.update').at(-1)?.response).toMatchObject({ ok: true });
    } finally {
      await slack?.stop();
      slack = undefined;
      await world.close();
    }
    // a bound for a loaded machine (a plan, a run, a reconnect that waits 5 s), not a speed goal
  }, 240_000);
});
