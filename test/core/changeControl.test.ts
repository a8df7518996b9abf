// Change control through the core, on the in-memory agent with a virtual clock (no wall-clock waits): change
// windows (a change approved outside one waits, starts at the next, re-checked there), change references, and who
// approved in directory terms. The store is SQLite where durability is the point.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { virtualClock } from '../../src/agent/memory.js';
import { compose } from '../../src/compose.js';
import type { Directory, View } from '../../src/core/ports.js';
import type { PolicyConfig } from '../../src/core/policy.js';
import { openSqliteStore, type SqliteStore } from '../../src/store/sqlite.js';
import { okCalls, readSimState } from '../../src/simulator.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { CHANNEL, createWorld, testPolicy, USERS, type World, type WorldOptions } from '../support/world.js';

const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };

// Saturday nights in London (UTC in December): 22:00 to 02:00
const WINDOWS: PolicyConfig['windows'] = { timeZone: 'Europe/London', open: [{ days: ['sat'], from: '22:00', to: '02:00' }] };
const WEDNESDAY = new Date('2026-12-02T10:00:00Z');
const SATURDAY_22 = '2026-12-05T22:00:00.000Z';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function start(options: Partial<WorldOptions> = {}) {
  const notifier = new RecordingNotifier();
  const clock = virtualClock(WEDNESDAY);
  const world = createWorld({ agents: 'memory', clock, notifier, ...options });
  cleanups.push(() => world.close());
  return { notifier, world, clock };
}

function sqliteFile(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-cc-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'lync-exo.db');
}

const newProviders = (w: World) => okCalls(readSimState(w.statePath), 'New-CsHostingProvider');

async function planAndApprove(w: World, notifier: RecordingNotifier, text = 'setup') {
  await w.service.command(alice, text);
  const plan = notifier.views('plan').at(-1);
  expect(plan, JSON.stringify(notifier.notices(USERS.alice).at(-1))).toBeDefined();
  await w.service.approve(bob, plan!.request.id);
  await w.scheduler.idle();
  return plan!.request.id;
}

