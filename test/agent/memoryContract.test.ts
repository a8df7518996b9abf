// The contract between the in-memory agent (src/agent/memory.ts) and the PowerShell agents on LyncSim: the SAME
// scenarios run on both, and everything they answer (outputs, failures with their ids, categories and hints) and
// everything they leave behind (the CMS, its history, replicas, the call log) must be equal. A change to LyncSim that
// the in-memory agent does not follow (or the reverse) fails here. Time is pinned and stepped on both.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryDeployment, virtualClock } from '../../src/agent/memory.js';
import { PowerShellAgent } from '../../src/agent/session.js';
import { cmdletAllowlist, loadRunbooks } from '../../src/config/runbooks.js';
import type { Agent, Invocation, ParamValue, Role } from '../../src/core/types.js';
import { buildSimState, LYNCSIM_MODULE, readSimState, SIM_EDGE, SIM_FRONT_END, simEnv, type SimOverrides, type SimState } from '../../src/simulator.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const ADMIN = 'admin01.contoso.local';
/** What the agents may run: every runbook's cmdlets, plus the rest of LyncSim's and one it does not have. */
const ALLOWLIST = [...new Set([...cmdletAllowlist(loadRunbooks()), 'Enable-CsHostingProvider', 'Disable-CsHostingProvider', 'Invoke-CsManagementStoreReplication', 'Get-CsPublicProvider', 'Get-CsUser'])].sort();
/** The bound of the agent the hang scenario uses (only there: a short bound elsewhere would make timing matter). */
const HANG_TIMEOUT_MS = 3_000;
const TIMEOUT_MS = 60_000;

/** One deployment and its hosts, on either agent. */
interface Rig {
  label: string;
  agent(host: Host): Agent;
  reset(overrides: SimOverrides): void;
  at(seconds: number): void;
  state(): SimState;
  close(): Promise<void>;
}

function memoryRig(): Rig {
  let d!: MemoryDeployment;
  const agents = new Map<string, Agent>();
  const clock = virtualClock(new Date(T0));
  return {
    label: 'memory',
    agent: (h) => agents.get(h)!,
    reset(overrides) {
      d = new MemoryDeployment({ clock, sim: overrides, allowlist: ALLOWLIST, invocationTimeoutMs: TIMEOUT_MS });
      agents.set('fe', d.agent('fe01', SIM_FRONT_END, ['internal']));
      agents.set('edge', d.agent('edge01', SIM_EDGE, ['edge']));
      agents.set('admin', d.agent('admin01', ADMIN, ['internal']));
      agents.set('hang', d.agent('fe02', SIM_FRONT_END, ['internal'], HANG_TIMEOUT_MS));
    },
    at(seconds) {
      d.state.now = new Date(T0 + seconds * 1000).toISOString();
    },
    state: () => d.read(),
    close: async () => undefined,
  };
}

function powershellRig(executable: string, dir: string): Rig {
  const statePath = path.join(dir, 'contract-state.json');
  const log = pino({ level: 'silent' });
  const make = (name: string, host: string, roles: Role[], invocationTimeoutMs = TIMEOUT_MS) =>
    new PowerShellAgent({ name, roles, executable, module: LYNCSIM_MODULE, allowlist: ALLOWLIST, env: simEnv(statePath, host), logger: log, invocationTimeoutMs });
  const agents = new Map<string, PowerShellAgent>([
    ['fe', make('fe01', SIM_FRONT_END, ['internal'])],
    ['edge', make('edge01', SIM_EDGE, ['edge'])],
    ['admin', make('admin01', ADMIN, ['internal'])],
    ['hang', make('fe02', SIM_FRONT_END, ['internal'], HANG_TIMEOUT_MS)],
  ]);
  const write = (s: SimState) => writeFileSync(statePath, JSON.stringify(s), 'utf8');
  return {
    label: 'powershell',
    agent: (h) => agents.get(h)!,
    // the sessions stay; LyncSim reads the file on every call, so a new file is a new deployment
    reset: (overrides) => write(buildSimState(overrides, new Date(T0))),
    at(seconds) {
      const s = readSimState(statePath);
      s.now = new Date(T0 + seconds * 1000).toISOString();
      write(s);
    },
    state: () => readSimState(statePath),
    close: async () => {
      await Promise.all([...agents.values()].map((a) => a.close()));
    },
  };
}

type Host = 'fe' | 'edge' | 'admin' | 'hang';
/** A scenario: calls on hosts, with the clock moved between them. */
type Script = (run: (host: Host, cmdlet: string, parameters?: Record<string, ParamValue>) => Promise<void>, at: (seconds: number) => void) => Promise<void>;

