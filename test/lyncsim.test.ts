// LyncSim and LxJson on a real PowerShell: the documented setup sequence, the failure modes the bot must handle,
// replication with lag, forced and stuck replicas, faults, Edge hosts, two processes sharing one state file, and
// JSON that round-trips byte for byte between Node and PowerShell.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from './support/pwsh.js';
import { buildSimState, createSimState, okCalls, readSimState, SIM_EDGE, SIM_FRONT_END, simEnv, type SimOverrides } from './support/simState.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODULE = path.join(ROOT, 'powershell', 'LyncSim', 'LyncSim.psd1');
const LXJSON = path.join(ROOT, 'powershell', 'LxJson.ps1');

const PROVIDER_PROPERTIES = ['Identity', 'Name', 'ProxyFqdn', 'VerificationLevel', 'Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal', 'AutodiscoverUrl', 'SipClientPort'];
const ACCESS_EDGE_PROPERTIES = ['Identity', 'AllowAnonymousUsers', 'AllowFederatedUsers', 'AllowOutsideUsers', 'BeClearingHouse', 'EnablePartnerDiscovery',
  'EnableArchivingDisclaimer', 'EnableUserReplicator', 'KeepCrlsUpToDateForPeers', 'MarkSourceVerifiableOnOutgoingMessages', 'OutgoingTlsCountForFederatedPartners',
  'DiscoveredPartnerStandardRate', 'EnableDiscoveredPartnerContactsLimit', 'MaxContactsPerDiscoveredPartner', 'DiscoveredPartnerReportPeriodMinutes',
  'MaxAcceptedCertificatesStored', 'MaxRejectedCertificatesStored', 'CertificatesDeletedPercentage', 'RoutingMethod'];

/** The documented step 2, as PowerShell text (constant: no user data in it). */
const NEW_EXCHANGE_ONLINE =
  "New-CsHostingProvider -Identity 'Exchange Online' -Enabled $True -EnabledSharedAddressSpace $True -HostsOCSUsers $False " +
  "-ProxyFqdn 'exap.um.outlook.com' -IsLocal $False -VerificationLevel UseSourceVerification";

// Helpers every script gets: `Step { ... }` runs a block and prints {"ok":true} or the error's id, category and message.
const PRELUDE = `
$ErrorActionPreference = 'Stop'
. '${LXJSON.replace(/'/g, "''")}'
Import-Module '${MODULE.replace(/'/g, "''")}'
function Step([scriptblock]$Block) {
  try { $null = & $Block; ConvertTo-LxJson ([ordered]@{ ok = $true }) }
  catch { ConvertTo-LxJson ([ordered]@{ ok = $false; errorId = $_.FullyQualifiedErrorId; category = [string]$_.CategoryInfo.Category; message = $_.Exception.Message }) }
}
`;

interface StepResult {
  ok: boolean;
  errorId?: string;
  category?: string;
  message?: string;
}

let exe = '';
let dir = '';
let n = 0;

function newState(overrides: SimOverrides = {}): string {
  return createSimState(dir, { fileName: `state-${++n}.json`, ...overrides });
}

/** Base64 of UTF-8 JSON: how test data reaches a script (a single-quoted literal, never parsed as code). */
function dataLiteral(value: unknown): string {
  return `(ConvertFrom-LxJson ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${Buffer.from(JSON.stringify(value), 'utf8').toString('base64')}'))))`;
}

function ps(statePath: string, host: string, body: string, timeout = 30_000): SpawnSyncReturns<string> {
  return spawnSync(exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', PRELUDE + body], {
    env: { ...process.env, ...simEnv(statePath, host) },
    encoding: 'utf8',
    timeout,
  });
}

/** Runs a script that must succeed and returns its output lines, each parsed as JSON. */
function psJson(statePath: string, host: string, body: string): unknown[] {
  const r = ps(statePath, host, body);
  expect(r.error, r.stderr).toBeUndefined();
  expect(r.stderr, 'stderr').toBe('');
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
}

