import nock from 'nock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { SlackDirectory } from '../../src/slack/directory.js';
import { SlackNotifier } from '../../src/slack/notifier.js';
import { request, rule, run } from './fixtures.js';
import { memoryLog } from './support/memoryLog.js';
import { boundedClientOptions } from '../../src/slack/client.js';
import { NotifierError } from '../../src/core/ports.js';
import { startSlackStandIn, type SlackStandIn } from './support/slackApi.js';

let api: SlackStandIn;
const client = (over: webApi.WebClientOptions = {}) => new webApi.WebClient('xoxb-test', boundedClientOptions({ slackApiUrl: api?.url, ...over }));
const directoryClient = () => new webApi.WebClient('xoxb-test', { retryConfig: { retries: 0 } });

beforeEach(async () => {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  api = await startSlackStandIn();
});
afterEach(async () => {
  await api.close();
  nock.cleanAll();
  nock.enableNetConnect();
});

describe('SlackNotifier', () => {
  it('posts a view as text + blocks and returns where it lives; updates it in place; ephemerals go to one user', async () => {
    const notifier = new SlackNotifier(client(), memoryLog().log);
    const ref = await notifier.post('C0LYNCOPS', { kind: 'plan', request: request(), rule, dryRun: false });
    expect(ref).toEqual({ channel: 'C0LYNCOPS', ts: expect.stringMatching(/^\d+\.\d+$/) as unknown });
    await notifier.update(ref, { kind: 'run', run: run() });
    await notifier.ephemeral('C0LYNCOPS', 'U0BOB', { kind: 'notice', notice: { code: 'self-approval' } });
    expect(api.calls.map((c) => c.method)).toEqual(['chat.postMessage', 'chat.update', 'chat.postEphemeral']);
    const [post, update, eph] = api.calls.map((c) => c.body);
    expect(post).toMatchObject({ channel: 'C0LYNCOPS', text: expect.stringContaining('Plan r-1') as unknown });
    expect((post!.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(true);
    expect(update).toMatchObject({ channel: 'C0LYNCOPS', ts: ref.ts });
    expect((update!.blocks as { type: string }[]).some((b) => b.type === 'actions')).toBe(false);
    expect(eph).toEqual({ channel: 'C0LYNCOPS', user: 'U0BOB', text: 'you made this request, so someone else must approve it' });
  });

  it('a Web API failure is logged with method and channel, and rethrown as what it means', async () => {
    const { log, lines } = memoryLog();
    const notifier = new SlackNotifier(client(), log);
    await expect(notifier.post('C0ELSEWHERE', { kind: 'text', text: 'hi' })).rejects.toMatchObject({ problem: 'not_in_channel' });
    expect(lines.find((l) => l.level === 50)).toMatchObject({ method: 'chat.postMessage', channel: 'C0ELSEWHERE', msg: 'slack chat.postMessage in C0ELSEWHERE: not_in_channel' });
    await expect(notifier.post('G0SECRET', { kind: 'text', text: 'hi' })).rejects.toMatchObject({ problem: 'channel_not_found' });
  });

  it('posts in a thread; an update of a deleted message is message_not_found', async () => {
    const notifier = new SlackNotifier(client(), memoryLog().log);
    const parent = await notifier.post('C0LYNCOPS', { kind: 'text', text: 'the change' });
    const reply = await notifier.post('C0LYNCOPS', { kind: 'text', text: 'its progress' }, { thread: parent });
    expect(api.messages.get(reply.ts)?.threadTs).toBe(parent.ts);
    api.deleteMessage(parent.ts);
    await expect(notifier.update(parent, { kind: 'text', text: 'approved' })).rejects.toMatchObject({ problem: 'message_not_found' });
  });

  it("a 429 is thrown at once with its Retry-After (no sleeping inside the call); 500s, resets and hangs are 'unavailable', bounded", async () => {
    const notifier = new SlackNotifier(client({ timeout: 300 }), memoryLog().log);
    const view = { kind: 'text' as const, text: 'progress' };
    api.rateLimitNext('chat.postMessage', 30);
    const limited = await notifier.post('C0LYNCOPS', view).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(NotifierError);
    expect(limited).toMatchObject({ problem: 'rate_limited', retryAfterMs: 30_000 });
    for (const outage of ['http500', 'reset', 'hang'] as const) {
      api.setOutage(outage);
      await expect(notifier.post('C0LYNCOPS', view)).rejects.toMatchObject({ problem: 'unavailable' });
    }
    api.setOutage(false);
    expect(api.of('chat.postMessage')).toHaveLength(4);
  });
});

describe('SlackDirectory', () => {
  it('asks Slack once a minute per group; a failure is logged, rethrown and not cached', async () => {
    let now = 0;
    const { log, lines } = memoryLog();
    const directory = new SlackDirectory(directoryClient(), log, { now: () => now });
    nock.cleanAll(); // this test scripts its answers one by one
    const scope = nock('https://slack.com')
      .post('/api/usergroups.users.list', (b: Record<string, string>) => b.usergroup === 'S0LYNC')
      .reply(200, { ok: true, users: ['U0BOB', 'U0CAROL'] })
      .post('/api/usergroups.users.list')
      .reply(200, { ok: false, error: 'missing_scope' })
      .post('/api/usergroups.users.list')
      .reply(200, { ok: true, users: ['U0CAROL'] });
    expect(await directory.groupMembers('S0LYNC')).toEqual(['U0BOB', 'U0CAROL']);
    now = 59_000;
    expect(await directory.groupMembers('S0LYNC')).toEqual(['U0BOB', 'U0CAROL']);
    now = 61_000;
    await expect(directory.groupMembers('S0LYNC')).rejects.toMatchObject({ problem: 'rejected' });
    expect(lines.find((l) => l.level === 50)).toMatchObject({ method: 'usergroups.users.list', usergroup: 'S0LYNC' });
    expect(await directory.groupMembers('S0LYNC')).toEqual(['U0CAROL']);
    scope.done();
  });
});
