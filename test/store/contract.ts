// The Store contract: what every implementation must do, memoryStore being the reference. Each store test file
// calls describeStoreContract with a factory; a new store passes this suite before it is wired in.
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/core/store.js';
import type { InvocationResult } from '../../src/core/types.js';
import type { StoreRecovery } from '../../src/store/sqlite.js';
import { at, holder, iso, request, run } from './fixtures.js';

type Factory<S> = () => S | Promise<S>;

export function describeStoreContract(name: string, makeStore: Factory<Store>): void {
  describe(`Store contract: ${name}`, () => {
    describe('requests', () => {
      it('reads back a request exactly as it was created, optional fields included', async () => {
        const s = await makeStore();
        const full = request('req-1', { rollbackOf: 'run-0', message: { channel: 'C0LYNCOPS', ts: '1700000000.000100' }, approvals: [{ user: 'U0BOB', at: iso(1) }] });
        await s.createRequest(full);
        await s.createRequest(request('req-2'));
        expect(await s.getRequest('req-1')).toEqual(full);
        expect(await s.getRequest('req-2')).toEqual(request('req-2'));
        expect(await s.getRequest('nope')).toBeUndefined();
      });

      it('refuses a second request with the same id and keeps the first', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        await expect(s.createRequest(request('req-1', { requester: 'U0MALLORY' }))).rejects.toThrow(/req-1 exists/);
        expect((await s.getRequest('req-1'))?.requester).toBe('U0ALICE');
      });

      it('hands out copies: changing a returned record changes nothing stored', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        const got = (await s.getRequest('req-1'))!;
        got.status = 'approved';
        got.approvals.push({ user: 'U0MALLORY', at: iso(1) });
        expect(await s.getRequest('req-1')).toEqual(request('req-1'));
      });

      it('sets the message ref and the run id', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        await s.setRequestMessage('req-1', { channel: 'C0LYNCOPS', ts: '1.2' });
        await s.setRequestRun('req-1', 'run-9');
        expect(await s.getRequest('req-1')).toMatchObject({ message: { channel: 'C0LYNCOPS', ts: '1.2' }, runId: 'run-9' });
        await s.setRequestMessage('nope', { channel: 'C', ts: '1' }); // unknown ids are ignored
        expect(await s.getRequest('nope')).toBeUndefined();
      });

      it('lists pending requests in creation order, and the expired ones at a given time', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-b', { expiresAt: iso(30) }));
        await s.createRequest(request('req-a', { expiresAt: iso(10) }));
        await s.createRequest(request('req-c', { expiresAt: iso(90) }));
        await s.createRequest(request('req-d', { status: 'denied', expiresAt: iso(5) }));
        expect((await s.listPending()).map((r) => r.id)).toEqual(['req-b', 'req-a', 'req-c']);
        expect((await s.listExpired(at(9))).map((r) => r.id)).toEqual([]);
        expect((await s.listExpired(at(10))).map((r) => r.id)).toEqual(['req-a']); // due at its expiry, not after
        expect((await s.listExpired(at(60))).map((r) => r.id)).toEqual(['req-b', 'req-a']);
        expect((await s.listExpired(at(60)))[0]).toEqual(request('req-b', { expiresAt: iso(30) }));
      });
    });

    describe('approve: a compare-and-set on a pending request', () => {
      it('completes a request with one approval when one is required', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        const result = await s.approve('req-1', 'U0BOB', 1, at(5));
        expect(result).toEqual({ outcome: 'completed', request: { ...request('req-1'), status: 'approved', approvals: [{ user: 'U0BOB', at: iso(5) }], decidedAt: iso(5) } });
        expect(await s.getRequest('req-1')).toEqual(result!.request);
        expect(await s.listPending()).toEqual([]);
      });

      it('counts an approver once: the same user approving twice is told so', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        expect((await s.approve('req-1', 'U0BOB', 2, at(5)))?.outcome).toBe('recorded');
        const again = await s.approve('req-1', 'U0BOB', 2, at(6));
        expect(again?.outcome).toBe('already-approved-by-you');
        expect(again?.request).toMatchObject({ status: 'pending', approvals: [{ user: 'U0BOB', at: iso(5) }] });
        const done = await s.approve('req-1', 'U0CAROL', 2, at(7));
        expect(done?.outcome).toBe('completed');
        expect(done?.request.approvals).toEqual([
          { user: 'U0BOB', at: iso(5) },
          { user: 'U0CAROL', at: iso(7) },
        ]);
      });

      it('two approvers at once with two required: exactly one call completes it', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        const results = await Promise.all(['U0BOB', 'U0CAROL', 'U0DAVE', 'U0BOB'].map((u) => s.approve('req-1', u, 2, at(5))));
        const outcomes = results.map((r) => r?.outcome);
        expect(outcomes.filter((o) => o === 'completed')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'recorded')).toHaveLength(1);
        expect((await s.getRequest('req-1'))?.approvals).toHaveLength(2);
      });

      it('answers not-pending once decided, and changes nothing', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        await s.approve('req-1', 'U0BOB', 1, at(5));
        const late = await s.approve('req-1', 'U0CAROL', 1, at(6));
        expect(late?.outcome).toBe('not-pending');
        expect(late?.request).toMatchObject({ status: 'approved', decidedAt: iso(5), approvals: [{ user: 'U0BOB', at: iso(5) }] });
      });

      it('after the expiry (at it, too) answers expired and marks the request so', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1', { expiresAt: iso(60) }));
        expect((await s.approve('req-1', 'U0BOB', 2, at(59)))?.outcome).toBe('recorded');
        const result = await s.approve('req-1', 'U0CAROL', 2, at(60));
        expect(result?.outcome).toBe('expired');
        const marked = { ...request('req-1'), status: 'expired', decidedBy: 'expiry', decidedAt: iso(60), approvals: [{ user: 'U0BOB', at: iso(59) }] };
        expect(result?.request).toEqual(marked);
        expect(await s.getRequest('req-1')).toEqual(marked);
        expect(await s.listExpired(at(120))).toEqual([]);
        expect((await s.approve('req-1', 'U0CAROL', 2, at(61)))?.outcome).toBe('not-pending');
      });

      it('returns undefined for an unknown request', async () => {
        const s = await makeStore();
        expect(await s.approve('nope', 'U0BOB', 1, at(1))).toBeUndefined();
      });
    });

    describe('close: deny, cancel or expire a pending request', () => {
      it('closes a pending request with who and why', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        const result = await s.close('req-1', 'denied', 'U0CAROL', 'not during business hours', at(3));
        expect(result).toEqual({ outcome: 'closed', request: { ...request('req-1'), status: 'denied', decidedBy: 'U0CAROL', reason: 'not during business hours', decidedAt: iso(3) } });
        expect(await s.getRequest('req-1')).toEqual(result!.request);
      });

      it('cancels and expires without a reason', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        await s.createRequest(request('req-2'));
        expect(await s.close('req-1', 'cancelled', 'U0ALICE', undefined, at(3))).toEqual({ outcome: 'closed', request: { ...request('req-1'), status: 'cancelled', decidedBy: 'U0ALICE', decidedAt: iso(3) } });
        expect((await s.close('req-2', 'expired', 'expiry', undefined, at(61)))?.request).toMatchObject({ status: 'expired', decidedBy: 'expiry' });
      });

      it('answers not-pending on a decided request and leaves it as it was', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        await s.approve('req-1', 'U0BOB', 1, at(5));
        const result = await s.close('req-1', 'denied', 'U0CAROL', 'too late', at(6));
        expect(result?.outcome).toBe('not-pending');
        expect(result?.request).toMatchObject({ status: 'approved', decidedAt: iso(5) });
        expect(result?.request.reason).toBeUndefined();
        expect((await s.close('req-1', 'cancelled', 'U0ALICE', undefined, at(7)))?.outcome).toBe('not-pending');
      });

      it('a deny racing an approval: exactly one of them decides', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        const [denied, approved] = await Promise.all([s.close('req-1', 'denied', 'U0CAROL', 'no', at(5)), s.approve('req-1', 'U0BOB', 1, at(5))]);
        const decided = [denied?.outcome === 'closed', approved?.outcome === 'completed'].filter(Boolean);
        expect(decided).toHaveLength(1);
      });

      it('returns undefined for an unknown request', async () => {
        const s = await makeStore();
        expect(await s.close('nope', 'denied', 'U0CAROL', 'x', at(1))).toBeUndefined();
      });
    });

    describe('runs', () => {
      it('reads back a run with its steps, pre-state and message', async () => {
        const s = await makeStore();
        const r = run('run-1', { preState: { oauth: [{ Identity: 'Global', Realm: null }] }, message: { channel: 'C0LYNCOPS', ts: '9.9' }, summary: 'one line' });
        await s.createRun(r);
        expect(await s.getRun('run-1')).toEqual(r);
        expect(await s.getRun('nope')).toBeUndefined();
      });

      it('saves progress over the run, and saves a run that was never created (a refused run)', async () => {
        const s = await makeStore();
        const r = run('run-1');
        await s.createRun(r);
        const done = { ...r, status: 'succeeded' as const, finishedAt: iso(9), steps: r.steps.map((st) => ({ ...st, status: 'succeeded' as const })) };
        await s.saveRun(done);
        expect(await s.getRun('run-1')).toEqual(done);
        const refused = run('run-2', { status: 'refused', summary: 'not started: run run-1 holds the lock', steps: [] });
        await s.saveRun(refused);
        expect(await s.getRun('run-2')).toEqual(refused);
      });

      it('finds the latest run of a runbook with a status, and the running ones', async () => {
        const s = await makeStore();
        await s.createRun(run('run-1', { status: 'succeeded', startedAt: iso(1) }));
        await s.createRun(run('run-3', { status: 'succeeded', startedAt: iso(3) }));
        await s.createRun(run('run-2', { status: 'succeeded', startedAt: iso(2) }));
        await s.createRun(run('run-4', { status: 'failed', startedAt: iso(4) }));
        await s.createRun(run('run-5', { runbook: 'rollback', status: 'succeeded', startedAt: iso(5) }));
        await s.createRun(run('run-6', { status: 'running', startedAt: iso(6) }));
        expect((await s.latestRun('setup', 'succeeded'))?.id).toBe('run-3');
        expect((await s.latestRun('setup', 'failed'))?.id).toBe('run-4');
        expect(await s.latestRun('setup', 'interrupted')).toBeUndefined();
        expect(await s.listRunning()).toEqual([run('run-6', { status: 'running', startedAt: iso(6) })]);
      });
    });

    describe('claimRun: an approved request starts one run', () => {
      it('the first claim of an approved request wins and creates the run; a second claim and a pending request lose', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1', { status: 'approved' }));
        await s.createRequest(request('req-2'));
        expect((await s.listUnstarted()).map((r) => r.id)).toEqual(['req-1']);
        expect(await s.claimRun('req-1', run('run-1', { requestId: 'req-1' }))).toBe(true);
        expect(await s.claimRun('req-1', run('run-2', { requestId: 'req-1' }))).toBe(false);
        expect(await s.claimRun('req-2', run('run-3', { requestId: 'req-2' }))).toBe(false);
        expect(await s.claimRun('nope', run('run-4'))).toBe(false);
        expect((await s.getRequest('req-1'))?.runId).toBe('run-1');
        expect(await s.getRun('run-1')).toEqual(run('run-1', { requestId: 'req-1' }));
        expect(await s.getRun('run-2')).toBeUndefined();
        expect(await s.listUnstarted()).toEqual([]);
      });
    });

    describe('outbox: messages to bring up to date', () => {
      const view = (text: string) => ({ kind: 'text' as const, text });

      it('keeps one entry per message: the latest view wins, its place in line and due time stay', async () => {
        const s = await makeStore();
        await s.outboxPut({ key: 'request:r-1', channel: 'C0LYNCOPS', view: view('plan v1') }, at(0));
        await s.outboxPut({ key: 'run:run-1', channel: 'C0LYNCOPS', view: view('run v1'), parent: 'request:r-1' }, at(1));
        await s.outboxPut({ key: 'request:r-1', channel: 'C0LYNCOPS', view: view('plan v2') }, at(2));
        const all = await s.outboxList();
        expect(all.map((e) => [e.key, e.view, e.version, e.dueMs])).toEqual([
          ['request:r-1', view('plan v2'), 2, at(0).getTime()],
          ['run:run-1', view('run v1'), 1, at(1).getTime()],
        ]);
        expect(all[1]).toMatchObject({ parent: 'request:r-1', attempts: 0, since: iso(1) });
        expect((await s.outboxDue(at(0))).map((e) => e.key)).toEqual(['request:r-1']);
      });

      it('a delivery clears its version only: a view put meanwhile waits for the coalescing interval', async () => {
        const s = await makeStore();
        await s.outboxPut({ key: 'run:run-1', channel: 'C0LYNCOPS', view: view('step 1') }, at(0));
        const [first] = await s.outboxDue(at(0));
        await s.outboxPut({ key: 'run:run-1', channel: 'C0LYNCOPS', view: view('step 2') }, at(0));
        await s.outboxDelivered('run:run-1', first!.version, { channel: 'C0LYNCOPS', ts: '1.1' }, at(1).getTime());
        expect(await s.outboxList()).toMatchObject([{ key: 'run:run-1', view: view('step 2'), dueMs: at(1).getTime() }]);
        expect(await s.messageRef('run:run-1')).toEqual({ channel: 'C0LYNCOPS', ts: '1.1' });
        const [second] = await s.outboxDue(at(1));
        await s.outboxDelivered('run:run-1', second!.version, { channel: 'C0LYNCOPS', ts: '1.1' }, at(2).getTime());
        expect(await s.outboxList()).toEqual([]);
      });

      it('a failure counts an attempt and moves the due time; drop and forget remove entry and ref', async () => {
        const s = await makeStore();
        await s.outboxPut({ key: 'request:r-1', channel: 'C0LYNCOPS', view: view('plan') }, at(0));
        await s.outboxRetry('request:r-1', at(5).getTime(), 'ratelimited');
        expect(await s.outboxDue(at(4))).toEqual([]);
        expect(await s.outboxDue(at(5))).toMatchObject([{ attempts: 1, lastError: 'ratelimited' }]);
        await s.outboxDelivered('request:r-1', 99, { channel: 'C0LYNCOPS', ts: '2.2' }, at(6).getTime());
        expect(await s.outboxDue(at(6))).toMatchObject([{ attempts: 0 }]);
        expect((await s.outboxDue(at(6)))[0]?.lastError).toBeUndefined();
        await s.outboxDrop('request:r-1');
        await s.forgetMessage('request:r-1');
        expect(await s.outboxList()).toEqual([]);
        expect(await s.messageRef('request:r-1')).toBeUndefined();
      });
    });

    describe('locks', () => {
      it('one holder per deployment; a second attempt is told who holds it', async () => {
        const s = await makeStore();
        expect(await s.acquireLock(holder('run-1'))).toEqual({ ok: true });
        expect(await s.getLock('contoso')).toEqual(holder('run-1'));
        expect(await s.acquireLock(holder('run-2', { requester: 'U0BOB', requestId: 'req-2' }))).toEqual({ ok: false, holder: holder('run-1') });
        expect(await s.acquireLock(holder('run-3', { deployment: 'fabrikam' }))).toEqual({ ok: true });
        expect(await s.getLock('nope')).toBeUndefined();
      });

      it('only the holder releases it', async () => {
        const s = await makeStore();
        await s.acquireLock(holder('run-1'));
        await s.releaseLock('contoso', 'run-2');
        expect(await s.getLock('contoso')).toEqual(holder('run-1'));
        await s.releaseLock('contoso', 'run-1');
        expect(await s.getLock('contoso')).toBeUndefined();
        expect(await s.acquireLock(holder('run-2'))).toEqual({ ok: true });
        await s.releaseLock('nope', 'run-2'); // nothing to release: no error
      });

      it('many runs at once: exactly one gets the lock', async () => {
        const s = await makeStore();
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s.acquireLock(holder(`run-${i}`))));
        const winners = results.filter((r) => r.ok);
        expect(winners).toHaveLength(1);
        const held = (await s.getLock('contoso'))!;
        for (const r of results) if (!r.ok) expect(r.holder).toEqual(held);
      });
    });

    describe('audit', () => {
      it('keeps records in the order written and lists those since a time (inclusive)', async () => {
        const s = await makeStore();
        const records = [
          { at: iso(1), actor: 'U0ALICE', action: 'requested', channel: 'C0LYNCOPS', requestId: 'req-1', fingerprint: 'fp-1' },
          { at: iso(2), actor: 'U0BOB', action: 'approved', requestId: 'req-1' },
          { at: iso(3), actor: 'lync-exo', action: 'run-started', requestId: 'req-1', runId: 'run-1', detail: 'a detail' },
          { at: iso(2), actor: 'U0CAROL', action: 'late-but-same-minute' },
        ];
        for (const r of records) await s.audit(r);
        expect(await s.listAudit()).toEqual(records);
        expect(await s.listAudit(at(2))).toEqual(records.slice(1));
        expect(await s.listAudit(at(4))).toEqual([]);
      });
    });

    // issue 14: who approved in directory terms, change references, change windows, the drift watch
    describe('change control', () => {
      it('keeps the approver identity on the approval, the change reference and start time on the request, identities and reference on the run and the audit', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1', { change: 'CHG0012345' }));
        expect((await s.approve('req-1', 'U0BOB', 1, at(1), { email: 'bob@contoso.com', account: 'CONTOSO\\bob' }))?.outcome).toBe('completed');
        expect((await s.getRequest('req-1'))!.approvals).toEqual([{ user: 'U0BOB', at: iso(1), email: 'bob@contoso.com', account: 'CONTOSO\\bob' }]);
        await s.setRequestStart('req-1', iso(60));
        expect(await s.getRequest('req-1')).toMatchObject({ change: 'CHG0012345', startsAt: iso(60) });
        expect((await s.listUnstarted()).map((r) => r.startsAt)).toEqual([iso(60)]);
        await s.setRequestStart('req-1', undefined);
        expect((await s.getRequest('req-1'))!.startsAt).toBeUndefined();
        const r = run('run-1', { change: 'CHG0012345', approvedBy: [{ user: 'U0BOB', email: 'bob@contoso.com', account: 'CONTOSO\\bob' }, { user: 'U0CAROL' }] });
        expect(await s.claimRun('req-1', r)).toBe(true);
        expect(await s.getRun('run-1')).toEqual(r);
        const record = { at: iso(2), actor: 'U0BOB', action: 'approved', requestId: 'req-1', email: 'bob@contoso.com', account: 'CONTOSO\\bob', change: 'CHG0012345' };
        await s.audit(record);
        expect(await s.listAudit()).toEqual([record]);
      });

      it('cancelWaiting closes an approved request whose run has not started, and nothing else', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        expect((await s.cancelWaiting('req-1', 'U0ALICE', at(1)))?.outcome).toBe('not-pending'); // pending: that is close()'s
        await s.approve('req-1', 'U0BOB', 1, at(1));
        const closed = await s.cancelWaiting('req-1', 'U0ALICE', at(2));
        expect(closed).toEqual({ outcome: 'closed', request: expect.objectContaining({ status: 'cancelled', decidedBy: 'U0ALICE', decidedAt: iso(2) }) as unknown });
        expect(await s.claimRun('req-1', run('run-1'))).toBe(false);
        expect(await s.listUnstarted()).toEqual([]);
        // once its run started it cannot be withdrawn
        await s.createRequest(request('req-2'));
        await s.approve('req-2', 'U0BOB', 1, at(1));
        expect(await s.claimRun('req-2', run('run-2', { requestId: 'req-2' }))).toBe(true);
        expect((await s.cancelWaiting('req-2', 'U0ALICE', at(2)))?.outcome).toBe('not-pending');
        expect((await s.getRequest('req-2'))!.status).toBe('approved');
        expect(await s.cancelWaiting('nope', 'U0ALICE', at(2))).toBeUndefined();
      });

      it('keeps the drift watch state by name, the newest replacing the older', async () => {
        const s = await makeStore();
        expect(await s.getWatch('setup')).toBeUndefined();
        const state = { name: 'setup', verdict: 'pass' as const, items: [{ item: 'Enabled', expected: 'True', actual: 'True', ok: true }], since: iso(1), checkedAt: iso(1) };
        await s.saveWatch(state);
        await s.saveWatch({ ...state, name: 'hybrid' });
        await s.saveWatch({ ...state, checkedAt: iso(61) });
        expect(await s.getWatch('setup')).toEqual({ ...state, checkedAt: iso(61) });
        expect((await s.getWatch('hybrid'))!.checkedAt).toBe(iso(1));
      });
    });

    describe('agent jobs: rows any instance hands out, ends once', () => {
      const READ = { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } };
      const ok = (agent: string): InvocationResult => ({ ok: true, output: [{ Identity: 'Exchange Online' }], durationMs: 7, agent });
      const lost = (agent: string): InvocationResult => ({ ok: false, error: { kind: 'agent', message: `agent ${agent} lost` }, durationMs: 9, agent });

      it('queues a job owned by this instance; a claim takes the oldest for that agent, with its lease and session', async () => {
        const s = await makeStore();
        await s.jobQueue({ id: 'j-1', agent: 'edge01', invocation: READ, queuedMs: 100 });
        await s.jobQueue({ id: 'j-2', agent: 'fe01', invocation: READ, queuedMs: 101 });
        await s.jobQueue({ id: 'j-3', agent: 'edge01', invocation: { cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} }, queuedMs: 102 });
        await expect(s.jobQueue({ id: 'j-1', agent: 'edge01', invocation: READ, queuedMs: 103 })).rejects.toThrow();
        expect(await s.jobsGet(['j-1', 'nope'])).toEqual([{ id: 'j-1', agent: 'edge01', invocation: READ, status: 'queued', owner: s.instanceId, queuedMs: 100 }]);
        expect(await s.jobsWaiting(['edge01', 'fe01', 'lync01'])).toEqual(['edge01', 'fe01']);
        const first = await s.jobClaim('edge01', { nowMs: 200, leaseUntilMs: 1200, session: 'a1b2c3d4' });
        expect(first).toEqual({ id: 'j-1', agent: 'edge01', invocation: READ, status: 'claimed', owner: s.instanceId, queuedMs: 100, claimedMs: 200, leaseUntilMs: 1200, session: 'a1b2c3d4' });
        expect((await s.jobClaim('edge01', { nowMs: 201, leaseUntilMs: 1201 }))?.id).toBe('j-3');
        expect(await s.jobClaim('edge01', { nowMs: 202, leaseUntilMs: 1202 })).toBeUndefined();
        expect(await s.jobsWaiting(['edge01', 'fe01'])).toEqual(['fe01']);
        expect(await s.jobsGet(['j-3', 'j-1'])).toMatchObject([{ id: 'j-3', status: 'claimed' }, { id: 'j-1', status: 'claimed' }]);
      });

      it('two claims at once never take one job', async () => {
        const s = await makeStore();
        for (let i = 0; i < 5; i++) await s.jobQueue({ id: `j-${i}`, agent: 'fe01', invocation: READ, queuedMs: i });
        const claims = await Promise.all(Array.from({ length: 12 }, (_, i) => s.jobClaim('fe01', { nowMs: 10 + i, leaseUntilMs: 1000 })));
        const ids = claims.flatMap((c) => (c ? [c.id] : []));
        expect(ids.sort()).toEqual(['j-0', 'j-1', 'j-2', 'j-3', 'j-4']);
      });

      it('renews only a live lease of its holder; ends once, by compare-and-set on status, holder and lease', async () => {
        const s = await makeStore();
        await s.jobQueue({ id: 'j-1', agent: 'edge01', invocation: READ, queuedMs: 0 });
        // a queued job has no lease to renew, and is not anyone's result yet
        expect(await s.jobRenew('j-1', 'edge01', 10, 1010)).toBe(false);
        expect(await s.jobEnd('j-1', { status: 'done', result: ok('edge01'), nowMs: 10, from: ['claimed'], agent: 'edge01', lease: 'live' })).toBe(false);
        await s.jobClaim('edge01', { nowMs: 10, leaseUntilMs: 1010 });
        expect(await s.jobRenew('j-1', 'fe01', 500, 1500)).toBe(false);
        expect(await s.jobRenew('j-1', 'edge01', 500, 1500)).toBe(true);
        expect(await s.jobRenew('j-1', 'edge01', 1500, 2500)).toBe(false); // at its end the lease has run out
        expect((await s.jobsGet(['j-1']))[0]?.leaseUntilMs).toBe(1500);
        // a result after the lease is refused; declaring it lost before the lease ends is refused too
        expect(await s.jobEnd('j-1', { status: 'done', result: ok('edge01'), nowMs: 1600, from: ['claimed'], agent: 'edge01', lease: 'live' })).toBe(false);
        expect(await s.jobEnd('j-1', { status: 'dead', result: lost('edge01'), nowMs: 1400, from: ['claimed'], lease: 'expired' })).toBe(false);
        expect(await s.jobEnd('j-1', { status: 'done', result: ok('fe01'), nowMs: 1400, from: ['claimed'], agent: 'fe01', lease: 'live' })).toBe(false);
        expect(await s.jobEnd('j-1', { status: 'done', result: ok('edge01'), nowMs: 1400, from: ['claimed'], agent: 'edge01', lease: 'live' })).toBe(true);
        // a replay, and a late kill, change nothing
        expect(await s.jobEnd('j-1', { status: 'done', result: lost('edge01'), nowMs: 1401, from: ['claimed'], agent: 'edge01', lease: 'live' })).toBe(false);
        expect(await s.jobEnd('j-1', { status: 'dead', result: lost('edge01'), nowMs: 1402, from: ['queued', 'claimed'] })).toBe(false);
        expect(await s.jobsGet(['j-1'])).toEqual([
          { id: 'j-1', agent: 'edge01', invocation: READ, status: 'done', owner: s.instanceId, queuedMs: 0, claimedMs: 10, leaseUntilMs: 1500, endedMs: 1400, result: ok('edge01') },
        ]);
        expect(await s.jobEnd('nope', { status: 'dead', result: lost('x'), nowMs: 1, from: ['queued', 'claimed'] })).toBe(false);
      });

      it('declares a job lost once its lease ran out, and a queued job dead without a lease', async () => {
        const s = await makeStore();
        await s.jobQueue({ id: 'j-1', agent: 'edge01', invocation: READ, queuedMs: 0 });
        await s.jobQueue({ id: 'j-2', agent: 'edge01', invocation: READ, queuedMs: 1 });
        await s.jobClaim('edge01', { nowMs: 10, leaseUntilMs: 100 });
        expect(await s.jobEnd('j-1', { status: 'dead', result: lost('edge01'), nowMs: 100, from: ['claimed'], lease: 'expired' })).toBe(true);
        expect(await s.jobEnd('j-2', { status: 'dead', result: lost('edge01'), nowMs: 100, from: ['queued'], lease: 'expired' })).toBe(true);
        expect((await s.jobsGet(['j-1', 'j-2'])).map((j) => [j.status, j.result])).toEqual([
          ['dead', lost('edge01')],
          ['dead', lost('edge01')],
        ]);
        expect(await s.jobClaim('edge01', { nowMs: 200, leaseUntilMs: 300 })).toBeUndefined();
      });

      it('lists the jobs an agent holds outside its session; releases a claim whose answer never left', async () => {
        const s = await makeStore();
        for (const id of ['j-1', 'j-2', 'j-3']) await s.jobQueue({ id, agent: 'fe01', invocation: READ, queuedMs: 0 });
        await s.jobClaim('fe01', { nowMs: 10, leaseUntilMs: 100, session: 'aaaaaaaa' });
        await s.jobClaim('fe01', { nowMs: 11, leaseUntilMs: 100, session: 'bbbbbbbb' });
        await s.jobClaim('fe01', { nowMs: 12, leaseUntilMs: 100 });
        expect((await s.jobsHeld('fe01')).map((j) => j.id)).toEqual(['j-1', 'j-2', 'j-3']);
        expect((await s.jobsHeld('fe01', 'bbbbbbbb')).map((j) => j.id)).toEqual(['j-1', 'j-3']);
        expect(await s.jobsHeld('edge01')).toEqual([]);
        expect(await s.jobRelease('j-2', 10)).toBe(false); // another claim's time: not this one
        expect(await s.jobRelease('j-2', 11)).toBe(true);
        expect(await s.jobsGet(['j-2'])).toEqual([{ id: 'j-2', agent: 'fe01', invocation: READ, status: 'queued', owner: s.instanceId, queuedMs: 0 }]);
        expect((await s.jobClaim('fe01', { nowMs: 20, leaseUntilMs: 200 }))?.id).toBe('j-2');
      });

      it('prunes ended jobs and presence older than a time, keeps the rest', async () => {
        const s = await makeStore();
        await s.jobQueue({ id: 'old-done', agent: 'fe01', invocation: READ, queuedMs: 10 });
        await s.jobQueue({ id: 'old-open', agent: 'fe01', invocation: READ, queuedMs: 11 });
        await s.jobQueue({ id: 'new-done', agent: 'edge01', invocation: READ, queuedMs: 500 });
        for (const id of ['old-done', 'new-done']) await s.jobEnd(id, { status: 'dead', result: lost('x'), nowMs: 600, from: ['queued'] });
        await s.agentSeen({ agent: 'fe01', instance: s.instanceId, roles: ['internal'], version: 'v', seenMs: 10, waitingUntilMs: 0, gone: false });
        await s.agentSeen({ agent: 'edge01', instance: s.instanceId, roles: ['edge'], version: 'v', seenMs: 500, waitingUntilMs: 0, gone: false });
        await s.jobPrune(100);
        expect((await s.jobsGet(['old-done', 'old-open', 'new-done'])).map((j) => j.id)).toEqual(['old-open', 'new-done']);
        expect((await s.agentPresence()).map((p) => p.agent)).toEqual(['edge01']);
      });

      it("keeps one presence row per agent and instance, the latest written", async () => {
        const s = await makeStore();
        const row = { agent: 'edge01', instance: s.instanceId, roles: ['edge' as const], version: 'lync-exo 1', address: '10.0.0.5', seenMs: 100, waitingUntilMs: 25_100, gone: false };
        await s.agentSeen(row);
        await s.agentSeen({ ...row, instance: 'other:1:abc' });
        await s.agentSeen({ ...row, seenMs: 200, waitingUntilMs: 200, gone: true, address: undefined });
        const { address: _address, ...without } = row;
        expect(await s.agentPresence()).toEqual(
          expect.arrayContaining([
            { ...without, seenMs: 200, waitingUntilMs: 200, gone: true },
            { ...row, instance: 'other:1:abc' },
          ]),
        );
        expect(await s.agentPresence()).toHaveLength(2);
      });
    });

    describe('deliveries: a retry is recognised within the window', () => {
      it('takes a key once within the window, again after it; keys are independent', async () => {
        const s = await makeStore();
        const W = 300_000;
        expect(await s.deliveryTake('sha256:aaa', 1_000, W)).toBe(true);
        expect(await s.deliveryTake('sha256:aaa', 1_000 + W - 1, W)).toBe(false);
        expect(await s.deliveryTake('sha256:bbb', 2_000, W)).toBe(true);
        expect(await s.deliveryTake('sha256:aaa', 1_000 + W, W)).toBe(true);
        expect(await s.deliveryTake('sha256:aaa', 1_000 + W + 1, W)).toBe(false);
      });

      it('many takes of one key at once: exactly one wins', async () => {
        const s = await makeStore();
        const won = await Promise.all(Array.from({ length: 20 }, () => s.deliveryTake('sha256:ccc', 5_000, 300_000)));
        expect(won.filter(Boolean)).toHaveLength(1);
      });
    });

    describe('history', () => {
      it('lists requests and runs newest first, at most `limit` of each', async () => {
        const s = await makeStore();
        for (const m of [3, 1, 4, 2]) await s.createRequest(request(`req-${m}`, { createdAt: iso(m) }));
        for (const m of [2, 5, 1]) await s.createRun(run(`run-${m}`, { startedAt: iso(m) }));
        const h = await s.history(3);
        expect(h.requests.map((r) => r.id)).toEqual(['req-4', 'req-3', 'req-2']);
        expect(h.runs.map((r) => r.id)).toEqual(['run-5', 'run-2', 'run-1']);
        expect((await s.history(1)).runs).toEqual([run('run-5', { startedAt: iso(5) })]);
        expect(await s.history(0)).toEqual({ requests: [], runs: [] });
        expect((await s.history(Infinity)).requests).toHaveLength(4);
      });

      it('includes approvals in listed requests', async () => {
        const s = await makeStore();
        await s.createRequest(request('req-1'));
        await s.approve('req-1', 'U0BOB', 2, at(1));
        expect((await s.history(5)).requests[0]?.approvals).toEqual([{ user: 'U0BOB', at: iso(1) }]);
        expect((await s.listPending())[0]?.approvals).toEqual([{ user: 'U0BOB', at: iso(1) }]);
      });
    });
  });
}

