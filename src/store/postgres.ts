// The store on PostgreSQL (pg), for several lync-exo instances on one database (LYNC_EXO_DATABASE_URL). The same
// observable behaviour as memoryStore and SQLite (the contract tests run against all three), plus what several
// instances need, all on PostgreSQL's own mechanisms rather than a scheduler of ours:
// - every compare-and-set (approve, close, claimRun, acquireLock) is one transaction holding the request's row lock
//   (SELECT ... FOR UPDATE, or an UPDATE whose WHERE is re-checked after the wait), so two instances decide once;
// - a run belongs to the instance that claimed it (runs.owner); the instance's heartbeat (instances.heartbeat_at, on
//   the database's clock) is the lease of all its runs. markInterrupted takes only runs whose owner stopped
//   heartbeating for `leaseMs`: a survivor reports them, a live instance's runs are left alone;
// - one instance at a time is the leader (a session advisory lock on a connection of its own: PostgreSQL drops it
//   when that connection dies, kill -9 included); the leader runs the sweeps (expiry, failover, the outbox's leftovers);
// - an outbox entry is claimed by the instance delivering it (outboxClaim), so a message is posted once;
// - remote agents' jobs and presence, and Slack deliveries, are rows too (postgresJobs.ts): any instance hands out a
//   job, takes its heartbeat and result; the instance waiting for it hears through LISTEN/NOTIFY.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import pg from 'pg';
import type { Log } from '../core/service.js';
import { INTERRUPTED_SUMMARY, type OutboxEntry, type Store } from '../core/store.js';
import type { Approval, RunRecord, WatchState } from '../core/records.js';
import { POSTGRES_MIGRATIONS, type Migration } from './migrations.js';
import { postgresAgentJobs, type PostgresJobs } from './postgresJobs.js';
import { auditParams, insertSql, json, requestParams, runParams, toApproval, toAudit, toLock, toOutbox, toRequest, toRun, type ApprovalRow, type AuditRow, type LockRow, type OutboxRow, type RequestRow, type RunRow } from './rows.js';
import { StoreError, type StoreRecovery } from './sqlite.js';

export interface PostgresStoreOptions {
  log?: Pick<Log, 'info' | 'warn' | 'error'>;
  /** a schema of its own, created when absent (tests); the connection's default otherwise */
  schema?: string;
  /** how long a run stays owned by an instance that stopped heartbeating; 30 s by default */
  leaseMs?: number;
  /** connections in the pool; 10 by default */
  poolSize?: number;
  /** epoch ms (how old an approval is, for listUnstarted); Date.now by default */
  now?: () => number;
}

export interface PostgresStore extends Store, StoreRecovery {
  watchJobs: PostgresJobs['watchJobs'];
  /** this instance: host, pid and a random part, unique per start */
  readonly instanceId: string;
  readonly leaseMs: number;
  /** the database, as a URL without its password */
  readonly where: string;
  /** Renews this instance's lease (the timer does it every leaseMs / 3). */
  heartbeat(): Promise<void>;
  /** Whether this instance is the leader, taking the lead when nobody has it. */
  leader(): Promise<boolean>;
  /** Leaves cleanly: no more heartbeats, the lead given up, the instance row gone (its runs are free at once). */
  end(): Promise<void>;
  /** Stops as a killed process would: no heartbeat, connections dropped, nothing cleaned up (tests). */
  abandon(): Promise<void>;
  outboxClaim(key: string, nowMs: number, untilMs: number): Promise<OutboxEntry | undefined>;
}

const DEFAULT_LEASE_MS = 30_000;
/** pg's placeholders: $1, $2, … */
const numbered = (_name: string, i: number) => `$${i + 1}`;
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(a database URL that does not parse)';
  }
}

// BIGINT comes back as text by default; ours are epoch milliseconds, well inside a double
const INT8 = 20;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === INT8 ? (v: string) => Number(v) : (pg.types.getTypeParser(oid, format) as unknown))) as typeof pg.types.getTypeParser,
};

