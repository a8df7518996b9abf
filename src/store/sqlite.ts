// The durable store: one SQLite file (better-sqlite3), with the same observable behaviour as memoryStore.
// better-sqlite3 is synchronous, so every method body runs to completion without awaiting; the compare-and-set
// methods also run inside one BEGIN IMMEDIATE transaction, which takes the write lock before reading, so a second
// process (or a second connection) on the same file waits (busy_timeout) instead of deciding on a stale read.
import { accessSync, constants, mkdirSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Log } from '../core/service.js';
import { INTERRUPTED_SUMMARY, type ApproveOutcome, type CloseOutcome, type LockOutcome, type OutboxPut, type Store } from '../core/store.js';
import type { LockHolder, MessageRef, RequestRecord, RunRecord, WatchState } from '../core/records.js';
import { LyncExoError, type ErrorCode } from '../core/errors.js';
import { LATEST_VERSION, migrate, schemaVersion } from './migrations.js';
import { sqliteAgentJobs } from './sqliteJobs.js';
import { auditParams, insertSql, json, requestParams, runParams, toApproval, toAudit, toLock, toOutbox, toRequest, toRun, type ApprovalRow, type AuditRow, type LockRow, type OutboxRow, type RequestRow, type RunRow } from './rows.js';

export type StoreErrorCode = Extract<ErrorCode, `store_${string}`>;

/** A database that cannot be opened. The message names the file and says what is wrong with it. */
export class StoreError extends LyncExoError {
  declare readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = 'StoreError';
  }
}

export interface SqliteStoreOptions {
  log?: Pick<Log, 'info' | 'warn'>;
  /** how long a write waits for another connection's transaction; 5 s by default */
  busyTimeoutMs?: number;
}

/** What start-up recovery needs from a store; proposed for the Store interface, implemented here for now. */
export interface StoreRecovery {
  /**
   * Runs left 'running' by a process that died become 'interrupted' (finishedAt = now; the summary says so unless
   * one was already set). Returns them, updated, so they can be reported. Call at start-up, before any run starts.
   */
  markInterrupted(now: Date): Promise<RunRecord[]>;
  /**
   * Releases the locks whose run is not running (finished, interrupted, or never saved because the process died
   * between taking the lock and creating the run) and returns them. Call at start-up after markInterrupted.
   */
  recoverLocks(): Promise<LockHolder[]>;
}

export interface SqliteStore extends Store, StoreRecovery {
  /** the database file, absolute (or `:memory:`) */
  readonly path: string;
  /** Closes the connection (Store's own `close` denies, cancels or expires a request). */
  closeDatabase(): void;
}



const isSqliteError = (err: unknown): err is InstanceType<typeof Database.SqliteError> => err instanceof Database.SqliteError;

const ERRNO_WORDS: Record<string, string> = {
  ENOTDIR: 'part of the path is a file, not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
};
/** "permission denied (EACCES)" for a file-system error, its message otherwise. */
const why = (err: unknown): string => {
  const code = (err as NodeJS.ErrnoException).code;
  return code ? `${ERRNO_WORDS[code] ?? 'error'} (${code})` : (err as Error).message;
};
/** quick_check answers in lines: the first few, on one line. */
const oneLine = (text: string): string => {
  const flat = text.replace(/\s*\n\s*/g, '; ').replace(/\*\*\* in database main \*\*\*; /, '');
  return flat.length > 240 ? `${flat.slice(0, 240)}...` : flat;
};

/** The start-up checks a person can act on, before SQLite gives its own (vaguer) answer. */
function checkPath(file: string): void {
  const where = `opening the database ${file}`;
  let stat: Stats | undefined;
  try {
    stat = statSync(file, { throwIfNoEntry: false });
  } catch (err) {
    // ENOTDIR (a parent is a file), EACCES (a parent is not searchable), ...
    throw new StoreError('store_unwritable', `${where}: ${why(err)}`, { cause: err });
  }
  if (stat?.isDirectory()) throw new StoreError('store_is_directory', `${where}: it is a directory; the database must be a file`);
  const dir = path.dirname(file);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new StoreError('store_unwritable', `${where}: cannot create its directory ${dir}: ${why(err)}`, { cause: err });
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new StoreError('store_unwritable', `${where}: the directory ${dir} is not writable, ${why(err)} (SQLite keeps its -wal and -shm files next to the database)`, { cause: err });
  }
  if (stat) {
    try {
      accessSync(file, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw new StoreError('store_unwritable', `${where}: the file is not readable and writable by this user, ${why(err)}`, { cause: err });
    }
  }
}

