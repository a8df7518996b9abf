// One bot per store, against the bot as a real process: a second one on the same data dir refuses to start and
// names the holder, while the first one's run goes on untouched; after kill -9 of the holder a new one starts.
import { renameSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { afterEach, expect, it } from 'vitest';
import { okCalls, readSimState } from '../../src/simulator.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { createHarness, locks, messageTs, requestSetup, runs, stepStatuses, USERS, waitFor, type Harness } from './bot.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

/** Lets a stuck replica catch up (LyncSim reads its state file on every call). */
function unstick(statePath: string, fqdn: string): void {
  const state = readSimState(statePath);
  for (const r of state.replicas) if (r.fqdn === fqdn) r.stuck = false;
  writeFileSync(`${statePath}.tmp`, JSON.stringify(state));
  renameSync(`${statePath}.tmp`, statePath);
}

describeWithPwsh('one bot per store', () => {
  it('a second bot on the same data dir exits non-zero naming the holder; the first run finishes untouched; after kill -9 a new bot starts', async () => {
    // the Edge replica is stuck, so the run sits in its replication wait until the test lets it catch up
    const h = (harness = await createHarness({ sim: { stuckReplicas: ['edge01.contoso.local'] }, replicationTimeoutSeconds: 600 }));
    const first = await h.start();
    const request = await requestSetup(h);
    expect((await h.approve(USERS.bob, request.id, messageTs(request))).status).toBe(200);
    await waitFor(
      () => runs(h).some((r) => r.status === 'running' && stepStatuses(r).replication === 'running'),
      90_000,
      'the run to wait for replication',
      () => h.logs(),
    );

    const second = await h.start({ listening: false });
    const { code } = await second.exited;
    const said = second.output.join('');
    expect(code, said).not.toBe(0);
    expect(said).toContain(`the store ${h.dbPath} is in use by another lync-exo: pid ${first.child.pid} on ${hostname()}, since 20`);
    // the second bot touched nothing: the run is still running, its lock held, nothing recovered
    expect(runs(h)).toMatchObject([{ status: 'running' }]);
    expect(locks(h)).toHaveLength(1);
    expect(h.query("SELECT * FROM audit WHERE action IN ('run-interrupted', 'lock-recovered')")).toEqual([]);

    h.bot = first;
    unstick(h.statePath, 'edge01.contoso.local');
    const run = await waitFor(() => runs(h).find((r) => r.status !== 'running'), 120_000, 'the run to finish', () => h.logs());
    expect(run.status, run.summary ?? '').toBe('succeeded');
    expect(okCalls(h.sim(), 'New-CsHostingProvider')).toHaveLength(1);
    expect(locks(h)).toEqual([]);

    // the holder dies without a word: the operating system drops its lock, and the next bot starts
    await first.killHard();
    const third = await h.start();
    expect(third.output.join('')).toContain('store: instance lock taken');
    expect(third.output.join('')).not.toContain('in use by another lync-exo');
  });
});
