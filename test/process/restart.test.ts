// The bot process killed outright (SIGKILL to it and its PowerShell) and started again on the same data dir.
import { afterEach, expect, it } from 'vitest';
import { okCalls } from '../../src/simulator.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { createHarness, locks, messageTs, requests, requestSetup, runs, said, stepStatuses, USERS, waitFor, type Harness } from './bot.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describeWithPwsh('the bot process killed and restarted', () => {
  it('SIGKILL while a request is pending: after a restart its Approve button works and it runs once', async () => {
    const h = (harness = await createHarness());
    await h.start();
    const request = await requestSetup(h);
    await h.bot!.killHard();

    await h.start();
    const res = await h.approve(USERS.bob, request.id, messageTs(request));
    expect(res.status).toBe(200);
    const run = await waitFor(() => runs(h).find((r) => r.status !== 'running'), 90_000, 'the run to finish', () => h.logs());
    expect(run.status, run.summary ?? '').toBe('succeeded');
    expect(runs(h)).toHaveLength(1);
    expect(requests(h)).toMatchObject([{ id: request.id, status: 'approved', run_id: run.id }]);
    expect(okCalls(h.sim(), 'New-CsHostingProvider')).toHaveLength(1);
    expect(okCalls(h.sim(), 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
    expect(locks(h)).toEqual([]);
  });

  it('SIGKILL in the middle of a run: reported as interrupted with its last step, the lock is free, nothing runs twice', async () => {
    const h = (harness = await createHarness({ sim: { faults: { hang: ['New-CsHostingProvider'] } } }));
    await h.start();
    const request = await requestSetup(h);
    await h.approve(USERS.bob, request.id, messageTs(request));
    // step 1 (Set-CsAccessEdgeConfiguration) went through; step 2 sits in New-CsHostingProvider
    await waitFor(() => h.sim().calls.some((c) => c.cmdlet === 'New-CsHostingProvider' && c.outcome === 'hang'), 90_000, 'the hang in step 2', () => h.logs());
    const [cut] = runs(h);
    expect(cut).toMatchObject({ status: 'running' });
    await h.bot!.killHard();
    h.setFaults([]);
    const callsAtKill = h.sim().calls.length;
    const apiCallsAtKill = h.slack.calls.length;

    await h.start();
    // start-up recovery edits the run's message: interrupted, and which step last completed
    const report = await waitFor(
      () => h.slack.calls.slice(apiCallsAtKill).find((c) => (c.method === 'chat.update' || c.method === 'chat.postMessage') && /interrupted/i.test(said(c))),
      30_000,
      'the interrupted report',
      () => h.logs(),
    );
    expect(said(report)).toContain('Allow federated users (shared SIP address space)');
    const [after] = runs(h);
    expect(after).toMatchObject({ id: cut!.id, status: 'interrupted' });
    expect(after!.summary).toMatch(/last completed step: "Allow federated users \(shared SIP address space\)"/);
    const steps = stepStatuses(after!);
    expect(steps).toMatchObject({ 'shared-sip-address-space': 'succeeded', replication: 'skipped', 'edge-local-store': 'skipped' });
    // KNOWN GAP: the step in flight was never saved as 'running' (executePlan reports after a step, not before), so
    // recovery lists "Hosting provider" among the steps that never ran although New-CsHostingProvider was called
    // saved as running when it started, so recovery knows it was cut off, not skipped
    expect(steps['hosting-provider']).toBe('failed');
    expect(locks(h)).toEqual([]);

    // the lock is free: a new setup gets a plan, not "a change is already running"
    const again = await requestSetup(h);
    expect(again.id).not.toBe(request.id);
    expect(h.slack.of('respond').map((e) => String(e.body.text))).not.toContainEqual(expect.stringMatching(/already running/));

    // nothing ran twice, and the restarted bot ran nothing by itself (its reads are not logged as calls)
    const sim = h.sim();
    expect(sim.calls).toHaveLength(callsAtKill);
    expect(sim.calls.filter((c) => c.cmdlet === 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
    expect(sim.calls.filter((c) => c.cmdlet === 'New-CsHostingProvider').map((c) => c.outcome)).toEqual(['hang']);
    expect(runs(h)).toHaveLength(1);
    expect(h.query("SELECT * FROM audit WHERE action IN ('run-interrupted', 'lock-recovered')")).toHaveLength(2);
  });
});