function describeOpenError(file: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const where = `opening the database ${file}`;
  if (isSqliteError(err)) {
    if (err.code === 'SQLITE_NOTADB') return new StoreError('store_not_a_database', `${where}: file is not a database`, { cause: err });
    if (err.code.startsWith('SQLITE_CORRUPT')) return new StoreError('store_corrupt', `${where}: the database is corrupted (${err.message}); restore it from a backup`, { cause: err });
    if (/^SQLITE_(READONLY|CANTOPEN|PERM|AUTH)/.test(err.code)) return new StoreError('store_unwritable', `${where}: ${err.message}`, { cause: err });
  }
  return new StoreError('store_open_failed', `${where}: ${(err as Error).message}`, { cause: err });
}

function openDatabase(file: string, options: SqliteStoreOptions): Database.Database {
  if (file !== ':memory:') checkPath(file);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
    // WAL: readers (status, history, a second process) do not block the writer, nor it them
    const mode = db.pragma('journal_mode = WAL', { simple: true }) as string;
    if (mode !== 'wal' && file !== ':memory:') options.log?.warn({ path: file, journalMode: mode }, 'store: WAL is not available on this file system');
    db.pragma('foreign_keys = ON');
    // a damaged page is found now, with the path in the message, not half-way through an approval
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new StoreError('store_corrupt', `opening the database ${file}: the database is corrupted (${oneLine(check)}); restore it from a backup`);
    const version = schemaVersion(db);
    if (version > LATEST_VERSION) {
      throw new StoreError('store_schema_newer', `opening the database ${file}: its schema is version ${version}, newer than this lync-exo knows (${LATEST_VERSION}); run the newer lync-exo or restore a backup`);
    }
    const applied = migrate(db);
    if (applied.length > 0) options.log?.info({ path: file, from: version, applied }, `store: schema migrated to version ${LATEST_VERSION}`);
    return db;
  } catch (err) {
    db?.close();
    throw describeOpenError(file, err);
  }
}

/**
 * Opens (creating it and its directory when absent) the SQLite database at `file` and migrates it to the current
 * schema. Throws a StoreError naming the file when it is a directory, cannot be written, is not a database, is
 * damaged, or was written by a newer lync-exo. `:memory:` gives a private database for tests.
 */
