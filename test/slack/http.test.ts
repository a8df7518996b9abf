// The HTTP receiver for real: signed requests over a socket, Web API calls caught by nock.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryDeliveries, type DeliveryStore } from '../../src/core/store.js';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { memoryLog } from './support/memoryLog.js';
import { blockAction, interactiveBody, slashCommandBody, viewSubmission } from './support/payloads.js';
import { send, SIGNING_SECRET } from './support/signing.js';
import { startSlackStandIn, type SlackStandIn } from './support/slackApi.js';
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
let api: SlackStandIn;

async function start(service: ReturnType<typeof stubService>, log = memoryLog().log, deliveries?: DeliveryStore): Promise<void> {
  slack = createSlackApp({
    ...(deliveries ? { deliveries } : {}),
    env: { mode: 'http', botToken: 'xoxb-test', signingSecret: SIGNING_SECRET, port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service,
    log,
    clientOptions: { retryConfig: { retries: 0 }, slackApiUrl: api.url },
    bot: { botId: 'B0LYNCEXO', botUserId: 'U0LYNCEXO' },
  });
  const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
}

beforeEach(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  api = await startSlackStandIn();
});

afterEach(async () => {
  await slack?.stop();
  await api.close();
  nock.cleanAll();
  nock.enableNetConnect();
});


/** The calls the bot made, less the locale look-ups (users.info) that come before each answer to a person. */
const answered = (api: SlackStandIn): string[] => api.calls.map((c) => c.method).filter((m) => m !== 'users.info');
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

describe("Slack's SSL check", () => {
  it('comes unsigned: answered 200, reaches no handler; a signed command carrying ssl_check in its text is a command', async () => {
    const service = stubService();
    await start(service);
    const check = await send(url, 'ssl_check=1&token=unused', { signed: false });
    expect(check.status).toBe(200);
    const res = await send(url, slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'status ssl_check=1' }));
    expect(res.status).toBe(200);
    await eventually(() => expect(service.calls).toEqual([{ call: 'command', user: ALICE, channel: CHANNEL, text: 'status ssl_check=1' }]));
  });
});

