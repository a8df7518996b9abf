// The LyncSim state file, for tests and the demo: its types, a writer for a chosen starting deployment, a reader,
// and the environment a PowerShell session needs to play one host. The PowerShell side is
// powershell/LyncSim/LyncSim.psm1; its header describes the same format and the replication model.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VerificationLevel } from '../../src/core/lync.js';

export const SIM_FRONT_END = 'fe01.contoso.local';
export const SIM_EDGE = 'edge01.contoso.local';
export const SIM_PRODUCT_VERSION = '5.0.8308.0';

export type SimRoutingMethod = 'UseDnsSrvRouting' | 'UseDefaultRouting';

/** cms.accessEdge: the 19 properties of Microsoft's sample (in its order), then what other parameter sets set. */
export interface SimAccessEdge {
  Identity: string;
  AllowAnonymousUsers: boolean;
  AllowFederatedUsers: boolean;
  AllowOutsideUsers: boolean;
  BeClearingHouse: boolean;
  EnablePartnerDiscovery: boolean;
  EnableArchivingDisclaimer: boolean;
  EnableUserReplicator: boolean;
  KeepCrlsUpToDateForPeers: boolean;
  MarkSourceVerifiableOnOutgoingMessages: boolean;
  OutgoingTlsCountForFederatedPartners: number;
  DiscoveredPartnerStandardRate: number;
  EnableDiscoveredPartnerContactsLimit: boolean;
  MaxContactsPerDiscoveredPartner: number;
  DiscoveredPartnerReportPeriodMinutes: number;
  MaxAcceptedCertificatesStored: number;
  MaxRejectedCertificatesStored: number;
  CertificatesDeletedPercentage: number;
  RoutingMethod: SimRoutingMethod;
  DiscoveredPartnerVerificationLevel: VerificationLevel;
  DnsSrvCacheRecordCount: number | null;
  SkypeSearchUrl: string | null;
  DefaultRouteFqdn: string | null;
  IsPublicProvider: boolean;
  VerificationLevel: VerificationLevel;
}

/** cms.hostingProviders[]: what Get-CsHostingProvider shows, less Name (always the Identity). */
export interface SimHostingProvider {
  Identity: string;
  ProxyFqdn: string;
  VerificationLevel: VerificationLevel;
  Enabled: boolean;
  EnabledSharedAddressSpace: boolean;
  HostsOCSUsers: boolean;
  IsLocal: boolean;
  AutodiscoverUrl: string | null;
  SipClientPort: number;
}

export interface SimVoicemailPolicy {
  Identity: string;
  Description: string | null;
  Destination: string | null;
  Organization: string | null;
}

export interface SimCms {
  accessEdge: SimAccessEdge;
  hostingProviders: SimHostingProvider[];
  hostedVoicemailPolicies: SimVoicemailPolicy[];
}

/** One CMS write: replicas see the newest entry at least their lag old. */
export interface SimHistoryEntry {
  seq: number;
  /** ISO 8601 UTC */
  at: string;
  cms: SimCms;
}

export interface SimReplica {
  fqdn: string;
  /** `Edge` hosts cannot reach the CMS; anything else can. */
  role: 'FrontEnd' | 'Edge' | (string & {});
  productVersion: string;
  /** overrides replicationLagSeconds for this replica */
  lagSeconds: number | null;
  /** a stuck replica never gets past history entry `stuckAtSeq` (1 when null) and never completes a forced replication */
  stuck: boolean;
  stuckAtSeq: number | null;
  /** set by Invoke-CsManagementStoreReplication: UpToDate reads False until forcedAt + lag */
  forcedAt: string | null;
}

export interface SimFaults {
  /** cmdlets that never return */
  hang: string[];
  /** cmdlet → the message it fails with (errorId LyncSim.InjectedFault) */
  fail: Record<string, string>;
}

/** One call of a state-changing cmdlet (not -WhatIf), whatever its outcome. */
export interface SimCall {
  at: string;
  host: string;
  cmdlet: string;
  /** bound parameters without the common ones; switches as booleans, enums as names */
  parameters: Record<string, unknown>;
  outcome: 'ok' | 'error' | 'hang';
  /** FullyQualifiedErrorId, e.g. `LyncSim.ProviderIdentityExists,New-CsHostingProvider` */
  errorId: string | null;
}

export interface SimState {
  version: 1;
  replicationLagSeconds: number;
  cms: SimCms;
  history: SimHistoryEntry[];
  replicas: SimReplica[];
  faults: SimFaults;
  calls: SimCall[];
}

/** A provider for `providers`: Identity and ProxyFqdn, the rest defaults to New-CsHostingProvider's defaults. */
export type SimProviderInput = Pick<SimHostingProvider, 'Identity' | 'ProxyFqdn'> & Partial<SimHostingProvider>;

export interface SimOverrides {
  /** global replication lag (default 5 s; tests want 1–2 s) */
  replicationLagSeconds?: number;
  /** Edge replicas besides edge01.contoso.local */
  extraEdges?: string[];
  /** hosting providers that already exist (in the starting snapshot, so every replica has them) */
  providers?: SimProviderInput[];
  routingMethod?: SimRoutingMethod;
  /** with routingMethod UseDefaultRouting */
  defaultRouteFqdn?: string;
  /** any other Access Edge values */
  accessEdge?: Partial<SimAccessEdge>;
  hostedVoicemailPolicies?: SimVoicemailPolicy[];
  faults?: Partial<SimFaults>;
  /** replicas (by FQDN) stuck at the starting snapshot */
  stuckReplicas?: string[];
  /** per-replica lag in seconds, by FQDN */
  replicaLagSeconds?: Record<string, number>;
  productVersion?: string;
  /** file name inside `dir` (default lyncsim-state.json) */
  fileName?: string;
}