interface Scenario {
  name: string;
  sim: SimOverrides;
  script: Script;
}

const exchange = { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true, EnabledSharedAddressSpace: true, HostsOCSUsers: false, IsLocal: false, VerificationLevel: 'UseSourceVerification' } as const;
const office365 = {
  Identity: 'Office365',
  ProxyFqdn: 'sipfed.online.lync.com',
  Enabled: true,
  EnabledSharedAddressSpace: true,
  HostsOCSUsers: true,
  VerificationLevel: 'UseSourceVerification',
  IsLocal: false,
  AutodiscoverUrl: 'https://webdir.online.lync.com/Autodiscover/AutodiscoverService.svc/root',
} as const;
const pinned = (extra: SimOverrides = {}): SimOverrides => ({ now: new Date(T0).toISOString(), replicationLagSeconds: 2, snapshotDelaySeconds: 1, ...extra });

const SCENARIOS: Scenario[] = [
  {
    name: "Exchange Online setup: settings, provider, a stale UpToDate, replication after the lag, each Edge's local store",
    sim: pinned(),
    script: async (run, at) => {
      await run('fe', 'Get-CsAccessEdgeConfiguration');
      await run('fe', 'Get-CsHostingProvider');
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: true });
      await run('fe', 'New-CsHostingProvider', { ...exchange });
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      at(0.5);
      await run('edge', 'Get-CsHostingProvider', { LocalStore: true });
      at(1.5);
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      at(3);
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      await run('edge', 'Get-CsHostingProvider', { LocalStore: true });
      await run('edge', 'Get-CsAccessEdgeConfiguration', { LocalStore: true });
      await run('fe', 'Get-CsHostingProvider', { Identity: 'exchange online' });
      await run('fe', 'Get-CsHostingProvider', { Filter: 'Exch*' });
      await run('fe', 'Get-CsHostedVoicemailPolicy');
    },
  },
  {
    name: 'Teams hybrid beside Exchange Online: Edge federation with the switch, the old sipfed provider replaced, AutodiscoverUrl',
    sim: pinned({ providers: [exchange, { Identity: 'LyncOnline', ProxyFqdn: 'sipfed.online.lync.com', EnabledSharedAddressSpace: true, HostsOCSUsers: true, VerificationLevel: 'UseSourceVerification' }] }),
    script: async (run, at) => {
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowOutsideUsers: true, AllowFederatedUsers: true, EnablePartnerDiscovery: true, UseDnsSrvRouting: true });
      await run('fe', 'New-CsHostingProvider', { ...office365 });
      await run('fe', 'Remove-CsHostingProvider', { Identity: 'LyncOnline', Confirm: false });
      await run('fe', 'New-CsHostingProvider', { ...office365 });
      await run('fe', 'Set-CsHostingProvider', { Identity: 'Office365', AutodiscoverUrl: '' });
      await run('fe', 'Get-CsHostingProvider', { Identity: 'Office365' });
      await run('fe', 'Set-CsHostingProvider', { Identity: 'Office365', AutodiscoverUrl: office365.AutodiscoverUrl, SipClientPort: 444 });
      at(3);
      await run('edge', 'Get-CsHostingProvider', { LocalStore: true });
      await run('edge', 'Get-CsAccessEdgeConfiguration', { LocalStore: true });
      await run('fe', 'Disable-CsHostingProvider', { Identity: 'Office365' });
      await run('fe', 'Disable-CsHostingProvider', { Identity: 'Office365' });
      await run('fe', 'Enable-CsHostingProvider', { Identity: 'office365' });
    },
  },
  {
    name: 'what LyncSim refuses: taken identities and FQDNs, missing objects, Edge and admin hosts, the allowlist, unknown cmdlets',
    sim: pinned({ providers: [exchange] }),
    script: async (run) => {
      await run('fe', 'New-CsHostingProvider', { ...exchange, ProxyFqdn: 'other.example.com' });
      await run('fe', 'New-CsHostingProvider', { ...exchange, Identity: 'Second' });
      await run('fe', 'New-CsHostingProvider', { Identity: 'MSN', Enabled: true, ProxyFqdn: 'federation.messenger.msn.com' });
      await run('fe', 'New-CsHostingProvider', { Identity: 'yahoo', Enabled: true, ProxyFqdn: 'y.example.com' });
      await run('fe', 'Remove-CsHostingProvider', { Identity: 'Nope' });
      await run('fe', 'Set-CsHostingProvider', { Identity: 'Nope', Enabled: false });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { Identity: 'site:Redmond', AllowFederatedUsers: true });
      await run('fe', 'Invoke-CsManagementStoreReplication', { ReplicaFqdn: 'nope.contoso.local' });
      await run('edge', 'Get-CsHostingProvider');
      await run('edge', 'New-CsHostingProvider', { Identity: 'E', Enabled: true, ProxyFqdn: 'e.example.com' });
      await run('edge', 'Get-CsManagementStoreReplicationStatus');
      await run('admin', 'Get-CsHostingProvider', { LocalStore: true });
      await run('admin', 'Get-CsHostingProvider');
      await run('fe', 'Get-CsUser');
      await run('fe', 'Get-CsTenant');
      await run('fe', 'Get-CsHostingProvider', { ErrorAction: 'Continue' });
      await run('fe', 'Get-CsPublicProvider');
    },
  },
  {
    name: "PowerShell's parameter binder: names, prefixes, sets, mandatory parameters, conversions, validation, -WhatIf",
    sim: pinned(),
    script: async (run) => {
      const p = { Identity: 'P', Enabled: true, ProxyFqdn: 'p.example.com' };
      await run('fe', 'New-CsHostingProvider', { ...p, Bogus: 1 });
      await run('fe', 'New-CsHostingProvider', { ...p, E: true });
      await run('fe', 'New-CsHostingProvider', { Identity: 'P', Enabled: true });
      await run('fe', 'New-CsHostingProvider', { Enabled: true });
      await run('fe', 'New-CsHostingProvider', { ...p, EnabledSharedAddressSpace: true });
      await run('fe', 'New-CsHostingProvider', { ...p, Enabled: 'yes' });
      await run('fe', 'New-CsHostingProvider', { ...p, Enabled: null });
      await run('fe', 'New-CsHostingProvider', { ...p, VerificationLevel: 'Nope' });
      await run('fe', 'New-CsHostingProvider', { ...p, VerificationLevel: 7 });
      await run('fe', 'New-CsHostingProvider', { ...p, VerificationLevel: null });
      await run('fe', 'New-CsHostingProvider', { ...p, SipClientPort: -3 });
      await run('fe', 'New-CsHostingProvider', { ...p, SipClientPort: 'x' });
      await run('fe', 'New-CsHostingProvider', { ...p, Identity: '' });
      await run('fe', 'New-CsHostingProvider', { ...p, Identity: null });
      await run('fe', 'New-CsHostingProvider', { ...p, WhatIf: true });
      await run('fe', 'New-CsHostingProvider', { ...p, InMemory: true });
      await run('fe', 'New-CsHostingProvider', { Ident: 'P2', Enabled: 1, ProxyFq: 'p2.example.com', VerificationLevel: 2, SipClientPort: '5', AutodiscoverUrl: null, Confirm: false });
      await run('fe', 'New-CsHostingProvider', { Identity: true, Enabled: 0, ProxyFqdn: 'p3.example.com', VerificationLevel: 'usesourceverification', SipClientPort: true, Force: true });
      await run('fe', 'Set-CsHostingProvider', { Identity: 'P2', ProxyFqdn: 'new.example.com' });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { UseDnsSrvRouting: true, UseDefaultRouting: true });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { EnablePartnerDiscovery: true, IsPublicProvider: true });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { Identity: 'Global', UseDnsSrvRouting: true });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { OutgoingTlsCountForFederatedPartners: 9 });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { OutgoingTlsCountForFederatedPartners: 0 });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { DnsSrvCacheRecordCount: -1 });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: 'x' });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: 1, MaxContactsPerDiscoveredPartner: '2000', SkypeSearchUrl: 'https://search.example.com' });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowAnonymousUsers: true, WhatIf: true });
      await run('fe', 'Get-CsAccessEdgeConfiguration');
      await run('fe', 'Remove-CsHostingProvider', {});
      await run('fe', 'Invoke-CsManagementStoreReplication', { Confirm: false });
      await run('fe', 'Get-CsHostingProvider');
    },
  },
  {
    name: 'routing: to a default route (refused while providers exist, or without a route), its shape, and back to DNS SRV',
    sim: pinned({ publicProviders: [], providers: [exchange] }),
    script: async (run) => {
      await run('fe', 'Set-CsAccessEdgeConfiguration', { UseDefaultRouting: true, DefaultRouteFqdn: 'sip.partner.example.com' });
      await run('fe', 'Remove-CsHostingProvider', { Identity: 'Exchange Online' });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { UseDefaultRouting: true });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { UseDefaultRouting: true, DefaultRouteFqdn: 'sip.partner.example.com', VerificationLevel: 'AlwaysUnverifiable' });
      await run('fe', 'Get-CsAccessEdgeConfiguration');
      await run('fe', 'Set-CsAccessEdgeConfiguration', { EnablePartnerDiscovery: true, UseDnsSrvRouting: true, AllowOutsideUsers: false });
      await run('fe', 'Get-CsAccessEdgeConfiguration');
    },
  },
  {
    name: 'replication: forced, stuck and slow replicas, a replica that never reports, -ReplicaFqdn, the CMS status',
    sim: pinned({ extraEdges: ['edge02.contoso.local'], stuckReplicas: ['edge02.contoso.local'], replicaLagSeconds: { [SIM_FRONT_END]: 1 } }),
    script: async (run, at) => {
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      await run('fe', 'Get-CsManagementStoreReplicationStatus', { CentralManagementStoreStatus: true });
      await run('fe', 'Get-CsManagementStoreReplicationStatus', { ReplicaFqdn: 'EDGE01.contoso.local' });
      await run('fe', 'Get-CsManagementStoreReplicationStatus', { ReplicaFqdn: 'nope.contoso.local' });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: true });
      at(1.2);
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      await run('fe', 'Invoke-CsManagementStoreReplication', { ReplicaFqdn: SIM_EDGE });
      at(2.5);
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      at(3.5);
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      await run('fe', 'Invoke-CsManagementStoreReplication');
      at(10);
      await run('fe', 'Get-CsManagementStoreReplicationStatus');
      await run('edge', 'Get-CsAccessEdgeConfiguration', { LocalStore: true });
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: false });
      at(20);
      await run('fe', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: true });
    },
  },
  {
    name: 'injected faults: failing reads and writes (logged), and a hang the agent ends with its timeout',
    sim: pinned({ faults: { fail: { 'Get-CsHostingProvider': 'The WMI provider is unavailable.', 'New-CsHostingProvider': 'SQL Server is not reachable.' }, hang: ['Set-CsAccessEdgeConfiguration'] } }),
    script: async (run) => {
      await run('fe', 'Get-CsHostingProvider');
      await run('edge', 'Get-CsHostingProvider', { LocalStore: true });
      await run('fe', 'New-CsHostingProvider', { ...exchange });
      await run('hang', 'Set-CsAccessEdgeConfiguration', { AllowFederatedUsers: true });
      await run('fe', 'Get-CsAccessEdgeConfiguration');
    },
  },
];