export function openSqliteStore(file: string, options: SqliteStoreOptions = {}): SqliteStore {
  const where = file === ':memory:' ? file : path.resolve(file);
  const db = openDatabase(where, options);

  const q = {
    request: db.prepare<[string], RequestRow>('SELECT * FROM requests WHERE id = ?'),
    approvals: db.prepare<[string], ApprovalRow>('SELECT user, at, email, account FROM approvals WHERE request_id = ? ORDER BY rowid'),
    insertApproval: db.prepare<[string, string, string, string | null, string | null]>('INSERT INTO approvals (request_id, user, at, email, account) VALUES (?, ?, ?, ?, ?)'),
    hasApproved: db.prepare<[string, string], { n: number }>('SELECT 1 AS n FROM approvals WHERE request_id = ? AND user = ?'),
    countApprovals: db.prepare<[string], { n: number }>('SELECT count(*) AS n FROM approvals WHERE request_id = ?'),
    decide: db.prepare<[string, string | null, string | null, string, string]>("UPDATE requests SET status = ?, decided_by = ?, reason = ?, decided_at = ? WHERE id = ? AND status = 'pending'"),
    approved: db.prepare<[string, string]>("UPDATE requests SET status = 'approved', decided_at = ? WHERE id = ? AND status = 'pending'"),
    expired: db.prepare<[string, string]>("UPDATE requests SET status = 'expired', decided_by = 'expiry', decided_at = ? WHERE id = ? AND status = 'pending'"),
    cancelWaiting: db.prepare<[string, string, string]>("UPDATE requests SET status = 'cancelled', decided_by = ?, decided_at = ? WHERE id = ? AND status = 'approved' AND run_id IS NULL"),
    setStart: db.prepare<[string | null, string]>('UPDATE requests SET starts_at = ? WHERE id = ?'),
    setMessage: db.prepare<[string | null, string]>('UPDATE requests SET message = ? WHERE id = ?'),
    setRun: db.prepare<[string, string]>('UPDATE requests SET run_id = ? WHERE id = ?'),
    listExpired: db.prepare<[number], RequestRow>("SELECT * FROM requests WHERE status = 'pending' AND expires_ms <= ? ORDER BY rowid"),
    listPending: db.prepare<[], RequestRow>("SELECT * FROM requests WHERE status = 'pending' ORDER BY rowid"),
    requestHistory: db.prepare<[number], RequestRow>('SELECT * FROM requests ORDER BY created_at DESC, rowid LIMIT ?'),

    run: db.prepare<[string], RunRow>('SELECT * FROM runs WHERE id = ?'),
    latestRun: db.prepare<[string, string], RunRow>('SELECT * FROM runs WHERE runbook = ? AND status = ? ORDER BY started_at DESC, rowid LIMIT 1'),
    listRunning: db.prepare<[], RunRow>("SELECT * FROM runs WHERE status = 'running' ORDER BY rowid"),
    runHistory: db.prepare<[number], RunRow>('SELECT * FROM runs ORDER BY started_at DESC, rowid LIMIT ?'),
    interrupt: db.prepare<[string, string, string]>("UPDATE runs SET status = 'interrupted', finished_at = ?, summary = coalesce(summary, ?) WHERE id = ?"),

    insertLock: db.prepare('INSERT INTO locks (deployment, run_id, request_id, requester, since) VALUES (@deployment, @runId, @requestId, @requester, @since) ON CONFLICT (deployment) DO NOTHING'),
    lock: db.prepare<[string], LockRow>('SELECT * FROM locks WHERE deployment = ?'),
    releaseLock: db.prepare<[string, string]>('DELETE FROM locks WHERE deployment = ? AND run_id = ?'),
    orphanLocks: db.prepare<[], LockRow>("SELECT * FROM locks l WHERE NOT EXISTS (SELECT 1 FROM runs r WHERE r.id = l.run_id AND r.status = 'running') ORDER BY rowid"),

    claimRun: db.prepare<[string, string]>("UPDATE requests SET run_id = ? WHERE id = ? AND status = 'approved' AND run_id IS NULL"),
    unstarted: db.prepare<[], RequestRow>("SELECT * FROM requests WHERE status = 'approved' AND run_id IS NULL ORDER BY rowid"),
    outboxGet: db.prepare<[string], OutboxRow>('SELECT * FROM outbox WHERE key = ?'),
    outboxInsert: db.prepare(
      `INSERT INTO outbox (key, seq, channel, parent, view_json, version, attempts, due_ms, since)
       VALUES (@key, (SELECT coalesce(max(seq), 0) + 1 FROM outbox), @channel, @parent, @view_json, 1, 0, @due_ms, @since)`,
    ),
    outboxReplace: db.prepare<[string, string, string | null, string]>('UPDATE outbox SET view_json = ?, channel = ?, parent = coalesce(?, parent), version = version + 1 WHERE key = ?'),
    outboxDue: db.prepare<[number], OutboxRow>('SELECT * FROM outbox WHERE due_ms <= ? ORDER BY seq'),
    outboxAll: db.prepare<[], OutboxRow>('SELECT * FROM outbox ORDER BY seq'),
    outboxClear: db.prepare<[string, number]>('DELETE FROM outbox WHERE key = ? AND version = ?'),
    outboxAgain: db.prepare<[number, string]>('UPDATE outbox SET attempts = 0, last_error = NULL, due_ms = ? WHERE key = ?'),
    outboxRetry: db.prepare<[number, string, string]>('UPDATE outbox SET attempts = attempts + 1, due_ms = ?, last_error = ? WHERE key = ?'),
    outboxDrop: db.prepare<[string]>('DELETE FROM outbox WHERE key = ?'),
    messageGet: db.prepare<[string], { channel: string; ts: string }>('SELECT channel, ts FROM messages WHERE key = ?'),
    messageSet: db.prepare<[string, string, string]>('INSERT INTO messages (key, channel, ts) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET channel = excluded.channel, ts = excluded.ts'),
    messageForget: db.prepare<[string]>('DELETE FROM messages WHERE key = ?'),

    watch: db.prepare<[string], { state_json: string }>('SELECT state_json FROM watches WHERE name = ?'),
    saveWatch: db.prepare<[string, string, string]>('INSERT INTO watches (name, checked_at, state_json) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET checked_at = excluded.checked_at, state_json = excluded.state_json'),
    auditAll: db.prepare<[], AuditRow>('SELECT * FROM audit ORDER BY seq'),
    auditSince: db.prepare<[number], AuditRow>('SELECT * FROM audit WHERE at_ms >= ? ORDER BY seq'),
  };

  // Inserts and the runs upsert are written from the records' column lists (rows.ts), prepared on first use. The
  // upsert is not INSERT OR REPLACE: the row keeps its rowid, so ties in ordering stay in creation order.
  const statements = new Map<string, Database.Statement>();
  const write = (table: string, params: Record<string, unknown>, key?: string) => {
    const sql = insertSql(table, params, (name) => `@${name}`, key);
    let st = statements.get(sql);
    if (!st) statements.set(sql, (st = db.prepare(sql)));
    return st.run(params);
  };
  const saveRun = (run: RunRecord) => write('runs', runParams(run), 'id');

  const request = (row: RequestRow) => toRequest(row, q.approvals.all(row.id).map(toApproval));
  const getRequest = (id: string) => {
    const row = q.request.get(id);
    return row && request(row);
  };
  /** A write transaction that holds the write lock from its first read (BEGIN IMMEDIATE). */
  const writing = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn);
    return (...args: A): R => tx.immediate(...args);
  };

  const createRequest = writing((r: RequestRecord) => {
    try {
      write('requests', requestParams(r));
    } catch (err) {
      if (isSqliteError(err) && err.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') throw new Error(`request ${r.id} exists`, { cause: err });
      throw err;
    }
    for (const a of r.approvals) q.insertApproval.run(r.id, a.user, a.at, a.email ?? null, a.account ?? null);
  });

  const approve = writing((id: string, user: string, required: number, now: Date, who?: { email?: string; account?: string }): ApproveOutcome | undefined => {
    const row = q.request.get(id);
    if (!row) return undefined;
    if (row.status !== 'pending') return { outcome: 'not-pending', request: request(row) };
    if (row.expires_ms !== null && row.expires_ms <= now.getTime()) {
      q.expired.run(now.toISOString(), id);
      return { outcome: 'expired', request: getRequest(id)! };
    }
    if (q.hasApproved.get(id, user)) return { outcome: 'already-approved-by-you', request: request(row) };
    q.insertApproval.run(id, user, now.toISOString(), who?.email ?? null, who?.account ?? null);
    if (q.countApprovals.get(id)!.n < required) return { outcome: 'recorded', request: getRequest(id)! };
    q.approved.run(now.toISOString(), id);
    return { outcome: 'completed', request: getRequest(id)! };
  });

  const close = writing((id: string, status: 'denied' | 'cancelled' | 'expired', by: string, reason: string | undefined, now: Date): CloseOutcome | undefined => {
    const row = q.request.get(id);
    if (!row) return undefined;
    if (row.status !== 'pending') return { outcome: 'not-pending', request: request(row) };
    q.decide.run(status, by, reason ?? null, now.toISOString(), id);
    return { outcome: 'closed', request: getRequest(id)! };
  });

  const cancelWaiting = writing((id: string, by: string, now: Date): CloseOutcome | undefined => {
    const row = q.request.get(id);
    if (!row) return undefined;
    if (q.cancelWaiting.run(by, now.toISOString(), id).changes !== 1) return { outcome: 'not-pending', request: request(row) };
    return { outcome: 'closed', request: getRequest(id)! };
  });

  const acquireLock = writing((holder: LockHolder): LockOutcome => {
    if (q.insertLock.run(holder).changes === 1) return { ok: true };
    return { ok: false, holder: toLock(q.lock.get(holder.deployment)!) };
  });

  const markInterrupted = writing((now: Date): RunRecord[] => {
    const running = q.listRunning.all();
    for (const r of running) q.interrupt.run(now.toISOString(), INTERRUPTED_SUMMARY, r.id);
    return running.map((r) => toRun(q.run.get(r.id)!));
  });

  const recoverLocks = writing((): LockHolder[] => {
    const orphans = q.orphanLocks.all();
    for (const l of orphans) q.releaseLock.run(l.deployment, l.run_id);
    return orphans.map(toLock);
  });

  const claimRun = writing((requestId: string, run: RunRecord): boolean => {
    if (q.claimRun.run(run.id, requestId).changes !== 1) return false;
    saveRun(run);
    return true;
  });

  const outboxPut = writing((put: OutboxPut, now: Date): void => {
    const view = JSON.stringify(put.view);
    if (q.outboxGet.get(put.key)) q.outboxReplace.run(view, put.channel, put.parent ?? null, put.key);
    else q.outboxInsert.run({ key: put.key, channel: put.channel, parent: put.parent ?? null, view_json: view, due_ms: put.dueMs ?? now.getTime(), since: now.toISOString() });
  });

  const outboxDelivered = writing((key: string, version: number, ref: MessageRef, nextDueMs: number): void => {
    q.messageSet.run(key, ref.channel, ref.ts);
    if (q.outboxClear.run(key, version).changes === 0) q.outboxAgain.run(nextDueMs, key);
  });

  const history = (limit: number) => {
    // LIMIT -1 is SQLite's "no limit": what slice() gives for Infinity
    const n = Number.isFinite(limit) ? Math.max(0, Math.floor(limit)) : -1;
    return { requests: q.requestHistory.all(n).map(request), runs: q.runHistory.all(n).map(toRun) };
  };

  return {
    path: where,
    // remote agents' jobs and presence, Slack deliveries: tables in the same file (sqliteJobs.ts)
    ...sqliteAgentJobs(db),
    async createRequest(r) {
      createRequest(r);
    },
    async getRequest(id) {
      return getRequest(id);
    },
    async approve(id, user, required, now, who) {
      return approve(id, user, required, now, who);
    },
    async cancelWaiting(id, by, now) {
      return cancelWaiting(id, by, now);
    },
    async setRequestStart(id, startsAt) {
      q.setStart.run(startsAt ?? null, id);
    },
    async close(id, status, by, reason, now) {
      return close(id, status, by, reason, now);
    },
    async setRequestMessage(id, message) {
      q.setMessage.run(json(message), id);
    },
    async setRequestRun(id, runId) {
      q.setRun.run(runId, id);
    },
    async listExpired(now) {
      return q.listExpired.all(now.getTime()).map(request);
    },
    async listPending() {
      return q.listPending.all().map(request);
    },
    async createRun(run) {
      saveRun(run);
    },
    async saveRun(run) {
      saveRun(run);
    },
    async getRun(id) {
      const row = q.run.get(id);
      return row && toRun(row);
    },
    async latestRun(runbook, status) {
      const row = q.latestRun.get(runbook, status);
      return row && toRun(row);
    },
    async listRunning() {
      return q.listRunning.all().map(toRun);
    },
    async acquireLock(holder) {
      return acquireLock(holder);
    },
    async releaseLock(deployment, runId) {
      q.releaseLock.run(deployment, runId);
    },
    async getLock(deployment) {
      const row = q.lock.get(deployment);
      return row && toLock(row);
    },
    async claimRun(requestId, run) {
      return claimRun(requestId, run);
    },
    async listUnstarted() {
      return q.unstarted.all().map(request);
    },
    async outboxPut(put, now) {
      outboxPut(put, now);
    },
    async outboxDue(now) {
      return q.outboxDue.all(now.getTime()).map(toOutbox);
    },
    async outboxList() {
      return q.outboxAll.all().map(toOutbox);
    },
    async outboxDelivered(key, version, ref, nextDueMs) {
      outboxDelivered(key, version, ref, nextDueMs);
    },
    async outboxRetry(key, dueMs, error) {
      q.outboxRetry.run(dueMs, error, key);
    },
    async outboxDrop(key) {
      q.outboxDrop.run(key);
    },
    async messageRef(key) {
      const row = q.messageGet.get(key);
      return row && { channel: row.channel, ts: row.ts };
    },
    async forgetMessage(key) {
      q.messageForget.run(key);
    },
    async audit(record) {
      write('audit', auditParams(record));
    },
    async getWatch(name) {
      const row = q.watch.get(name);
      return row && (JSON.parse(row.state_json) as WatchState);
    },
    async saveWatch(state) {
      q.saveWatch.run(state.name, state.checkedAt, JSON.stringify(state));
    },
    async listAudit(since) {
      return (since ? q.auditSince.all(since.getTime()) : q.auditAll.all()).map(toAudit);
    },
    async history(limit) {
      return history(limit);
    },
    async markInterrupted(now) {
      return markInterrupted(now);
    },
    async recoverLocks() {
      return recoverLocks();
    },
    closeDatabase() {
      db.close();
    },
  };
}
