// Conversations in Traditional Chinese (zh-TW), through Slack's transport and the real core on the in-memory
// agent: setup approved and verified, a refusal, a status report, and the App Home tab. Channel messages are in the
// policy's language; replies and the Home tab in each person's Slack locale (users.info include_locale).
import { afterEach, describe, expect, it } from 'vitest';
import { virtualClock } from '../../src/agent/memory.js';
import { CHANNEL, USERS } from '../support/world.js';
import { limitViolations } from './limits.js';
import { type Harness, startHarness } from './transcript.js';
import type { Block } from '../../src/slack/blocks/kit.js';

const names = { [USERS.alice]: 'alice', [USERS.bob]: 'bob', [USERS.carol]: 'carol', [USERS.mallory]: 'mallory' };
const zhEveryone = { [USERS.alice]: 'zh-TW', [USERS.bob]: 'zh-TW', [USERS.carol]: 'zh-TW', [USERS.mallory]: 'zh-TW' };
const zh = { locale: 'zh-TW' as const, timeZone: 'Asia/Taipei' };
const HAN = /[\u4e00-\u9fff]/;

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const start = (locales: Record<string, string>, language?: typeof zh) => startHarness({ names, world: { agents: 'memory' }, slack: { locales }, ...(language ? { language } : {}) });

/** Every message and view the bot sent, within Slack's limits (the stand-in took them all: no call failed). */
function expectWithinLimits(h: Harness): void {
  const sent = h.api.calls.filter((c) => ['chat.postMessage', 'chat.update', 'chat.postEphemeral', 'respond', 'views.publish'].includes(c.method));
  expect(sent.length).toBeGreaterThan(0);
  for (const c of sent) {
    expect(c.response?.ok, `${c.method}: ${JSON.stringify(c.response)}`).toBe(true);
    const blocks = (c.method === 'views.publish' ? (c.body.view as { blocks: Block[] }).blocks : c.body.blocks) as Block[] | undefined;
    if (blocks && c.method !== 'views.publish') expect(limitViolations(blocks)).toEqual([]);
  }
}

describe('Slack transcripts in Traditional Chinese (in-memory agents)', () => {
  it('setup approved and verified: plan, run and report in zh-TW', async () => {
    h = await start(zhEveryone, zh);
    await h.say(USERS.alice, 'setup');
    await h.click(USERS.bob, 'approve', h.pendingRequestId());
    await h.say(USERS.alice, 'verify');
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/zh-TW-setup-approved-and-verified.txt');
    const plan = h.api.of('chat.postMessage')[0]!;
    expect(String(plan.body.text)).toMatch(/^<@U0ALICE> 的計畫 r-1（setup）：2 項變更，等待核准$/);
    expect(JSON.stringify(plan.body.blocks)).toContain('核准');
    expectWithinLimits(h);
  });

  it('refusals: self-approval and a non-approver, each told in their language', async () => {
    h = await start(zhEveryone, zh);
    await h.say(USERS.alice, 'setup --cloud gcchigh');
    const requestId = h.pendingRequestId();
    await h.click(USERS.alice, 'approve', requestId);
    await h.click(USERS.mallory, 'approve', requestId);
    await h.say(USERS.alice, 'stup');
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/zh-TW-refusals.txt');
    expect(h.answersTo(USERS.alice)).toContain('這是您提出的要求，所以必須由其他人核准');
    expect(h.answersTo(USERS.mallory).join('\n')).toMatch(/^您不是 lync-exo 的核准者（核准者：<@U0ALICE>、<@U0BOB>、<@U0CAROL>）$/m);
    expectWithinLimits(h);
  });

  it('a status report in zh-TW', async () => {
    h = await start(zhEveryone, zh);
    await h.say(USERS.carol, 'status');
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/zh-TW-status-report.txt');
    expect(h.answersTo(USERS.carol).join('\n')).toMatch(HAN);
    expectWithinLimits(h);
  });

  it('each person in their own language: the channel in the policy language (en), replies to alice in zh-TW', async () => {
    h = await start({ [USERS.alice]: 'zh-TW', [USERS.bob]: 'en-GB' });
    await h.say(USERS.alice, 'setup');
    const requestId = h.pendingRequestId();
    await h.click(USERS.alice, 'approve', requestId);
    await h.click(USERS.bob, 'deny', requestId);
    const plan = h.api.of('chat.postMessage')[0]!;
    expect(String(plan.body.text)).toBe('Plan r-1 (setup) by <@U0ALICE>: 2 changes, waiting for approval');
    expect(h.answersTo(USERS.alice)).toEqual(['這是您提出的要求，所以必須由其他人核准']);
    // the denial form opens in bob's language (en-GB is English)
    const form = h.api.of('views.open')[0]!.body.view as { title: { text: string } };
    expect(form.title.text).toBe('Deny the request');
    // one locale look-up per person, not one per message
    expect(h.api.of('users.info').filter((c) => c.body.user === USERS.alice && c.body.include_locale === 'true')).toHaveLength(1);
    expectWithinLimits(h);
  });
});

