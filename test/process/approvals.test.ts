// Races and repeats against the bot process: 50 Approve clicks at once, and a slash command Slack delivers twice.
import { afterEach, expect, it } from 'vitest';
import { okCalls } from '../../src/simulator.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { APPROVERS, createHarness, locks, messageTs, requests, requestSetup, runs, USERS, waitFor, type Harness } from './bot.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describeWithPwsh('the bot process under concurrent and repeated Slack deliveries', () => {
  it('50 concurrent Approve clicks from four approvers: one run, one lock (released), a clear reply to every other click', async () => {
    const h = (harness = await createHarness());
    await h.start();
    const request = await requestSetup(h);
    const ts = messageTs(request);

    const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => h.approve(APPROVERS[i % APPROVERS.length]!, request.id, ts)));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));

    const run = await waitFor(() => runs(h).find((r) => r.status !== 'running'), 90_000, 'the run to finish', () => h.logs());
    expect(run.status, run.summary ?? '').toBe('succeeded');
    // 49 clicks lost the race; each is told so, in words (through the clicks' response_urls: the setup command's
    // own "reading the deployment…" note went through the command's)
    const clickAnswers = () => h.slack.of('respond').filter((c) => String(c.body.response_url_id).startsWith('actions-'));
    const ephemerals = await waitFor(() => (clickAnswers().length >= 49 ? clickAnswers() : undefined), 30_000, '49 replies', () => h.logs());
    await new Promise((r) => setTimeout(r, 1_000));
    expect(clickAnswers()).toHaveLength(49);
    for (const e of ephemerals) expect(String(e.body.text)).toMatch(new RegExp(`^request ${request.id} is already (approved|running|succeeded); nothing was changed$`));
    expect(new Set(ephemerals.map((e) => e.body.response_url_id)).size).toBe(49);

    // exactly one run: one run record, one run message, each change made once
    expect(runs(h)).toHaveLength(1);
    expect(requests(h)).toMatchObject([{ id: request.id, status: 'approved', run_id: run.id }]);
    const runMessages = h.slack.of('chat.postMessage').filter((c) => String(c.body.text).startsWith(`Run ${run.id} `));
    expect(runMessages).toHaveLength(1);
    const sim = h.sim();
    expect(okCalls(sim, 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
    expect(okCalls(sim, 'New-CsHostingProvider')).toHaveLength(1);
    expect(sim.calls.map((c) => c.cmdlet)).toEqual(['Set-CsAccessEdgeConfiguration', 'New-CsHostingProvider', 'Invoke-CsManagementStoreReplication'].filter((c) => sim.calls.some((x) => x.cmdlet === c)));
    // one approval recorded, one run started, and the lock is free again
    expect(h.query('SELECT user FROM approvals WHERE request_id = ?', request.id)).toHaveLength(1);
    expect(h.query("SELECT * FROM audit WHERE action = 'run-started'")).toHaveLength(1);
    expect(locks(h)).toEqual([]);
  });

  it('a slash command delivered twice (x-slack-retry-num, same trigger_id) makes one request', async () => {
    const h = (harness = await createHarness());
    await h.start();
    const triggerId = '1740823500.12345.retry';
    const [first, retry] = await Promise.all([
      h.command(USERS.alice, 'setup', { triggerId }),
      // Slack retries when it thinks the first delivery went unanswered
      new Promise((r) => setTimeout(r, 200)).then(() => h.command(USERS.alice, 'setup', { triggerId, headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } })),
    ]);
    expect([first.status, retry.status]).toEqual([200, 200]);
    await waitFor(() => requests(h).find((r) => r.message), 90_000, 'the plan', () => h.logs());
    // give a second request every chance to appear: the first one's state read and plan are done by now
    await new Promise((r) => setTimeout(r, 4_000));
    expect(requests(h)).toHaveLength(1);
    expect(h.slack.of('chat.postMessage')).toHaveLength(1);
    expect(h.logs()).toContain('slash command: ignored a retried delivery already taken');
  });
});