describe('bad requests never crash the process', () => {
  const bodies: [string, string, string?][] = [
    ['payload=null', new URLSearchParams({ payload: 'null' }).toString()],
    ['payload=[] (an array)', new URLSearchParams({ payload: '[{"type":"block_actions"}]' }).toString()],
    ['payload="a string"', new URLSearchParams({ payload: '"block_actions"' }).toString()],
    ['payload=42', new URLSearchParams({ payload: '42' }).toString()],
    ['payload that is not JSON', new URLSearchParams({ payload: '{"type":' }).toString()],
    ['block_actions without a user or actions', new URLSearchParams({ payload: '{"type":"block_actions"}' }).toString()],
    ['block_actions whose user is null', new URLSearchParams({ payload: '{"type":"block_actions","user":null,"actions":[{"action_id":"lync_exo_approve"}]}' }).toString()],
    ['a view_submission without its view', new URLSearchParams({ payload: '{"type":"view_submission","user":{"id":"U0BOB"}}' }).toString()],
    ['a slash command without a channel', new URLSearchParams({ command: '/lync-exo', user_id: ALICE, team_id: 'T0CONTOSO', text: 'setup' }).toString()],
    ['a form with nothing lync-exo knows', 'a=1&b=2'],
    ['a JSON body: null', 'null', 'application/json'],
    ['a JSON body: an array', '[]', 'application/json'],
    ['a JSON body: a string', '"x"', 'application/json'],
  ];

  it.each(bodies)('a signed %s gets 400, reaches no handler, and the next request is served', async (_name, body, contentType) => {
    const { log, lines } = memoryLog();
    const service = stubService();
    await start(service, log);
    const res = await send(url, body, contentType ? { headers: { 'content-type': contentType } } : {});
    expect(res.status).toBe(400);
    const next = await send(url, slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'status' }));
    expect(next.status).toBe(200);
    await eventually(() => expect(service.calls).toEqual([{ call: 'command', user: ALICE, channel: CHANNEL, text: 'status' }]));
    expect(lines.some((l) => l.level === 40 && String(l.msg).startsWith('slack: refused a request'))).toBe(true);
  });

  it.each([
    ['6 minutes in the future', 360, 401],
    ['5 minutes in the future (at the limit)', 295, 200],
    ['a malformed timestamp', Number.NaN, 401],
  ])('a timestamp %s gets %i', async (_name, ahead, status) => {
    const service = stubService();
    await start(service);
    const timestamp = Number.isNaN(ahead) ? undefined : Math.floor(Date.now() / 1000) + ahead;
    const res = await send(url, slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'status' }), timestamp === undefined ? { headers: { 'x-slack-request-timestamp': 'soon' } } : { timestamp });
    expect(res.status).toBe(status);
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

  it('a byte-identical Approve delivery repeated within 5 minutes (a Slack retry) is acked and acts once', async () => {
    const service = stubService();
    await start(service);
    const body = interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-1' }, 'approve'));
    const a = await send(url, body);
    const b = await send(url, body, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } });
    expect([a.status, b.status]).toEqual([200, 200]);
    // a different click (another action_ts) by the same person still reaches the core
    const other = blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-1' }, 'approve');
    (other.actions as { action_ts: string }[])[0]!.action_ts = '1740823599.000200';
    expect((await send(url, interactiveBody(other))).status).toBe(200);
    await eventually(() => expect(service.calls.filter((c) => c.call === 'approve')).toHaveLength(2));
  });

  it('Deny from someone who may not deny opens no modal: they are told why', async () => {
    const service = stubService({ mayDeny: false });
    await start(service);
    await send(url, interactiveBody(blockAction({ user: 'U0MALLORY', channel: CHANNEL, requestId: 'r-7', responseUrl: api.responseUrl('actions') }, 'deny')));
    await eventually(() => expect(answered(api)).toEqual(['respond']));
    expect(api.calls.filter((c) => c.method !== 'users.info')[0]!.body.text).toMatch(/cannot deny it/);
  });

  it('Deny opens a modal with a required reason, carrying the request and channel', async () => {
    const service = stubService();
    await start(service);
    await send(url, interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-7' }, 'deny')));
    await eventually(() => expect(answered(api)).toEqual(['views.open']));
    const { trigger_id, view } = api.calls.filter((c) => c.method !== 'users.info')[0]!.body as { trigger_id: string; view: { private_metadata: string; blocks: { type: string; optional?: boolean }[] } };
    expect(trigger_id).toBe(`trigger-${BOB}`);
    expect(JSON.parse(view.private_metadata)).toEqual({ requestId: 'r-7', channel: CHANNEL, responseUrl: 'https://hooks.slack.com/actions/T0CONTOSO/1/abc' });
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
    await eventually(() => expect(answered(api)).toEqual(['chat.postEphemeral']));
    const text = api.calls.filter((c) => c.method !== 'users.info')[0]!.body.text as string;
    const errorId = /error id `(e-[0-9a-f]{6})`/.exec(text)?.[1];
    expect(errorId).toBeDefined();
    expect(api.calls.filter((c) => c.method !== 'users.info')[0]!.body).toMatchObject({ channel: CHANNEL, user: ALICE });
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

describe('Slack retries that reach another instance', () => {
  it('two instances on one store: a command retried to the other is dropped, and so is a click; only digests are kept', async () => {
    const keys: string[] = [];
    const shared = memoryDeliveries();
    const deliveries: DeliveryStore = { deliveryTake: (key, nowMs, windowMs) => (keys.push(key), shared.deliveryTake(key, nowMs, windowMs)) };
    const services = [stubService(), stubService()];
    const urls: string[] = [];
    const apps: SlackApp[] = [];
    const logs = services.map(() => memoryLog());
    for (const [i, service] of services.entries()) {
      await start(service, logs[i]!.log, deliveries);
      apps.push(slack);
      urls.push(url);
    }
    try {
      const command = slashCommandBody({ user: ALICE, channel: CHANNEL, text: 'setup' });
      expect((await send(urls[0]!, command)).status).toBe(200);
      await eventually(() => expect(services[0]!.calls).toHaveLength(1));
      expect((await send(urls[1]!, command, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } })).status).toBe(200);
      const click = interactiveBody(blockAction({ user: BOB, channel: CHANNEL, requestId: 'r-1' }, 'approve'));
      expect((await send(urls[1]!, click)).status).toBe(200);
      await eventually(() => expect(services[1]!.calls).toHaveLength(1));
      expect((await send(urls[0]!, click, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } })).status).toBe(200);
      // each retry was recognised and dropped where it arrived, and neither instance acted again
      const said = (i: number) => logs[i]!.lines.map((l) => l.msg);
      await eventually(() => expect(said(1)).toContain('slash command: ignored a retried delivery already taken'));
      await eventually(() => expect(said(0)).toContain('interaction: dropped a repeated delivery already taken'));
      expect(keys).toHaveLength(4);
      expect(services.map((s) => s.calls.map((c) => c.call))).toEqual([['command'], ['approve']]);
      expect(keys.every((k) => /^(command|interaction):[0-9a-f]{64}$/.test(k))).toBe(true);
      expect(keys.join()).not.toContain('trigger-');
    } finally {
      for (const app of apps.slice(0, -1)) await app.stop();
    }
  });
});