describe('the drift watch in zh-TW', () => {
  it('reports the change made behind its back with its diff and a button that plans the fix', async () => {
    const clock = virtualClock(new Date('2026-12-02T10:00:00Z'));
    h = await startHarness({ names, language: zh, slack: { locales: zhEveryone }, world: { agents: 'memory', clock, policy: { watch: { schedule: '0 * * * *', channel: CHANNEL } } } });
    await h.say(USERS.alice, 'setup');
    await h.click(USERS.bob, 'approve', h.pendingRequestId());
    expect((await h.world.service.watchDue()).outcome).toBe('unchanged');
    // a colleague in the Lync shell disables the provider
    const fe = h.world.agents.forRole('internal')[0]!;
    expect((await fe.invoke({ cmdlet: 'Set-CsHostingProvider', parameters: { Identity: 'Exchange Online', Enabled: false } })).ok).toBe(true);
    clock.advance(3600_000);
    expect((await h.world.service.watchDue()).outcome).toBe('posted');
    await h.settle();
    const drift = h.api.of('chat.postMessage').at(-1)!;
    const text = JSON.stringify(drift.body.blocks);
    expect(text).toContain('設定漂移');
    expect(text).toContain('Exchange Online 的裝載提供者: Enabled');
    const button = (drift.body.blocks as Block[]).flatMap((b) => (b.type === 'actions' ? b.elements : [])).find((e) => e.type === 'button' && e.action_id === 'lync_exo_fix') as { value: string } | undefined;
    expect(button?.value).toBe('plan --cloud worldwide --identity "Exchange Online"');
    await h.click(USERS.carol, 'fix', button!.value);
    // a dry run: the plan of the fix, answered to the person who clicked
    expect(h.answersTo(USERS.carol).join('\n')).toMatch(/<@U0CAROL> 的 setup 試執行：1 項變更/);
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/zh-TW-drift-and-fix.txt');
    expectWithinLimits(h);
  });
});

describe('the App Home tab', () => {
  it('shows each person the requests they may approve, the state and the latest runs, in their language', async () => {
    h = await start({ [USERS.alice]: 'zh-TW', [USERS.bob]: 'en-US' });
    await h.say(USERS.alice, 'setup');
    await h.openHome(USERS.bob);
    await h.openHome(USERS.alice);
    const [bobs, alices] = h.api.of('views.publish').map((c) => c.body as { user_id: string; view: { type: string; blocks: Block[] } });
    expect(bobs!.user_id).toBe(USERS.bob);
    expect(bobs!.view.type).toBe('home');
    const bobText = JSON.stringify(bobs!.view.blocks);
    expect(bobText).toContain('Waiting for you');
    expect(bobText).toContain('`r-1` setup requested by <@U0ALICE>');
    // alice made r-1: it does not wait for her
    const aliceText = JSON.stringify(alices!.view.blocks);
    expect(aliceText).toContain('沒有等待您核准的項目。');
    expect(aliceText).not.toContain('`r-1`');

    await h.click(USERS.bob, 'approve', h.pendingRequestId());
    await h.openHome(USERS.bob);
    const after = JSON.stringify((h.api.of('views.publish').at(-1)!.body.view as { blocks: Block[] }).blocks);
    expect(after).toContain('Nothing waits for your approval.');
    expect(after).toMatch(/`run-\d+` setup \*succeeded\*/);
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/app-home.txt');
    expectWithinLimits(h);
  });

  it("the stand-in refuses what Slack refuses of views.publish", async () => {
    h = await start({});
    const { checkPublish } = await import('./support/slackApi.js');
    const home = (blocks: number) => ({ type: 'home', blocks: Array.from({ length: blocks }, () => ({ type: 'divider' })) });
    expect(checkPublish({ view: home(1) })).toBe('invalid_arguments');
    expect(checkPublish({ user_id: 'U0BOB', view: { type: 'modal', blocks: [] } })).toBe('invalid_arguments');
    expect(checkPublish({ user_id: 'U0BOB', view: home(101) })).toBe('invalid_blocks');
    expect(checkPublish({ user_id: 'U0BOB', view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(3001) } }] } })).toBe('invalid_blocks');
    expect(checkPublish({ user_id: 'U0BOB', view: home(100) })).toBeUndefined();
  });
});
