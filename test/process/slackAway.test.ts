// The bot as a real process against the strict Slack stand-in: bad requests never end it, and a change approved
// while Slack fails runs once, its report posted when Slack is back, also across a restart.
import { afterEach, expect, it } from 'vitest';
import { okCalls } from '../../src/simulator.js';
import { send } from '../slack/support/signing.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { createHarness, messageTs, requests, requestSetup, runs, said, USERS, waitFor, type Harness } from './bot.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describeWithPwsh('the bot process and Slack as it really behaves', () => {
  it('a signed payload=null gets 400 and the process serves the next request; a future timestamp gets 401', async () => {
    const h = (harness = await createHarness());
    await h.start();
    const nul = await send(h.bot!.url, new URLSearchParams({ payload: 'null' }).toString());
    expect(nul.status).toBe(400);
    const future = await send(h.bot!.url, new URLSearchParams({ payload: '{}' }).toString(), { timestamp: Math.floor(Date.now() / 1000) + 600 });
    expect(future.status).toBe(401);
    const res = await h.command(USERS.alice, 'history 1');
    expect(res.status).toBe(200);
    await waitFor(() => h.slack.of('respond').length > 0, 60_000, 'the history answer', () => h.logs());
    expect(h.bot!.child.exitCode).toBeNull();
    expect(h.logs()).toContain('slack: refused a request: the payload is null, not an object');
  });

  it('Slack failing from the approval on, then the bot killed: the run went once, and its report is posted after the restart', async () => {
    const h = (harness = await createHarness());
    await h.start();
    const request = await requestSetup(h);
    h.slack.setOutage('http500');
    expect((await h.approve(USERS.bob, request.id, messageTs(request))).status).toBe(200);
    const run = await waitFor(() => runs(h).find((r) => r.status !== 'running'), 90_000, 'the run to finish with Slack down', () => h.logs());
    expect(run.status, run.summary ?? '').toBe('succeeded');
    expect(h.query<{ key: string }>('SELECT key FROM outbox').map((r) => r.key)).toEqual(expect.arrayContaining([`request:${request.id}`, `run:${run.id}`]));

    // the bot dies with its messages undelivered; Slack is back when it starts again: the outbox was in the database
    await h.bot!.killHard();
    h.slack.setOutage(false);
    await h.start();
    const report = await waitFor(
      () => h.slack.calls.find((c) => c.method === 'chat.postMessage' && c.response?.ok === true && said(c).includes(`Run ${run.id}`) && said(c).includes('succeeded')),
      60_000,
      'the report once Slack is back',
      () => h.logs(),
    );
    expect(report.body.thread_ts).toBe(messageTs(request));
    await waitFor(() => h.query('SELECT key FROM outbox').length === 0, 60_000, 'the outbox to empty', () => h.logs());
    expect(runs(h)).toHaveLength(1);
    expect(requests(h)).toMatchObject([{ id: request.id, status: 'approved', run_id: run.id }]);
    expect(okCalls(h.sim(), 'New-CsHostingProvider')).toHaveLength(1);
    // a bound for a loaded machine (two bot starts, a plan and a run), not a speed goal
  }, 240_000);
});
