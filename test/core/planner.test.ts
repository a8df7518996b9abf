import { describe, expect, it } from 'vitest';
import { cmdletAllowlist, loadRunbooks, parseRunbook } from '../../src/config/runbooks.js';
import { resolveInputs } from '../../src/core/runbook/inputs.js';
import { inverseTargets, isNoop, plan, type PreState } from '../../src/core/runbook/planner.js';
import { renderInvocation } from '../../src/core/runbook/render.js';

const runbooks = loadRunbooks();
const setup = runbooks.get('setup')!;

const accessEdge = (over: Record<string, unknown> = {}) => ({ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDnsSrvRouting', ...over });
const provider = (over: Record<string, unknown> = {}) => ({
  Identity: 'Exchange Online',
  ProxyFqdn: 'exap.um.outlook.com',
  VerificationLevel: 'UseSourceVerification',
  Enabled: true,
  EnabledSharedAddressSpace: true,
  HostsOCSUsers: false,
  IsLocal: false,
  ...over,
});
const values = (options: Record<string, string> = {}) => {
  const r = resolveInputs(setup, options);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
};
const planSetup = (preState: PreState, options: Record<string, string> = {}) => plan({ runbook: setup, values: values(options), preState });

describe('setup planning', () => {
  it('plans the two documented changes on a fresh deployment, with the exact cmdlet lines', () => {
    const p = planSetup({ accessEdge: [accessEdge()], providers: [] });
    expect(p.refusals).toEqual([]);
    expect(p.steps.map((s) => [s.stepId, s.action])).toEqual([
      ['shared-sip-address-space', 'change'],
      ['hosting-provider', 'create'],
    ]);
    expect(p.steps[0]!.changes).toEqual([{ property: 'AllowFederatedUsers', from: false, to: true }]);
    expect(p.steps.flatMap((s) => s.invocations).map(renderInvocation)).toEqual([
      'Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True',
      "New-CsHostingProvider -Identity 'Exchange Online' -Enabled $True -EnabledSharedAddressSpace $True -HostsOCSUsers $False -ProxyFqdn exap.um.outlook.com -IsLocal $False -VerificationLevel UseSourceVerification",
    ]);
    expect(p.checks.map((c) => c.type)).toEqual(['replication', 'edge-check']);
  });

  it('gives only no-ops once the deployment is as desired', () => {
    const p = planSetup({ accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [provider()] });
    expect(p.steps.map((s) => s.action)).toEqual(['no-op', 'no-op']);
    expect(isNoop(p)).toBe(true);
  });

  it('changes a provider in place, naming old and new values', () => {
    const p = planSetup({ accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [provider({ Enabled: false, VerificationLevel: 'AlwaysVerifiable' })] });
    const step = p.steps[1]!;
    expect(step.action).toBe('change');
    expect(step.changes).toEqual([
      { property: 'Enabled', from: false, to: true },
      { property: 'VerificationLevel', from: 'AlwaysVerifiable', to: 'UseSourceVerification' },
    ]);
    expect(renderInvocation(step.invocations[0]!)).toBe("Set-CsHostingProvider -Identity 'Exchange Online' -Enabled $True -VerificationLevel UseSourceVerification");
  });

  it('replaces a provider whose ProxyFqdn differs: remove, then create', () => {
    const p = planSetup({ accessEdge: [accessEdge()], providers: [provider({ ProxyFqdn: 'old.example.com' })] });
    const step = p.steps[1]!;
    expect(step.action).toBe('replace');
    expect(step.invocations.map((i) => i.cmdlet)).toEqual(['Remove-CsHostingProvider', 'New-CsHostingProvider']);
    expect(step.invocations[0]!.parameters).toEqual({ Identity: 'Exchange Online', Confirm: false });
  });

  it('refuses when the Edge is on default routing, with the reason', () => {
    const p = planSetup({ accessEdge: [accessEdge({ RoutingMethod: 'UseDefaultRouting' })], providers: [] });
    expect(p.refusals).toHaveLength(1);
    expect(p.refusals[0]).toMatch(/UseDefaultRouting.*DNS SRV routing/);
  });

  it('refuses when another provider owns the ProxyFqdn, and names it', () => {
    const p = planSetup({ accessEdge: [accessEdge()], providers: [provider({ Identity: 'Hosted UM' })] });
    expect(p.refusals[0]).toMatch(/exap\.um\.outlook\.com is already used by "Hosted UM"/);
    expect(p.refusals[0]).toMatch(/--identity "Hosted UM"/);
  });

  it.each([
    ['worldwide', 'exap.um.outlook.com'],
    ['21vianet', 'exap.um.partner.outlook.cn'],
    ['gcchigh', 'exap.um.office365.us'],
  ])('uses the %s ProxyFqdn', (cloud, fqdn) => {
    const p = planSetup({ accessEdge: [accessEdge()], providers: [] }, { cloud });
    expect(p.steps[1]!.invocations[0]!.parameters.ProxyFqdn).toBe(fqdn);
  });

  it('fingerprints plan and pre-state: stable for the same input, different when the state moved', () => {
    const a = planSetup({ accessEdge: [accessEdge()], providers: [] });
    const b = planSetup({ providers: [], accessEdge: [{ RoutingMethod: 'UseDnsSrvRouting', AllowFederatedUsers: false, Identity: 'Global' }] });
    const c = planSetup({ accessEdge: [accessEdge()], providers: [provider({ Identity: 'Other', ProxyFqdn: 'x.example.com' })] });
    expect(a.fingerprint).toMatch(/^[0-9a-f]{12}$/);
    expect(b.fingerprint).toBe(a.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });

  it('matches an existing provider without regard to case, as Lync does', () => {
    const p = planSetup({ accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [provider({ Identity: 'exchange online', ProxyFqdn: 'EXAP.um.outlook.com' })] });
    expect(p.steps[1]!.action).toBe('no-op');
  });
});

describe('inputs', () => {
  it.each([
    [{ cloud: 'moon' }, /--cloud must be one of worldwide, 21vianet, gcchigh; got "moon"/],
    [{ identity: '' }, /--identity is empty/],
    [{ identity: ' x' }, /spaces at its start or end/],
    [{ identity: 'a\nb' }, /U\+000A/],
    [{ identity: 'abc\u202Edef' }, /U\+202E/],
    [{ identity: 'x'.repeat(257) }, /257 characters long; at most 256/],
    [{ colour: 'red' }, /setup has no option --colour \(options: --cloud, --identity\)/],
  ])('refuses %j', (options, message) => {
    const r = resolveInputs(setup, options);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code === 'bad-option' && r.error.problem).toMatch(message);
  });

  it('keeps hostile but printable text as data', () => {
    const r = resolveInputs(setup, { identity: `$(rm -rf /); 'x' "y" \`z` });
    expect(r.ok && r.value.identity).toBe(`$(rm -rf /); 'x' "y" \`z`);
  });
});

describe('rollback planning', () => {
  const rollback = runbooks.get('rollback')!;
  it('removes what setup created and restores what it changed, never touching what was already set', () => {
    const before: PreState = { accessEdge: [accessEdge()], providers: [] };
    const setupPlan = planSetup(before);
    const after: PreState = { accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [provider()], voicemailPolicies: [] };
    const p = plan({ runbook: setup, requested: rollback, values: setupPlan.values, preState: after, targets: inverseTargets(setupPlan, setup) });
    expect(p.runbook).toBe('rollback');
    // in reverse order of the setup: the provider first, then the Access Edge settings
    expect(p.steps.map((s) => [s.stepId, s.action])).toEqual([
      ['hosting-provider', 'remove'],
      ['shared-sip-address-space', 'change'],
    ]);
    expect(p.steps.flatMap((s) => s.invocations).map(renderInvocation)).toEqual([
      "Remove-CsHostingProvider -Identity 'Exchange Online' -Confirm:$false",
      'Set-CsAccessEdgeConfiguration -AllowFederatedUsers $False',
    ]);
  });

  it('leaves AllowFederatedUsers True when it was True before setup', () => {
    const setupPlan = planSetup({ accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [] });
    const after: PreState = { accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [provider()], voicemailPolicies: [] };
    const p = plan({ runbook: setup, requested: rollback, values: setupPlan.values, preState: after, targets: inverseTargets(setupPlan, setup) });
    expect(p.steps.map((s) => s.stepId)).toEqual(['hosting-provider']);
  });

  it('recreates a provider that setup replaced, and warns about hosted voice mail routed to it', () => {
    const old = provider({ ProxyFqdn: 'old.example.com', Enabled: false });
    const setupPlan = planSetup({ accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [old] });
    const after: PreState = {
      accessEdge: [accessEdge({ AllowFederatedUsers: true })],
      providers: [provider()],
      voicemailPolicies: [{ Identity: 'Global', Destination: 'exap.um.outlook.com' }],
    };
    const p = plan({ runbook: setup, requested: rollback, values: setupPlan.values, preState: after, targets: inverseTargets(setupPlan, setup) });
    expect(p.steps[0]!.action).toBe('replace');
    expect(p.steps[0]!.invocations[1]!.parameters).toMatchObject({ ProxyFqdn: 'old.example.com', Enabled: false });
    expect(p.warnings[0]).toMatch(/hosted voice mail policy "Global" routes to exap\.um\.outlook\.com/);
  });
});

describe('runbooks as data', () => {
  it('loads the runbooks and derives the agent allowlist from them', () => {
    expect([...runbooks.keys()].sort()).toEqual(['hybrid', 'rollback', 'setup', 'status', 'verify']);
    expect(cmdletAllowlist(runbooks)).toContain('New-CsHostingProvider');
    expect(cmdletAllowlist(runbooks)).not.toContain('Invoke-Expression');
  });

  it('names the file and field of a bad runbook', () => {
    const bad = `name: broken\nsummary: x\nchanges: true\nsteps:\n  - id: a\n    title: A\n    type: settings\n    role: dmz\n    read: nothing\n    cmdlet: "Invoke-Expression; rm"\n    set: {}\n`;
    expect(() => parseRunbook(bad, 'commands/broken.yml')).toThrow(/commands\/broken\.yml: steps\[0\]\.role: .*steps\[0\]\.cmdlet: a cmdlet name/);
  });
});

describe('the engine, general: what a second procedure needs, expressed as YAML', () => {
  // a procedure like Microsoft's hybrid one, written here so the engine is tested without it
  const second = parseRunbook(
    [
      'name: second',
      'summary: a second change runbook',
      'changes: true',
      'inputs: { cloud: { description: c, choices: [a, b], default: a } }',
      'derived: { proxyFqdn: { from: cloud, map: { a: sip.a.example, b: sip.b.example } } }',
      'note: "then run Set-CsTenantFederationConfiguration -SharedSipAddressSpace $true for {cloud}"',
      'read: { accessEdge: { role: internal, cmdlet: Get-CsAccessEdgeConfiguration }, providers: { role: internal, cmdlet: Get-CsHostingProvider }, voicemailPolicies: { role: internal, cmdlet: Get-CsHostedVoicemailPolicy } }',
      'warnings: [{ when: removes-provider-used-by, read: voicemailPolicies, property: Destination, message: "policy {Identity} routes to {value}" }]',
      'steps:',
      '  - { id: edge, title: Edge, type: settings, role: internal, read: accessEdge, cmdlet: Set-CsAccessEdgeConfiguration, set: { AllowFederatedUsers: true, RoutingMethod: UseDnsSrvRouting }, switches: { RoutingMethod: { UseDnsSrvRouting: [], UseDefaultRouting: [DefaultRouteFqdn] } } }',
      '  - id: provider',
      '    title: Provider',
      '    type: resource',
      '    role: internal',
      '    read: providers',
      '    key: Identity',
      '    unique: [ProxyFqdn]',
      '    taken: remove',
      '    immutable: [ProxyFqdn]',
      '    cmdlets: { create: New-CsHostingProvider, change: Set-CsHostingProvider, remove: Remove-CsHostingProvider }',
      '    set: { Identity: Office365, ProxyFqdn: "{proxyFqdn}", Enabled: true, EnabledSharedAddressSpace: true, HostsOCSUsers: true, IsLocal: false, VerificationLevel: UseSourceVerification }',
      '    restore: [Identity, ProxyFqdn, Enabled, EnabledSharedAddressSpace, HostsOCSUsers, IsLocal, VerificationLevel, AutodiscoverUrl, SipClientPort]',
    ].join('\n'),
    'commands/second.yml',
  );
  const values = (() => {
    const r = resolveInputs(second, {});
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  })();
  const owner = provider({ Identity: 'LyncOnline', ProxyFqdn: 'sip.a.example', HostsOCSUsers: true, AutodiscoverUrl: 'https://webdir.example/x', SipClientPort: 444 });
  const defaultRoute = { Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDefaultRouting', DefaultRouteFqdn: 'edge.partner.example' };
  const before: PreState = { accessEdge: [defaultRoute], providers: [owner], voicemailPolicies: [{ Identity: 'Tag:vm', Destination: 'sip.a.example' }] };

  it('sets a property by its switch, removes the owner of a unique value first and warns, and carries the note', () => {
    const p = plan({ runbook: second, values, preState: before });
    expect(p.steps.map((s) => [s.stepId, s.action, s.target])).toEqual([
      ['edge', 'change', 'Global'],
      ['provider-removes-1', 'remove', 'LyncOnline'],
      ['provider', 'create', 'Office365'],
    ]);
    expect(p.steps.flatMap((s) => s.invocations).map(renderInvocation)).toEqual([
      'Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True -UseDnsSrvRouting',
      'Remove-CsHostingProvider -Identity LyncOnline -Confirm:$false',
      'New-CsHostingProvider -Identity Office365 -ProxyFqdn sip.a.example -Enabled $True -EnabledSharedAddressSpace $True -HostsOCSUsers $True -IsLocal $False -VerificationLevel UseSourceVerification',
    ]);
    expect(p.refusals).toEqual([]);
    expect(p.warnings).toEqual(['policy Tag:vm routes to sip.a.example']);
    expect(p.note).toBe('then run Set-CsTenantFederationConfiguration -SharedSipAddressSpace $true for a');
  });

  it('undoes it in reverse order: the new provider goes, the owner comes back whole, the route with its companion', () => {
    const p = plan({ runbook: second, values, preState: before });
    const after: PreState = { accessEdge: [{ Identity: 'Global', AllowFederatedUsers: true, RoutingMethod: 'UseDnsSrvRouting', DefaultRouteFqdn: null, EnablePartnerDiscovery: true }], providers: [provider({ Identity: 'Office365', ProxyFqdn: 'sip.a.example' })], voicemailPolicies: [] };
    const back = plan({ runbook: second, requested: runbooks.get('rollback')!, values, preState: after, targets: inverseTargets(p, second) });
    expect(back.refusals).toEqual([]);
    expect(back.steps.flatMap((s) => s.invocations).map(renderInvocation)).toEqual([
      'Remove-CsHostingProvider -Identity Office365 -Confirm:$false',
      "New-CsHostingProvider -Identity LyncOnline -ProxyFqdn sip.a.example -Enabled $True -EnabledSharedAddressSpace $True -HostsOCSUsers $True -IsLocal $False -VerificationLevel UseSourceVerification -AutodiscoverUrl 'https://webdir.example/x' -SipClientPort 444",
      // EnablePartnerDiscovery was not a property of the default-route object: left as it is
      'Set-CsAccessEdgeConfiguration -AllowFederatedUsers $False -UseDefaultRouting -DefaultRouteFqdn edge.partner.example',
    ]);
    expect(back.runbook).toBe('rollback');
    expect(back.procedure).toBe('second');
    expect(back.note).toBeUndefined();
  });

  it('setup warns before it replaces the provider hosted voice mail routes to', () => {
    const p = planSetup({ accessEdge: [accessEdge()], providers: [provider({ ProxyFqdn: 'exap.um.outlook.com' })], voicemailPolicies: [{ Identity: 'Global', Destination: 'exap.um.outlook.com' }] }, { cloud: 'gcchigh' });
    expect(p.steps.find((s) => s.stepId === 'hosting-provider')!.action).toBe('replace');
    expect(p.warnings).toEqual([expect.stringMatching(/^hosted voice mail policy "Global" routes to exap\.um\.outlook\.com: removing this provider/)]);
    expect(planSetup({ accessEdge: [accessEdge()], providers: [], voicemailPolicies: [{ Identity: 'Global', Destination: 'exap.um.outlook.com' }] }).warnings).toEqual([]);
  });

  it('rollback of a replace restores the properties setup never set (AutodiscoverUrl)', () => {
    const old = provider({ ProxyFqdn: 'exap.um.outlook.com', AutodiscoverUrl: 'https://autodiscover.contoso.com/x' });
    const setupPlan = planSetup({ accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [old], voicemailPolicies: [] }, { cloud: 'gcchigh' });
    const after: PreState = { accessEdge: [accessEdge({ AllowFederatedUsers: true })], providers: [provider({ ProxyFqdn: 'exap.um.office365.us' })], voicemailPolicies: [] };
    const back = plan({ runbook: setup, requested: runbooks.get('rollback')!, values: setupPlan.values, preState: after, targets: inverseTargets(setupPlan, setup) });
    expect(back.steps.map((s) => s.action)).toEqual(['replace']);
    expect(back.steps[0]!.invocations[1]!.parameters).toMatchObject({ ProxyFqdn: 'exap.um.outlook.com', AutodiscoverUrl: 'https://autodiscover.contoso.com/x' });
  });
});
