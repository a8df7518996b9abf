// The PostgreSQL store on a real server: the contract, then what several instances on one database need (one
// decision among many instances, run leases, the lead, outbox claims) and its versioned schema.
import pg from 'pg';
import { pino } from 'pino';
import { Courier } from '../../src/core/outbox.js';
import type { View } from '../../src/core/ports.js';
import type { JobEvent } from '../../src/core/store.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { afterEach, describe, expect, it } from 'vitest';
import { POSTGRES_LATEST_VERSION, POSTGRES_MIGRATIONS } from '../../src/store/migrations.js';
import { openPostgresStore, type PostgresStore, type PostgresStoreOptions } from '../../src/store/postgres.js';
import { StoreError } from '../../src/store/sqlite.js';
import { describeWithPostgres, usePostgres } from '../support/postgres.js';
import { describeRecoveryContract, describeStoreContract } from './contract.js';
import { at, holder, iso, request, run } from './fixtures.js';

/** waits for `check` to hold, polling; the bound only ends a hang (the lease in these tests is 1 s) */
async function eventually<T>(check: () => Promise<T | undefined | false>, what: string, ms = 60_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const READ = { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } };

describeWithPostgres('PostgreSQL store', () => {
  const server = usePostgres();
  let opened: PostgresStore[] = [];
  afterEach(async () => {
    for (const s of opened) await s.end().catch(() => undefined);
    opened = [];
  });
  let n = 0;
  const freshSchema = () => `t${++n}_${process.pid}`;
  /** an instance on `schema` (a new one by default): each schema is a database of its own for these tests */
  const open = async (schema = freshSchema(), options: PostgresStoreOptions = {}) => {
    const s = await openPostgresStore(server().url, { schema, leaseMs: 1000, poolSize: 4, ...options });
    opened.push(s);
    return s;
  };
  const raw = async <T extends pg.QueryResultRow>(schema: string, sql: string, params: unknown[] = []): Promise<T[]> => {
    const c = new pg.Client({ connectionString: server().url, options: `-c search_path=${schema}` });
    await c.connect();
    try {
      return (await c.query<T>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };

  describeStoreContract('PostgreSQL', () => open());
  describeRecoveryContract('PostgreSQL', () => open());

  describe('several instances on one database', () => {
    it('50 approvals at once over two instances, one required: exactly one completes', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      await a.createRequest(request('req-1'));
      const users = ['U0BOB', 'U0CAROL', 'U0DAVE', 'U0ERIN', 'U0FRANK'];
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).approve('req-1', users[i % users.length]!, 1, at(5))));
      expect(results.filter((r) => r?.outcome === 'completed')).toHaveLength(1);
      expect(results.filter((r) => r?.outcome === 'not-pending')).toHaveLength(49);
      expect((await b.getRequest('req-1'))?.approvals).toHaveLength(1);
    });

    it('no approval lost or counted twice: 30 required, 2 × 20 users race, the 30th completes it', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      await a.createRequest(request('req-1'));
      const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).approve('req-1', `U0USER${i}`, 30, at(5))));
      expect(results.filter((r) => r?.outcome === 'recorded')).toHaveLength(29);
      expect(results.filter((r) => r?.outcome === 'completed')).toHaveLength(1);
      expect(results.filter((r) => r?.outcome === 'not-pending')).toHaveLength(10);
      const stored = (await a.getRequest('req-1'))!;
      expect(stored.approvals).toHaveLength(30);
      expect(stored.approvals[29]?.user).toBe(results.find((r) => r?.outcome === 'completed')?.request.approvals.at(-1)?.user);
    });

    it('each of 20 approved requests, claimed by both instances at once, starts one run', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const ids = Array.from({ length: 20 }, (_, i) => `req-${i}`);
      for (const id of ids) await a.createRequest(request(id, { status: 'approved' }));
      const claims = await Promise.all(ids.flatMap((id) => [a.claimRun(id, run(`run-a-${id}`, { requestId: id })), b.claimRun(id, run(`run-b-${id}`, { requestId: id }))]));
      for (let i = 0; i < ids.length; i++) expect(claims.slice(2 * i, 2 * i + 2).filter(Boolean)).toHaveLength(1);
      expect(await raw(schema, 'SELECT count(*)::int AS n FROM runs')).toEqual([{ n: 20 }]);
    });

    it('a live instance keeps its run; once it stops heartbeating (killed) another takes it over within the lease', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      await a.createRequest(request('req-1', { status: 'approved' }));
      expect(await a.claimRun('req-1', run('run-1', { requestId: 'req-1' }))).toBe(true);
      expect(await a.acquireLock(holder('run-1'))).toEqual({ ok: true });
      // a's heartbeat renews its lease: b finds nothing to take over, however often it looks
      for (let i = 0; i < 3; i++) {
        await a.heartbeat();
        expect(await b.markInterrupted(at(30))).toEqual([]);
        expect(await b.recoverLocks()).toEqual([]);
      }
      expect(await raw(schema, 'SELECT owner FROM runs')).toEqual([{ owner: a.instanceId }]);
      await a.abandon(); // as kill -9: the instance row stays, its heartbeat stops
      const taken = await eventually(async () => (await b.markInterrupted(at(31))).at(0), 'the lease of the dead instance to run out');
      expect(taken).toMatchObject({ id: 'run-1', status: 'interrupted', finishedAt: iso(31), steps: run('run-1').steps });
      expect(await b.recoverLocks()).toEqual([holder('run-1')]);
      expect(await b.markInterrupted(at(32))).toEqual([]);
    });

    it('an instance that ends cleanly leaves its runs to the others at once, and a late save does not revive a run taken over', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema, { leaseMs: 3_600_000 }), await open(schema, { leaseMs: 3_600_000 })];
      await a.createRequest(request('req-1', { status: 'approved' }));
      await a.claimRun('req-1', run('run-1', { requestId: 'req-1' }));
      expect(await b.markInterrupted(at(30))).toEqual([]);
      await a.end();
      expect((await b.markInterrupted(at(30))).map((r) => r.id)).toEqual(['run-1']);
      // the old owner's progress arriving late does not bring it back to running
      const c = await open(schema);
      await c.saveRun(run('run-1', { requestId: 'req-1', status: 'running' }));
      expect((await c.getRun('run-1'))?.status).toBe('interrupted');
    });

    it('an instance that missed its heartbeats is fenced: its next save of the run taken over fails, and changes nothing', async () => {
      const schema = freshSchema();
      // a long lease: the heartbeat timer stays out of the way, the test says when a's lease is gone
      const [a, b] = [await open(schema, { leaseMs: 3_600_000 }), await open(schema, { leaseMs: 3_600_000 })];
      await a.createRequest(request('req-1', { status: 'approved' }));
      await a.claimRun('req-1', run('run-1', { requestId: 'req-1' }));
      await a.saveRun(run('run-1', { requestId: 'req-1', summary: 'step 1 done' }));
      await raw(schema, 'DELETE FROM instances WHERE id = $1', [a.instanceId]); // as if its heartbeats had stopped arriving
      const [taken] = await b.markInterrupted(at(30));
      expect(taken?.id).toBe('run-1');
      await b.saveRun({ ...taken!, summary: 'interrupted: reported by b' });
      await expect(a.saveRun(run('run-1', { requestId: 'req-1', summary: 'step 2 done' }))).rejects.toThrow(/run run-1 was taken over by another lync-exo instance: this one missed its heartbeats for the lease \(3600 s\)/);
      const late = (await a.saveRun(run('run-1', { requestId: 'req-1', status: 'succeeded' })).catch((e: unknown) => e)) as StoreError;
      expect(late).toBeInstanceOf(StoreError);
      expect(late).toMatchObject({ code: 'store_run_taken_over', message: expect.stringMatching(/taken over/) as unknown });
      expect(await b.getRun('run-1')).toMatchObject({ status: 'interrupted', summary: 'interrupted: reported by b' });
    });

    it('one instance leads at a time; when it dies, another takes the lead', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      expect(await a.leader()).toBe(true);
      expect(await b.leader()).toBe(false);
      expect(await a.leader()).toBe(true);
      await a.abandon();
      expect(await eventually(() => b.leader(), 'b to take the lead')).toBe(true);
      // another schema is another lync-exo: its lead is its own
      expect(await (await open()).leader()).toBe(true);
    });

    it('an outbox entry is delivered by one instance: the claim holds until delivered, retried or expired', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const view = (text: string) => ({ kind: 'text' as const, text });
      await a.outboxPut({ key: 'request:r-1', channel: 'C0LYNCOPS', view: view('plan') }, at(0));
      const mine = await a.outboxClaim('request:r-1', at(0).getTime(), at(1).getTime());
      expect(mine).toMatchObject({ key: 'request:r-1', view: view('plan'), version: 1 });
      expect(await b.outboxClaim('request:r-1', at(0).getTime(), at(1).getTime())).toBeUndefined();
      expect(await a.outboxClaim('request:r-1', at(0).getTime(), at(1).getTime())).toBeDefined(); // its own again
      await a.outboxPut({ key: 'request:r-1', channel: 'C0LYNCOPS', view: view('plan v2') }, at(0));
      await a.outboxDelivered('request:r-1', 1, { channel: 'C0LYNCOPS', ts: '1.1' }, at(0).getTime());
      // a newer view waits, unclaimed: b may take it now, and gets the newest view
      expect(await b.outboxClaim('request:r-1', at(0).getTime(), at(1).getTime())).toMatchObject({ view: view('plan v2'), version: 2 });
      expect(await a.outboxClaim('request:r-1', at(0).getTime(), at(1).getTime())).toBeUndefined();
      // b died holding it: after its claim runs out, a takes it
      expect(await a.outboxClaim('request:r-1', at(1).getTime(), at(2).getTime())).toMatchObject({ version: 2 });
      await a.outboxRetry('request:r-1', at(2).getTime(), 'ratelimited');
      expect(await b.outboxClaim('request:r-1', at(2).getTime(), at(3).getTime())).toMatchObject({ attempts: 1 });
      await b.outboxDrop('request:r-1');
      expect(await a.outboxClaim('request:r-1', at(3).getTime(), at(4).getTime())).toBeUndefined();
    });

    it('two instances delivering the same outbox at once post each message once', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      // one Slack for both; a post takes a moment, so the two passes overlap
      const slack = new (class extends RecordingNotifier {
        override async post(channel: string, view: View) {
          await new Promise((r) => setTimeout(r, 5));
          return super.post(channel, view);
        }
      })();
      const couriers = [a, b].map((store) => new Courier({ store, notifier: slack, log: pino({ level: 'silent' }), now: () => Date.now(), minIntervalMs: 0, setTimer: () => () => undefined }));
      for (let i = 0; i < 30; i++) await a.outboxPut({ key: `request:r-${i}`, channel: 'C0LYNCOPS', view: { kind: 'text', text: `plan ${i}` } }, new Date());
      await Promise.all(couriers.map((c) => c.drain()));
      expect(slack.messages.map((m) => (m.view as { text: string }).text).sort()).toEqual(Array.from({ length: 30 }, (_, i) => `plan ${i}`).sort());
      expect(await a.outboxList()).toEqual([]);
    });

    it('agent jobs across instances: a job queued on one is claimed on the other, once, and each hears of it (LISTEN/NOTIFY)', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const heardA: JobEvent[] = [];
      const heardB: JobEvent[] = [];
      const wa = a.watchJobs((e) => heardA.push(e));
      const wb = b.watchJobs((e) => heardB.push(e));
      try {
        // the watchers listen once their connections are up: a queued job is what tells us
        await eventually(async () => {
          await a.jobQueue({ id: `probe-${heardB.length}-${Date.now()}`, agent: 'probe', invocation: READ, queuedMs: 0 });
          return heardB.some((e) => e.kind === 'queued' && e.agent === 'probe');
        }, 'the watcher to listen');
        await a.jobQueue({ id: 'j-1', agent: 'edge01', invocation: READ, queuedMs: 1 });
        await eventually(async () => heardB.some((e) => e.kind === 'queued' && e.agent === 'edge01'), 'b to hear of the job');
        // both instances claim at once for the same agent: one gets it (SKIP LOCKED), neither waits
        const claims = await Promise.all([a, b, a, b].map((s) => s.jobClaim('edge01', { nowMs: 10, leaseUntilMs: 10_000 })));
        expect(claims.filter(Boolean).map((c) => c!.id)).toEqual(['j-1']);
        expect(claims.find(Boolean)!.owner).toBe(a.instanceId);
        // the result reaches b; a, the owner, hears that the job ended
        expect(await b.jobEnd('j-1', { status: 'done', result: { ok: true, output: [], durationMs: 1, agent: 'edge01' }, nowMs: 20, from: ['claimed'], agent: 'edge01', lease: 'live' })).toBe(true);
        await eventually(async () => heardA.some((e) => e.kind === 'ended' && e.id === 'j-1'), 'a to hear the job ended');
        expect((await a.jobsGet(['j-1']))[0]).toMatchObject({ status: 'done', result: { ok: true, agent: 'edge01' } });
      } finally {
        await wa.close();
        await wb.close();
      }
    });

    it("a job whose owner stopped heartbeating is never handed out, and is forgotten; a live owner's job is", async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      await a.jobQueue({ id: 'j-dead-owner', agent: 'fe01', invocation: READ, queuedMs: 1 });
      await b.jobQueue({ id: 'j-live-owner', agent: 'fe01', invocation: READ, queuedMs: 2 });
      await a.abandon(); // killed: no more heartbeats
      await eventually(async () => (await raw(schema, "SELECT 1 FROM instances WHERE id = $1 AND heartbeat_at > clock_timestamp() - interval '1 second'", [a.instanceId])).length === 0, "a's lease (1 s) to pass");
      // the older job is a's: it waits in vain, and the live owner's is handed out
      expect(await b.jobsWaiting(['fe01'])).toEqual(['fe01']);
      expect((await b.jobClaim('fe01', { nowMs: 5, leaseUntilMs: 100 }))?.id).toBe('j-live-owner');
      expect(await b.jobsWaiting(['fe01'])).toEqual([]);
      expect(await b.jobClaim('fe01', { nowMs: 6, leaseUntilMs: 100 })).toBeUndefined();
      await b.jobPrune(10);
      expect((await b.jobsGet(['j-dead-owner', 'j-live-owner'])).map((j) => [j.id, j.status])).toEqual([['j-live-owner', 'claimed']]);
    });

    it('a Slack delivery taken on one instance is a repeat on the other', async () => {
      const schema = freshSchema();
      const [a, b] = [await open(schema), await open(schema)];
      const won = await Promise.all([a, b, a, b, a, b].map((s) => s.deliveryTake('sha256:retry', 1_000, 300_000)));
      expect(won.filter(Boolean)).toHaveLength(1);
      expect(await b.deliveryTake('sha256:retry', 2_000, 300_000)).toBe(false);
    });

    it('an approved request without a run is left to the instance that approved it for one lease', async () => {
      let clock = at(10).getTime();
      const s = await open(freshSchema(), { leaseMs: 60_000, now: () => clock });
      await s.createRequest(request('req-1', { status: 'approved', decidedAt: iso(10) }));
      expect(await s.listUnstarted()).toEqual([]);
      clock = at(11).getTime() + 1;
      expect((await s.listUnstarted()).map((r) => r.id)).toEqual(['req-1']);
    });
  });

  describe('versioned schema', () => {
    it('a database at version 1 opens at the latest with its data; instances opening at once migrate it once', async () => {
      const schema = freshSchema();
      // what version 1 made and wrote, as a lync-exo of that version left it
      await raw(schema, `CREATE SCHEMA ${schema}`);
      await raw(schema, `${POSTGRES_MIGRATIONS[0]!.sql}; CREATE TABLE lync_exo_schema (version INTEGER NOT NULL); INSERT INTO lync_exo_schema VALUES (1)`);
      const req = request('req-1');
      await raw(schema, "INSERT INTO requests (id, runbook, deployment, requester, channel, status, created_at, expires_at, expires_ms, values_json, plan_json) VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7, $8, $9, $10)", [
        req.id, req.runbook, req.deployment, req.requester, req.channel, req.createdAt, req.expiresAt, Date.parse(req.expiresAt), JSON.stringify(req.values), JSON.stringify(req.plan),
      ]);
      await raw(schema, 'INSERT INTO approvals (request_id, approver, at) VALUES ($1, $2, $3)', ['req-1', 'U0BOB', iso(2)]);
      const r = run('run-1', { status: 'succeeded' });
      await raw(schema, 'INSERT INTO runs (id, request_id, runbook, deployment, channel, requester, status, started_at, approvers_json, values_json, steps_json) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)', [
        r.id, r.requestId, r.runbook, r.deployment, r.channel, r.requester, r.status, r.startedAt, JSON.stringify(r.approvers), JSON.stringify(r.values), JSON.stringify(r.steps),
      ]);
      const both = await Promise.all([open(schema), open(schema), open(schema)]);
      expect(await raw(schema, 'SELECT version FROM lync_exo_schema ORDER BY version')).toEqual(POSTGRES_MIGRATIONS.map((m) => ({ version: m.version })));
      expect(await both[1].getRequest('req-1')).toEqual({ ...request('req-1'), approvals: [{ user: 'U0BOB', at: iso(2) }] });
      expect(await both[2].getRun('run-1')).toEqual(run('run-1', { status: 'succeeded' }));
      expect((await both[0].approve('req-1', 'U0CAROL', 2, at(3)))?.outcome).toBe('completed');
    });

    it('a migration that fails leaves the database at the version before it', async () => {
      const schema = freshSchema();
      await (await open(schema)).end();
      const broken = [...POSTGRES_MIGRATIONS, { version: POSTGRES_LATEST_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half_done (x int); INSERT INTO no_such_table VALUES (1);' }];
      await expect(openPostgresStore(server().url, { schema }, broken)).rejects.toThrow(/no_such_table/);
      expect(await raw(schema, 'SELECT max(version) AS v FROM lync_exo_schema')).toEqual([{ v: POSTGRES_LATEST_VERSION }]);
      expect(await raw(schema, "SELECT to_regclass('half_done') AS t")).toEqual([{ t: null }]);
    });

    it('refuses a schema newer than it knows, naming the database but never its password', async () => {
      const schema = freshSchema();
      await (await open(schema)).end();
      await raw(schema, 'INSERT INTO lync_exo_schema (version) VALUES ($1)', [POSTGRES_LATEST_VERSION + 1]);
      const u = new URL(server().url);
      u.password = 's3cret-pw';
      const err = (await openPostgresStore(u.toString(), { schema }).catch((e: unknown) => e)) as StoreError;
      expect(err).toBeInstanceOf(StoreError);
      expect(err.code).toBe('store_schema_newer');
      expect(err.message).toContain(`its schema is version ${POSTGRES_LATEST_VERSION + 1}, newer than this lync-exo knows (${POSTGRES_LATEST_VERSION})`);
      expect(err.message).toContain(`${u.hostname}:${u.port}`);
      expect(err.message).not.toContain('s3cret-pw');
    });

    it('a server that is not there: a clear error naming the database', async () => {
      const err = (await openPostgresStore('postgres://lync:pw-not-shown@127.0.0.1:1/lync').catch((e: unknown) => e)) as StoreError;
      expect(err.code).toBe('store_open_failed');
      expect(err.message).toMatch(/^opening the database postgres:\/\/lync:\*\*\*@127\.0\.0\.1:1\/lync: .*ECONNREFUSED/);
      expect(err.message).not.toContain('pw-not-shown');
    });

    it('keeps the audit append-only, even for SQL run by hand', async () => {
      const schema = freshSchema();
      const s = await open(schema);
      await s.audit({ at: iso(1), actor: 'U0BOB', action: 'approved' });
      await expect(raw(schema, "UPDATE audit SET actor = 'U0MALLORY'")).rejects.toThrow(/append-only/);
      await expect(raw(schema, 'DELETE FROM audit')).rejects.toThrow(/append-only/);
      await expect(raw(schema, 'TRUNCATE audit')).rejects.toThrow(/append-only/);
      expect(await s.listAudit()).toEqual([{ at: iso(1), actor: 'U0BOB', action: 'approved' }]);
    });
  });
});
