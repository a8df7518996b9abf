// The planner fed by real reads: the agent session reads LyncSim through real PowerShell, the planner decides.
import { afterEach, expect, it } from 'vitest';
import { readState } from '../../src/core/run/execute.js';
import { resolveInputs } from '../../src/core/runbook/inputs.js';
import { plan } from '../../src/core/runbook/planner.js';
import { renderInvocation } from '../../src/core/runbook/render.js';
import type { SimOverrides } from '../../src/simulator.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { createWorld, type World } from '../support/world.js';

let world: World | undefined;
afterEach(async () => {
  await world?.close();
  world = undefined;
});

async function planFor(sim: SimOverrides, options: Record<string, string> = {}) {
  world = createWorld({ executable: pwshExecutable()!, notifier: new RecordingNotifier(), sim });
  const setup = world.runbooks.get('setup')!;
  const inputs = resolveInputs(setup, options);
  if (!inputs.ok) throw new Error(JSON.stringify(inputs.error));
  const read = await readState(setup.read, world.agents);
  if (!read.ok) throw new Error(JSON.stringify(read.error));
  return plan({ runbook: setup, values: inputs.value, preState: read.value });
}

const exchange = { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true, EnabledSharedAddressSpace: true, HostsOCSUsers: false, IsLocal: false, VerificationLevel: 'UseSourceVerification' as const };

describeWithPwsh('planning from what LyncSim reports', () => {
  it('gives only no-ops when the deployment is already as desired', async () => {
    const p = await planFor({ accessEdge: { AllowFederatedUsers: true }, providers: [exchange] });
    expect(p.refusals).toEqual([]);
    expect(p.steps.map((s) => s.action)).toEqual(['no-op', 'no-op']);
  });

  it('replaces a provider whose ProxyFqdn differs', async () => {
    const p = await planFor({ providers: [{ ...exchange, ProxyFqdn: 'exap.um.old.example.com' }] });
    expect(p.steps[1]!.action).toBe('replace');
    expect(p.steps[1]!.invocations.map(renderInvocation)[0]).toBe("Remove-CsHostingProvider -Identity 'Exchange Online' -Confirm:$false");
  });

  it('refuses on default routing and when another provider owns the ProxyFqdn', async () => {
    const routing = await planFor({ routingMethod: 'UseDefaultRouting', defaultRouteFqdn: 'sip.partner.example.com' });
    expect(routing.refusals.join(' ')).toMatch(/UseDefaultRouting.*DNS SRV routing/);
    await world?.close();
    world = undefined;
    const owned = await planFor({ providers: [{ ...exchange, Identity: 'Hosted UM' }] });
    expect(owned.refusals.join(' ')).toMatch(/already used by "Hosted UM"/);
  });

  it.each([
    ['21vianet', 'exap.um.partner.outlook.cn'],
    ['gcchigh', 'exap.um.office365.us'],
  ])('gives the %s cloud its ProxyFqdn', async (cloud, fqdn) => {
    const p = await planFor({}, { cloud });
    expect(p.steps[1]!.invocations[0]!.parameters.ProxyFqdn).toBe(fqdn);
  });
});