export function defaultAccessEdge(): SimAccessEdge {
  return {
    Identity: 'Global',
    AllowAnonymousUsers: false,
    AllowFederatedUsers: false,
    AllowOutsideUsers: true,
    BeClearingHouse: false,
    EnablePartnerDiscovery: false,
    EnableArchivingDisclaimer: false,
    EnableUserReplicator: true,
    KeepCrlsUpToDateForPeers: true,
    MarkSourceVerifiableOnOutgoingMessages: true,
    OutgoingTlsCountForFederatedPartners: 4,
    DiscoveredPartnerStandardRate: 20,
    EnableDiscoveredPartnerContactsLimit: true,
    MaxContactsPerDiscoveredPartner: 1000,
    DiscoveredPartnerReportPeriodMinutes: 60,
    MaxAcceptedCertificatesStored: 1000,
    MaxRejectedCertificatesStored: 500,
    CertificatesDeletedPercentage: 20,
    RoutingMethod: 'UseDnsSrvRouting',
    DiscoveredPartnerVerificationLevel: 'AlwaysVerifiable',
    DnsSrvCacheRecordCount: null,
    SkypeSearchUrl: null,
    DefaultRouteFqdn: null,
    IsPublicProvider: false,
    VerificationLevel: 'AlwaysVerifiable',
  };
}

function provider(input: SimProviderInput): SimHostingProvider {
  return {
    VerificationLevel: 'AlwaysVerifiable',
    Enabled: true,
    EnabledSharedAddressSpace: false,
    HostsOCSUsers: false,
    IsLocal: false,
    AutodiscoverUrl: null,
    SipClientPort: 443,
    ...input,
  };
}

/** The state LyncSim itself creates for a missing file, with the overrides applied. */
export function buildSimState(overrides: SimOverrides = {}, now: Date = new Date()): SimState {
  const accessEdge: SimAccessEdge = { ...defaultAccessEdge(), ...overrides.accessEdge };
  if (overrides.routingMethod) accessEdge.RoutingMethod = overrides.routingMethod;
  if (overrides.defaultRouteFqdn !== undefined) accessEdge.DefaultRouteFqdn = overrides.defaultRouteFqdn;
  const cms: SimCms = {
    accessEdge,
    hostingProviders: (overrides.providers ?? []).map(provider),
    hostedVoicemailPolicies: overrides.hostedVoicemailPolicies ?? [{ Identity: 'Global', Description: null, Destination: null, Organization: null }],
  };
  const stuck = new Set(overrides.stuckReplicas ?? []);
  const lags = overrides.replicaLagSeconds ?? {};
  const replica = (fqdn: string, role: string): SimReplica => ({
    fqdn,
    role,
    productVersion: overrides.productVersion ?? SIM_PRODUCT_VERSION,
    lagSeconds: lags[fqdn] ?? null,
    stuck: stuck.has(fqdn),
    stuckAtSeq: null,
    forcedAt: null,
  });
  const replicas = [replica(SIM_FRONT_END, 'FrontEnd'), replica(SIM_EDGE, 'Edge'), ...(overrides.extraEdges ?? []).map((f) => replica(f, 'Edge'))];
  for (const name of [...stuck, ...Object.keys(lags)]) {
    if (!replicas.some((r) => r.fqdn === name)) throw new Error(`simState: no replica named ${name}`);
  }
  return {
    version: 1,
    replicationLagSeconds: overrides.replicationLagSeconds ?? 5,
    cms,
    // the starting deployment is a day old, so every replica starts up to date with it
    history: [{ seq: 1, at: new Date(now.getTime() - 86_400_000).toISOString(), cms: structuredClone(cms) }],
    replicas,
    faults: { hang: overrides.faults?.hang ?? [], fail: overrides.faults?.fail ?? {} },
    calls: [],
  };
}

/** Writes a state file into `dir` and returns its path. */
export function createSimState(dir: string, overrides: SimOverrides = {}): string {
  const file = path.join(dir, overrides.fileName ?? 'lyncsim-state.json');
  writeFileSync(file, JSON.stringify(buildSimState(overrides)), 'utf8');
  return file;
}

export function readSimState(statePath: string): SimState {
  return JSON.parse(readFileSync(statePath, 'utf8')) as SimState;
}

/** The environment variables for a PowerShell session that plays `host` in the deployment of `statePath`. */
export function simEnv(statePath: string, host: string = SIM_FRONT_END): { LYNCSIM_STATE: string; LYNCSIM_HOST: string } {
  return { LYNCSIM_STATE: statePath, LYNCSIM_HOST: host };
}

/** The calls of one cmdlet that succeeded: "did this step run exactly once?" */
export function okCalls(state: SimState, cmdlet: string): SimCall[] {
  return state.calls.filter((c) => c.cmdlet === cmdlet && c.outcome === 'ok');
}

/** The hosting providers in the CMS (not what a replica sees). */
export function simProviders(state: SimState): SimHostingProvider[] {
  return state.cms.hostingProviders;
}
