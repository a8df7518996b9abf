// LyncSim and LxJson on a real PowerShell: the documented setup sequence, the failure modes the bot must handle,
// replication with lag, forced and stuck replicas, faults, Edge hosts, two processes sharing one state file, and
// JSON that round-trips byte for byte between Node and PowerShell.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { descendants, isAlive, killTree } from '../src/agent/killTree.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from './support/pwsh.js';
import { buildSimState, createSimState, okCalls, readSimState, SIM_EDGE, SIM_FRONT_END, SIM_TRUSTED_APP, simEnv, type SimOverrides } from './support/simState.js';

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
# The module's objects as the agent sends them: the members, less the heavy undocumented ones, with identities as
# their string form, enums by name, dates in UTC (Local and Unspecified read as this host's local time).
$script:Heavy = @('Element', 'XsAnyElements', 'XsAnyAttributes', 'Anchor')
function Flat([object]$Item) {
  $out = [ordered]@{}
  foreach ($p in $Item.PSObject.Properties) {
    if ($script:Heavy -contains $p.Name) { continue }
    $v = $p.Value
    if ($null -eq $v) { }
    elseif ($v -is [DateTime]) { $v = $v.ToUniversalTime().ToString('o') }
    elseif ($v -is [enum]) { $v = $v.ToString() }
    elseif ($v -is [string] -or $v -is [bool] -or $v -is [ValueType]) { }
    elseif ($v -is [System.Collections.IEnumerable]) { $v = @(foreach ($x in $v) { [string]$x }) }
    else { $v = [string]$v }
    $out[$p.Name] = $v
  }
  return $out
}
function J([object[]]$Items) { ConvertTo-LxJson -InputObject @(foreach ($i in @($Items)) { if ($null -ne $i) { Flat $i } }) }
# Pins LyncSim's clock $Seconds after $env:T0 (the test sets it), so replication steps without the wall clock.
function At([double]$Seconds) {
  $s = ConvertFrom-LxJson ([System.IO.File]::ReadAllText($env:LYNCSIM_STATE))
  $s['now'] = [DateTime]::Parse($env:T0, [System.Globalization.CultureInfo]::InvariantCulture, [System.Globalization.DateTimeStyles]::RoundtripKind).AddSeconds($Seconds).ToString('o')
  [System.IO.File]::WriteAllText($env:LYNCSIM_STATE, (ConvertTo-LxJson -InputObject $s -Depth 50))
}
`;

/** The pinned start of the tests that step LyncSim's clock. */
const T0 = '2026-03-01T10:00:00.0000000Z';
const cls = (verbNoun: string) => `Microsoft.Rtc.Management.Internal.${verbNoun}Cmdlet`;

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

function ps(statePath: string, host: string, body: string, timeout = 60_000, env: Record<string, string> = {}): SpawnSyncReturns<string> {
  return spawnSync(exe, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', PRELUDE + body], {
    env: { ...process.env, ...simEnv(statePath, host), T0, ...env },
    encoding: 'utf8',
    timeout,
  });
}

/** Runs a script that must succeed and returns its output lines, each parsed as JSON. */
function psJson(statePath: string, host: string, body: string, env: Record<string, string> = {}): unknown[] {
  const r = ps(statePath, host, body, 60_000, env);
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

  it('runs the documented setup: settings, provider, a stale UpToDate, replication after the lag, then the Edge local store', () => {
    // the clock is pinned and stepped: nothing here depends on how fast this machine is
    const state = newState({ now: T0, replicationLagSeconds: 2, snapshotDelaySeconds: 1 });
    const [before, afterSet, created, stale, behind, edgeBehind, edgeSettingsBehind, caughtUp] = psJson(
      state,
      SIM_FRONT_END,
      `
      J (Get-CsAccessEdgeConfiguration)
      Step { Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True }
      Step { ${NEW_EXCHANGE_ONLINE} }
      At 0.5; J (Get-CsManagementStoreReplicationStatus)
      At 1.5; J (Get-CsManagementStoreReplicationStatus)
      # the same process plays the Edge for a moment
      $env:LYNCSIM_HOST = '${SIM_EDGE}'
      J (Get-CsHostingProvider -LocalStore)
      J (Get-CsAccessEdgeConfiguration -LocalStore)
      $env:LYNCSIM_HOST = '${SIM_FRONT_END}'
      At 2.5; J (Get-CsManagementStoreReplicationStatus)
      `,
    ) as [Record<string, unknown>[], StepResult, StepResult, Record<string, unknown>[], Record<string, unknown>[], unknown[], Record<string, unknown>[], Record<string, unknown>[]];

    expect(before).toHaveLength(1);
    expect(Object.keys(before[0]!)).toEqual(ACCESS_EDGE_PROPERTIES);
    expect(before[0]).toMatchObject({ Identity: 'Global', AllowFederatedUsers: false, AllowOutsideUsers: true, RoutingMethod: 'UseDnsSrvRouting', OutgoingTlsCountForFederatedPartners: 4 });
    expect(afterSet).toEqual({ ok: true });
    expect(created).toEqual({ ok: true });
    const day = '2026-02-28T10:00:01.0000000Z'; // the starting snapshot: a day back, plus the snapshot delay
    // before the master snapshots the write, replicas still say UpToDate for the update before it
    expect(stale.map((r) => [r.ReplicaFqdn, r.UpToDate, r.LastUpdateCreation])).toEqual([
      [SIM_FRONT_END, true, day],
      [SIM_EDGE, true, day],
      [SIM_TRUSTED_APP, false, null],
    ]);
    expect(Object.keys(stale[0]!)).toEqual(['UpToDate', 'ReplicaFqdn', 'LastStatusReport', 'LastUpdateCreation', 'ProductVersion']);
    expect(behind.map((r) => [r.ReplicaFqdn, r.UpToDate])).toEqual([[SIM_FRONT_END, false], [SIM_EDGE, false], [SIM_TRUSTED_APP, false]]);
    expect(edgeBehind).toEqual([]);
    expect(edgeSettingsBehind[0]!.AllowFederatedUsers).toBe(false);
    expect(caughtUp.map((r) => [r.ReplicaFqdn, r.UpToDate, r.LastUpdateCreation, r.LastStatusReport, r.ProductVersion])).toEqual([
      [SIM_FRONT_END, true, '2026-03-01T10:00:01.0000000Z', '2026-03-01T10:00:02.5000000Z', '5.0.8308.0'],
      [SIM_EDGE, true, '2026-03-01T10:00:01.0000000Z', '2026-03-01T10:00:02.5000000Z', '5.0.8308.0'],
      // a trusted application pool that never reports: no dates, no version, never up to date
      [SIM_TRUSTED_APP, false, null, null, null],
    ]);

    // a real Edge session (at the same pinned time) now sees exactly what was set
    const [edgeAfter, edgeSettingsAfter] = psJson(state, SIM_EDGE, 'J (Get-CsHostingProvider -LocalStore); J (Get-CsAccessEdgeConfiguration -LocalStore)') as [Record<string, unknown>[], Record<string, unknown>[]];
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
    expect(okCalls(sim, 'New-CsHostingProvider')[0]!.at).toBe('2026-03-01T10:00:00.0000000Z');
    expect(okCalls(sim, 'Set-CsAccessEdgeConfiguration')[0]!.host).toBe(SIM_FRONT_END);
    expect(sim.history.map((h) => h.seq)).toEqual([1, 2, 3]);
  });

  it("runs Microsoft's Teams hybrid procedure verbatim beside Exchange Online: the switch, the sipfed provider removed by its pipeline, Office365 with its AutodiscoverUrl", () => {
    // an older Skype for Business Online provider under another name owns the ProxyFqdn; outside users and partner discovery are off
    const state = newState({
      now: T0,
      replicationLagSeconds: 2,
      accessEdge: { AllowOutsideUsers: false },
      providers: [
        { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', EnabledSharedAddressSpace: true, VerificationLevel: 'UseSourceVerification' },
        { Identity: 'LyncOnline', ProxyFqdn: 'sipfed.online.lync.com', EnabledSharedAddressSpace: true, HostsOCSUsers: true, VerificationLevel: 'UseSourceVerification' },
      ],
    });
    const [edgeSet, removed, created, again, providers, settings, edgeBehind, edgeProviders, edgeSettings] = psJson(
      state,
      SIM_FRONT_END,
      `
      # https://learn.microsoft.com/en-us/skypeforbusiness/hybrid/configure-federation-with-skype-for-business-online
      Step { Set-CSAccessEdgeConfiguration -AllowOutsideUsers $True -AllowFederatedUsers $True -EnablePartnerDiscovery $True -UseDnsSrvRouting }
      Step { Get-CsHostingProvider | ?{ $_.ProxyFqdn -eq "sipfed.online.lync.com" } | Remove-CsHostingProvider }
      Step { New-CsHostingProvider -Identity Office365 -ProxyFqdn "sipfed.online.lync.com" -Enabled $true -EnabledSharedAddressSpace $true -HostsOCSUsers $true -VerificationLevel UseSourceVerification -IsLocal $false -AutodiscoverUrl https://webdir.online.lync.com/Autodiscover/AutodiscoverService.svc/root }
      Step { New-CsHostingProvider -Identity Office365 -ProxyFqdn "sipfed.online.lync.com" -Enabled $true -EnabledSharedAddressSpace $true -HostsOCSUsers $true }
      J (Get-CsHostingProvider)
      J (Get-CsAccessEdgeConfiguration)
      $env:LYNCSIM_HOST = '${SIM_EDGE}'
      At 1; J (Get-CsHostingProvider -LocalStore)
      At 3; J (Get-CsHostingProvider -LocalStore)
      J (Get-CsAccessEdgeConfiguration -LocalStore)
      `,
    ) as [StepResult, StepResult, StepResult, StepResult, Record<string, unknown>[], Record<string, unknown>[], Record<string, unknown>[], Record<string, unknown>[], Record<string, unknown>[]];

    expect([edgeSet, removed, created]).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    // the old one is gone, so a second create finds the Identity taken (it is the ProxyFqdn's owner now)
    expect(again).toMatchObject({ ok: false, errorId: `ProviderIdentityExists,${cls('NewHostingProvider')}`, category: 'ResourceExists' });
    const office365 = {
      Identity: 'Office365',
      Name: 'Office365',
      ProxyFqdn: 'sipfed.online.lync.com',
      VerificationLevel: 'UseSourceVerification',
      Enabled: true,
      EnabledSharedAddressSpace: true,
      HostsOCSUsers: true,
      IsLocal: false,
      AutodiscoverUrl: 'https://webdir.online.lync.com/Autodiscover/AutodiscoverService.svc/root',
      SipClientPort: 443,
    };
    // Exchange Online coexists, untouched
    expect(providers.map((p) => p.Identity)).toEqual(['Exchange Online', 'Office365']);
    expect(providers[1]).toEqual(office365);
    expect(settings[0]).toMatchObject({ AllowOutsideUsers: true, AllowFederatedUsers: true, EnablePartnerDiscovery: true, RoutingMethod: 'UseDnsSrvRouting' });
    // before the lag the Edge still has the old provider; after it, exactly what was created
    expect(edgeBehind.map((p) => p.Identity)).toEqual(['Exchange Online', 'LyncOnline']);
    expect(edgeProviders.map((p) => p.Identity)).toEqual(['Exchange Online', 'Office365']);
    expect(edgeProviders[1]).toEqual(office365);
    expect(edgeSettings[0]).toMatchObject({ AllowOutsideUsers: true, EnablePartnerDiscovery: true });

    const sim = readSimState(state);
    // the pipeline bound the provider's Identity object by property name, as the real module's does
    expect(okCalls(sim, 'Remove-CsHostingProvider').map((c) => c.parameters)).toEqual([{ Identity: 'LyncOnline' }]);
    expect(okCalls(sim, 'Set-CsAccessEdgeConfiguration')[0]!.parameters).toEqual({ AllowOutsideUsers: true, AllowFederatedUsers: true, EnablePartnerDiscovery: true, UseDnsSrvRouting: true });
    expect(okCalls(sim, 'New-CsHostingProvider')[0]!.parameters.AutodiscoverUrl).toBe('https://webdir.online.lync.com/Autodiscover/AutodiscoverService.svc/root');
  });

  it('the hybrid switch leaves a default route: -UseDnsSrvRouting sets RoutingMethod and clears DefaultRouteFqdn; going back needs no providers', () => {
    const state = newState({ routingMethod: 'UseDefaultRouting', defaultRouteFqdn: 'sip.upstream.example.com', publicProviders: [] });
    const [before, toSrv, after, created, back, removed, noRoute, backAgain, last] = psJson(
      state,
      SIM_FRONT_END,
      `
      J (Get-CsAccessEdgeConfiguration)
      Step { Set-CsAccessEdgeConfiguration -AllowOutsideUsers $True -AllowFederatedUsers $True -EnablePartnerDiscovery $True -UseDnsSrvRouting }
      J (Get-CsAccessEdgeConfiguration)
      Step { New-CsHostingProvider -Identity Office365 -ProxyFqdn sipfed.online.lync.com -Enabled $true -EnabledSharedAddressSpace $true -HostsOCSUsers $true }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting -DefaultRouteFqdn sip.upstream.example.com }
      Step { Remove-CsHostingProvider -Identity Office365 }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting -DefaultRouteFqdn sip.upstream.example.com }
      J (Get-CsAccessEdgeConfiguration)
      `,
    ) as [Record<string, unknown>[], StepResult, Record<string, unknown>[], StepResult, StepResult, StepResult, StepResult, StepResult, Record<string, unknown>[]];
    expect(before[0]).toMatchObject({ RoutingMethod: 'UseDefaultRouting', DefaultRouteFqdn: 'sip.upstream.example.com' });
    expect(before[0]).not.toHaveProperty('EnablePartnerDiscovery');
    expect(toSrv).toEqual({ ok: true });
    expect(after[0]).toMatchObject({ RoutingMethod: 'UseDnsSrvRouting', EnablePartnerDiscovery: true });
    expect(after[0]).not.toHaveProperty('DefaultRouteFqdn');
    expect(created).toEqual({ ok: true });
    expect(back).toMatchObject({ ok: false, errorId: `ProvidersExist,${cls('SetAccessEdgeConfiguration')}` });
    expect(removed).toEqual({ ok: true });
    // the switch cleared the old route: going back must name it again
    expect(noRoute).toMatchObject({ ok: false, errorId: `DefaultRouteFqdnMissing,${cls('SetAccessEdgeConfiguration')}` });
    expect(backAgain).toEqual({ ok: true });
    expect(last[0]).toMatchObject({ RoutingMethod: 'UseDefaultRouting', DefaultRouteFqdn: 'sip.upstream.example.com' });
  });

  it('creates the default deployment when the state file is missing, the same one simState builds', () => {
    const state = path.join(dir, `missing-${++n}.json`);
    const [status] = psJson(state, SIM_FRONT_END, 'J (Get-CsManagementStoreReplicationStatus)') as [Record<string, unknown>[]];
    expect(status.map((r) => [r.ReplicaFqdn, r.UpToDate])).toEqual([[SIM_FRONT_END, true], [SIM_EDGE, true], [SIM_TRUSTED_APP, false]]);
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
    expect(dupId).toMatchObject({ ok: false, category: 'ResourceExists', errorId: `ProviderIdentityExists,${cls('NewHostingProvider')}` });
    expect(dupId!.message).toBe('A hosting provider with Identity "Exchange Online" already exists.');
    expect(dupFqdn).toMatchObject({ ok: false, category: 'InvalidOperation', errorId: `ProxyFqdnInUse,${cls('NewHostingProvider')}` });
    expect(dupFqdn!.message).toMatch(/ProxyFqdn "EXAP\.um\.outlook\.com" is already used by the hosting provider "Exchange Online"/);
    for (const r of [setMissing, removeMissing, enableMissing]) {
      expect(r).toMatchObject({ ok: false, category: 'ObjectNotFound' });
      expect(r!.errorId).toMatch(/^ProviderNotFound,Microsoft\.Rtc\.Management\.Internal\.(Set|Remove|Enable)HostingProviderCmdlet$/);
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
    // a prompt would wait on stdin until the (generous) timeout; the binding error ends the process instead
    const r = ps(state, SIM_FRONT_END, "New-CsHostingProvider -Identity 'Exchange Online' -Enabled $True", 90_000);
    expect(r.error).toBeUndefined();
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
      J (Get-CsHostingProvider -Filter 'fab*')
      J (Get-CsHostingProvider 'exchange online')
      J (Get-CsHostingProvider -Identity 'Nobody')
      Step { Get-CsHostingProvider -Filter 'Exchange*' | Remove-CsHostingProvider -Confirm:$false }
      J (Get-CsHostingProvider)
      `,
    ) as [StepResult, StepResult, StepResult, StepResult, Record<string, unknown>[], Record<string, unknown>[], unknown[], StepResult, Record<string, unknown>[]];
    expect([set, disable1, enable, removed]).toEqual([{ ok: true }, { ok: true }, { ok: true }, { ok: true }]);
    expect(disable2).toMatchObject({ ok: false, category: 'InvalidOperation', errorId: `ProviderAlreadyDisabled,${cls('DisableHostingProvider')}` });
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
      J @(foreach ($name in $names) { Get-CsHostingProvider -Identity $name })
      `,
    ) as [StepResult[], Record<string, unknown>[]];
    expect(results.every((r) => r.ok)).toBe(true);
    expect(listed.map((p) => p.Identity)).toEqual(names);
    expect(listed.map((p) => p.Name)).toEqual(names);
    expect(readSimState(state).cms.hostingProviders.map((p) => p.Identity)).toEqual(names);
  });

  it('Invoke-CsManagementStoreReplication makes its targets read UpToDate=False until they catch up', () => {
    const state = newState({ now: T0, replicationLagSeconds: 1 });
    const [start, oneForced, stillForced, caughtUp, allForced, unknown, confirm] = psJson(
      state,
      SIM_FRONT_END,
      `
      J (Get-CsManagementStoreReplicationStatus)
      Invoke-CsManagementStoreReplication -ReplicaFqdn '${SIM_EDGE}'
      J (Get-CsManagementStoreReplicationStatus)
      At 0.9; J (Get-CsManagementStoreReplicationStatus -ReplicaFqdn '${SIM_EDGE}')
      At 1.0; J (Get-CsManagementStoreReplicationStatus -ReplicaFqdn '${SIM_EDGE}')
      Invoke-CsManagementStoreReplication
      J (Get-CsManagementStoreReplicationStatus)
      Step { Invoke-CsManagementStoreReplication -ReplicaFqdn 'nowhere.contoso.local' }
      Step { Invoke-CsManagementStoreReplication -Confirm:$false }
      `,
    ) as [Record<string, unknown>[], Record<string, unknown>[], Record<string, unknown>[], Record<string, unknown>[], Record<string, unknown>[], StepResult, StepResult];
    expect(start.map((r) => r.UpToDate)).toEqual([true, true, false]);
    expect(oneForced.map((r) => [r.ReplicaFqdn, r.UpToDate, r.LastStatusReport === null])).toEqual([[SIM_FRONT_END, true, false], [SIM_EDGE, false, true], [SIM_TRUSTED_APP, false, true]]);
    expect(stillForced[0]!.UpToDate).toBe(false);
    expect(caughtUp[0]!.UpToDate).toBe(true);
    expect(allForced.map((r) => r.UpToDate)).toEqual([false, false, false]);
    expect(unknown).toMatchObject({ ok: false, category: 'ObjectNotFound', errorId: `ReplicaNotFound,${cls('InvokeManagementStoreReplication')}` });
    // as documented: -ReplicaFqdn and -Force, no -Confirm or -WhatIf
    expect(confirm).toMatchObject({ ok: false, errorId: 'NamedParameterNotFound,Invoke-CsManagementStoreReplication' });
    expect(readSimState(state).history).toHaveLength(1);
  });

  it('a stuck replica never catches up, even when forced, and its local store stays at the start', () => {
    const state = newState({ now: T0, replicationLagSeconds: 1, stuckReplicas: [SIM_EDGE], extraEdges: ['edge02.contoso.local'] });
    const [status] = psJson(
      state,
      SIM_FRONT_END,
      `
      ${NEW_EXCHANGE_ONLINE}
      Invoke-CsManagementStoreReplication -ReplicaFqdn '${SIM_EDGE}'
      At 600
      J (Get-CsManagementStoreReplicationStatus)
      `,
    ) as [Record<string, unknown>[]];
    expect(status.map((r) => [r.ReplicaFqdn, r.UpToDate])).toEqual([[SIM_FRONT_END, true], [SIM_EDGE, false], ['edge02.contoso.local', true], [SIM_TRUSTED_APP, false]]);
    const [stuckStore] = psJson(state, SIM_EDGE, 'J (Get-CsHostingProvider -LocalStore)') as [unknown[]];
    const [healthyStore] = psJson(state, 'edge02.contoso.local', 'J (Get-CsHostingProvider -LocalStore)') as [Record<string, unknown>[]];
    const [silentStore] = psJson(state, SIM_TRUSTED_APP, 'J (Get-CsHostingProvider -LocalStore)') as [unknown[]];
    expect(stuckStore).toEqual([]);
    expect(healthyStore.map((p) => p.Identity)).toEqual(['Exchange Online']);
    expect(silentStore).toEqual([]);
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
      expect(r!.errorId).toMatch(/^CmsUnreachable,Microsoft\.Rtc\.Management\.Internal\.(SetAccessEdgeConfiguration|GetHostingProvider|GetManagementStoreReplicationStatus)Cmdlet$/);
      expect(r!.message).toMatch(/Central Management Store/);
    }
    expect(local).toEqual({ ok: true });
    const sim = readSimState(state);
    expect(sim.cms.accessEdge.AllowFederatedUsers).toBe(false);
    expect(sim.calls).toMatchObject([{ cmdlet: 'Set-CsAccessEdgeConfiguration', host: SIM_EDGE, outcome: 'error', errorId: `CmsUnreachable,${cls('SetAccessEdgeConfiguration')}` }]);

    // an admin host outside the replica list reaches the CMS but has no local store
    const [adminRead, adminLocal] = psJson(state, 'admin01.contoso.local', 'Step { Get-CsHostingProvider }; Step { Get-CsHostingProvider -LocalStore }') as StepResult[];
    expect(adminRead).toEqual({ ok: true });
    expect(adminLocal).toMatchObject({ ok: false, category: 'ResourceUnavailable', errorId: `NoLocalStore,${cls('GetHostingProvider')}` });
  });

  it('follows the routing rules and parameter sets of Set-CsAccessEdgeConfiguration', () => {
    const state = newState({ providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' }] });
    const [discoveryAlone, noRoute, withProviders, dnsSrv, tooManyTls, afterDns, instance, afterInstance, instanceAndSetting, identityAndRouting] = psJson(
      state,
      SIM_FRONT_END,
      `
      Step { Set-CsAccessEdgeConfiguration -EnablePartnerDiscovery $True }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting }
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting -DefaultRouteFqdn 'proxy.example.com' }
      Step { Set-CsAccessEdgeConfiguration -UseDnsSrvRouting -EnablePartnerDiscovery 0 -AllowFederatedUsers 1 }
      Step { Set-CsAccessEdgeConfiguration -OutgoingTlsCountForFederatedPartners 5 }
      J (Get-CsAccessEdgeConfiguration)
      Step { $c = Get-CsAccessEdgeConfiguration; $c.AllowOutsideUsers = $False; $c | Set-CsAccessEdgeConfiguration }
      J (Get-CsAccessEdgeConfiguration)
      Step { Set-CsAccessEdgeConfiguration -Instance (Get-CsAccessEdgeConfiguration) -AllowOutsideUsers $True }
      Step { Set-CsAccessEdgeConfiguration -Identity Global -EnablePartnerDiscovery $True }
      `,
    ) as [StepResult, StepResult, StepResult, StepResult, StepResult, Record<string, unknown>[], StepResult, Record<string, unknown>[], StepResult, StepResult];
    // every routing parameter is optional, as documented
    expect(discoveryAlone).toEqual({ ok: true });
    expect(noRoute).toMatchObject({ ok: false, category: 'InvalidArgument', errorId: `DefaultRouteFqdnMissing,${cls('SetAccessEdgeConfiguration')}` });
    expect(withProviders).toMatchObject({ ok: false, category: 'InvalidOperation', errorId: `ProvidersExist,${cls('SetAccessEdgeConfiguration')}` });
    expect(dnsSrv).toEqual({ ok: true });
    expect(tooManyTls).toMatchObject({ ok: false, errorId: 'ParameterArgumentValidationError,Set-CsAccessEdgeConfiguration' });
    expect(afterDns[0]).toMatchObject({ AllowFederatedUsers: true, EnablePartnerDiscovery: false, RoutingMethod: 'UseDnsSrvRouting' });
    expect(instance).toEqual({ ok: true });
    expect(afterInstance[0]).toMatchObject({ AllowOutsideUsers: false, AllowFederatedUsers: true });
    // as documented, -Instance comes alone, and -Identity belongs to the set without routing parameters
    expect(instanceAndSetting).toMatchObject({ ok: false, errorId: 'AmbiguousParameterSet,Set-CsAccessEdgeConfiguration' });
    expect(identityAndRouting).toMatchObject({ ok: false, errorId: 'AmbiguousParameterSet,Set-CsAccessEdgeConfiguration' });

    // default routing needs no hosting and no public provider left
    const bare = newState({ publicProviders: [] });
    const [toDefault, afterDefault] = psJson(
      bare,
      SIM_FRONT_END,
      `
      Step { Set-CsAccessEdgeConfiguration -UseDefaultRouting -DefaultRouteFqdn 'proxy.example.com' -VerificationLevel UseSourceVerification }
      J (Get-CsAccessEdgeConfiguration -Identity global)
      `,
    ) as [StepResult, Record<string, unknown>[]];
    expect(toDefault).toEqual({ ok: true });
    expect(afterDefault[0]).toMatchObject({ RoutingMethod: 'UseDefaultRouting', DefaultRouteFqdn: 'proxy.example.com', IsPublicProvider: false, VerificationLevel: 'UseSourceVerification' });
    expect(afterDefault[0]).not.toHaveProperty('EnablePartnerDiscovery');
  });

  it('fails an injected fault with its message, and changes nothing', () => {
    const message = 'the CMS is read-only right now';
    const state = newState({ faults: { fail: { 'New-CsHostingProvider': message, 'Get-CsAccessEdgeConfiguration': 'store offline' } } });
    const [create, read, other] = psJson(state, SIM_FRONT_END, `Step { ${NEW_EXCHANGE_ONLINE} }; Step { Get-CsAccessEdgeConfiguration }; Step { Get-CsHostingProvider }`) as StepResult[];
    expect(create).toEqual({ ok: false, errorId: `InjectedFault,${cls('NewHostingProvider')}`, category: 'NotSpecified', message });
    expect(read).toMatchObject({ ok: false, errorId: `InjectedFault,${cls('GetAccessEdgeConfiguration')}`, message: 'store offline' });
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
      // wait until the call is logged as hanging, then write from another process while it hangs; the bound only
      // ends a hang (PowerShell took over 20 s to start here with the load average above 20)
      const deadline = Date.now() + 150_000;
      while (!readSimState(state).calls.some((c) => c.outcome === 'hang')) {
        if (Date.now() > deadline) throw new Error('the hanging call was never logged');
        await new Promise((r) => setTimeout(r, 100));
      }
      const [set] = psJson(state, SIM_FRONT_END, 'Step { Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True }') as StepResult[];
      expect(set).toEqual({ ok: true });
      await new Promise((r) => setTimeout(r, 3000));
      expect(exited).toBe(false);
    } finally {
      // only killing ends a hang, and it takes the whole tree: the .NET tool's pwsh launcher runs dotnet as its
      // child, which SIGKILL to the launcher alone would leave hanging for good
      const tree = [child.pid!, ...descendants(child.pid!)];
      killTree(child.pid!);
      const deadline = Date.now() + 30_000;
      while (tree.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(tree.filter(isAlive), 'processes of the hung PowerShell still alive').toEqual([]);
    }
    expect(readSimState(state).cms.hostingProviders).toEqual([]);
  });

  it('two processes writing at once lose no update', async () => {
    // the clock is pinned: no replica catches up meanwhile, so no history is dropped however slow the machine
    const state = newState({ now: T0 });
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

describeWithPwsh('LyncSim objects shaped like the real module\'s', () => {
  beforeAll(() => {
    exe = pwshExecutable()!;
    dir = mkdtempSync(path.join(tmpdir(), 'lyncsim-shapes-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const SHAPES = `
    $p = @(Get-CsHostingProvider)[0]
    $e = Get-CsAccessEdgeConfiguration
    $r = @(Get-CsManagementStoreReplicationStatus)
    $c = Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus
    $v = @(Get-CsHostedVoicemailPolicy)[0]
    ConvertTo-LxJson ([ordered]@{
      identity = @($p.Identity.GetType().Name, [string]$p.Identity, $p.Identity.Name, $p.Identity.ScopeClass)
      edgeIdentity = @($e.Identity.GetType().Name, [string]$e.Identity)
      voicemailIdentity = $v.Identity.GetType().Name
      edgeType = $e.PSObject.TypeNames[0]
      level = $p.VerificationLevel.GetType().Name
      element = @($p.Element.GetType().FullName, $p.Element.GetAttribute('ProxyFqdn'), $e.Element.GetType().FullName)
      xsAny = @($p.XsAnyElements.Count, $p.XsAnyAttributes.GetType().Name)
      anchor = @($p.Anchor.Document, [object]::ReferenceEquals($p.Anchor.Element, $p.Element))
      date = @([string]$r[0].LastUpdateCreation.Kind, $r[0].LastUpdateCreation.ToString('o'), $r[0].LastUpdateCreation.ToUniversalTime().ToString('o'))
      silent = @($r[2].ReplicaFqdn, $r[2].UpToDate, ($null -eq $r[2].LastUpdateCreation), ($null -eq $r[2].ProductVersion))
      cms = @($c.GetType().Name, $c.ActiveMasterFqdn, $c.ActiveFileTransferAgents.GetType().Name)
      # the XML is a graph: the element's document leads back to it, and every setting is a child node
      xmlGraph = @([object]::ReferenceEquals($p.Element.OwnerDocument.DocumentElement, $p.Element), $p.Element.ChildNodes.Count)
    })
  `;

  it('identity objects, enums, heavy XML members, Unspecified dates in the host\'s zone, the CMS status, a replica that never reports', () => {
    const state = newState({ now: T0, providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' }] });
    // a zone eight hours from UTC, so a date read in the wrong zone shows
    const [shape] = psJson(state, SIM_FRONT_END, SHAPES, { TZ: 'Asia/Taipei' }) as [Record<string, unknown>];
    expect(shape).toMatchObject({
      identity: ['XdsGlobalRelativeIdentity', 'Exchange Online', 'Exchange Online', 'Global'],
      edgeIdentity: ['XdsIdentity', 'Global'],
      voicemailIdentity: 'XdsIdentity',
      edgeType: 'Microsoft.Rtc.Management.WritableConfig.Settings.Edge.DisplayAccessEdgeSettingsDnsSrvRouting',
      level: 'VerificationLevelType',
      element: ['System.Xml.XmlElement', 'exap.um.outlook.com', 'System.Xml.XmlElement'],
      xsAny: [1, 'List`1'],
      anchor: ['urn:xds:Microsoft.Rtc.Management.Settings.Edge.2008:HostingProvider', true],
      // the starting snapshot (a day back, plus the 1 s snapshot delay), as Taipei's wall clock, kind Unspecified
      date: ['Unspecified', '2026-02-28T18:00:01.0000000', '2026-02-28T10:00:01.0000000Z'],
      silent: [SIM_TRUSTED_APP, false, true, true],
      cms: ['CentralManagementStoreStatusResult', SIM_FRONT_END, 'String[]'],
    });
    expect(shape.xmlGraph).toEqual([true, 8]);
  });

  it('dates of kind Local when the state says so, and the flat objects of old when it says plain', () => {
    const local = newState({ now: T0, dateKind: 'Local' });
    const [shape] = psJson(local, SIM_FRONT_END, 'ConvertTo-LxJson @(foreach ($r in Get-CsManagementStoreReplicationStatus) { if ($null -ne $r.LastUpdateCreation) { ,@([string]$r.LastUpdateCreation.Kind, $r.LastUpdateCreation.ToString("o")) } })', { TZ: 'Asia/Taipei' }) as [string[][]];
    expect(shape).toEqual([['Local', '2026-02-28T18:00:01.0000000+08:00'], ['Local', '2026-02-28T18:00:01.0000000+08:00']]);
    const plain = newState({ objects: 'plain', providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' }] });
    const [types] = psJson(plain, SIM_FRONT_END, 'ConvertTo-LxJson @(@(Get-CsHostingProvider)[0].Identity.GetType().Name, (Get-CsAccessEdgeConfiguration).Identity.GetType().Name)') as [string[]];
    expect(types).toEqual(['String', 'String']);
  });

  it('has Lync\'s three public providers, unique Identity and ProxyFqdn across both kinds, and -InMemory with -Instance', () => {
    const state = newState();
    const [publicProviders, inMemory, saved, ownedFqdn, ownedName, removed] = psJson(
      state,
      SIM_FRONT_END,
      `
      J (Get-CsPublicProvider)
      Step { $m = New-CsHostingProvider -Identity 'In Memory' -Enabled $True -ProxyFqdn 'mem.example.com' -InMemory; $m.VerificationLevel = 'UseSourceVerification'; Set-CsHostingProvider -Instance $m }
      J (Get-CsHostingProvider -Identity 'In Memory')
      Step { New-CsHostingProvider -Identity 'Skype' -Enabled $True -ProxyFqdn 'FEDERATION.messenger.msn.com' }
      Step { New-CsHostingProvider -Identity 'messenger' -Enabled $True -ProxyFqdn 'x.example.com' }
      Step { Get-CsHostingProvider | Remove-CsHostingProvider -Confirm:$false }
      `,
    ) as [Record<string, unknown>[], StepResult, Record<string, unknown>[], StepResult, StepResult, StepResult];
    expect(publicProviders.map((p) => [p.Identity, p.ProxyFqdn, p.Enabled])).toEqual([
      ['Messenger', 'federation.messenger.msn.com', false],
      ['Yahoo', 'lcsap.messenger.yahoo.net', false],
      ['AOL', 'sip.oscar.aol.com', false],
    ]);
    expect(inMemory).toEqual({ ok: true });
    expect(saved).toMatchObject([{ Identity: 'In Memory', ProxyFqdn: 'mem.example.com', VerificationLevel: 'UseSourceVerification', Enabled: true }]);
    expect(ownedFqdn).toMatchObject({ ok: false, errorId: `ProxyFqdnInUse,${cls('NewHostingProvider')}` });
    expect(ownedFqdn.message).toMatch(/already used by the public provider "Messenger"/);
    expect(ownedName).toMatchObject({ ok: false, category: 'ResourceExists', errorId: `ProviderIdentityExists,${cls('NewHostingProvider')}` });
    // identity objects bind to -Identity by property name, as the docs' pipelines do
    expect(removed).toEqual({ ok: true });
    expect(readSimState(state).cms.hostingProviders).toEqual([]);
    // -InMemory alone saved nothing: the only writes are the Set, the two refusals and the Remove
    expect(readSimState(state).calls.map((c) => [c.cmdlet, c.outcome])).toEqual([
      ['Set-CsHostingProvider', 'ok'],
      ['New-CsHostingProvider', 'error'],
      ['New-CsHostingProvider', 'error'],
      ['Remove-CsHostingProvider', 'ok'],
    ]);
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
