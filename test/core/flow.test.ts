// The whole flow through the service with real PowerShell agents on LyncSim; the notifier records views.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { standInNote } from '../../src/core/run/execute.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import type { CheckedReplicaRow } from '../../src/core/run/execute.js';
import { readSimState, SIM_TRUSTED_APP } from '../support/simState.js';
import { CHANNEL, createWorld, USERS, type World, type WorldOptions } from '../support/world.js';

const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function start(options: Partial<WorldOptions> = {}) {
  const notifier = (options.notifier as RecordingNotifier | undefined) ?? new RecordingNotifier();
  world = createWorld({ executable: pwshExecutable()!, ...options, notifier });
  return { notifier, world };
}

async function requestAndApprove(w: World, notifier: RecordingNotifier, text = 'setup') {
  await w.service.command(alice, text);
  const planView = notifier.views('plan').at(-1);
  expect(planView, notifier.lastEphemeral(USERS.alice)).toBeDefined();
  await w.service.approve(bob, planView!.request.id);
  await w.scheduler.idle();
  return planView!.request.id;
}

describeWithPwsh('the setup flow against LyncSim', () => {
  it('an edge agent that is not on an Edge Server: the run and status say its -LocalStore proves nothing about an Edge, and what to configure', async () => {
    // as in the example policy: the one agent (here edge01, pretending) runs on the Front End
    const { notifier, world: w } = start({ policy: { edgeStandIns: { edge01: 'fe01.contoso.local' } } });
    await requestAndApprove(w, notifier);
    const run = notifier.views('run').at(-1)!.run;
    expect(run.status).toBe('succeeded');
    expect(run.summary).toBe(
      "the change is in the Central Management Store; no Edge Server was checked: edge01 read the local store of fe01.contoso.local, not an Edge's. To prove replication to an Edge, run an agent with the edge role on each Edge Server (agents.remote, agents.expectedEdges)",
    );
    expect(run.summary).not.toContain('every Edge');
    const note = standInNote('edge01', 'fe01.contoso.local');
    expect(note).toContain('run `lync-exo agent` with LYNC_EXO_AGENT_ROLES=edge on each Edge Server');
    expect(run.steps.find((s) => s.kind === 'edge-check')!.warnings).toContain(note);

    await w.service.command(alice, 'status');
    const status = notifier.views('report').at(-1)!;
    expect(status.steps.find((s) => s.stepId === 'edge-providers')!.warnings).toContain(note);
    expect(status.steps.find((s) => s.stepId === 'replication')!.warnings ?? []).not.toContain(note);
  });

  it('plans, refuses self-approval, runs on approval, waits for replication and checks the Edge', async () => {
    const { notifier, world: w } = start();
    await w.service.command(alice, 'setup');
    expect(notifier.views('plan'), JSON.stringify(notifier.ephemerals)).toHaveLength(1);
    const planned = notifier.views('plan')[0]!;
    expect(planned.request.status).toBe('pending');
    expect(planned.request.plan.steps.map((s) => s.action)).toEqual(['change', 'create']);

    await w.service.approve(alice, planned.request.id);
    expect(notifier.lastEphemeral(USERS.alice)).toMatch(/someone else must approve/);

    await w.service.approve(bob, planned.request.id);
    await w.scheduler.idle();
    const run = notifier.views('run')[0]!.run;
    expect(run.summary).toBeDefined();
    expect(run.status, JSON.stringify(run.steps, null, 1)).toBe('succeeded');
    expect(run.approvers).toEqual([USERS.bob]);
    const replication = run.steps.find((s) => s.kind === 'replication')!;
    // the Edge the check reads had to hold the change; the trusted application pool never reports and is only shown
    expect((replication.replicas as CheckedReplicaRow[]).map((r) => [r.fqdn, r.required, r.current])).toEqual([
      ['fe01.contoso.local', false, true],
      ['edge01.contoso.local', true, true],
      [SIM_TRUSTED_APP, false, false],
    ]);
    const changeBegan = Date.parse(run.startedAt);
    expect(Date.parse(replication.replicas!.find((r) => r.fqdn === 'edge01.contoso.local')!.lastUpdateCreation!)).toBeGreaterThan(changeBegan);
    const edge = run.steps.find((s) => s.kind === 'edge-check')!;
    expect(edge.edges).toHaveLength(1);
    expect(edge.edges![0]!.checks.every((c) => c.ok)).toBe(true);

    const sim = readSimState(w.statePath);
    expect(sim.cms.accessEdge.AllowFederatedUsers).toBe(true);
    expect(sim.cms.hostingProviders.map((p) => p.Identity)).toEqual(['Exchange Online']);
    expect(notifier.views('plan')[0]!.request.status).toBe('approved');

    // planning again: nothing to change
    await w.service.command(alice, 'setup');
    expect(notifier.views('nothing-to-change')).toHaveLength(1);

    // verify passes item by item
    await w.service.command(alice, 'verify');
    const report = notifier.views('report').at(-1)!;
    expect(report.verdict).toBe('pass');
    expect(report.items?.length).toBeGreaterThanOrEqual(8);

    // rollback restores the pre-state
    await w.service.command(alice, 'rollback');
    const rollbackPlan = notifier.views('plan').at(-1)!;
    expect(rollbackPlan.request.runbook).toBe('rollback');
    await w.service.approve(bob, rollbackPlan.request.id);
    await w.scheduler.idle();
    expect(notifier.views('run').at(-1)!.run.status).toBe('succeeded');
    const after = readSimState(w.statePath);
    expect(after.cms.accessEdge.AllowFederatedUsers).toBe(false);
    expect(after.cms.hostingProviders).toEqual([]);
  });

  it('stops at the first failing step: later steps never run and the report says so', async () => {
    const { notifier, world: w } = start({ sim: { faults: { fail: { 'New-CsHostingProvider': 'the CMS is read-only right now' } } } });
    await requestAndApprove(w, notifier);
    const run = notifier.views('run')[0]!.run;
    expect(run.status).toBe('failed');
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped', 'skipped']);
    expect(run.steps[1]!.error).toMatch(/New-CsHostingProvider: agent fe01: the CMS is read-only right now/);
    expect(readSimState(w.statePath).cms.hostingProviders).toEqual([]);
  });

  it('refuses to run when the deployment changed after approval was asked', async () => {
    const { notifier, world: w } = start();
    await w.service.command(alice, 'setup');
    const planned = notifier.views('plan')[0]!;
    const state = JSON.parse(readFileSync(w.statePath, 'utf8')) as { cms: { accessEdge: Record<string, unknown> } };
    state.cms.accessEdge.AllowFederatedUsers = true;
    writeFileSync(w.statePath, JSON.stringify(state));
    await w.service.approve(bob, planned.request.id);
    await w.scheduler.idle();
    const run = notifier.views('run')[0]!.run;
    expect(run.status).toBe('refused');
    expect(run.summary).toMatch(/changed after the plan was approved/);
    expect(readSimState(w.statePath).cms.hostingProviders).toEqual([]);
  });

  it('names the lagging replica and what to check when replication times out', async () => {
    const { notifier, world: w } = start({ sim: { stuckReplicas: ['edge01.contoso.local'] }, policy: { replication: { pollIntervalMs: 200, timeoutMs: 1500 } } });
    await requestAndApprove(w, notifier);
    const run = notifier.views('run')[0]!.run;
    expect(run.status).toBe('failed');
    const replication = run.steps.find((s) => s.kind === 'replication')!;
    expect(replication.error).toMatch(/not up to date: edge01\.contoso\.local/);
    expect(replication.hints?.join(' ')).toMatch(/Replica Replicator Agent.*4443/s);
    expect(run.steps.find((s) => s.kind === 'edge-check')!.status).toBe('skipped');
  });

  it('waits for what the policy requires too: a required replica that never reports times out the run, named', async () => {
    const { notifier, world: w } = start({ policy: { replication: { pollIntervalMs: 200, timeoutMs: 1500, require: [SIM_TRUSTED_APP] } } });
    await requestAndApprove(w, notifier);
    const run = notifier.views('run')[0]!.run;
    expect(run.status).toBe('failed');
    const replication = run.steps.find((s) => s.kind === 'replication')!;
    expect(replication.error).toMatch(new RegExp(`not up to date: ${SIM_TRUSTED_APP.replace(/\./g, '\\.')}$`));
    expect(replication.hints?.join(' ')).toMatch(/replication\.ignore/);
  });

  it('loses nothing when Slack fails during a run: the change runs, the run is saved, the report is posted at the end', async () => {
    class FlakyNotifier extends RecordingNotifier {
      failures = 0;
      override async post(channel: string, view: Parameters<RecordingNotifier['post']>[1]) {
        if (view.kind === 'run' && view.run.status === 'running') {
          this.failures++;
          throw new Error('slack: service_unavailable');
        }
        return super.post(channel, view);
      }
    }
    const notifier = new FlakyNotifier();
    // the outbox's clock: moved past its backoff once the run is over, instead of waiting it out
    let skew = 0;
    const { world: w } = start({ notifier, delivery: { now: () => Date.now() + skew } });
    await requestAndApprove(w, notifier);
    skew += 61_000;
    w.courier.kick();
    await w.scheduler.idle();
    // the outbox tried the progress message while the run went on, then delivered the finished run once
    expect(notifier.failures).toBeGreaterThanOrEqual(1);
    const posted = notifier.views('run');
    expect(posted).toHaveLength(1);
    expect(posted[0]!.run.status).toBe('succeeded');
    const saved = await w.store.getRun(posted[0]!.run.id);
    expect(saved?.status).toBe('succeeded');
    expect(readSimState(w.statePath).cms.hostingProviders).toHaveLength(1);
  });

  it('uses the 21Vianet ProxyFqdn', async () => {
    const { notifier, world: w } = start();
    await requestAndApprove(w, notifier, 'setup --cloud 21vianet');
    expect(notifier.views('run')[0]!.run.status).toBe('succeeded');
    expect(readSimState(w.statePath).cms.hostingProviders[0]!.ProxyFqdn).toBe('exap.um.partner.outlook.cn');
  });
});