async function migrate(pool: pg.Pool, schema: string | undefined, migrations: readonly Migration[]): Promise<{ from: number; applied: number[] }> {
  const c = await pool.connect();
  try {
    // instances starting together: one migrates, the others wait and find nothing left to do
    await c.query('SELECT pg_advisory_lock(hashtext($1))', [`lync-exo:migrate:${schema ?? ''}`]);
    try {
      if (schema) await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await c.query('CREATE TABLE IF NOT EXISTS lync_exo_schema (version INTEGER NOT NULL)');
      const from = (await c.query<{ v: number | null }>('SELECT max(version) AS v FROM lync_exo_schema')).rows[0]?.v ?? 0;
      const latest = migrations[migrations.length - 1]!.version;
      if (from > latest) throw new StoreError('store_schema_newer', `its schema is version ${from}, newer than this lync-exo knows (${latest}); run the newer lync-exo or restore a backup`);
      const applied: number[] = [];
      for (const m of migrations) {
        if (m.version <= from) continue;
        await c.query('BEGIN');
        try {
          await c.query(m.sql);
          await c.query('INSERT INTO lync_exo_schema (version) VALUES ($1)', [m.version]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK');
          throw err;
        }
        applied.push(m.version);
      }
      return { from, applied };
    } finally {
      await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`lync-exo:migrate:${schema ?? ''}`]);
    }
  } finally {
    c.release();
  }
}

/**
 * Connects to PostgreSQL at `url`, migrates the schema and registers this instance. Throws a StoreError naming the
 * database (never its password) when it cannot connect, or its schema is newer than this lync-exo.
 */
