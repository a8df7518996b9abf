// Which store the bot opens: SQLite with its instance lock by default, PostgreSQL when LYNC_EXO_DATABASE_URL is set;
// bad settings are named and never repeated (the URL may carry a password).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore, readDatabaseEnv } from '../../src/store/open.js';
import { describeWithPostgres, usePostgres } from '../support/postgres.js';
import { request } from './fixtures.js';

const log = pino({ level: 'silent' });
const root = mkdtempSync(path.join(tmpdir(), 'lync-exo-open-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the store the environment names', () => {
  it('reads the URL and the lease, 30 s by default', () => {
    expect(readDatabaseEnv({})).toEqual({ leaseMs: 30_000 });
    expect(readDatabaseEnv({ LYNC_EXO_DATABASE_URL: ' postgres://lync@db:5432/lync ', LYNC_EXO_LEASE_SECONDS: '3' })).toEqual({ url: 'postgres://lync@db:5432/lync', leaseMs: 3000 });
    expect(readDatabaseEnv({ LYNC_EXO_DATABASE_URL: 'postgresql://db/lync' }).url).toBe('postgresql://db/lync');
  });

  it('names a bad value without repeating it', () => {
    const bad = () => readDatabaseEnv({ LYNC_EXO_DATABASE_URL: 'mysql://root:hunter2-secret@db/lync' });
    expect(bad).toThrow(/^environment: LYNC_EXO_DATABASE_URL: must be a PostgreSQL URL such as postgres:\/\/lync-exo@db-host:5432\/lync-exo$/);
    expect(() => readDatabaseEnv({ LYNC_EXO_LEASE_SECONDS: '0' })).toThrow(/^environment: LYNC_EXO_LEASE_SECONDS: must be a whole number of seconds from 1 to 3600$/);
    expect(() => readDatabaseEnv({ LYNC_EXO_LEASE_SECONDS: '2.5' })).toThrow(/LYNC_EXO_LEASE_SECONDS/);
  });

  it('SQLite by default, one instance per file: a second open is refused, naming the holder', async () => {
    const dir = path.join(root, 'sqlite');
    const first = await openStore(dir, readDatabaseEnv({}), log);
    expect(first.shared).toBeUndefined();
    expect(first.where).toBe(path.join(dir, 'lync-exo.db'));
    await expect(openStore(dir, readDatabaseEnv({}), log)).rejects.toThrow(new RegExp(`in use by another lync-exo: pid ${process.pid} on `));
    await first.close();
    const again = await openStore(dir, readDatabaseEnv({}), log);
    await again.close();
  });
});

describeWithPostgres('the store the environment names: PostgreSQL', () => {
  const server = usePostgres();
  it('opens PostgreSQL when LYNC_EXO_DATABASE_URL is set; several instances share it', async () => {
    const env = readDatabaseEnv({ LYNC_EXO_DATABASE_URL: await server().freshDatabase(), LYNC_EXO_LEASE_SECONDS: '5' });
    const [a, b] = [await openStore(path.join(root, 'unused'), env, log), await openStore(path.join(root, 'unused'), env, log)];
    expect(a.shared?.leaseMs).toBe(5000);
    await a.store.createRequest(request('req-1'));
    expect((await b.store.getRequest('req-1'))?.id).toBe('req-1');
    expect([await a.shared!.leader(), await b.shared!.leader()]).toEqual([true, false]);
    await a.close();
    await b.close();
  });
});
