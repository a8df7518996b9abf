// Slack as it really behaves, against the strict stand-in and the real core (PowerShell agents on LyncSim):
// people are answered wherever they typed; no approval is lost and no run stalled when Slack fails; what Slack
// sends is decoded; approvals count only where the request was posted.
import { afterEach, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { okCalls, readSimState } from '../support/simState.js';
import { CHANNEL, USERS } from '../support/world.js';
import { type Harness, type HarnessOptions, startHarness } from './transcript.js';
import { BLOCK_ALLOWANCE, BLOCKS_TEXT_LIMIT, blocksText } from './support/slackApi.js';

const names = { [USERS.alice]: 'alice', [USERS.bob]: 'bob', [USERS.carol]: 'carol', [USERS.mallory]: 'mallory' };
const replication = { pollIntervalMs: 250, timeoutMs: 10_000 };
/** a channel lync-exo is configured for but was never invited to, a private one, and a DM */
const NO_BOT = 'C0NOBOT01';
const PRIVATE = 'G0PRIVATE';
const DM = 'D0ALICE01';

let h: Harness | undefined;
/** the courier's clock runs ahead of the wall clock by this much: a test moves it to end a backoff */
let skew = 0;
afterEach(async () => {
  await h?.close();
  h = undefined;
  skew = 0;
});

async function start(over: HarnessOptions['world'] = {}, slack: HarnessOptions['slack'] = {}): Promise<Harness> {
  h = await startHarness({
    executable: pwshExecutable()!,
    names,
    slack,
    world: { ...over, policy: { replication, channels: [CHANNEL, NO_BOT, PRIVATE], ...over.policy }, delivery: { now: () => Date.now() + skew, ...over.delivery } },
  });
  return h;
}

/** Slack is back: the courier's backoff (at most a minute) is over, and what waited is delivered. */
async function slackReturns(x: Harness): Promise<void> {
  x.api.setOutage(false);
  skew += 61_000;
  x.world.courier.kick();
  await x.settle();
}

const runOf = async (x: Harness, requestId: string) => {
  const r = await x.world.store.getRequest(requestId);
  return r?.runId ? x.world.store.getRun(r.runId) : undefined;
};
/** what a message finally shows in the stand-in (its last accepted post or update) */
const shown = (x: Harness, ts: string) => x.api.messages.get(ts);
const runMessage = (x: Harness) => [...x.api.messages.entries()].find(([, m]) => m.text.startsWith('Run '));

describeWithPwsh('Slack as it really behaves', () => {
  it('answers wherever the command was typed: a channel without the bot, a private channel, a DM', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup', NO_BOT);
    await x.say(USERS.alice, 'setup', PRIVATE);
    await x.say(USERS.alice, 'status', DM);
    await x.say(USERS.alice, 'help', DM);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/answered-everywhere.txt');

    const answers = x.answersTo(USERS.alice);
    expect(answers[0]).toMatch(/not a member of <#C0NOBOT01>.*\/invite @lync-exo/);
    expect(answers[1]).toMatch(/cannot see <#G0PRIVATE>.*Add the app to the channel/);
    expect(answers[2]).toMatch(/does not take requests in this channel; use <#C0LYNCOPS>/);
    expect(answers[3]).toMatch(/setup/);
    // every answer went through a response_url: none depended on the bot being in the channel
    expect(x.api.of('respond')).toHaveLength(4);
    expect(x.api.of('chat.postEphemeral')).toHaveLength(0);
    // the requests nobody could see were not left pending
    const { requests } = await x.world.store.history(10);
    expect(requests.map((r) => [r.status, r.channel])).toEqual([
      ['cancelled', PRIVATE],
      ['cancelled', NO_BOT],
    ]);
  });

  it('--identity "R&D" arrives as R&amp;D and is stored, planned and run as R&D', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup --identity "R&amp;D"');
    const id = x.pendingRequestId();
    expect((await x.world.store.getRequest(id))!.values.identity).toBe('R&D');
    await x.click(USERS.bob, 'approve', id);
    expect((await runOf(x, id))?.status).toBe('succeeded');
    expect(readSimState(x.world.statePath).cms.hostingProviders.map((p) => p.Identity)).toEqual(['R&D']);
  });

  it('the plan message deleted before Approve: the run goes once, the plan is posted again, the report arrives', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    const planTs = x.api.of('chat.postMessage')[0]!.response!.ts as string;
    x.api.deleteMessage(planTs);
    await x.click(USERS.bob, 'approve', id);

    expect((await runOf(x, id))?.status).toBe('succeeded');
    expect(okCalls(readSimState(x.world.statePath), 'New-CsHostingProvider')).toHaveLength(1);
    const updates = x.api.of('chat.update').filter((c) => c.body.ts === planTs);
    expect(updates[0]?.response).toMatchObject({ ok: false, error: 'message_not_found' });
    const reposted = (await x.world.store.getRequest(id))!.message!;
    expect(reposted.ts).not.toBe(planTs);
    expect(shown(x, reposted.ts)?.text).toMatch(/approved/);
    expect(runMessage(x)?.[1]).toMatchObject({ threadTs: reposted.ts, text: expect.stringMatching(/succeeded/) as unknown });
    // the approver was not told "already approved", nor anything else went wrong for them
    expect(x.answersTo(USERS.bob)).toEqual([]);
  });

  it('Slack answering 500s during the approval: the run completes once, the report arrives when Slack returns', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    x.api.setOutage('http500');
    await x.click(USERS.bob, 'approve', id);

    const run = (await runOf(x, id))!;
    expect(run.status).toBe('succeeded');
    expect(okCalls(readSimState(x.world.statePath), 'New-CsHostingProvider')).toHaveLength(1);
    expect(runMessage(x)).toBeUndefined();
    // the plan's update, the report and its per-Edge details, all waiting for Slack
    expect((await x.world.courier.waiting()).map((e) => e.key).sort()).toEqual([`request:${id}`, `run:${run.id}`, `run:${run.id}:detail:1`]);

    await slackReturns(x);
    expect(await x.world.courier.waiting()).toEqual([]);
    expect(runMessage(x)?.[1].text).toMatch(new RegExp(`Run ${run.id} .*succeeded`));
    expect(shown(x, (await x.world.store.getRequest(id))!.message!.ts)?.text).toMatch(/approved/);
    // a second click on the recovered message starts nothing
    await x.click(USERS.carol, 'approve', id);
    expect(x.answersTo(USERS.carol)).toEqual([`request ${id} is already approved; nothing was changed`]);
    expect((await x.world.store.history(10)).runs).toHaveLength(1);
  });

  it('connections reset during the run: it completes once; its report arrives when Slack returns', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    // the approval itself reaches lync-exo (Slack delivers the click), then every call from lync-exo is reset
    const click = x.click(USERS.bob, 'approve', id);
    x.api.setOutage('reset');
    await click;
    const run = (await runOf(x, id))!;
    expect(run.status).toBe('succeeded');
    expect(x.api.calls.filter((c) => !c.response).length).toBeGreaterThan(0);
    await slackReturns(x);
    expect(runMessage(x)?.[1].text).toMatch(/succeeded/);
    expect((await x.world.store.history(10)).runs).toHaveLength(1);
  });

  it("429s during the run: Retry-After is honoured off the run's path; the latest state arrives after it", async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    x.api.rateLimitNext('chat.update', 30, 1000);
    x.api.rateLimitNext('chat.postMessage', 30, 1000);
    await x.click(USERS.bob, 'approve', id);
    const run = (await runOf(x, id))!;
    // the run finished while every message waited out the Retry-After: it never waited for Slack
    expect(run.status).toBe('succeeded');
    const limited = x.api.calls.filter((c) => c.status === 429);
    expect(limited.length).toBeGreaterThanOrEqual(1);
    // one call, then the pause: not one per progress update
    expect(limited.length).toBeLessThanOrEqual(2);
    x.api.rateLimitNext('chat.update', 0, 0);
    x.api.rateLimitNext('chat.postMessage', 0, 0);
    await slackReturns(x);
    expect(runMessage(x)?.[1].text).toMatch(/succeeded/);
  });

  it('an Approve clicked in another channel than the request is refused', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id, 'C0ELSEWHERE');
    expect((await x.world.store.getRequest(id))!).toMatchObject({ status: 'pending', approvals: [] });
    expect(x.answersTo(USERS.bob)).toEqual([`request ${id} was posted in <#${CHANNEL}>; decide on it there. Nothing was changed`]);
    await x.click(USERS.mallory, 'deny', id);
    expect(x.api.of('views.open')).toHaveLength(0);
    expect(x.answersTo(USERS.mallory).at(-1)).toMatch(/not an approver/);
  });

  it('history 100 is answered within Slack limits, in pages, naming people without mentioning them', async () => {
    const x = await start();
    for (let i = 0; i < 40; i++) {
      await x.world.store.createRequest({
        id: `r-h${i}`,
        runbook: 'setup',
        deployment: 'contoso',
        requester: USERS.alice,
        channel: CHANNEL,
        values: { identity: `Provider ${i} ${'x'.repeat(60)}` },
        plan: { runbook: 'setup', values: {}, steps: [], checks: [], refusals: [], warnings: [], preState: {}, fingerprint: 'f' },
        status: 'denied',
        approvals: [],
        decidedBy: USERS.bob,
        reason: `reason ${i}: ${'because '.repeat(20)}`,
        createdAt: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString(),
        expiresAt: new Date(Date.UTC(2026, 0, 2)).toISOString(),
      });
    }
    await x.say(USERS.alice, 'history 100');
    const answers = x.api.of('respond');
    expect(answers.length).toBeGreaterThanOrEqual(2);
    for (const a of answers) {
      expect(a.status).toBe(200);
      expect(blocksText(a.body.blocks) + BLOCK_ALLOWANCE * (a.body.blocks as unknown[]).length).toBeLessThanOrEqual(BLOCKS_TEXT_LIMIT);
      expect(JSON.stringify(a.body.blocks)).not.toMatch(/<@U/);
    }
    const all = answers.map((a) => JSON.stringify(a.body.blocks)).join('');
    for (let i = 0; i < 40; i++) expect(all).toContain(`r-h${i}`);
  });
});