describeWithPwsh('LyncSim', () => {
  beforeAll(() => {
    exe = pwshExecutable()!;
    dir = mkdtempSync(path.join(tmpdir(), 'lyncsim-test-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs the documented setup: settings, provider, replication after the lag, then the Edge local store', () => {
    const state = newState({ replicationLagSeconds: 2 });
    const [before, afterSet, created, statusNow, edgeNow, edgeSettingsNow, polled] = psJson(
      state,
      SIM_FRONT_END,
      `
      ConvertTo-LxJson @(Get-CsAccessEdgeConfiguration)
      Step { Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True }
      $t0 = [DateTime]::UtcNow   # before the last write: the replicas cannot be up to date before $t0 + lag
      Step { ${NEW_EXCHANGE_ONLINE} }
      ConvertTo-LxJson @(Get-CsManagementStoreReplicationStatus)
      # the same process plays the Edge for a moment: deterministic "before the lag" reads
      $env:LYNCSIM_HOST = '${SIM_EDGE}'
      ConvertTo-LxJson @(Get-CsHostingProvider -LocalStore)
      ConvertTo-LxJson @(Get-CsAccessEdgeConfiguration -LocalStore)
      $env:LYNCSIM_HOST = '${SIM_FRONT_END}'
      $polls = 0
      do {
        [System.Threading.Thread]::Sleep(100); $polls++
        $s = @(Get-CsManagementStoreReplicationStatus)
        $behind = @($s | Where-Object { -not $_.UpToDate }).Count
      } until ($behind -eq 0 -or $polls -ge 100)
      ConvertTo-LxJson ([ordered]@{ seconds = ([DateTime]::UtcNow - $t0).TotalSeconds; status = $s })
      `,
    ) as [Record<string, unknown>[], StepResult, StepResult, Record<string, unknown>[], unknown[], Record<string, unknown>[], { seconds: number; status: Record<string, unknown>[] }];

    expect(before).toHaveLength(1);
    expect(Object.keys(before[0]!)).toEqual(ACCESS_EDGE_PROPERTIES);
    expect(before[0]).toMatchObject({ Identity: 'Global', AllowFederatedUsers: false, AllowOutsideUsers: true, RoutingMethod: 'UseDnsSrvRouting', OutgoingTlsCountForFederatedPartners: 4 });
    expect(afterSet).toEqual({ ok: true });
    expect(created).toEqual({ ok: true });
    expect(statusNow.map((r) => [r.ReplicaFqdn, r.UpToDate])).toEqual([[SIM_FRONT_END, false], [SIM_EDGE, false]]);
    expect(Object.keys(statusNow[0]!)).toEqual(['UpToDate', 'ReplicaFqdn', 'LastStatusReport', 'LastUpdateCreation', 'ProductVersion']);
    expect(edgeNow).toEqual([]);
    expect(edgeSettingsNow[0]!.AllowFederatedUsers).toBe(false);
    expect(polled.status.every((r) => r.UpToDate === true)).toBe(true);
    expect(polled.seconds).toBeGreaterThanOrEqual(1.95);
    expect(polled.seconds).toBeLessThan(8);
    for (const r of polled.status) {
      expect(r.ProductVersion).toBe('5.0.8308.0');
      expect(String(r.LastUpdateCreation)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$/);
    }

    // a real Edge session now sees exactly what was set
    const [edgeAfter, edgeSettingsAfter] = psJson(state, SIM_EDGE, 'ConvertTo-LxJson @(Get-CsHostingProvider -LocalStore); ConvertTo-LxJson @(Get-CsAccessEdgeConfiguration -LocalStore)') as [
      Record<string, unknown>[],
      Record<string, unknown>[],
    ];
    expect(edgeAfter).toHaveLength(1);
    expect(Object.keys(edgeAfter[0]!)).toEqual(PROVIDER_PROPERTIES);
    expect(edgeAfter[0]).toEqual({
      Identity: 'Exchange Online',
      Name: 'Exchange Online',
      ProxyFqdn: 'exap.um.outlook.com',
      VerificationLevel: 'UseSourceVerification',
      Enabled: true,
      EnabledSharedAddressSpace: true,
      HostsOCSUsers: false,
      IsLocal: false,
      AutodiscoverUrl: null,
      SipClientPort: 443,
    });
    expect(edgeSettingsAfter[0]!.AllowFederatedUsers).toBe(true);

    const sim = readSimState(state);
    expect(okCalls(sim, 'New-CsHostingProvider')).toHaveLength(1);
    expect(okCalls(sim, 'New-CsHostingProvider')[0]!.parameters).toEqual({
      Identity: 'Exchange Online',
      Enabled: true,
      EnabledSharedAddressSpace: true,
      HostsOCSUsers: false,
      ProxyFqdn: 'exap.um.outlook.com',
      IsLocal: false,
      VerificationLevel: 'UseSourceVerification',
    });
    expect(okCalls(sim, 'Set-CsAccessEdgeConfiguration')[0]!.host).toBe(SIM_FRONT_END);
    expect(sim.history.map((h) => h.seq)).toEqual([1, 2, 3]);
  });

  it('creates the default deployment when the state file is missing, the same one simState builds', () => {
    const state = path.join(dir, `missing-${++n}.json`);
    const [status] = psJson(state, SIM_FRONT_END, 'ConvertTo-LxJson @(Get-CsManagementStoreReplicationStatus)') as [Record<string, unknown>[]];
    expect(status.map((r) => [r.ReplicaFqdn, r.UpToDate])).toEqual([[SIM_FRONT_END, true], [SIM_EDGE, true]]);
    const fromPs = readSimState(state);
    const fromTs = buildSimState();
    expect({ ...fromPs, history: fromPs.history.map((h) => ({ ...h, at: '' })) }).toEqual({ ...fromTs, history: fromTs.history.map((h) => ({ ...h, at: '' })) });
    expect(Date.now() - Date.parse(fromPs.history[0]!.at)).toBeGreaterThan(3_600_000);
  });

  it('refuses a duplicate Identity, a ProxyFqdn another provider owns, and changes to missing providers', () => {
    const state = newState({ providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' }] });
    const [dupId, dupFqdn, setMissing, removeMissing, enableMissing, noProxyParam, badLevel, halfSet] = psJson(
      state,
      SIM_FRONT_END,
      `
      Step { New-CsHostingProvider -Identity 'exchange online' -Enabled $True -ProxyFqdn 'other.example.com' }
      Step { New-CsHostingProvider -Identity 'Second' -Enabled $True -ProxyFqdn 'EXAP.um.outlook.com' }
      Step { Set-CsHostingProvider -Identity 'Nope' -Enabled $False }
      Step { Remove-CsHostingProvider -Identity 'Nope' -Confirm:$false }
      Step { Enable-CsHostingProvider -Identity 'Nope' }
      Step { Set-CsHostingProvider -Identity 'Exchange Online' -ProxyFqdn 'exap.um.partner.outlook.cn' }
      Step { New-CsHostingProvider -Identity 'Third' -Enabled $True -ProxyFqdn 'third.example.com' -VerificationLevel 'SometimesVerifiable' }
      Step { New-CsHostingProvider -Identity 'Third' -Enabled $True -ProxyFqdn 'third.example.com' -EnabledSharedAddressSpace $True }
      `,
    ) as StepResult[];
    expect(dupId).toMatchObject({ ok: false, category: 'ResourceExists', errorId: 'LyncSim.ProviderIdentityExists,New-CsHostingProvider' });
    expect(dupId!.message).toBe('A hosting provider with Identity "Exchange Online" already exists.');
    expect(dupFqdn).toMatchObject({ ok: false, category: 'InvalidOperation', errorId: 'LyncSim.ProxyFqdnInUse,New-CsHostingProvider' });
    expect(dupFqdn!.message).toMatch(/ProxyFqdn "EXAP\.um\.outlook\.com" is already used by the hosting provider "Exchange Online"/);
    for (const r of [setMissing, removeMissing, enableMissing]) {
      expect(r).toMatchObject({ ok: false, category: 'ObjectNotFound' });
      expect(r!.errorId).toMatch(/^LyncSim\.ProviderNotFound,/);
      expect(r!.message).toBe('Cannot find a hosting provider with Identity "Nope".');
    }
    // PowerShell's own parameter binding, not LyncSim code, rejects these
    expect(noProxyParam).toMatchObject({ ok: false, errorId: 'NamedParameterNotFound,Set-CsHostingProvider' });
    expect(badLevel).toMatchObject({ ok: false, errorId: 'ParameterArgumentTransformationError,New-CsHostingProvider' });
    expect(badLevel!.message).toMatch(/AlwaysVerifiable, AlwaysUnverifiable, UseSourceVerification/);
    expect(halfSet).toMatchObject({ ok: false, errorId: 'MissingMandatoryParameter,New-CsHostingProvider' });

    const sim = readSimState(state);
    expect(sim.cms.hostingProviders.map((p) => p.Identity)).toEqual(['Exchange Online']);
    expect(sim.history).toHaveLength(1);
    // failures the simulator raised are logged; binding errors never reached it
    expect(sim.calls.map((c) => [c.cmdlet, c.outcome])).toEqual([
      ['New-CsHostingProvider', 'error'],
      ['New-CsHostingProvider', 'error'],
      ['Set-CsHostingProvider', 'error'],
      ['Remove-CsHostingProvider', 'error'],
      ['Enable-CsHostingProvider', 'error'],
    ]);
  });

  it('fails fast on a missing mandatory parameter in a -NonInteractive session instead of prompting', () => {
    const state = newState();
    const started = Date.now();
    const r = ps(state, SIM_FRONT_END, "New-CsHostingProvider -Identity 'Exchange Online' -Enabled $True", 20_000);
    expect(r.error).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/missing mandatory parameters: ProxyFqdn/);
  });

  it('sets, disables (twice is an error), enables, lists by Filter and removes providers', () => {
    const state = newState({
      providers: [
        { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' },
        { Identity: 'Fabrikam', ProxyFqdn: 'sip.fabrikam.com', Enabled: false },
      ],
    });
    const [set, disable1, disable2, enable, filtered, byId, missing, removed, after] = psJson(
      state,
      SIM_FRONT_END,
      `
      Step { Set-CsHostingProvider -Identity 'Exchange Online' -VerificationLevel AlwaysUnverifiable -SipClientPort 5061 -AutodiscoverUrl 'https://x.example/ad' }
      Step { Disable-CsHostingProvider -Identity 'Exchange Online' }
      Step { Disable-CsHostingProvider -Identity 'Exchange Online' }
      Step { Enable-CsHostingProvider -Identity 'Fabrikam' }
      ConvertTo-LxJson @(Get-CsHostingProvider -Filter 'fab*')
      ConvertTo-LxJson @(Get-CsHostingProvider 'exchange online')
      ConvertTo-LxJson @(Get-CsHostingProvider -Identity 'Nobody')
      Step { Get-CsHostingProvider -Filter 'Exchange*' | Remove-CsHostingProvider -Confirm:$false }
      ConvertTo-LxJson @(Get-CsHostingProvider)
      `,
    ) as [StepResult, StepResult, StepResult, StepResult, Record<string, unknown>[], Record<string, unknown>[], unknown[], StepResult, Record<string, unknown>[]];
    expect([set, disable1, enable, removed]).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    expect(disable2).toMatchObject({ ok: false, category: 'InvalidOperation', errorId: 'LyncSim.ProviderAlreadyDisabled,Disable-CsHostingProvider' });
    expect(filtered.map((p) => [p.Identity, p.Enabled])).toEqual([['Fabrikam', true]]);
    expect(byId[0]).toMatchObject({ Identity: 'Exchange Online', VerificationLevel: 'AlwaysUnverifiable', SipClientPort: 5061, AutodiscoverUrl: 'https://x.example/ad', Enabled: false });
    expect(missing).toEqual([]);
    expect(after.map((p) => p.Identity)).toEqual(['Fabrikam']);
  });

  it('keeps any Identity byte for byte, however hostile to a shell', () => {
    const names = ['Exchange "Online"', "it's $(Get-Date) ${x} `n", 'back\\slash; | & > *[a]', 'עברית العربية \u200f', '😀 emoji 👍🏽', 'tab\there'];
    const state = newState();
    const [results, listed] = psJson(
      state,
      SIM_FRONT_END,
      `
      $names = ${dataLiteral(names)}
      $i = 0
      $r = foreach ($name in $names) { $i++; Step { New-CsHostingProvider -Identity $name -Enabled $True -ProxyFqdn "p$i.example.com" } }
      ConvertTo-LxJson -InputObject @($r | ForEach-Object { ConvertFrom-LxJson $_ })
      ConvertTo-LxJson -InputObject @(foreach ($name in $names) { Get-CsHostingProvider -Identity $name })
      `,
    ) as [StepResult[], Record<string, unknown>[]];
    expect(results.every((r) => r.ok)).toBe(true);
    expect(listed.map((p) => p.Identity)).toEqual(names);
    expect(listed.map((p) => p.Name)).toEqual(names);
    expect(readSimState(state).cms.hostingProviders.map((p) => p.Identity)).toEqual(names);
  });

  it('Invoke-CsManagementStoreReplication makes its targets read UpToDate=False until they catch up', () => {
    const state = newState({ replicationLagSeconds: 1 });
    const [start, oneForced, caughtUp, allForced, unknown] = psJson(
      state,
      SIM_FRONT_END,
      `
      ConvertTo-LxJson @(Get-CsManagementStoreReplicationStatus)
      $t0 = [DateTime]::UtcNow; $polls = 0
      Invoke-CsManagementStoreReplication -ReplicaFqdn '${SIM_EDGE}'
      ConvertTo-LxJson @(Get-CsManagementStoreReplicationStatus)
      do { [System.Threading.Thread]::Sleep(100); $polls++; $e = Get-CsManagementStoreReplicationStatus -ReplicaFqdn '${SIM_EDGE}' } until ($e.UpToDate -or $polls -ge 60)
      ConvertTo-LxJson ([ordered]@{ seconds = ([DateTime]::UtcNow - $t0).TotalSeconds; status = $e })
      Invoke-CsManagementStoreReplication
      ConvertTo-LxJson @(Get-CsManagementStoreReplicationStatus)
      Step { Invoke-CsManagementStoreReplication -ReplicaFqdn 'nowhere.contoso.local' }
      `,
    ) as [Record<string, unknown>[], Record<string, unknown>[], { seconds: number; status: Record<string, unknown> }, Record<string, unknown>[], StepResult];
    expect(start.map((r) => r.UpToDate)).toEqual([true, true]);
    expect(oneForced.map((r) => [r.ReplicaFqdn, r.UpToDate, r.LastStatusReport === null])).toEqual([[SIM_FRONT_END, true, false], [SIM_EDGE, false, true]]);
    expect(caughtUp.status.UpToDate).toBe(true);
    expect(caughtUp.seconds).toBeGreaterThanOrEqual(0.95);
    expect(caughtUp.seconds).toBeLessThan(5);
    expect(allForced.map((r) => r.UpToDate)).toEqual([false, false]);
    expect(unknown).toMatchObject({ ok: false, category: 'ObjectNotFound', errorId: 'LyncSim.ReplicaNotFound,Invoke-CsManagementStoreReplication' });
    expect(readSimState(state).history).toHaveLength(1);
  });

  it('a stuck replica never catches up, even when forced, and its local store stays at the start', () => {
    const state = newState({ replicationLagSeconds: 1, stuckReplicas: [SIM_EDGE], extraEdges: ['edge02.contoso.local'] });
    const [status] = psJson(
      state,
      SIM_FRONT_END,
      `
      ${NEW_EXCHANGE_ONLINE}
      Invoke-CsManagementStoreReplication -ReplicaFqdn '${SIM_EDGE}'
      [System.Threading.Thread]::Sleep(2500)
      ConvertTo-LxJson @(Get-CsManagementStoreReplicationStatus)
      `,
    ) as [Record<string, unknown>[]];
    expect(status.map((r) => [r.ReplicaFqdn, r.UpToDate])).toEqual([[SIM_FRONT_END, true], [SIM_EDGE, false], ['edge02.contoso.local', true]]);
    const [stuckStore] = psJson(state, SIM_EDGE, 'ConvertTo-LxJson @(Get-CsHostingProvider -LocalStore)') as [unknown[]];
    const [healthyStore] = psJson(state, 'edge02.contoso.local', 'ConvertTo-LxJson @(Get-CsHostingProvider -LocalStore)') as [Record<string, unknown>[]];
    expect(stuckStore).toEqual([]);
    expect(healthyStore.map((p) => p.Identity)).toEqual(['Exchange Online']);
  });

  it('an Edge host cannot reach the CMS: writes and CMS reads fail, -LocalStore reads work', () => {
    const state = newState();
    const [write, read, status, local] = psJson(
      state,
      SIM_EDGE,
      `
      Step { Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True }
      Step { Get-CsHostingProvider }
      Step { Get-CsManagementStoreReplicationStatus }
      Step { Get-CsHostingProvider -LocalStore }
      `,
    ) as StepResult[];
    for (const r of [write, read, status]) {
      expect(r).toMatchObject({ ok: false, category: 'ConnectionError' });
      expect(r!.errorId).toMatch(/^LyncSim\.CmsUnreachable,/);
      expect(r!.message).toMatch(/Central Management Store/);
    }
    expect(local).toEqual({ ok: true });
    const sim = readSimState(state);
    expect(sim.cms.accessEdge.AllowFederatedUsers).toBe(false);
    expect(sim.calls).toMatchObject([{ cmdlet: 'Set-CsAccessEdgeConfiguration', host: SIM_EDGE, outcome: 'error', errorId: 'LyncSim.CmsUnreachable,Set-CsAccessEdgeConfiguration' }]);

    // an admin host outside the replica list reaches the CMS but has no local store
    const [adminRead, adminLocal] = psJson(state, 'admin01.contoso.local', 'Step { Get-CsHostingProvider }; Step { Get-CsHostingProvider -LocalStore }') as StepResult[];
    expect(adminRead).toEqual({ ok: true });
    expect(adminLocal).toMatchObject({ ok: false, category: 'ResourceUnavailable', errorId: 'LyncSim.NoLocalStore,Get-CsHostingProvider' });
  });

  it('follows the routing rules of Set-CsAccessEdgeConfiguration', () => {
    const state = newState({ providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' }] });
    const [noSwitch, withProviders, dnsSrv, tooManyTls, afterDns, removed, toDefault, afterDefault] = psJson(
      state,
      SIM_FRONT_END,
      `
      Step { Set-CsAccessEdgeConfiguration -EnablePartnerDiscovery $True }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting -DefaultRouteFqdn 'proxy.example.com' }
      Step { Set-CsAccessEdgeConfiguration -UseDnsSrvRouting -EnablePartnerDiscovery 0 -AllowFederatedUsers 1 }
      Step { Set-CsAccessEdgeConfiguration -OutgoingTlsCountForFederatedPartners 5 }
      ConvertTo-LxJson @(Get-CsAccessEdgeConfiguration)
      Step { Remove-CsHostingProvider 'Exchange Online' }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting -DefaultRouteFqdn 'proxy.example.com' -VerificationLevel UseSourceVerification }
      ConvertTo-LxJson @(Get-CsAccessEdgeConfiguration -Identity global)
      `,
    ) as [StepResult, StepResult, StepResult, StepResult, Record<string, unknown>[], StepResult, StepResult, Record<string, unknown>[]];
    expect(noSwitch).toMatchObject({ ok: false, errorId: 'MissingMandatoryParameter,Set-CsAccessEdgeConfiguration' });
    expect(withProviders).toMatchObject({ ok: false, category: 'InvalidOperation', errorId: 'LyncSim.ProvidersExist,Set-CsAccessEdgeConfiguration' });
    expect(dnsSrv).toEqual({ ok: true });
    expect(tooManyTls).toMatchObject({ ok: false, errorId: 'ParameterArgumentValidationError,Set-CsAccessEdgeConfiguration' });
    expect(afterDns[0]).toMatchObject({ AllowFederatedUsers: true, EnablePartnerDiscovery: false, RoutingMethod: 'UseDnsSrvRouting' });
    expect([removed, toDefault]).toEqual([{ ok: true }, { ok: true }]);
    expect(afterDefault[0]).toMatchObject({ RoutingMethod: 'UseDefaultRouting', DefaultRouteFqdn: 'proxy.example.com', IsPublicProvider: false, VerificationLevel: 'UseSourceVerification' });
    expect(afterDefault[0]).not.toHaveProperty('EnablePartnerDiscovery');
  });

  it('fails an injected fault with its message, and changes nothing', () => {
    const message = 'the CMS is read-only right now';
    const state = newState({ faults: { fail: { 'New-CsHostingProvider': message, 'Get-CsAccessEdgeConfiguration': 'store offline' } } });
    const [create, read, other] = psJson(state, SIM_FRONT_END, `Step { ${NEW_EXCHANGE_ONLINE} }; Step { Get-CsAccessEdgeConfiguration }; Step { Get-CsHostingProvider }`) as StepResult[];
    expect(create).toEqual({ ok: false, errorId: 'LyncSim.InjectedFault,New-CsHostingProvider', category: 'NotSpecified', message });
    expect(read).toMatchObject({ ok: false, errorId: 'LyncSim.InjectedFault,Get-CsAccessEdgeConfiguration', message: 'store offline' });
    expect(other).toEqual({ ok: true });
    const sim = readSimState(state);
    expect(sim.cms.hostingProviders).toEqual([]);
    expect(sim.calls.map((c) => c.outcome)).toEqual(['error']);
  });

  it('a hanging cmdlet never returns and holds no lock while it hangs', async () => {
    const state = newState({ faults: { hang: ['New-CsHostingProvider'] } });
    const child = spawn(exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', PRELUDE + NEW_EXCHANGE_ONLINE], {
      env: { ...process.env, ...simEnv(state, SIM_FRONT_END) },
      stdio: 'ignore',
    });
    let exited = false;
    child.on('exit', () => (exited = true));
    try {
      // wait until the call is logged as hanging, then write from another process while it hangs
      const deadline = Date.now() + 20_000;
      while (!readSimState(state).calls.some((c) => c.outcome === 'hang')) {
        if (Date.now() > deadline) throw new Error('the hanging call was never logged');
        await new Promise((r) => setTimeout(r, 100));
      }
      const [set] = psJson(state, SIM_FRONT_END, 'Step { Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True }') as StepResult[];
      expect(set).toEqual({ ok: true });
      await new Promise((r) => setTimeout(r, 3000));
      expect(exited).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    // the timeout of spawnSync is what ends a hang
    const started = Date.now();
    const r = ps(state, SIM_FRONT_END, NEW_EXCHANGE_ONLINE, 3000);
    expect(r.error).toMatchObject({ code: 'ETIMEDOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    expect(readSimState(state).cms.hostingProviders).toEqual([]);
  });

  it('two processes writing at once lose no update', async () => {
    const state = newState();
    const perProcess = 6;
    const run = (tag: string, host: string) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const body = `1..${perProcess} | ForEach-Object { New-CsHostingProvider -Identity "${tag}-$_" -Enabled $True -ProxyFqdn "${tag}-$_.example.com" }; 'done'`;
        const child = spawn(exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', PRELUDE + body], { env: { ...process.env, ...simEnv(state, host) } });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
    const results = await Promise.all([run('a', SIM_FRONT_END), run('b', 'admin01.contoso.local')]);
    for (const r of results) expect(r, r.stderr).toMatchObject({ code: 0, stderr: '', stdout: 'done\n' });
    const sim = readSimState(state);
    const ids = sim.cms.hostingProviders.map((p) => p.Identity).sort();
    expect(ids).toEqual([...Array.from({ length: perProcess }, (_, i) => `a-${i + 1}`), ...Array.from({ length: perProcess }, (_, i) => `b-${i + 1}`)].sort());
    expect(okCalls(sim, 'New-CsHostingProvider')).toHaveLength(2 * perProcess);
    expect(sim.history.map((h) => h.seq)).toEqual(Array.from({ length: 2 * perProcess + 1 }, (_, i) => i + 1));
  });
});

describeWithPwsh('LxJson', () => {
  beforeAll(() => {
    exe = pwshExecutable()!;
    dir ||= mkdtempSync(path.join(tmpdir(), 'lyncsim-test-'));
  });

  const tricky = [
    '',
    'plain',
    `quotes " and ' and \`backtick\``,
    'back\\slash \\\\ \\u0041 \\n',
    'control \u0000\u0001\u0008\u0009\u000a\u000c\u000d\u001f end',
    '$(Get-Date) ${env:PATH} @(1) $x; Remove-Item * | Out-Null',
    'unicode é ü ß 中文 \u007f\u0080\u009f',
    'emoji 😀 👍🏽 👨‍👩‍👧 🇨🇭',
    'RTL עברית العربية \u200f\u202e mixed',
    'separators \u2028 and \u2029',
    'lone surrogates \ud800 and \udfff',
  ];

  it('round-trips tricky strings byte for byte from Node to PowerShell and back', () => {
    const r = ps(
      path.join(dir, 'unused.json'),
      SIM_FRONT_END,
      `
      $in = ${dataLiteral({ strings: tricky, nested: { list: [1], empty: [], obj: {} } })}
      ConvertTo-LxJson $in -Depth 10
      ConvertTo-LxJson -InputObject @(foreach ($s in $in.strings) { ,([int[]]$s.ToCharArray()) })
      `,
    );
    expect(r.stderr).toBe('');
    const [echoed, units] = r.stdout.split('\n');
    const expected = JSON.stringify({ strings: tricky, nested: { list: [1], empty: [], obj: {} } });
    // identical bytes, except that LxJson also escapes U+2028/U+2029 (JSON.stringify leaves them raw)
    expect(echoed).toBe(expected.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029'));
    // and PowerShell held the very same UTF-16 code units in between
    expect(JSON.parse(units!)).toEqual(tricky.map((s) => [...Array(s.length).keys()].map((i) => s.charCodeAt(i))));
    expect(echoed).not.toMatch(/[\u2028\u2029]/);
  });

  it('writes enums as names, dates as ISO 8601, numbers invariantly, and keeps one-element arrays', () => {
    const r = ps(
      path.join(dir, 'unused.json'),
      SIM_FRONT_END,
      `
      $o = [ordered]@{
        enum = [DayOfWeek]::Friday
        date = [DateTime]::new(2024, 11, 23, 7, 41, 12, [DateTimeKind]::Utc)
        offset = [DateTimeOffset]::new(2024, 11, 23, 7, 41, 12, [TimeSpan]::FromHours(2))
        one = @('x')
        none = $null
        ints = @([int]-5, [long]9007199254740991, [byte]7, [uint32]4000000000)
        floats = @([double]1.5, [double]0.1, [single]2.25, [decimal]2.50, [double]::NaN)
        bools = @($true, $false)
        obj = [pscustomobject]@{ a = 1; b = [pscustomobject]@{ c = @{ d = 1 } } }
        sep = "a$([char]0x2028)b"
      }
      ConvertTo-LxJson $o
      ConvertTo-LxJson $o.obj -Depth 1
      ConvertTo-LxJson $o.obj -Depth 0
      ConvertTo-LxJson @(1)
      ConvertTo-LxJson -InputObject ([object[]]@())
      ConvertTo-LxJson $null
      `,
    );
    expect(r.stderr).toBe('');
    const [full, depth1, depth0, one, empty, nul] = r.stdout.split('\n');
    expect(JSON.parse(full!)).toEqual({
      enum: 'Friday',
      date: '2024-11-23T07:41:12.0000000Z',
      offset: '2024-11-23T07:41:12.0000000+02:00',
      one: ['x'],
      none: null,
      ints: [-5, 9007199254740991, 7, 4000000000],
      floats: [1.5, 0.1, 2.25, 2.5, null],
      bools: [true, false],
      obj: { a: 1, b: { c: { d: 1 } } },
      sep: 'a\u2028b',
    });
    expect(full).toContain('"sep":"a\\u2028b"');
    // -Depth counts levels below the top, as ConvertTo-Json does; deeper containers become their "$x" text
    expect(JSON.parse(depth1!)).toEqual({ a: 1, b: { c: 'System.Collections.Hashtable' } });
    expect(JSON.parse(depth0!)).toEqual({ a: 1, b: '@{c=System.Collections.Hashtable}' });
    expect([one, empty, nul]).toEqual(['[1]', '[]', 'null']);
  });

  it('parses what JSON.stringify writes (indented, escapes, numbers) and reports the position of errors', () => {
    const input = { b: 1, a: [true, null, -2.5, 1e21, 2 ** 64, 0], s: '\ud83d\ude00\u0000x', k: {} };
    const text = Buffer.from(JSON.stringify(input, null, 2), 'utf8').toString('base64');
    const r = ps(
      path.join(dir, 'unused.json'),
      SIM_FRONT_END,
      `
      $v = ConvertFrom-LxJson ([System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String('${text}')))
      ConvertTo-LxJson ([ordered]@{ keys = @($v.Keys); types = @($v.a | ForEach-Object { if ($null -eq $_) { 'null' } else { $_.GetType().Name } }); s = @([int[]]$v.s.ToCharArray()); kType = $v.k.GetType().Name })
      foreach ($bad in @('{"a":1,}', '[1 2]', '"abc', '{"a" 1}', 'tru', '"\\x"', '[1] 2')) { try { $null = ConvertFrom-LxJson $bad; 'parsed' } catch { $_.Exception.Message } }
      `,
    );
    expect(r.stderr).toBe('');
    const [summary, ...errors] = r.stdout.trim().split('\n');
    expect(JSON.parse(summary!)).toEqual({ keys: ['b', 'a', 's', 'k'], types: ['Boolean', 'null', 'Double', 'Double', 'Double', 'Int64'], s: [0xd83d, 0xde00, 0, 0x78], kType: 'OrderedDictionary' });
    expect(errors).toHaveLength(7);
    for (const e of errors) expect(e).toMatch(/^LxJson: .+ at position \d+$/);
    expect(errors[0]).toBe('LxJson: expected a "key" at position 7');
  });
});
