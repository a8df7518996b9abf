// SIGTERM to the bot process during a run, and start-ups that cannot open the database.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { okCalls } from '../../src/simulator.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { createHarness, messageTs, requestSetup, runs, said, stepStatuses, USERS, waitFor, type Harness } from './bot.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

describeWithPwsh('SIGTERM during a run (while it waits for replication, 5 s lag)', () => {
  let h: Harness;
  let exit: { code: number | null; signal: NodeJS.Signals | null };
  let changesAtSignal: number;
  let shuttingDownReply: string | undefined;

  beforeAll(async () => {
    h = await createHarness({ sim: { replicationLagSeconds: 5 } });
    await h.start();
    const request = await requestSetup(h);
    await h.approve(USERS.bob, request.id, messageTs(request));
    // the changes are made; the run is polling Get-CsManagementStoreReplicationStatus
    await waitFor(() => runs(h).find((r) => stepStatuses(r).replication === 'running'), 90_000, 'the replication wait', () => h.logs());
    changesAtSignal = h.sim().calls.length;
    h.bot!.signal('SIGTERM');
    // new work is refused while the step finishes (once the signal has been taken: wait for its log line)
    await waitFor(() => h.logs().includes('shutting down') || undefined, 60_000, 'the shutdown log line', () => h.logs());
    const before = h.slack.of('respond').length;
    await h.command(USERS.carol, 'setup');
    shuttingDownReply = (await waitFor(() => h.slack.of('respond').slice(before).at(-1), 60_000, 'a reply to a command sent during shutdown', () => h.logs())).body.text as string;
    exit = await h.bot!.exited;
  });
  afterAll(async () => {
    await h?.close();
  });

  it('the current step completes, nothing more changes, the run is saved with its report, the lock is free, exit code 0', () => {
    expect(exit, h.logs()).toEqual({ code: 0, signal: null });
    expect(shuttingDownReply).toMatch(/shutting down and takes no new changes/);
    const [run] = runs(h);
    expect(runs(h)).toHaveLength(1);
    // finished, not left 'running' for the next start to call interrupted
    expect(run!.status).not.toBe('running');
    expect(stepStatuses(run!)).toMatchObject({ 'shared-sip-address-space': 'succeeded', 'hosting-provider': 'succeeded', replication: 'succeeded' });
    expect(h.sim().calls).toHaveLength(changesAtSignal);
    expect(okCalls(h.sim(), 'New-CsHostingProvider')).toHaveLength(1);
    const last = h.slack.calls.filter((c) => c.method === 'chat.update' && said(c).includes(run!.id)).at(-1);
    expect(last && said(last)).toContain(run!.summary!.slice(0, 30));
    expect(h.query(`SELECT * FROM audit WHERE action = 'run-${run!.status}'`)).toHaveLength(1);
    expect(h.query('SELECT * FROM locks')).toEqual([]);
  });

  // runChecks stops between checks too: the Edge check never starts after SIGTERM.
  it('is recorded as stopped by shutdown after the replication step; the Edge check does not start', () => {
    const [run] = runs(h);
    expect(run!.status, run!.summary ?? '').toBe('stopped');
    expect(run!.summary).toMatch(/^stopped by shutdown after "Central Management Store replication"/);
    expect(stepStatuses(run!)['edge-local-store']).toBe('skipped');
    const last = h.slack.calls.filter((c) => c.method === 'chat.update' && said(c).includes(run!.id)).at(-1);
    expect(last && said(last)).toMatch(/stopped by shutdown/);
  });
});

describe('start-up with a database that cannot be used', () => {
  it('a corrupted database file: a clear error naming the file, non-zero exit', async () => {
    const h = (harness = await createHarness());
    writeFileSync(h.dbPath, 'this is not an SQLite database, it is what a bad disk left behind\n'.repeat(200));
    const bot = await h.start({ listening: false });
    const exit = await bot.exited;
    expect(exit.code, h.logs()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(h.logs()).toContain(`lync-exo: opening the database ${h.dbPath}`);
    expect(h.logs()).toMatch(/not a database|corrupt/i);
  });

  it('a data dir under a regular file: a clear error naming the path, non-zero exit', async () => {
    const h = (harness = await createHarness());
    const blocker = path.join(h.dir, 'not-a-dir');
    writeFileSync(blocker, 'a file where a directory should be');
    const dataDir = path.join(blocker, 'data');
    const bot = await h.start({ listening: false, env: { LYNC_EXO_DATA_DIR: dataDir } });
    const exit = await bot.exited;
    expect(exit.code, h.logs()).not.toBe(0);
    expect(exit.code).not.toBeNull();
    expect(h.logs()).toContain(dataDir);
    expect(h.logs()).not.toMatch(/^\s+at /m);
  });
});