describe('change windows', () => {
  it('a change approved outside its window waits, is listed by status, and starts when the window opens', async () => {
    const { notifier, world: w, clock } = start({ policy: { windows: WINDOWS } });
    await w.service.command(alice, 'setup');
    const offered = notifier.views('plan').at(-1)!;
    // the plan says when it will run
    expect(offered.window).toEqual({ open: false, opensAt: SATURDAY_22, timeZone: 'Europe/London' });

    await w.service.approve(bob, offered.request.id);
    await w.scheduler.idle();
    const waiting = await w.store.getRequest(offered.request.id);
    expect(waiting).toMatchObject({ status: 'approved', startsAt: SATURDAY_22 });
    expect(waiting!.runId).toBeUndefined();
    expect(notifier.views('run')).toEqual([]);
    expect(newProviders(w)).toEqual([]);
    expect((await w.store.listAudit()).filter((a) => a.action === 'run-waiting')).toHaveLength(1);

    await w.service.command(alice, 'status');
    const status = notifier.views('report').at(-1)!;
    expect(status.waiting).toEqual([{ requestId: offered.request.id, runbook: 'setup', requester: USERS.alice, startsAt: SATURDAY_22 }]);

    // a minute before the window nothing starts; at the window it does
    clock.advance(Date.parse(SATURDAY_22) - clock.now().getTime() - 60_000);
    expect(await w.service.startDue()).toEqual([]);
    await w.scheduler.idle();
    expect(notifier.views('run')).toEqual([]);
    clock.advance(60_000);
    expect(await w.service.startDue()).toEqual([offered.request.id]);
    await w.scheduler.idle();
    const run = notifier.views('run').at(-1)!.run;
    expect(run.status).toBe('succeeded');
    expect(run.startedAt).toBe(SATURDAY_22);
    expect(newProviders(w)).toHaveLength(1);
    // started: no longer waiting, and not started twice
    expect(await w.service.startDue()).toEqual([]);
  });

  it('is refused at the window when the deployment changed while it waited, and nothing runs', async () => {
    const { notifier, world: w, clock } = start({ policy: { windows: WINDOWS } });
    const id = await planAndApprove(w, notifier);
    expect((await w.store.getRequest(id))!.startsAt).toBe(SATURDAY_22);
    // a colleague in the Lync shell, on Thursday: the plan approved no longer fits the deployment
    const fe = w.agents.forRole('internal')[0]!;
    const changed = await fe.invoke({ cmdlet: 'Set-CsAccessEdgeConfiguration', parameters: { AllowFederatedUsers: true } });
    expect(changed.ok).toBe(true);
    clock.advance(Date.parse(SATURDAY_22) - clock.now().getTime());
    expect(await w.service.startDue()).toEqual([id]);
    await w.scheduler.idle();
    const shown = notifier.views('run').at(-1)!;
    expect(shown.run.status).toBe('refused');
    expect(shown.outcome).toMatchObject({ code: 'changed-since-approval', approved: expect.any(String) as string });
    expect(newProviders(w)).toEqual([]);
  });

  it('inside a window a change runs as soon as it is approved; the plan says until when the window is open', async () => {
    const { notifier, world: w, clock } = start({ policy: { windows: WINDOWS } });
    clock.advance(Date.parse('2026-12-06T01:00:00Z') - clock.now().getTime()); // Sunday 01:00, in Saturday's window
    const id = await planAndApprove(w, notifier);
    expect(notifier.views('plan').at(-1)!.run?.status).toBe('succeeded');
    expect((await w.store.getRequest(id))!.startsAt).toBeUndefined();
    expect(notifier.views('run').at(-1)!.run.status).toBe('succeeded');
  });

  it('cancel withdraws a waiting change until it starts; at the window nothing runs', async () => {
    const { notifier, world: w, clock } = start({ policy: { windows: WINDOWS } });
    const id = await planAndApprove(w, notifier);
    await w.service.command(alice, `cancel ${id}`);
    expect(notifier.notices(USERS.alice).at(-1)).toEqual({ code: 'cancelled-waiting', requestId: id, startsAt: SATURDAY_22 });
    expect((await w.store.getRequest(id))!.status).toBe('cancelled');
    await w.service.command(alice, 'status');
    expect(notifier.views('report').at(-1)!.waiting).toBeUndefined();
    clock.advance(Date.parse(SATURDAY_22) - clock.now().getTime());
    expect(await w.service.startDue()).toEqual([]);
    await w.scheduler.idle();
    expect(notifier.views('run')).toEqual([]);
    expect(newProviders(w)).toEqual([]);
    // once a change has started, cancel says so
    const started = await planAndApprove(w, notifier);
    await w.service.command(alice, `cancel ${started}`);
    expect(notifier.notices(USERS.alice).at(-1)).toEqual({ code: 'not-pending', requestId: started, status: 'approved' });
  });

  it('a waiting change survives a restart (SQLite): recovery leaves it waiting, the window starts it', async () => {
    const file = sqliteFile();
    const first: SqliteStore = openSqliteStore(file);
    const { notifier, world: w, clock } = start({ policy: { windows: WINDOWS }, store: first });
    const id = await planAndApprove(w, notifier);
    await w.scheduler.idle();
    w.courier.stop();
    first.closeDatabase();

    // a new process on the same database and the same deployment
    const store = openSqliteStore(file);
    cleanups.push(() => store.closeDatabase());
    // the same Slack: the messages the first process posted are still there
    const again = compose({ policy: testPolicy({ windows: WINDOWS }), agents: w.agents, notifier, directory: { groupMembers: async () => [] }, log: pino({ level: 'silent' }), store, clock, delivery: { minIntervalMs: 0 } });
    cleanups.push(() => again.courier.stop());
    const recovered = await again.service.recover();
    await again.scheduler.idle();
    // it waits for its window: recovery neither starts it nor logs it as resumed (the leader of several instances
    // recovers on every sweep)
    expect(recovered.started).toEqual([]);
    expect((await store.listAudit()).filter((r) => r.action === 'run-resumed')).toEqual([]);
    expect((await store.getRequest(id))!.runId).toBeUndefined();
    expect((await store.getRequest(id))!.startsAt).toBe(SATURDAY_22);

    clock.advance(Date.parse(SATURDAY_22) - clock.now().getTime());
    await again.service.sweep((what, err) => {
      throw new Error(`${what}: ${String(err)}`);
    });
    await again.scheduler.idle();
    const run = notifier.views('run').at(-1)!.run;
    expect(run.status).toBe('succeeded');
    expect((await store.getRun(run.id))!.requestId).toBe(id);
    expect(newProviders(w)).toHaveLength(1);
  });
});

