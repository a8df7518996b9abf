// The HTTP receiver for real: signed requests over a socket, Web API calls caught by nock.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { memoryLog } from './support/memoryLog.js';
import { blockAction, interactiveBody, slashCommandBody, viewSubmission } from './support/payloads.js';
import { send, SIGNING_SECRET } from './support/signing.js';
import { fakeSlackApi, type FakeSlackApi } from './support/slackApi.js';
import { stubService } from './support/stubService.js';

const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
const CHANNEL = 'C0LYNCOPS';

/**
 * Bolt acks before its handler runs: wait for the handler's effect however long a loaded machine takes. vi.waitFor's
 * default gives up after 1 s; the bound here only ends a hang.
 */
const eventually = (check: () => void): Promise<void> => vi.waitFor(check, { timeout: 30_000, interval: 10 });

let slack: SlackApp;
let url: string;
let api: FakeSlackApi;

async function start(service: ReturnType<typeof stubService>, log = memoryLog().log): Promise<void> {
  slack = createSlackApp({
    env: { mode: 'http', botToken: 'xoxb-test', signingSecret: SIGNING_SECRET, port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service,
    log,
    clientOptions: { retryConfig: { retries: 0 } },
    bot: { botId: 'B0LYNCEXO', botUserId: 'U0LYNCEXO' },
  });
  const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
}

beforeEach(() => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  api = fakeSlackApi();
});

afterEach(async () => {
  await slack?.stop();
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('request signatures', () => {
  it('a good signature reaches the handler, which gets the user, channel and text', async () => {
    const service = stubService();
    await start(service);
    const res = await send(url, slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'setup --cloud gcchigh' }));
    expect(res.status).toBe(200);
    await eventually(() => expect(service.calls).toEqual([{ call: 'command', user: ALICE, channel: CHANNEL, text: 'setup --cloud gcchigh' }]));
  });

  it.each([
    ['a bad signature', { secret: 'not-the-secret' }],
    ['a stale timestamp (10 minutes)', { timestamp: Math.floor(Date.now() / 1000) - 600 }],
    ['no signature', { signed: false }],
  ])('%s gets 401 and reaches no handler', async (_name, options) => {
    const service = stubService();
    await start(service);
    const res = await send(url, slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'setup' }), options);
    expect(res.status).toBe(401);
    await new Promise((r) => setTimeout(r, 50));
    expect(service.calls).toEqual([]);
    expect(api.calls).toEqual([]);
  });
});

describe('interactivity', () => {
  it('Approve: the core hears who approved which request', async () => {
    const service = stubService();
    await start(service);
    const res = await send(url, interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-1' }, 'approve')));
    expect(res.status).toBe(200);
    await eventually(() => expect(service.calls).toEqual([{ call: 'approve', user: BOB, channel: CHANNEL, requestId: 'r-1' }]));
  });

  it('a repeated Approve delivery (x-slack-retry-num) reaches the core again and nothing breaks: the core dedupes', async () => {
    const service = stubService();
    await start(service);
    const body = interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-1' }, 'approve'));
    const [a, b] = await Promise.all([send(url, body), send(url, body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } })]);
    expect([a.status, b.status]).toEqual([200, 200]);
    await eventually(() => expect(service.calls.filter((c) => c.call === 'approve')).toHaveLength(2));
  });

  it('Deny opens a modal with a required reason, carrying the request and channel', async () => {
    const service = stubService();
    await start(service);
    await send(url, interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-7' }, 'deny')));
    await eventually(() => expect(api.calls.map((c) => c.method)).toEqual(['views.open']));
    const { trigger_id, view } = api.calls[0]!.body as { trigger_id: string; view: { private_metadata: string; blocks: { type: string; optional?: boolean }[] } };
    expect(trigger_id).toBe(`trigger-${BOB}`);
    expect(JSON.parse(view.private_metadata)).toEqual({ requestId: 'r-7', channel: CHANNEL });
    expect(view.blocks.find((b) => b.type === 'input')?.optional).toBeUndefined();
    expect(service.calls).toEqual([]);
  });

  it('the reason submitted reaches the core as a denial', async () => {
    const service = stubService();
    await start(service);
    const res = await send(url, interactiveBody(viewSubmission({ user: BOB, channel: CHANNEL, requestId: 'r-7', reason: '  change freeze until Monday ' })));
    expect(res.status).toBe(200);
    await eventually(() => expect(service.calls).toEqual([{ call: 'deny', user: BOB, channel: CHANNEL, requestId: 'r-7', reason: 'change freeze until Monday' }]));
  });

  it('an empty reason is refused in the modal itself', async () => {
    const service = stubService();
    await start(service);
    const res = await send(url, interactiveBody(viewSubmission({ user: BOB, channel: CHANNEL, requestId: 'r-7', reason: '   ' })));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ response_action: 'errors', errors: { reason: expect.stringContaining('Say why') as unknown } });
    expect(service.calls).toEqual([]);
  });
});

describe('errors reach the user and the log', () => {
  it('a fault in the core: an ephemeral with an error id, and the same id in an error log line', async () => {
    const { log, lines } = memoryLog();
    const service = stubService({ fail: new Error('store is read-only') });
    await start(service, log);
    await send(url, slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'setup' }));
    await eventually(() => expect(api.calls.map((c) => c.method)).toEqual(['chat.postEphemeral']));
    const text = api.calls[0]!.body.text as string;
    const errorId = /error id `(e-[0-9a-f]{6})`/.exec(text)?.[1];
    expect(errorId).toBeDefined();
    expect(api.calls[0]!.body).toMatchObject({ channel: CHANNEL, user: ALICE });
    const line = lines.find((l) => l.errorId === errorId);
    expect(line).toMatchObject({ level: 50, user: ALICE, channel: CHANNEL, err: { message: 'store is read-only' } });
    expect(line?.msg).toContain('store is read-only');
  });

  it('when the ephemeral itself fails, both failures are logged and nothing crashes', async () => {
    const { log, lines } = memoryLog();
    const service = stubService({ fail: new Error('boom') });
    await start(service, log);
    api.failNext('chat.postEphemeral', 'channel_not_found');
    await send(url, interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-1' }, 'approve')));
    await eventually(() => expect(lines.filter((l) => l.level === 50 && typeof l.errorId === 'string')).toHaveLength(2));
    expect(lines.some((l) => String(l.msg).includes('channel_not_found'))).toBe(true);
  });
});
