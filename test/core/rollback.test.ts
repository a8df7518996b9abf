// Rollback restores what was there, against LyncSim with real PowerShell agents: after a replace (every property
// of the old provider back, its AutodiscoverUrl too), after a setup that failed at replication, and a second
// rollback that finds nothing left to undo. Setup warns before it replaces a provider hosted voice mail routes to.
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { readSimState, type SimState } from '../support/simState.js';
import { CHANNEL, createWorld, USERS, type World, type WorldOptions } from '../support/world.js';

const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

function start(options: Partial<WorldOptions> = {}) {
  const notifier = new RecordingNotifier();
  world = createWorld({ executable: pwshExecutable()!, ...options, notifier });
  return { notifier, w: world };
}

/** `text` asked by alice, approved by bob, run to its end; the plan it made. */
async function approved(w: World, notifier: RecordingNotifier, text: string) {
  await w.service.command(alice, text);
  const planView = notifier.views('plan').at(-1);
  expect(planView, JSON.stringify(notifier.ephemerals.at(-1))).toBeDefined();
  await w.service.approve(bob, planView!.request.id);
  await w.scheduler.idle();
  return { plan: planView!.request.plan, run: notifier.views('run').at(-1)!.run };
}

const AUTODISCOVER = 'https://webdir.contoso.com/Autodiscover/AutodiscoverService.svc/root';

describeWithPwsh('rollback against LyncSim', () => {
  it('after a replace: warns about hosted voice mail first, then puts the old provider back whole, AutodiscoverUrl included; a second rollback finds nothing to undo', async () => {
    const { notifier, w } = start({
      sim: {
        accessEdge: { AllowFederatedUsers: true },
        providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true, EnabledSharedAddressSpace: true, HostsOCSUsers: false, IsLocal: false, VerificationLevel: 'UseSourceVerification', AutodiscoverUrl: AUTODISCOVER }],
        hostedVoicemailPolicies: [{ Identity: 'Global', Description: null, Destination: 'exap.um.outlook.com', Organization: null }],
      },
    });
    const before = readSimState(w.statePath).cms.hostingProviders[0]!;

    // setup for another cloud replaces the provider (ProxyFqdn cannot change in place): the plan says what it breaks
    const setup = await approved(w, notifier, 'setup --cloud gcchigh');
    expect(setup.plan.steps.map((s) => s.action)).toEqual(['no-op', 'replace']);
    expect(setup.plan.warnings).toEqual([expect.stringMatching(/^hosted voice mail policy "Global" routes to exap\.um\.outlook\.com: removing this provider also stops/)]);
    expect(setup.run.status).toBe('succeeded');
    const replaced = readSimState(w.statePath).cms.hostingProviders;
    expect(replaced.map((p) => [p.ProxyFqdn, p.AutodiscoverUrl])).toEqual([['exap.um.office365.us', null]]);

    const rollback = await approved(w, notifier, 'rollback');
    expect(notifier.views('plan').at(-1)!.request.rollbackOf).toBe(setup.run.id);
    expect(rollback.plan.steps.map((s) => [s.action, s.target])).toEqual([['replace', 'Exchange Online']]);
    expect(rollback.plan.steps[0]!.invocations[1]!.parameters).toMatchObject({ ProxyFqdn: 'exap.um.outlook.com', AutodiscoverUrl: AUTODISCOVER });
    expect(rollback.run.status, JSON.stringify(rollback.run.steps.map((s) => s.error).filter(Boolean))).toBe('succeeded');
    const restored = readSimState(w.statePath).cms.hostingProviders;
    expect(restored).toHaveLength(1);
    for (const key of ['Identity', 'ProxyFqdn', 'Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal', 'VerificationLevel', 'AutodiscoverUrl'] as const) {
      expect(restored[0]![key], key).toEqual(before[key]);
    }

    // a second rollback: the deployment is as it was before the setup, and status is offered
    const plans = notifier.views('plan').length;
    await w.service.command(alice, 'rollback');
    expect(notifier.views('plan')).toHaveLength(plans);
    expect(notifier.notices(USERS.alice).at(-1)).toEqual({ code: 'already-undone', runId: setup.run.id, by: rollback.run.id, runbook: 'setup', report: 'status', command: '/lync-exo' });
    expect(notifier.lastEphemeral(USERS.alice)).toMatch(/already as it was before run .*; there is nothing to undo\. To see it, run `\/lync-exo status`/);
    // and the same when the run is named
    await w.service.command(alice, `rollback ${setup.run.id}`);
    expect(notifier.notices(USERS.alice).at(-1)).toMatchObject({ code: 'already-undone', runId: setup.run.id });
  });

  it('after a setup that failed at replication: the change reached the store, so it can be rolled back', async () => {
    const { notifier, w } = start({ sim: { stuckReplicas: ['edge01.contoso.local'] }, policy: { replication: { pollIntervalMs: 200, timeoutMs: 1500 } } });
    const setup = await approved(w, notifier, 'setup');
    expect(setup.run.status).toBe('failed');
    expect(setup.run.steps.find((s) => s.kind === 'replication')!.status).toBe('failed');
    expect(readSimState(w.statePath).cms.hostingProviders).toHaveLength(1);

    // the Edge catches up (the replica service was fixed); the rollback of the failed run runs and checks
    const state = JSON.parse(readFileSync(w.statePath, 'utf8')) as SimState;
    for (const r of state.replicas) r.stuck = false;
    writeFileSync(w.statePath, JSON.stringify(state));
    const rollback = await approved(w, notifier, 'rollback');
    expect(notifier.views('plan').at(-1)!.request.rollbackOf).toBe(setup.run.id);
    expect(rollback.plan.steps.map((s) => s.action)).toEqual(['remove', 'change']);
    expect(rollback.run.status).toBe('succeeded');
    const after = readSimState(w.statePath).cms;
    expect(after.hostingProviders).toEqual([]);
    expect(after.accessEdge.AllowFederatedUsers).toBe(false);
  });
});
