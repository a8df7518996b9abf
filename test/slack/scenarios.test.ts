// The rest of issue 3's conversations, each through Slack's transport and the real core, on the in-memory agent
// (they are about the conversation, not the PowerShell boundary; test/agent/memoryContract.test.ts keeps that agent
// equal to LyncSim), compared with its transcript under test/slack/transcripts/ (update with `npx vitest run test/slack -u`).
// Each test also checks the facts that decide it (the simulator's state, the request and run records) directly.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { okCalls, readSimState, type SimState } from '../support/simState.js';
import { USERS } from '../support/world.js';
import { type Harness, type HarnessOptions, renderTranscript, startHarness } from './transcript.js';
import { noteAt, settleRaces } from './support/transcriptEdits.js';

const names = { [USERS.alice]: 'alice', [USERS.bob]: 'bob', [USERS.carol]: 'carol', [USERS.mallory]: 'mallory' };
/** polls often enough for a lean test; the timeout only ends a hang (a stuck replica's test sets its own) */
const replication = { pollIntervalMs: 250, timeoutMs: 60_000 };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(world: HarnessOptions['world'] = {}, who: Record<string, string> = names): Promise<Harness> {
  h = await startHarness({ executable: '', names: who, world: { agents: 'memory', ...world, policy: { replication, ...world.policy } } });
  return h;
}

const sim = (x: Harness): SimState => readSimState(x.world.statePath);
const posts = (x: Harness) => x.api.calls.filter((c) => c.method === 'chat.postMessage');
const runPosts = (x: Harness) => posts(x).filter((c) => String(c.body.text).startsWith('Run '));
const ephemeralsTo = (x: Harness, user: string) => x.answersTo(user);
const hasButtons = (call: { body: Record<string, unknown> }) => ((call.body.blocks ?? []) as { type: string }[]).some((b) => b.type === 'actions');
const lastUpdateOf = (x: Harness, ts: unknown) => x.api.calls.filter((c) => c.method === 'chat.update' && c.body.ts === ts).at(-1);
const planTs = (x: Harness) => posts(x)[0]!.response!.ts;
/** a message as it was last shown: its last update, or the post itself when the outbox had only its final view to send */
const finalOf = (x: Harness, post: { body: Record<string, unknown>; response?: Record<string, unknown> }) => lastUpdateOf(x, post.response!.ts) ?? post;

async function runOf(x: Harness, requestId: string) {
  const request = await x.world.store.getRequest(requestId);
  expect(request?.runId, `request ${requestId} has no run`).toBeDefined();
  return (await x.world.store.getRun(request!.runId!))!;
}