export async function openPostgresStore(url: string, options: PostgresStoreOptions = {}, migrations: readonly Migration[] = POSTGRES_MIGRATIONS): Promise<PostgresStore> {
  const where = redactUrl(url);
  const schema = options.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new StoreError('store_open_failed', `opening the database ${where}: the schema name "${schema}" must be lower-case letters, digits and _`);
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const now = options.now ?? Date.now;
  const log = options.log;
  const config: pg.PoolConfig = { connectionString: url, max: options.poolSize ?? 10, types, ...(schema ? { options: `-c search_path=${schema}` } : {}) };
  const pool = new pg.Pool(config);
  // an idle connection the server dropped: the pool replaces it; the next query says what is wrong if it persists
  pool.on('error', (err) => log?.warn({ err: err.message }, 'store: a PostgreSQL connection failed'));
  try {
    const { from, applied } = await migrate(pool, schema, migrations);
    if (applied.length) log?.info({ database: where, from, applied }, `store: PostgreSQL schema migrated to version ${applied.at(-1)}`);
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof StoreError) throw new StoreError(err.code, `opening the database ${where}: ${err.message}`, { cause: err });
    throw new StoreError('store_open_failed', `opening the database ${where}: ${(err as Error).message}`, { cause: err });
  }

  const instanceId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const q = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], c: pg.Pool | pg.PoolClient = pool) => (await c.query<R>(sql, params)).rows;
  const tx = async <T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> => {
    const c = await pool.connect();
    try {
      await c.query('BEGIN');
      const result = await fn(c);
      await c.query('COMMIT');
      return result;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  };

  /** The requests of these rows, with their approvals in the order given. */
  const withApprovals = async (rows: RequestRow[], c: pg.Pool | pg.PoolClient = pool) => {
    if (!rows.length) return [];
    const approvals = await q<ApprovalRow & { request_id: string }>('SELECT request_id, approver AS user, at, email, account FROM approvals WHERE request_id = ANY($1) ORDER BY seq', [rows.map((r) => r.id)], c);
    const by = new Map<string, Approval[]>();
    for (const a of approvals) by.set(a.request_id, [...(by.get(a.request_id) ?? []), toApproval(a)]);
    return rows.map((r) => toRequest(r, by.get(r.id) ?? []));
  };
  const getRequest = async (id: string, c: pg.Pool | pg.PoolClient = pool) => (await withApprovals(await q<RequestRow>('SELECT * FROM requests WHERE id = $1', [id], c), c))[0];
  /** the request's row, locked until the transaction ends */
  const lockRequest = async (c: pg.PoolClient, id: string) => (await q<RequestRow>('SELECT * FROM requests WHERE id = $1 FOR UPDATE', [id], c))[0];
  const bySeq = <T extends { seq: number }>(rows: T[]) => rows.sort((a, b) => a.seq - b.seq);
  /** an owner whose heartbeat is older than the lease: its runs are nobody's */
  const ownerGone = `(owner IS NULL OR (owner <> $3 AND NOT EXISTS (SELECT 1 FROM instances i WHERE i.id = runs.owner AND i.heartbeat_at > clock_timestamp() - $4 * interval '1 millisecond')))`;

  const saveRun = async (run: RunRecord, c: pg.Pool | pg.PoolClient = pool) => {
    const p = runParams(run);
    // Fencing: once another instance declared this instance's run interrupted (its heartbeat was missed for the
    // lease), this instance writes nothing more over it, and the failed save stops the run before its next step.
    // A late save never brings an interrupted run back to running.
    const values = Object.values(p);
    const saved = await c.query(
      `${insertSql('runs', p, numbered, 'id')}
       WHERE NOT (runs.status = 'interrupted' AND (excluded.status = 'running' OR runs.owner = $${values.length + 1}))`,
      [...values, instanceId],
    );
    if (saved.rowCount === 0 && (await q<{ owner: string | null }>('SELECT owner FROM runs WHERE id = $1', [run.id], c))[0]?.owner === instanceId) {
      throw new StoreError('store_run_taken_over', `run ${run.id} was taken over by another lync-exo instance: this one missed its heartbeats for the lease (${leaseMs / 1000} s), so it runs and records nothing more of it`);
    }
  };

  // --- this instance: its heartbeat, and the lead ------------------------------------------------------------------
  const heartbeat = async () => {
    await pool.query('INSERT INTO instances (id, host, pid) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET heartbeat_at = clock_timestamp()', [instanceId, hostname(), process.pid]);
  };
  await heartbeat();
  const beat = setInterval(() => {
    heartbeat().catch((err: unknown) => log?.warn({ err: (err as Error).message }, 'store: heartbeat failed; runs of this instance may be taken over after the lease'));
  }, Math.max(50, Math.floor(leaseMs / 3)));
  beat.unref();

  const jobs = postgresAgentJobs({ pool, config, instanceId, leaseMs, ...(log ? { log } : {}) });

  let leadClient: pg.Client | undefined;
  let leading = false;
  let ended = false;
  const dropLead = async () => {
    const c = leadClient;
    leadClient = undefined;
    leading = false;
    await c?.end().catch(() => undefined);
  };
  const leader = async (): Promise<boolean> => {
    if (ended) return false;
    try {
      if (!leadClient) {
        const c = new pg.Client({ ...config });
        // the connection behind the lock died: the lock is gone with it, and so is the lead
        c.on('error', (err) => {
          log?.warn({ err: err.message }, 'store: the leader connection failed; the lead is given up');
          void dropLead();
        });
        await c.connect();
        leadClient = c;
      }
      if (leading) {
        await leadClient.query('SELECT 1');
        return true;
      }
      const row = (await leadClient.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtext('lync-exo:leader:' || current_schema())) AS ok")).rows[0];
      leading = row?.ok === true;
      if (leading) log?.info({ instance: instanceId }, 'store: this instance leads (expiry, failover and outbox sweeps)');
      return leading;
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'store: could not check the lead');
      await dropLead();
      return false;
    }
  };

  return {
    ...jobs,
    instanceId,
    leaseMs,
    where,
    heartbeat,
    leader,
    async end() {
      if (ended) return;
      ended = true;
      clearInterval(beat);
      await dropLead();
      await jobs.closeWatchers();
      await pool.query('DELETE FROM instances WHERE id = $1', [instanceId]).catch(() => undefined);
      await pool.end();
    },
    async abandon() {
      ended = true;
      clearInterval(beat);
      await dropLead();
      await jobs.closeWatchers();
      await pool.end();
    },

    // --- requests ------------------------------------------------------------------------------------------------
    async createRequest(r) {
      await tx(async (c) => {
        try {
          const p = requestParams(r);
          await c.query(insertSql('requests', p, numbered), Object.values(p));
        } catch (err) {
          if ((err as { code?: string }).code === '23505') throw new Error(`request ${r.id} exists`, { cause: err });
          throw err;
        }
        for (const a of r.approvals) await c.query('INSERT INTO approvals (request_id, approver, at, email, account) VALUES ($1, $2, $3, $4, $5)', [r.id, a.user, a.at, a.email ?? null, a.account ?? null]);
      });
    },
    getRequest: (id) => getRequest(id),
    approve: (id, user, required, at, who) =>
      tx(async (c) => {
        const row = await lockRequest(c, id);
        if (!row) return undefined;
        if (row.status !== 'pending') return { outcome: 'not-pending', request: (await getRequest(id, c))! };
        if (row.expires_ms !== null && row.expires_ms <= at.getTime()) {
          await c.query("UPDATE requests SET status = 'expired', decided_by = 'expiry', decided_at = $1 WHERE id = $2", [at.toISOString(), id]);
          return { outcome: 'expired', request: (await getRequest(id, c))! };
        }
        if ((await q('SELECT 1 FROM approvals WHERE request_id = $1 AND approver = $2', [id, user], c)).length) return { outcome: 'already-approved-by-you', request: (await getRequest(id, c))! };
        await c.query('INSERT INTO approvals (request_id, approver, at, email, account) VALUES ($1, $2, $3, $4, $5)', [id, user, at.toISOString(), who?.email ?? null, who?.account ?? null]);
        const n = (await q<{ n: number }>('SELECT count(*)::int AS n FROM approvals WHERE request_id = $1', [id], c))[0]!.n;
        if (n < required) return { outcome: 'recorded', request: (await getRequest(id, c))! };
        await c.query("UPDATE requests SET status = 'approved', decided_at = $1 WHERE id = $2", [at.toISOString(), id]);
        return { outcome: 'completed', request: (await getRequest(id, c))! };
      }),
    close: (id, status, by, reason, at) =>
      tx(async (c) => {
        const row = await lockRequest(c, id);
        if (!row) return undefined;
        if (row.status !== 'pending') return { outcome: 'not-pending', request: (await getRequest(id, c))! };
        await c.query('UPDATE requests SET status = $1, decided_by = $2, reason = $3, decided_at = $4 WHERE id = $5', [status, by, reason ?? null, at.toISOString(), id]);
        return { outcome: 'closed', request: (await getRequest(id, c))! };
      }),
    cancelWaiting: (id, by, at) =>
      tx(async (c) => {
        const row = await lockRequest(c, id);
        if (!row) return undefined;
        if (row.status !== 'approved' || row.run_id !== null) return { outcome: 'not-pending', request: (await getRequest(id, c))! };
        await c.query("UPDATE requests SET status = 'cancelled', decided_by = $1, decided_at = $2 WHERE id = $3", [by, at.toISOString(), id]);
        return { outcome: 'closed', request: (await getRequest(id, c))! };
      }),
    async setRequestStart(id, startsAt) {
      await pool.query('UPDATE requests SET starts_at = $1 WHERE id = $2', [startsAt ?? null, id]);
    },
    async setRequestMessage(id, message) {
      await pool.query('UPDATE requests SET message = $1 WHERE id = $2', [json(message), id]);
    },
    async setRequestRun(id, runId) {
      await pool.query('UPDATE requests SET run_id = $1 WHERE id = $2', [runId, id]);
    },
    async listExpired(at) {
      return withApprovals(await q<RequestRow>("SELECT * FROM requests WHERE status = 'pending' AND expires_ms <= $1 ORDER BY seq", [at.getTime()]));
    },
    async listPending() {
      return withApprovals(await q<RequestRow>("SELECT * FROM requests WHERE status = 'pending' ORDER BY seq"));
    },

    // --- runs ----------------------------------------------------------------------------------------------------
    async createRun(run) {
      await saveRun(run);
    },
    async saveRun(run) {
      await saveRun(run);
    },
    async getRun(id) {
      const row = (await q<RunRow>('SELECT * FROM runs WHERE id = $1', [id]))[0];
      return row && toRun(row);
    },
    async latestRun(runbook, status) {
      const row = (await q<RunRow>('SELECT * FROM runs WHERE runbook = $1 AND status = $2 ORDER BY started_at DESC, seq LIMIT 1', [runbook, status]))[0];
      return row && toRun(row);
    },
    async listRunning() {
      return (await q<RunRow>("SELECT * FROM runs WHERE status = 'running' ORDER BY seq")).map(toRun);
    },
    claimRun: (requestId, run) =>
      tx(async (c) => {
        // the WHERE is checked again after waiting for another claim's row lock: the second claim finds a run id
        const claimed = await c.query("UPDATE requests SET run_id = $1 WHERE id = $2 AND status = 'approved' AND run_id IS NULL", [run.id, requestId]);
        if (claimed.rowCount !== 1) return false;
        await saveRun(run, c);
        await c.query('UPDATE runs SET owner = $1 WHERE id = $2', [instanceId, run.id]);
        return true;
      }),
    async listUnstarted() {
      // one approved within the lease may be starting on the live instance that approved it: not ours to start yet
      const rows = await q<RequestRow>("SELECT * FROM requests WHERE status = 'approved' AND run_id IS NULL ORDER BY seq");
      return withApprovals(rows.filter((r) => r.decided_at === null || !(Date.parse(r.decided_at) > now() - leaseMs)));
    },

    // --- locks ---------------------------------------------------------------------------------------------------
    async acquireLock(h) {
      for (;;) {
        const taken = await pool.query('INSERT INTO locks (deployment, run_id, request_id, requester, since) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (deployment) DO NOTHING', [h.deployment, h.runId, h.requestId, h.requester, h.since]);
        if (taken.rowCount === 1) return { ok: true };
        const row = (await q<LockRow>('SELECT * FROM locks WHERE deployment = $1', [h.deployment]))[0];
        // released between the two statements: try again
        if (row) return { ok: false, holder: toLock(row) };
      }
    },
    async releaseLock(deployment, runId) {
      await pool.query('DELETE FROM locks WHERE deployment = $1 AND run_id = $2', [deployment, runId]);
    },
    async getLock(deployment) {
      const row = (await q<LockRow>('SELECT * FROM locks WHERE deployment = $1', [deployment]))[0];
      return row && toLock(row);
    },
    async markInterrupted(at) {
      const rows = await q<RunRow & { seq: number }>(
        `UPDATE runs SET status = 'interrupted', finished_at = $1, summary = coalesce(summary, $2) WHERE status = 'running' AND ${ownerGone} RETURNING *`,
        [at.toISOString(), INTERRUPTED_SUMMARY, instanceId, leaseMs],
      );
      return bySeq(rows).map(toRun);
    },
    async recoverLocks() {
      const rows = await q<LockRow & { seq: number }>("DELETE FROM locks l WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = l.run_id AND r.status = 'running') RETURNING *");
      return bySeq(rows).map(toLock);
    },

    // --- the outbox ----------------------------------------------------------------------------------------------
    async outboxPut(put, at) {
      await pool.query(
        `INSERT INTO outbox (key, channel, parent, view_json, version, attempts, due_ms, since) VALUES ($1, $2, $3, $4, 1, 0, $5, $6)
         ON CONFLICT (key) DO UPDATE SET view_json = excluded.view_json, channel = excluded.channel, parent = coalesce(excluded.parent, outbox.parent), version = outbox.version + 1`,
        [put.key, put.channel, put.parent ?? null, JSON.stringify(put.view), put.dueMs ?? at.getTime(), at.toISOString()],
      );
    },
    async outboxDue(at) {
      return (await q<OutboxRow>('SELECT * FROM outbox WHERE due_ms <= $1 ORDER BY seq', [at.getTime()])).map(toOutbox);
    },
    async outboxList() {
      return (await q<OutboxRow>('SELECT * FROM outbox ORDER BY seq')).map(toOutbox);
    },
    async outboxClaim(key, nowMs, untilMs): Promise<OutboxEntry | undefined> {
      const row = (
        await q<OutboxRow>('UPDATE outbox SET claimed_by = $1, claimed_until_ms = $2 WHERE key = $3 AND (claimed_by IS NULL OR claimed_by = $1 OR claimed_until_ms <= $4) RETURNING *', [instanceId, untilMs, key, nowMs])
      )[0];
      return row && toOutbox(row);
    },
    outboxDelivered: (key, version, ref, nextDueMs) =>
      tx(async (c) => {
        await c.query('INSERT INTO messages (key, channel, ts) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET channel = excluded.channel, ts = excluded.ts', [key, ref.channel, ref.ts]);
        const cleared = await c.query('DELETE FROM outbox WHERE key = $1 AND version = $2', [key, version]);
        if (cleared.rowCount === 0) await c.query('UPDATE outbox SET attempts = 0, last_error = NULL, due_ms = $1, claimed_by = NULL, claimed_until_ms = NULL WHERE key = $2', [nextDueMs, key]);
      }),
    async outboxRetry(key, dueMs, error) {
      await pool.query('UPDATE outbox SET attempts = attempts + 1, due_ms = $1, last_error = $2, claimed_by = NULL, claimed_until_ms = NULL WHERE key = $3', [dueMs, error, key]);
    },
    async outboxDrop(key) {
      await pool.query('DELETE FROM outbox WHERE key = $1', [key]);
    },
    async messageRef(key) {
      const row = (await q<{ channel: string; ts: string }>('SELECT channel, ts FROM messages WHERE key = $1', [key]))[0];
      return row && { channel: row.channel, ts: row.ts };
    },
    async forgetMessage(key) {
      await pool.query('DELETE FROM messages WHERE key = $1', [key]);
    },

    // --- audit and history ---------------------------------------------------------------------------------------
    async audit(r) {
      const p = auditParams(r);
      await pool.query(insertSql('audit', p, numbered), Object.values(p));
    },
    async getWatch(name) {
      const row = (await q<{ state_json: string }>('SELECT state_json FROM watches WHERE name = $1', [name]))[0];
      return row && (JSON.parse(row.state_json) as WatchState);
    },
    async saveWatch(state) {
      await pool.query('INSERT INTO watches (name, checked_at, state_json) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET checked_at = excluded.checked_at, state_json = excluded.state_json', [
        state.name,
        state.checkedAt,
        JSON.stringify(state),
      ]);
    },
    async listAudit(since) {
      return (since ? await q<AuditRow>('SELECT * FROM audit WHERE at_ms >= $1 ORDER BY seq', [since.getTime()]) : await q<AuditRow>('SELECT * FROM audit ORDER BY seq')).map(toAudit);
    },
    async history(limit) {
      // LIMIT NULL is PostgreSQL's "no limit": what slice() gives for Infinity
      const n = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : null;
      const requests = await withApprovals(await q<RequestRow>('SELECT * FROM requests ORDER BY created_at DESC, seq LIMIT $1', [n]));
      const runs = (await q<RunRow>('SELECT * FROM runs ORDER BY started_at DESC, seq LIMIT $1', [n])).map(toRun);
      return { requests, runs };
    },
  };
}
