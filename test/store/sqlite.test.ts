// The SQLite store: the contract, then what only a file can show (restart, a second process, a bad path, an old
// schema).
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { LATEST_VERSION, MIGRATIONS, migrate, schemaVersion } from '../../src/store/migrations.js';
import { openSqliteStore, StoreError, type SqliteStore } from '../../src/store/sqlite.js';
import { describeRecoveryContract, describeStoreContract } from './contract.js';
import { at, holder, iso, request, run } from './fixtures.js';

const root = mkdtempSync(path.join(tmpdir(), 'lync-exo-store-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let opened: SqliteStore[] = [];
afterEach(() => {
  for (const s of opened) {
    try {
      s.closeDatabase();
    } catch {
      // already closed by the test
    }
  }
  opened = [];
});

let n = 0;
const freshFile = () => path.join(root, `t${++n}`, 'lync-exo.db');
const open = (file = freshFile()) => {
  const s = openSqliteStore(file);
  opened.push(s);
  return s;
};

describeStoreContract('SQLite', () => open());
describeRecoveryContract('SQLite', () => open());

/** The StoreError thrown by opening `file`. */
function openError(file: string): StoreError {
  try {
    open(file);
  } catch (err) {
    expect(err).toBeInstanceOf(StoreError);
    return err as StoreError;
  }
  throw new Error(`opening ${file} did not fail`);
}

describe('SQLite store: on disk', () => {
  it('creates the data directory and the file, in WAL mode, at the latest schema', () => {
    const file = freshFile();
    const s = open(file);
    expect(s.path).toBe(file);
    s.closeDatabase();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(schemaVersion(raw)).toBe(LATEST_VERSION);
    raw.close();
  });

  it('keeps everything across a restart: a pending request and its approvals, a run with its steps, the lock, the audit', async () => {
    const file = freshFile();
    const first = open(file);
    await first.createRequest(request('req-1', { message: { channel: 'C0LYNCOPS', ts: '1.1' } }));
    await first.approve('req-1', 'U0BOB', 2, at(2));
    await first.createRequest(request('req-0'));
    await first.close('req-0', 'denied', 'U0CAROL', 'not now', at(1));
    const r = run('run-1', { preState: { oauth: [{ Identity: 'Global' }] } });
    await first.createRun(r);
    await first.acquireLock(holder('run-1'));
    await first.audit({ at: iso(2), actor: 'U0BOB', action: 'approved', channel: 'C0LYNCOPS', requestId: 'req-1' });
    const before = { pending: await first.listPending(), req0: await first.getRequest('req-0'), history: await first.history(10) };
    first.closeDatabase();

    const second = open(file);
    expect(await second.listPending()).toEqual(before.pending);
    expect(before.pending[0]?.approvals).toEqual([{ user: 'U0BOB', at: iso(2) }]);
    expect(await second.getRequest('req-0')).toEqual(before.req0);
    expect(await second.getRun('run-1')).toEqual(r);
    expect(await second.getLock('contoso')).toEqual(holder('run-1'));
    expect(await second.listAudit()).toEqual([{ at: iso(2), actor: 'U0BOB', action: 'approved', channel: 'C0LYNCOPS', requestId: 'req-1' }]);
    expect(await second.history(10)).toEqual(before.history);
    // the approval given before the restart still counts
    expect((await second.approve('req-1', 'U0BOB', 2, at(3)))?.outcome).toBe('already-approved-by-you');
    expect((await second.approve('req-1', 'U0CAROL', 2, at(3)))?.outcome).toBe('completed');
  });

  it('50 approvals at once over two connections to one file, one required: exactly one completes', async () => {
    const file = freshFile();
    const a = open(file);
    const b = open(file);
    await a.createRequest(request('req-1'));
    const users = ['U0BOB', 'U0CAROL', 'U0DAVE', 'U0ERIN', 'U0FRANK'];
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).approve('req-1', users[i % users.length]!, 1, at(5))));
    const outcomes = results.map((r) => r?.outcome);
    expect(outcomes.filter((o) => o === 'completed')).toHaveLength(1);
    expect(outcomes.filter((o) => o === 'not-pending')).toHaveLength(49);
    expect((await b.getRequest('req-1'))?.approvals).toHaveLength(1);
  });

  describe('two processes on one file', () => {
    const worker = path.join(import.meta.dirname, 'approveWorker.ts');

    type Outcome = { id: string; user: string; outcome: string };
    /** Starts the workers, waits until each has the file open, then lets them all go at once. */
    async function race(file: string, required: number, ids: string[], usersPerWorker: string[][]): Promise<Outcome[]> {
      const children = usersPerWorker.map((users) => spawn(process.execPath, ['--import', 'tsx', worker, file, String(required), ids.join(','), users.join(',')], { stdio: ['pipe', 'pipe', 'pipe'] }));
      const outputs = children.map(
        (child) =>
          new Promise<{ lines: string[]; code: number | null; stderr: string }>((resolve) => {
            let out = '';
            let stderr = '';
            child.stdout.on('data', (d: Buffer) => (out += d.toString()));
            child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
            child.on('close', (code) => resolve({ lines: out.trim().split('\n'), code, stderr }));
          }),
      );
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve, reject) => {
              child.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
              child.on('close', () => reject(new Error('worker ended before it was ready')));
            }),
        ),
      );
      const start = Date.now() + 200;
      for (const child of children) child.stdin.write(`${start}\n`);
      const done = await Promise.all(outputs);
      for (const d of done) expect(d.code, d.stderr).toBe(0);
      return done.flatMap((d) => JSON.parse(d.lines[d.lines.length - 1]!) as Outcome[]);
    }

    it('each of 20 requests, approved by both processes at once with one required, completes exactly once', async () => {
      const file = freshFile();
      const s = open(file);
      const ids = Array.from({ length: 20 }, (_, i) => `req-${i}`);
      for (const id of ids) await s.createRequest(request(id, { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
      const outcomes = await race(file, 1, ids, [
        ['U0BOB', 'U0CAROL'],
        ['U0DAVE', 'U0ERIN'],
      ]);
      expect(outcomes).toHaveLength(80);
      for (const id of ids) {
        const mine = outcomes.filter((o) => o.id === id);
        expect(mine.filter((o) => o.outcome === 'completed'), id).toHaveLength(1);
        expect(mine.filter((o) => o.outcome === 'not-pending'), id).toHaveLength(3);
        const stored = (await s.getRequest(id))!;
        expect(stored.status).toBe('approved');
        expect(stored.approvals.map((a) => a.user)).toEqual([mine.find((o) => o.outcome === 'completed')!.user]);
      }
    }, 60_000);

    it('no approval is lost or counted twice: 30 required, 2 × 20 users race, the 30th completes it', async () => {
      const file = freshFile();
      const s = open(file);
      await s.createRequest(request('req-1', { expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
      const users = (w: string) => Array.from({ length: 20 }, (_, i) => `U0${w}${i}`);
      const outcomes = await race(file, 30, ['req-1'], [users('A'), users('B')]);
      expect(outcomes.filter((o) => o.outcome === 'recorded')).toHaveLength(29);
      expect(outcomes.filter((o) => o.outcome === 'completed')).toHaveLength(1);
      expect(outcomes.filter((o) => o.outcome === 'not-pending')).toHaveLength(10);
      const stored = (await s.getRequest('req-1'))!;
      expect(stored.status).toBe('approved');
      expect(stored.approvals).toHaveLength(30);
      expect(stored.approvals[29]?.user).toBe(outcomes.find((o) => o.outcome === 'completed')?.user);
    }, 60_000);
  });
});

describe('SQLite store: start-up errors name the file', () => {
  it('a file that is not a database', () => {
    const file = path.join(root, 'junk', 'lync-exo.db');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, 'lync-exo: this is a text file, not SQLite\n'.repeat(200));
    const err = openError(file);
    expect(err.code).toBe('store_not_a_database');
    expect(err.message).toBe(`opening the database ${file}: file is not a database`);
  });

  it('a database with damaged pages', async () => {
    const file = freshFile();
    const s = open(file);
    for (let i = 0; i < 300; i++) await s.audit({ at: iso(i), actor: 'lync-exo', action: 'x'.repeat(200) });
    s.closeDatabase();
    const bytes = readFileSync(file);
    bytes.fill(0x41, 4096 * 3, 4096 * 6);
    writeFileSync(file, bytes);
    const err = openError(file);
    expect(err.code).toBe('store_corrupt');
    expect(err.message).toMatch(new RegExp(`^opening the database ${file}: the database is corrupted \\(.+\\); restore it from a backup$`));
  });

  it('a path that is a directory', () => {
    const dir = path.join(root, 'a-directory.db');
    mkdirSync(dir);
    const err = openError(dir);
    expect(err.code).toBe('store_is_directory');
    expect(err.message).toBe(`opening the database ${dir}: it is a directory; the database must be a file`);
  });

  it('a path under a file', () => {
    const file = path.join(root, 'plain-file');
    writeFileSync(file, 'x');
    const err = openError(path.join(file, 'data', 'lync-exo.db'));
    expect(err.code).toBe('store_unwritable');
    expect(err.message).toBe(`opening the database ${path.join(file, 'data', 'lync-exo.db')}: part of the path is a file, not a directory (ENOTDIR)`);
  });

  // root writes anywhere, so as root the check runs in a child process as nobody (uid 65534)
  it('a directory this user cannot write', async () => {
    const dir = path.join(root, 'read-only');
    mkdirSync(dir);
    chmodSync(dir, 0o555);
    const file = path.join(dir, 'lync-exo.db');
    const asRoot = process.getuid?.() === 0;
    let message: string;
    let code: string;
    if (!asRoot) {
      const err = openError(file);
      ({ message, code } = err);
    } else {
      chmodSync(root, 0o755);
      const script = `import { openSqliteStore } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../src/store/sqlite.ts'))};
        try { openSqliteStore(${JSON.stringify(file)}); console.log(JSON.stringify({ code: 'opened' })); }
        catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { uid: 65534, gid: 65534, cwd: path.resolve(import.meta.dirname, '../..'), env: { ...process.env, HOME: '/tmp' } });
      let out = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      await new Promise((resolve) => child.on('close', resolve));
      expect(out, stderr).not.toBe('');
      ({ message, code } = JSON.parse(out) as { code: string; message: string });
    }
    expect(code).toBe('store_unwritable');
    expect(message).toBe(`opening the database ${file}: the directory ${dir} is not writable, permission denied (EACCES) (SQLite keeps its -wal and -shm files next to the database)`);
  }, 30_000);

  it('a database from a newer lync-exo', () => {
    const file = freshFile();
    open(file).closeDatabase();
    const raw = new Database(file);
    raw.pragma(`user_version = ${LATEST_VERSION + 1}`);
    raw.close();
    const err = openError(file);
    expect(err.code).toBe('store_schema_newer');
    expect(err.message).toContain(`opening the database ${file}: its schema is version ${LATEST_VERSION + 1}, newer than this lync-exo knows (${LATEST_VERSION})`);
  });
});

describe('SQLite store: migrations', () => {
  it('are numbered 1, 2, 3 ... in order', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('a database written at version 1 opens at the latest version with its data', async () => {
    const file = freshFile();
    mkdirSync(path.dirname(file), { recursive: true });
    const v1 = new Database(file);
    expect(migrate(v1, 1)).toEqual([1]);
    expect(schemaVersion(v1)).toBe(1);
    // what version 1 wrote, column by column
    const req = request('req-1');
    v1.prepare(
      `INSERT INTO requests (id, runbook, deployment, requester, channel, status, created_at, expires_at, expires_ms, values_json, plan_json)
       VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
    ).run(req.id, req.runbook, req.deployment, req.requester, req.channel, req.createdAt, req.expiresAt, Date.parse(req.expiresAt), JSON.stringify(req.values), JSON.stringify(req.plan));
    v1.prepare('INSERT INTO approvals (request_id, user, at) VALUES (?, ?, ?)').run('req-1', 'U0BOB', iso(2));
    const r = run('run-1', { status: 'succeeded' });
    v1.prepare(
      `INSERT INTO runs (id, request_id, runbook, deployment, channel, requester, status, started_at, approvers_json, values_json, steps_json)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(r.id, r.requestId, r.runbook, r.deployment, r.channel, r.requester, r.status, r.startedAt, JSON.stringify(r.approvers), JSON.stringify(r.values), JSON.stringify(r.steps));
    v1.prepare('INSERT INTO audit (at, at_ms, actor, action, request_id) VALUES (?, ?, ?, ?, ?)').run(iso(2), at(2).getTime(), 'U0BOB', 'approved', 'req-1');
    v1.close();

    const s = open(file);
    const raw = new Database(file, { readonly: true });
    expect(schemaVersion(raw)).toBe(LATEST_VERSION);
    raw.close();
    expect(await s.getRequest('req-1')).toEqual({ ...req, approvals: [{ user: 'U0BOB', at: iso(2) }] });
    expect(await s.getRun('run-1')).toEqual(r);
    // version 2 added the audit channel: old records have none, new ones keep it
    await s.audit({ at: iso(3), actor: 'U0CAROL', action: 'approved', channel: 'C0LYNCOPS', requestId: 'req-1' });
    expect(await s.listAudit()).toEqual([
      { at: iso(2), actor: 'U0BOB', action: 'approved', requestId: 'req-1' },
      { at: iso(3), actor: 'U0CAROL', action: 'approved', channel: 'C0LYNCOPS', requestId: 'req-1' },
    ]);
    expect((await s.approve('req-1', 'U0CAROL', 2, at(4)))?.outcome).toBe('completed');
  });

  it('a migration that fails leaves the database at the version before it', () => {
    const file = freshFile();
    open(file).closeDatabase();
    const raw = new Database(file);
    const broken = [...MIGRATIONS, { version: LATEST_VERSION + 1, description: 'broken', sql: 'CREATE TABLE half_done (x); INSERT INTO no_such_table VALUES (1);' }];
    expect(() => migrate(raw, LATEST_VERSION + 1, broken)).toThrow(/no_such_table/);
    expect(schemaVersion(raw)).toBe(LATEST_VERSION);
    expect(raw.prepare("SELECT name FROM sqlite_master WHERE name = 'half_done'").get()).toBeUndefined();
    raw.close();
  });

  it('keeps the audit append-only, even for SQL run by hand', async () => {
    const file = freshFile();
    const s = open(file);
    await s.audit({ at: iso(1), actor: 'U0BOB', action: 'approved' });
    const raw = new Database(file);
    expect(() => raw.prepare("UPDATE audit SET actor = 'U0MALLORY'").run()).toThrow(/append-only/);
    expect(() => raw.prepare('DELETE FROM audit').run()).toThrow(/append-only/);
    raw.close();
    expect(await s.listAudit()).toEqual([{ at: iso(1), actor: 'U0BOB', action: 'approved' }]);
  });
});
