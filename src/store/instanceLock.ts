// One bot per SQLite store. The lock is an exclusive SQLite lock on a small file beside the database
// (`lync-exo.db.instance`): the operating system holds it for the process (fcntl on Linux, LockFileEx on Windows)
// and drops it when the process ends in any way, kill -9 and power loss included, so a dead holder never blocks
// the next start. Who holds it (host, pid, since) is written beside it in `lync-exo.db.instance.json`: that file
// only names the holder, the lock itself decides.
import { hostname } from 'node:os';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from './sqlite.js';

export interface InstanceHolder {
  host: string;
  pid: number;
  since: string;
}

export type InstanceLock =
  | { ok: true; holder: InstanceHolder; release(): void }
  /** holder: undefined when the holder has not (yet) said who it is */
  | { ok: false; file: string; holder?: InstanceHolder };

const isBusy = (err: unknown): boolean => {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED');
};

function readHolder(file: string): InstanceHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as Partial<InstanceHolder>;
    return typeof h.host === 'string' && typeof h.pid === 'number' && typeof h.since === 'string' ? { host: h.host, pid: h.pid, since: h.since } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The connections holding a lock, until released. A caller that drops its InstanceLock must not lose the lock to the
 * garbage collector: better-sqlite3 closes a collected connection, and the operating system's lock goes with it.
 */
const held = new Set<Database.Database>();

/** Takes the instance lock of the database `dbFile`, or says who holds it. Never waits. */
export function acquireInstanceLock(dbFile: string, now: Date = new Date(), who: Omit<InstanceHolder, 'since'> = { host: hostname(), pid: process.pid }): InstanceLock {
  const lockFile = `${path.resolve(dbFile)}.instance`;
  const holderFile = `${lockFile}.json`;
  let db: Database.Database;
  try {
    mkdirSync(path.dirname(lockFile), { recursive: true });
    db = new Database(lockFile, { timeout: 0 });
  } catch (err) {
    throw new StoreError('store_unwritable', `taking the instance lock ${lockFile}: ${(err as Error).message}`, { cause: err });
  }
  try {
    // exclusive locking mode keeps the write lock after the transaction ends, until the connection closes
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE');
    db.exec('CREATE TABLE IF NOT EXISTS instance (taken TEXT)');
    db.prepare('DELETE FROM instance').run();
    db.prepare('INSERT INTO instance (taken) VALUES (?)').run(now.toISOString());
    db.exec('COMMIT');
  } catch (err) {
    db.close();
    if (isBusy(err)) return { ok: false, file: path.resolve(dbFile), holder: readHolder(holderFile) };
    throw new StoreError('store_open_failed', `taking the instance lock ${lockFile}: ${(err as Error).message}`, { cause: err });
  }
  const holder: InstanceHolder = { ...who, since: now.toISOString() };
  writeFileSync(`${holderFile}.tmp`, `${JSON.stringify(holder)}\n`);
  renameSync(`${holderFile}.tmp`, holderFile);
  let released = false;
  held.add(db);
  return {
    ok: true,
    holder,
    release() {
      if (released) return;
      released = true;
      const current = readHolder(holderFile);
      if (current?.pid === holder.pid && current.host === holder.host && current.since === holder.since) rmSync(holderFile, { force: true });
      held.delete(db);
      db.close();
    },
  };
}

/** The refusal an operator reads when a second instance starts on the same store. */
export function describeHeldLock(lock: Extract<InstanceLock, { ok: false }>): string {
  const who = lock.holder ? `pid ${lock.holder.pid} on ${lock.holder.host}, since ${lock.holder.since}` : 'a process that has not said who it is (it may be starting)';
  return `the store ${lock.file} is in use by another lync-exo: ${who}; one instance runs per store: stop that one first, or give this one its own LYNC_EXO_DATA_DIR`;
}