interface Seen {
  call: string;
  result: unknown;
}

async function play(rig: Rig, scenario: Scenario): Promise<{ seen: Seen[]; state: SimState; ms: number }> {
  rig.reset(scenario.sim);
  const seen: Seen[] = [];
  const started = performance.now();
  await scenario.script(
    async (host, cmdlet, parameters = {}) => {
      const inv: Invocation = { cmdlet, parameters };
      const r = await rig.agent(host).invoke(inv);
      // everything but how long it took
      const result = r.ok ? { ok: true, output: r.output, warnings: r.warnings ?? [] } : { ok: false, error: r.error };
      seen.push({ call: `${host}: ${cmdlet} ${JSON.stringify(parameters)}`, result });
    },
    (s) => rig.at(s),
  );
  return { seen, state: rig.state(), ms: performance.now() - started };
}

let dir = '';
let ps: Rig | undefined;
const mem = memoryRig();
const timings: string[] = [];

describeWithPwsh('the in-memory agent and the PowerShell agents on LyncSim answer alike', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-contract-'));
    ps = powershellRig(pwshExecutable()!, dir);
  });
  afterAll(async () => {
    await ps?.close();
    rmSync(dir, { recursive: true, force: true });
    // the figures the issue asks for: one scenario's time on each agent
    console.log(`\nscenario time, PowerShell agents on LyncSim vs the in-memory agent:\n${timings.join('\n')}\n`);
  });

  it.each(SCENARIOS.map((s) => [s.name, s] as const))('%s', async (_name, scenario) => {
    const real = await play(ps!, scenario);
    const memory = await play(mem, scenario);
    timings.push(`  ${real.ms.toFixed(0).padStart(6)} ms vs ${memory.ms.toFixed(1).padStart(6)} ms  ${scenario.name.slice(0, 70)}`);
    // call by call, so a difference names the call
    expect(memory.seen.map((s) => s.call)).toEqual(real.seen.map((s) => s.call));
    real.seen.forEach((s, i) => expect({ call: s.call, result: memory.seen[i]!.result }).toEqual({ call: s.call, result: s.result }));
    expect(memory.state).toEqual(real.state);
    // and the scenario did something worth comparing
    expect(real.seen.some((s) => (s.result as { ok: boolean }).ok)).toBe(true);
  });
});
