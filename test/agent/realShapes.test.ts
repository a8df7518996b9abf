// The whole setup against objects shaped like the real module's: identity objects, heavy XML members, replica dates
// of kind Local in a zone behind UTC, Lync's public providers, and a trusted application pool that never reports.
// The agents play hosts in New York: a date labelled UTC without conversion would sit five hours in the past, so
// no replica would ever count as holding the change and the run would time out.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { compose, type Composition } from '../../src/compose.js';
import { loadRunbooks } from '../../src/config/runbooks.js';
import type { CheckedReplicaRow } from '../../src/core/run/execute.js';
import { createSimulatedDeployment, readSimState, SIM_EDGE, SIM_FRONT_END, SIM_TRUSTED_APP, type SimulatedDeployment } from '../../src/simulator.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { CHANNEL, testPolicy, USERS } from '../support/world.js';

const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };

let cleanup: (() => Promise<void>) | undefined;
afterEach(async () => {
  await cleanup?.();
  cleanup = undefined;
});

function start(dateKind: 'Local' | 'Unspecified' = 'Local'): { app: Composition; sim: SimulatedDeployment; notifier: RecordingNotifier } {
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-shapes-'));
  const runbooks = loadRunbooks();
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const sim = createSimulatedDeployment({
    dir,
    lagSeconds: 1,
    executable: pwshExecutable()!,
    runbooks,
    log,
    sim: { dateKind },
    agentEnv: { TZ: 'America/New_York' },
  });
  const notifier = new RecordingNotifier();
  let n = 0;
  const app = compose({
    policy: testPolicy(),
    agents: sim.pool,
    notifier,
    directory: { groupMembers: async () => [] },
    log,
    runbooks,
    newId: (prefix) => `${prefix}-${++n}`,
  });
  cleanup = async () => {
    await app.scheduler.idle();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { app, sim, notifier };
}

describeWithPwsh('the agent on objects shaped like the real module\'s', () => {
  // Unspecified is the kind a value read back from SQL Server has: an agent that did not convert it would send the
  // New York wall clock as if it were UTC, five hours off
  it.each(['Local', 'Unspecified'] as const)('reads them as flat records: identities as text, enums by name, %s dates in UTC, the CMS status, no heavy members', async (kind) => {
    const { sim } = start(kind);
    const [fe, edge] = sim.agents;
    const settings = await fe!.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    expect(settings.ok || settings.error).toBe(true);
    expect(settings.ok && settings.output[0]).toMatchObject({ Identity: 'Global', RoutingMethod: 'UseDnsSrvRouting' });
    const status = await fe!.invoke({ cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: {} });
    expect(status.ok || status.error).toBe(true);
    const rows = status.ok ? status.output : [];
    expect(rows.map((r) => r.ReplicaFqdn)).toEqual([SIM_FRONT_END, SIM_EDGE, SIM_TRUSTED_APP]);
    // the starting snapshot is a day old: read in New York and converted, it is still a day old, in UTC
    const created = String(rows[0]!.LastUpdateCreation);
    expect(created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    const ageHours = (Date.now() - Date.parse(created)) / 3_600_000;
    expect(ageHours).toBeGreaterThan(23);
    expect(ageHours).toBeLessThan(25);
    expect(rows[2]).toMatchObject({ UpToDate: false, LastStatusReport: null, LastUpdateCreation: null, ProductVersion: null });
    const cms = await fe!.invoke({ cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: { CentralManagementStoreStatus: true } });
    expect(cms.ok || cms.error).toBe(true);
    expect(cms.ok && cms.output[0]).toMatchObject({ ActiveMasterFqdn: SIM_FRONT_END, ActiveFileTransferAgents: [SIM_FRONT_END] });
    const local = await edge!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } });
    expect(local).toMatchObject({ ok: true, output: [] });
    for (const item of [...(settings.ok ? settings.output : []), ...rows]) {
      for (const heavy of ['Element', 'XsAnyElements', 'XsAnyAttributes', 'Anchor']) expect(item).not.toHaveProperty(heavy);
    }
  });

  it('plans, runs, verifies and rolls back the whole setup', async () => {
    const { app, sim, notifier } = start();
    await app.service.command(alice, 'setup');
    const planned = notifier.views('plan').at(-1);
    expect(planned, JSON.stringify(notifier.ephemerals)).toBeDefined();
    expect(planned!.request.plan.steps.map((s) => s.action)).toEqual(['change', 'create']);
    await app.service.approve(bob, planned!.request.id);
    await app.scheduler.idle();
    const run = notifier.views('run').at(-1)!.run;
    expect(run.status, JSON.stringify(run.steps, null, 1)).toBe('succeeded');
    const replication = run.steps.find((s) => s.kind === 'replication')!;
    expect((replication.replicas as CheckedReplicaRow[]).map((r) => [r.fqdn, r.required, r.current])).toEqual([
      [SIM_FRONT_END, false, true],
      [SIM_EDGE, true, true],
      [SIM_TRUSTED_APP, false, false],
    ]);
    const edgeCheck = run.steps.find((s) => s.kind === 'edge-check')!;
    expect(edgeCheck.edges?.map((e) => [e.agent, e.ok])).toEqual([['edge01', true]]);
    // the stored pre-state holds the projected records only: small, and no XML in it
    const pre = JSON.stringify(run.preState);
    expect(pre).not.toMatch(/"(Element|XsAnyElements|XsAnyAttributes|Anchor)"/);
    expect(pre.length).toBeLessThan(4000);

    await app.service.command(alice, 'verify');
    expect(notifier.views('report').at(-1)!.verdict).toBe('pass');

    await app.service.command(alice, 'rollback');
    const rollback = notifier.views('plan').at(-1)!;
    expect(rollback.request.runbook).toBe('rollback');
    await app.service.approve(bob, rollback.request.id);
    await app.scheduler.idle();
    expect(notifier.views('run').at(-1)!.run.status).toBe('succeeded');
    const after = readSimState(sim.statePath);
    expect(after.cms.hostingProviders).toEqual([]);
    expect(after.cms.accessEdge.AllowFederatedUsers).toBe(false);
    expect(after.cms.publicProviders.map((p) => p.Identity)).toEqual(['Messenger', 'Yahoo', 'AOL']);
  });
});
