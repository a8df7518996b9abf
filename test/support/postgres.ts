// Real PostgreSQL for the tests: LYNC_EXO_TEST_DATABASE_URL when given, otherwise a throwaway cluster (initdb and
// pg_ctl from Debian's packages) in a temporary directory on a free loopback port, stopped and removed after the
// file's tests. The server refuses to run as root, so as root the cluster is created and run as the `postgres` user
// (runuser), its directory owned by that user. Off CI, a machine without PostgreSQL skips these tests loudly; under
// CI=true they always run, so a missing PostgreSQL fails them instead.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe } from 'vitest';
import { freePort } from './net.js';

const ci = process.env.CI === 'true' || process.env.CI === '1';
const given = process.env.LYNC_EXO_TEST_DATABASE_URL?.trim() || undefined;

/** The directory holding initdb and pg_ctl: on PATH, or Debian's /usr/lib/postgresql/<version>/bin (newest first). */
function serverBin(): string | undefined {
  const onPath = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return path.dirname(onPath);
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] && path.join(root, versions[0], 'bin');
}

const bin = given ? undefined : serverBin();
const missing = !given && !bin ? 'no PostgreSQL server here (initdb not on PATH nor under /usr/lib/postgresql/*/bin); install it (apt-get install -y postgresql) or set LYNC_EXO_TEST_DATABASE_URL' : undefined;
if (missing && !ci) console.warn(`\n${'!'.repeat(78)}\n!! NO POSTGRESQL: every PostgreSQL test in this file will SKIP.\n!! ${missing}\n${'!'.repeat(78)}\n`);

/** `describe` for tests that need a real PostgreSQL: skipped (loudly) without one, never under CI=true. */
export const describeWithPostgres: typeof describe.skip = ci || !missing ? describe : describe.skip;


export interface TestPostgres {
  /** the server's URL (its maintenance database) */
  url: string;
  /** a new empty database on it, for one test's stores or bot instances */
  freshDatabase(): Promise<string>;
  stop(): Promise<void>;
}

/** Starts a throwaway cluster (or takes LYNC_EXO_TEST_DATABASE_URL). Throws when there is none: the caller skips. */
export async function startPostgres(): Promise<TestPostgres> {
  if (missing) throw new Error(`CI=true and ${missing}`);
  let url = given;
  let stop = async () => undefined;
  if (!url) {
    const asRoot = userInfo().uid === 0;
    const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-pg-'));
    // as root, everything runs as `postgres`, which must own the data directory
    const run = (tool: string, args: string[]) => {
      const exe = path.join(bin!, tool);
      return asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', exe, ...args], { encoding: 'utf8', stdio: 'pipe' }) : execFileSync(exe, args, { encoding: 'utf8', stdio: 'pipe' });
    };
    if (asRoot) {
      const { uid, gid } = JSON.parse(execFileSync('sh', ['-c', 'printf \'{"uid":%s,"gid":%s}\' "$(id -u postgres)" "$(id -g postgres)"'], { encoding: 'utf8' })) as { uid: number; gid: number };
      chownSync(dir, uid, gid);
    }
    const data = path.join(dir, 'data');
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync']);
    const port = await freePort();
    // loopback only; the socket in the cluster's own directory; fsync off: a throwaway cluster need not survive power loss
    const opts = `-c listen_addresses=127.0.0.1 -p ${port} -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200`;
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-o', opts, '-w', '-t', '120', 'start']);
    url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    stop = async () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
  }
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  const version = (await admin.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
  console.log(`PostgreSQL for the tests: ${version} at ${url.replace(/\/\/[^@]*@/, '//')} (${given ? 'LYNC_EXO_TEST_DATABASE_URL' : 'a throwaway cluster'})`);
  const made: string[] = [];
  return {
    url,
    async freshDatabase() {
      const name = `lync_exo_test_${randomBytes(6).toString('hex')}`;
      await admin.query(`CREATE DATABASE ${name}`);
      made.push(name);
      const u = new URL(url);
      u.pathname = `/${name}`;
      return u.toString();
    },
    async stop() {
      // a given server keeps nothing of ours
      if (given) for (const name of made) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      await stop();
    },
  };
}

/** In a describeWithPostgres block: a server for the block's tests, started before them and stopped after. */
export function usePostgres(): () => TestPostgres {
  let server: TestPostgres | undefined;
  beforeAll(async () => {
    server = await startPostgres();
  }, 180_000);
  afterAll(async () => {
    await server?.stop();
  });
  return () => {
    if (!server) throw new Error('PostgreSQL did not start');
    return server;
  };
}