describe('Slack transcripts on the in-memory agent: the other conversations', () => {
  it('denied with a reason', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'deny', id);
    await x.submitDenial(USERS.bob, id, 'not before the change window on Saturday');
    await x.click(USERS.carol, 'approve', id);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/denied-with-a-reason.txt');

    const request = (await x.world.store.getRequest(id))!;
    expect(request).toMatchObject({ status: 'denied', decidedBy: USERS.bob, reason: 'not before the change window on Saturday' });
    expect(hasButtons(lastUpdateOf(x, planTs(x))!)).toBe(false);
    expect(ephemeralsTo(x, USERS.carol).join('\n')).toMatch(/already denied/);
    expect(runPosts(x)).toHaveLength(0);
    expect(sim(x).calls).toEqual([]);
  });

  it('non-approver refused', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await x.click(USERS.mallory, 'approve', id);
    await x.click(USERS.mallory, 'deny', id);
    await x.submitDenial(USERS.mallory, id, 'because I can');
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/non-approver-refused.txt');

    expect((await x.world.store.getRequest(id))!).toMatchObject({ status: 'pending', approvals: [] });
    expect(ephemeralsTo(x, USERS.mallory).join('\n')).toMatch(/not an approver[\s\S]*not an approver/);
    expect(x.api.calls.filter((c) => c.method === 'chat.update')).toHaveLength(0);
    expect(sim(x).calls).toEqual([]);
  });

  it('expired: a late click is refused, the sweeper closes what nobody clicked', async () => {
    const x = await start({ policy: { expiresAfterMs: 1 } });
    await x.say(USERS.alice, 'setup');
    const first = x.pendingRequestId();
    await x.world.clock.sleep(5);
    await x.click(USERS.bob, 'approve', first);
    await x.say(USERS.alice, 'setup');
    const second = x.pendingRequestId();
    expect(second).not.toBe(first);
    await x.world.clock.sleep(5);
    const sweptAt = x.entries().length;
    expect(await x.world.service.expireDue()).toBe(1);
    await x.click(USERS.bob, 'approve', second);
    await expect(renderTranscript(noteAt(x.entries(), sweptAt, '(the expiry sweeper runs: service.expireDue())'), names)).toMatchFileSnapshot('./transcripts/expired.txt');

    for (const id of [first, second]) expect((await x.world.store.getRequest(id))!).toMatchObject({ status: 'expired', approvals: [] });
    const planMessages = posts(x).map((c) => c.response!.ts);
    expect(planMessages).toHaveLength(2);
    for (const ts of planMessages) expect(hasButtons(lastUpdateOf(x, ts)!)).toBe(false);
    expect(ephemeralsTo(x, USERS.bob).join('\n')).toMatch(new RegExp(`${first} expired[\\s\\S]*${second} is already expired`));
    expect(runPosts(x)).toHaveLength(0);
    expect(sim(x).calls).toEqual([]);
  });

  it('two approvals required: the first is recorded (1/2), the second completes and runs once', async () => {
    const x = await start({ policy: { required: 2 } });
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id);
    expect((await x.world.store.getRequest(id))!).toMatchObject({ status: 'pending' });
    // one of two: the message says who approved so far and keeps its buttons for the second
    const afterFirst = lastUpdateOf(x, planTs(x))!;
    expect(hasButtons(afterFirst)).toBe(true);
    expect(JSON.stringify(afterFirst.body.blocks)).toMatch(/Needs \*2\* approvals[\s\S]*Approved so far by <@U0BOB>/);
    expect(runPosts(x)).toHaveLength(0);
    await x.click(USERS.bob, 'approve', id);
    await x.click(USERS.carol, 'approve', id);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/two-approvals-required.txt');

    const request = (await x.world.store.getRequest(id))!;
    expect(request.status).toBe('approved');
    expect(request.approvals.map((a) => a.user)).toEqual([USERS.bob, USERS.carol]);
    expect(ephemeralsTo(x, USERS.bob).join('\n')).toMatch(/approval recorded[\s\S]*already approved/);
    const run = await runOf(x, id);
    expect(run.status).toBe('succeeded');
    expect(run.approvers).toEqual([USERS.bob, USERS.carol]);
    expect(runPosts(x)).toHaveLength(1);
    expect(okCalls(sim(x), 'New-CsHostingProvider')).toHaveLength(1);
  });

  it('Approve clicked twice at once by the same approver: one run', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await Promise.all([x.click(USERS.bob, 'approve', id), x.click(USERS.bob, 'approve', id)]);
    await expect(renderTranscript(settleRaces(x.entries()), names)).toMatchFileSnapshot('./transcripts/approve-double-click.txt');

    expect((await runOf(x, id)).status).toBe('succeeded');
    expect(runPosts(x)).toHaveLength(1);
    expect(ephemeralsTo(x, USERS.bob)).toEqual([`request ${id} is already approved; nothing was changed`]);
    const state = sim(x);
    expect(state.calls.filter((c) => c.cmdlet === 'New-CsHostingProvider')).toHaveLength(1);
    expect(state.calls.filter((c) => c.cmdlet === 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
  });

  it('two approvers click Approve at once: one run', async () => {
    // who wins the race varies: both are "approver" in the transcript, and the winner's id is replaced
    const racers = { ...names, [USERS.bob]: 'approver', [USERS.carol]: 'approver' };
    const x = await start({}, racers);
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await Promise.all([x.click(USERS.bob, 'approve', id), x.click(USERS.carol, 'approve', id)]);

    const run = await runOf(x, id);
    expect(run.status).toBe('succeeded');
    expect(run.approvers).toHaveLength(1);
    const [winner] = run.approvers;
    const loser = winner === USERS.bob ? USERS.carol : USERS.bob;
    const text = renderTranscript(settleRaces(x.entries()), racers).replace(/(approved by |Approved\* by )<@(U0BOB|U0CAROL)>/g, '$1<@WINNER>');
    await expect(text).toMatchFileSnapshot('./transcripts/two-approvers-at-once.txt');

    expect(runPosts(x)).toHaveLength(1);
    expect(ephemeralsTo(x, winner!)).toEqual([]);
    expect(ephemeralsTo(x, loser)).toEqual([`request ${id} is already approved; nothing was changed`]);
    expect((await x.world.store.getRequest(id))!.approvals.map((a) => a.user)).toEqual([winner]);
    expect(sim(x).calls.filter((c) => c.cmdlet === 'New-CsHostingProvider')).toHaveLength(1);
  });

  it('nothing to change: no buttons, no run', async () => {
    const x = await start({
      sim: {
        accessEdge: { AllowFederatedUsers: true },
        providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', EnabledSharedAddressSpace: true, VerificationLevel: 'UseSourceVerification' }],
      },
    });
    await x.say(USERS.alice, 'setup');
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/nothing-to-change.txt');

    // an answer to alice alone, wherever she typed: nothing was posted in the channel
    expect(posts(x)).toHaveLength(0);
    const answers = x.api.of('respond');
    expect(answers).toHaveLength(1);
    expect(String(answers[0]!.body.text)).toMatch(/nothing to change/i);
    expect(hasButtons(answers[0]!)).toBe(false);
    expect((await x.world.store.history(10)).requests).toEqual([]);
    expect(sim(x).calls).toEqual([]);
  });

  it('21Vianet: the partner ProxyFqdn in the plan and in the deployment', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup --cloud 21vianet');
    const id = x.pendingRequestId();
    expect(JSON.stringify(posts(x)[0]!.body.blocks)).toContain('-ProxyFqdn exap.um.partner.outlook.cn');
    await x.click(USERS.bob, 'approve', id);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/21vianet.txt');

    expect((await runOf(x, id)).status).toBe('succeeded');
    const state = sim(x);
    expect(state.cms.hostingProviders.map((p) => [p.Identity, p.ProxyFqdn])).toEqual([['Exchange Online', 'exap.um.partner.outlook.cn']]);
    expect(state.cms.accessEdge.AllowFederatedUsers).toBe(true);
  });

  it('replication timeout: the report names the lagging replica and what to check; the Edge check is skipped', async () => {
    const x = await start({ sim: { stuckReplicas: ['edge01.contoso.local'] }, policy: { replication: { pollIntervalMs: 200, timeoutMs: 1500 } } });
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/replication-timeout.txt');

    const run = await runOf(x, id);
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => [s.kind, s.status])).toEqual([
      ['change', 'succeeded'],
      ['change', 'succeeded'],
      ['replication', 'failed'],
      ['edge-check', 'skipped'],
    ]);
    const report = JSON.stringify(finalOf(x, runPosts(x)[0]!).body.blocks);
    expect(report).toContain('edge01.contoso.local');
    expect(report).toMatch(/Replica Replicator Agent/);
    expect(report).toMatch(/4443/);
    // the change is in the CMS; the stuck Edge never saw it
    expect(sim(x).cms.hostingProviders).toHaveLength(1);
  });

  it('a step failing mid-run: the run stops, later steps never ran, the report says so', async () => {
    const x = await start({ sim: { faults: { fail: { 'New-CsHostingProvider': 'the CMS is read-only right now' } } } });
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', id);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/step-fails-mid-run.txt');

    const run = await runOf(x, id);
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped', 'skipped']);
    const state = sim(x);
    expect(state.calls.map((c) => [c.cmdlet, c.outcome])).toEqual([
      ['Set-CsAccessEdgeConfiguration', 'ok'],
      ['New-CsHostingProvider', 'error'],
    ]);
    expect(state.cms.hostingProviders).toEqual([]);
    const report = JSON.stringify(finalOf(x, runPosts(x)[0]!).body.blocks);
    expect(report).toContain('the CMS is read-only right now');
  });

  it('state changed between approval and run: the run is refused and nothing changes', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    // someone changes the deployment by hand after the plan was posted
    const state = JSON.parse(readFileSync(x.world.statePath, 'utf8')) as SimState;
    state.cms.accessEdge.AllowFederatedUsers = true;
    writeFileSync(x.world.statePath, JSON.stringify(state));
    await x.click(USERS.bob, 'approve', id);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/state-changed-before-run.txt');

    const run = await runOf(x, id);
    expect(run.status).toBe('refused');
    expect(run.summary).toMatch(/changed after the plan was approved/);
    expect(run.steps.every((s) => s.status !== 'succeeded' && s.status !== 'failed')).toBe(true);
    const after = sim(x);
    expect(after.calls).toEqual([]);
    expect(after.cms.hostingProviders).toEqual([]);
    expect(await x.world.store.getLock('contoso')).toBeUndefined();
  });

  // A refused run never started any step: like the steps a failed run never reached, they read 'skipped'.
  it('a refused run reports its steps as skipped, not pending', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const id = x.pendingRequestId();
    const state = JSON.parse(readFileSync(x.world.statePath, 'utf8')) as SimState;
    state.cms.accessEdge.AllowFederatedUsers = true;
    writeFileSync(x.world.statePath, JSON.stringify(state));
    await x.click(USERS.bob, 'approve', id);

    const run = await runOf(x, id);
    expect(run.status).toBe('refused');
    expect(run.steps.map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped', 'skipped']);
    expect(JSON.stringify(finalOf(x, runPosts(x)[0]!).body.blocks)).not.toContain('pending');
  });

  it('rollback after setup restores the pre-state; a second rollback finds nothing to undo', async () => {
    const x = await start();
    await x.say(USERS.alice, 'setup');
    const setupId = x.pendingRequestId();
    await x.click(USERS.bob, 'approve', setupId);
    expect((await runOf(x, setupId)).status).toBe('succeeded');
    expect(sim(x).cms.accessEdge.AllowFederatedUsers).toBe(true);

    await x.say(USERS.alice, 'rollback');
    const rollbackId = x.pendingRequestId();
    expect(rollbackId).not.toBe(setupId);
    await x.click(USERS.carol, 'approve', rollbackId);
    // a second rollback: nothing left to undo, and status is offered
    await x.say(USERS.alice, 'rollback');
    expect(x.answersTo(USERS.alice).at(-1)).toMatch(/already as it was before run run-2 \(setup\): run run-4 rolled it back; there is nothing to undo\. To see it, run `\/lync-exo status`/);
    await expect(x.transcript()).toMatchFileSnapshot('./transcripts/rollback-after-setup.txt');

    const run = await runOf(x, rollbackId);
    expect(run.runbook).toBe('rollback');
    expect(run.status).toBe('succeeded');
    expect(run.approvers).toEqual([USERS.carol]);
    const after = sim(x);
    expect(after.cms.accessEdge.AllowFederatedUsers).toBe(false);
    expect(after.cms.hostingProviders).toEqual([]);
    expect(okCalls(after, 'New-CsHostingProvider')).toHaveLength(1);
    expect(okCalls(after, 'Remove-CsHostingProvider')).toHaveLength(1);
  });
});
