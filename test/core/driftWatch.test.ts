// The drift watch on the in-memory agent with a virtual clock: the deployment changed behind the bot's back (a
// colleague's cmdlet in the Lync shell) is reported once, with what changed and the plan that puts it right; a watch
// that finds nothing new says nothing; the schedule and the last result come from the store.
import { writeFileSync } from 'node:fs';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { virtualClock } from '../../src/agent/memory.js';
import { compose } from '../../src/compose.js';
import type { View } from '../../src/core/ports.js';
import type { PolicyConfig } from '../../src/core/policy.js';
import { changedItems } from '../../src/core/watch.js';
import { readSimState } from '../../src/simulator.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { CHANNEL, createWorld, testPolicy, USERS, type World } from '../support/world.js';

const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };
const WATCH: PolicyConfig['watch'] = { schedule: '0 * * * *', channel: CHANNEL };
const HOUR = 3600_000;

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

type Report = Extract<View, { kind: 'report' }>;
const driftReports = (n: RecordingNotifier): Report[] => n.views('report').filter((r) => r.drift);

async function setUp() {
  const notifier = new RecordingNotifier();
  const clock = virtualClock(new Date('2026-12-02T10:00:00Z'));
  const w = createWorld({ agents: 'memory', clock, notifier, policy: { watch: WATCH } });
  world = w;
  await w.service.command(alice, 'setup --identity "Exchange Online"');
  await w.service.approve(bob, notifier.views('plan').at(-1)!.request.id);
  await w.scheduler.idle();
  expect(notifier.views('run').at(-1)!.run.status).toBe('succeeded');
  return { notifier, w, clock };
}

/** The next hour on the clock, then the watch as the sweep runs it. */
async function nextWatch(w: World, clock: ReturnType<typeof virtualClock>) {
  clock.advance(HOUR);
  const outcome = await w.service.watchDue();
  await w.scheduler.idle();
  return outcome;
}