/** Start-up recovery: runs a dead process left running, and the locks they held. */
export function describeRecoveryContract(name: string, makeStore: Factory<Store & StoreRecovery>): void {
  describe(`Store recovery: ${name}`, () => {
    it('marks runs left running as interrupted and returns them', async () => {
      const s = await makeStore();
      await s.createRun(run('run-1', { status: 'succeeded', finishedAt: iso(2) }));
      await s.createRun(run('run-2', { status: 'running' }));
      await s.createRun(run('run-3', { status: 'running', summary: 'step oauth: waiting for replication' }));
      const interrupted = await s.markInterrupted(at(30));
      expect(interrupted.map((r) => [r.id, r.status, r.finishedAt])).toEqual([
        ['run-2', 'interrupted', iso(30)],
        ['run-3', 'interrupted', iso(30)],
      ]);
      expect(interrupted[0]?.summary).toMatch(/^interrupted: /);
      expect(interrupted[1]?.summary).toBe('step oauth: waiting for replication');
      expect(interrupted[0]?.steps).toEqual(run('run-2').steps); // what each step reached is kept for the report
      expect(await s.getRun('run-2')).toEqual(interrupted[0]);
      expect(await s.getRun('run-1')).toEqual(run('run-1', { status: 'succeeded', finishedAt: iso(2) }));
      expect(await s.listRunning()).toEqual([]);
      expect(await s.markInterrupted(at(31))).toEqual([]);
    });

    it('releases the locks whose run is not running, keeps the others', async () => {
      const s = await makeStore();
      await s.createRun(run('run-live', { status: 'running' }));
      await s.createRun(run('run-dead', { status: 'interrupted' }));
      await s.acquireLock(holder('run-live', { deployment: 'contoso' }));
      await s.acquireLock(holder('run-dead', { deployment: 'fabrikam' }));
      await s.acquireLock(holder('run-never-saved', { deployment: 'tailspin' }));
      expect(await s.recoverLocks()).toEqual([holder('run-dead', { deployment: 'fabrikam' }), holder('run-never-saved', { deployment: 'tailspin' })]);
      expect(await s.getLock('contoso')).toEqual(holder('run-live', { deployment: 'contoso' }));
      expect(await s.getLock('fabrikam')).toBeUndefined();
      expect(await s.recoverLocks()).toEqual([]);
    });
  });
}
