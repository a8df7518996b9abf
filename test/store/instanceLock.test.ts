import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { acquireInstanceLock, describeHeldLock } from '../../src/store/instanceLock.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ROOT = path.resolve(import.meta.dirname, '..', '..');

it('a second taker is refused with the holder named; after release the lock is free again', () => {
  const db = path.join(dir, 'data', 'lync-exo.db');
  const first = acquireInstanceLock(db, new Date('2026-12-01T08:00:00Z'), { host: 'mgmt01', pid: 4242 });
  expect(first.ok).toBe(true);
  const second = acquireInstanceLock(db, new Date('2026-12-01T09:00:00Z'), { host: 'mgmt02', pid: 77 });
  expect(second).toEqual({ ok: false, file: db, holder: { host: 'mgmt01', pid: 4242, since: '2026-12-01T08:00:00.000Z' } });
  if (second.ok) throw new Error('unreachable');
  expect(describeHeldLock(second)).toBe(
    `the store ${db} is in use by another lync-exo: pid 4242 on mgmt01, since 2026-12-01T08:00:00.000Z; one instance runs per store: stop that one first, or give this one its own LYNC_EXO_DATA_DIR`,
  );
  if (first.ok) first.release();
  expect(existsSync(`${db}.instance.json`)).toBe(false);
  const third = acquireInstanceLock(db, new Date('2026-12-01T10:00:00Z'), { host: 'mgmt02', pid: 78 });
  expect(third).toMatchObject({ ok: true, holder: { host: 'mgmt02', pid: 78 } });
  if (third.ok) third.release();
});

it('a holder killed with SIGKILL leaves its note behind but not its lock', async () => {
  const db = path.join(dir, 'lync-exo.db');
  const script = `import { acquireInstanceLock } from ${JSON.stringify(path.join(ROOT, 'src', 'store', 'instanceLock.ts'))};
const l = acquireInstanceLock(${JSON.stringify(db)}); console.log(l.ok ? 'held' : 'refused'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => (b.toString().includes('held') ? resolve() : reject(new Error(b.toString()))));
    child.once('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  const refused = acquireInstanceLock(db);
  expect(refused).toMatchObject({ ok: false, holder: { pid: child.pid } });
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await gone;
  expect(JSON.parse(readFileSync(`${db}.instance.json`, 'utf8'))).toMatchObject({ pid: child.pid });
  const next = acquireInstanceLock(db);
  expect(next).toMatchObject({ ok: true, holder: { pid: process.pid } });
  if (next.ok) next.release();
});