describe('the drift watch', () => {
  it('reports a change made behind its back once, with the diff and the plan to fix it; nothing when unchanged', async () => {
    const { notifier, w, clock } = await setUp();

    // the first watch records what it saw; as desired, so nothing is posted
    expect((await w.service.watchDue()).outcome).toBe('unchanged');
    // not due again until the next hour
    expect((await w.service.watchDue()).outcome).toBe('not-due');
    expect((await nextWatch(w, clock)).outcome).toBe('unchanged');
    await w.scheduler.idle();
    expect(driftReports(notifier)).toEqual([]);
    const baseline = (await w.store.getWatch('setup'))!;
    expect(baseline.verdict).toBe('pass');

    // a colleague in the Lync shell disables the provider
    const fe = w.agents.forRole('internal')[0]!;
    expect((await fe.invoke({ cmdlet: 'Set-CsHostingProvider', parameters: { Identity: 'Exchange Online', Enabled: false } })).ok).toBe(true);

    const found = await nextWatch(w, clock);
    expect(found.outcome).toBe('posted');
    const reports = driftReports(notifier);
    expect(reports).toHaveLength(1);
    const report = reports[0]!;
    expect(report.verdict).toBe('fail');
    expect(report.drift!.previous).toEqual({ verdict: 'pass', since: baseline.since, checkedAt: baseline.checkedAt });
    expect(report.drift!.changed).toContainEqual({ item: 'Hosting provider for Exchange Online: Enabled', expected: 'True', before: 'True', now: 'False', ok: false });
    expect(report.drift!.changed.every((c) => c.before !== c.now)).toBe(true);
    expect(report.drift!.fix).toBe('plan --cloud worldwide --identity "Exchange Online"');
    // it was posted in the watch's channel, as a message of its own
    expect(notifier.messages.find((m) => m.view.kind === 'report' && m.view.drift)!.ref.channel).toBe(CHANNEL);

    // reported once: the next watches find the same drift and say nothing
    expect((await nextWatch(w, clock)).outcome).toBe('unchanged');
    expect((await nextWatch(w, clock)).outcome).toBe('unchanged');
    expect(driftReports(notifier)).toHaveLength(1);
    // since when: the watch that first saw it
    expect(found.outcome === 'posted' && (await w.store.getWatch('setup'))!.since).toBe(found.outcome === 'posted' && found.state.checkedAt);

    // the button's command plans the way back
    await w.service.command(alice, report.drift!.fix!);
    const fix = notifier.views('plan').at(-1)!;
    expect(fix.dryRun).toBe(true);
    expect(fix.request.plan.steps.find((s) => s.stepId === 'hosting-provider')!.changes).toEqual([{ property: 'Enabled', from: false, to: true }]);

    // put right behind its back too: that is a change of result, reported once
    expect((await fe.invoke({ cmdlet: 'Set-CsHostingProvider', parameters: { Identity: 'Exchange Online', Enabled: true } })).ok).toBe(true);
    expect((await nextWatch(w, clock)).outcome).toBe('posted');
    const back = driftReports(notifier).at(-1)!;
    expect(back.verdict).toBe('pass');
    expect(back.drift!.fix).toBeUndefined();
    expect(back.drift!.changed).toContainEqual({ item: 'Hosting provider for Exchange Online: Enabled', expected: 'True', before: 'False', now: 'True', ok: true });
    expect((await nextWatch(w, clock)).outcome).toBe('unchanged');
    expect(driftReports(notifier)).toHaveLength(2);
    expect((await w.store.listAudit()).filter((a) => a.action === 'drift-changed')).toHaveLength(2);
  });

  it('runs only on the leader; a watch missed while the bot was down runs once, from the stored state', async () => {
    const { notifier, w, clock } = await setUp();
    expect((await w.service.watchDue()).outcome).toBe('unchanged');
    const follower = compose({ policy: testPolicy({ watch: WATCH }), agents: w.agents, notifier, directory: { groupMembers: async () => [] }, log: pino({ level: 'silent' }), store: w.store, clock, isLeader: () => false });
    clock.advance(5 * HOUR);
    expect((await follower.service.watchDue()).outcome).toBe('not-leader');
    follower.courier.stop();
    // the leader (a new process on the same store) runs the missed watch once, then waits for the next hour
    const leader = compose({ policy: testPolicy({ watch: WATCH }), agents: w.agents, notifier, directory: { groupMembers: async () => [] }, log: pino({ level: 'silent' }), store: w.store, clock, isLeader: async () => true });
    expect((await leader.service.watchDue()).outcome).toBe('unchanged');
    expect((await leader.service.watchDue()).outcome).toBe('not-due');
    leader.courier.stop();
    expect(driftReports(notifier)).toEqual([]);
  });

  it('a read that fails is not drift: nothing is posted, and the next good watch compares with the last good one', async () => {
    const { notifier, w, clock } = await setUp();
    const fail = (on: boolean) => {
      const state = readSimState(w.statePath);
      state.faults.fail = on ? { 'Get-CsHostingProvider': 'the CMS is not reachable' } : {};
      writeFileSync(w.statePath, JSON.stringify(state));
    };
    fail(true);
    expect(await w.service.watchDue()).toEqual({ outcome: 'failed', error: expect.stringMatching(/the CMS is not reachable/) as string });
    // no state kept from a watch that never succeeded: the next is a first watch, as desired, so silent
    expect(await w.store.getWatch('setup')).toBeUndefined();
    fail(false);
    expect((await w.service.watchDue()).outcome).toBe('unchanged');
    const good = (await w.store.getWatch('setup'))!;
    fail(true);
    expect((await nextWatch(w, clock)).outcome).toBe('failed');
    expect((await w.store.getWatch('setup'))!.items).toEqual(good.items);
    fail(false);
    expect((await nextWatch(w, clock)).outcome).toBe('unchanged');
    expect(driftReports(notifier)).toEqual([]);
  });

  it('has no watch without a policy for one', async () => {
    const notifier = new RecordingNotifier();
    world = createWorld({ agents: 'memory', notifier });
    expect((await world.service.watchDue(true)).outcome).toBe('off');
  });
});

describe('what the watch counts as changed', () => {
  const item = (name: string, actual: string, ok: boolean) => ({ item: name, expected: 'True', actual, ok });
  it('a first watch reports only what differs; later ones each changed, new and gone item', () => {
    expect(changedItems(undefined, [item('a', 'True', true), item('b', 'False', false)])).toEqual([{ item: 'b', expected: 'True', now: 'False', ok: false }]);
    expect(changedItems([item('a', 'True', true), item('gone', 'True', true)], [item('a', 'True', true), item('new', 'x', false)])).toEqual([
      { item: 'new', expected: 'True', now: 'x', ok: false },
      { item: 'gone', expected: 'True', before: 'True', now: '(no longer compared)', ok: true },
    ]);
    expect(changedItems([item('a', 'True', true)], [item('a', 'True', true)])).toEqual([]);
  });
});