describe('change references', () => {
  const changeReference = { required: true, pattern: 'CHG[0-9]{7}', example: 'CHG0012345' };

  it('a missing or bad reference is refused naming the pattern; a good one is kept on the request, the run and the audit', async () => {
    const { notifier, world: w } = start({ policy: { changeReference } });
    await w.service.command(alice, 'setup');
    expect(notifier.notices(USERS.alice).at(-1)).toEqual({ code: 'change-reference-needed', pattern: 'CHG[0-9]{7}', example: 'CHG0012345' });
    expect(notifier.lastEphemeral(USERS.alice)).toMatch(/CHG\[0-9\]\{7\}/);
    await w.service.command(alice, 'setup --change CHG12');
    expect(notifier.notices(USERS.alice).at(-1)).toEqual({ code: 'bad-change-reference', given: 'CHG12', pattern: 'CHG[0-9]{7}', example: 'CHG0012345' });
    // the whole reference must match, not a part of it
    await w.service.command(alice, 'setup --change XCHG0012345');
    expect(notifier.notices(USERS.alice).at(-1)?.code).toBe('bad-change-reference');
    expect(notifier.views('plan')).toEqual([]);

    // a dry run may leave it out
    await w.service.command(alice, 'plan');
    expect(notifier.views('plan').at(-1)!.dryRun).toBe(true);

    const id = await planAndApprove(w, notifier, 'setup --change CHG0012345');
    expect(notifier.views('plan').at(-1)!.request.change).toBe('CHG0012345');
    const run = notifier.views('run').at(-1)!.run;
    expect(run).toMatchObject({ status: 'succeeded', change: 'CHG0012345' });
    const audit = await w.store.listAudit();
    for (const action of ['requested', 'approved', 'run-started', 'run-succeeded']) {
      expect(audit.find((a) => a.action === action && (a.requestId === id || a.runId === run.id))?.change, action).toBe('CHG0012345');
    }

    // rollback is a change too
    await w.service.command(alice, 'rollback');
    expect(notifier.notices(USERS.alice).at(-1)?.code).toBe('change-reference-needed');
    await w.service.command(alice, 'rollback --change=CHG0012346');
    expect(notifier.views('plan').at(-1)!.request).toMatchObject({ runbook: 'rollback', change: 'CHG0012346' });
  });
});

describe('who approved, in directory terms', () => {
  const directory: Directory = {
    groupMembers: async () => [],
    profile: async (user) => ({ [USERS.alice]: { email: 'alice@contoso.com' }, [USERS.bob]: { email: 'Bob.Smith@Contoso.com', name: 'bob' } })[user],
  };
  const accounts = { rule: 'CONTOSO\\{local}', domains: ['contoso.com'], table: { 'alice@contoso.com': 'CONTOSO\\asmith' } };

  it('the approval, the run and the audit keep the approver email and AD account (SQLite round trip)', async () => {
    const store = openSqliteStore(sqliteFile());
    cleanups.push(() => store.closeDatabase());
    const { notifier, world: w } = start({ directory, store, policy: { accounts } });
    const id = await planAndApprove(w, notifier);
    const request = (await store.getRequest(id))!;
    expect(request.approvals).toEqual([{ user: USERS.bob, at: expect.any(String) as string, email: 'bob.smith@contoso.com', account: 'CONTOSO\\bob.smith' }]);
    const run = (await store.getRun(request.runId!))!;
    expect(run.approvedBy).toEqual([{ user: USERS.bob, email: 'bob.smith@contoso.com', account: 'CONTOSO\\bob.smith' }]);
    const audit = await store.listAudit();
    expect(audit.find((a) => a.action === 'approved')).toMatchObject({ actor: USERS.bob, email: 'bob.smith@contoso.com', account: 'CONTOSO\\bob.smith' });
    // the table wins over the rule
    expect(audit.find((a) => a.action === 'requested')).toMatchObject({ actor: USERS.alice, email: 'alice@contoso.com', account: 'CONTOSO\\asmith' });
    expect(audit.find((a) => a.action === 'run-started')?.detail).toBe(`approved by ${USERS.bob} (bob.smith@contoso.com, CONTOSO\\bob.smith)`);
    // history shows it: the views carry the identities
    await w.service.command(alice, 'history');
    const history = notifier.views('history').at(-1) as Extract<View, { kind: 'history' }>;
    expect(history.requests[0]!.approvals[0]!.email).toBe('bob.smith@contoso.com');
    expect(history.runs[0]!.approvedBy![0]!.account).toBe('CONTOSO\\bob.smith');
  });

  it('a directory that cannot say (Slack away, no scope) leaves the identity out and refuses nothing', async () => {
    const failing: Directory = { groupMembers: async () => [], profile: async () => Promise.reject(new Error('missing_scope')) };
    const { notifier, world: w } = start({ directory: failing, policy: { accounts } });
    const id = await planAndApprove(w, notifier);
    expect((await w.store.getRequest(id))!.approvals).toEqual([{ user: USERS.bob, at: expect.any(String) as string }]);
    expect(notifier.views('run').at(-1)!.run.status).toBe('succeeded');
    const approved = (await w.store.listAudit()).find((a) => a.action === 'approved')!;
    expect(approved.email).toBeUndefined();
    expect(approved.account).toBeUndefined();
  });
});
