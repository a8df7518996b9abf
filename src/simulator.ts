// LyncSim for trials, demos and tests: a simulated deployment (one state file) and the two embedded agents that
// share it, `fe01` playing the Front End (internal role) and `edge01` playing the Edge (edge role). The bot is
// unaware of the simulator: the agents import LyncSim instead of the Lync module, that is all.
//
// The state file's format (types, a writer for a chosen starting deployment, a reader, the environment a session
// needs to play one host) lives here too: test/support/simState.ts re-exports it. The PowerShell side is
// powershell/LyncSim/LyncSim.psm1; its header describes the same format and the replication model.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import type { PowerShellAgent } from './agent/session.js';
import { embeddedAgent } from './compose.js';
import type { Runbooks } from './config/runbooks.js';
import type { VerificationLevel } from './core/lync.js';
import { staticAgentPool, type AgentPool } from './core/ports.js';

// --- the state file ---------------------------------------------------------------------------------------------

export const SIM_FRONT_END = 'fe01.contoso.local';
export const SIM_EDGE = 'edge01.contoso.local';
/** A trusted application pool that requires replication but never reports, as real deployments have. */
export const SIM_TRUSTED_APP = 'trustedapp01.contoso.local';
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

/** cms.publicProviders[]: what Get-CsPublicProvider shows (Lync ships Messenger, Yahoo and AOL, not enabled). */
export interface SimPublicProvider {
  Identity: string;
  ProxyFqdn: string;
  VerificationLevel: VerificationLevel;
  Enabled: boolean;
  IconUrl: string | null;
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
  publicProviders: SimPublicProvider[];
  hostedVoicemailPolicies: SimVoicemailPolicy[];
}

/** Lync Server 2013's built-in public providers. Messenger's ProxyFqdn is documented; Yahoo's and AOL's are not. */
export function defaultPublicProviders(): SimPublicProvider[] {
  const p = (Identity: string, ProxyFqdn: string): SimPublicProvider => ({ Identity, ProxyFqdn, VerificationLevel: 'AlwaysVerifiable', Enabled: false, IconUrl: null });
  return [p('Messenger', 'federation.messenger.msn.com'), p('Yahoo', 'lcsap.messenger.yahoo.net'), p('AOL', 'sip.oscar.aol.com')];
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
  /** false: never reports (no local store, UpToDate False, no dates or version), like a trusted application pool */
  reports: boolean;
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
  /** FullyQualifiedErrorId, e.g. `ProviderIdentityExists,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet` */
  errorId: string | null;
}

export interface SimState {
  version: 1;
  replicationLagSeconds: number;
  /** seconds after a write before the master snapshots it; until then replicas still report the update before */
  snapshotDelaySeconds: number;
  /** ISO 8601: LyncSim's clock when pinned (tests move it), null: the system clock */
  now: string | null;
  /** the kind of the DateTimes replicas report: local wall-clock time as Unspecified (default) or Local; or Utc */
  dateKind: 'Unspecified' | 'Local' | 'Utc';
  /** plain: the flat objects of earlier LyncSim versions (string Identity, no heavy members); absent: typed */
  objects?: 'typed' | 'plain';
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
  /** replicas that never report, added to the list (default: trustedapp01.contoso.local; [] for none) */
  silentReplicas?: string[];
  /** default 1 s (never more than the lag) */
  snapshotDelaySeconds?: number;
  /** pin LyncSim's clock (ISO 8601) */
  now?: string;
  dateKind?: SimState['dateKind'];
  objects?: SimState['objects'];
  publicProviders?: SimPublicProvider[];
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
    publicProviders: overrides.publicProviders ?? defaultPublicProviders(),
    hostedVoicemailPolicies: overrides.hostedVoicemailPolicies ?? [{ Identity: 'Global', Description: null, Destination: null, Organization: null }],
  };
  const stuck = new Set(overrides.stuckReplicas ?? []);
  const lags = overrides.replicaLagSeconds ?? {};
  const replica = (fqdn: string, role: string, reports = true): SimReplica => ({
    fqdn,
    role,
    productVersion: overrides.productVersion ?? SIM_PRODUCT_VERSION,
    lagSeconds: lags[fqdn] ?? null,
    stuck: stuck.has(fqdn),
    stuckAtSeq: null,
    forcedAt: null,
    reports,
  });
  const replicas = [
    replica(SIM_FRONT_END, 'FrontEnd'),
    replica(SIM_EDGE, 'Edge'),
    ...(overrides.extraEdges ?? []).map((f) => replica(f, 'Edge')),
    ...(overrides.silentReplicas ?? [SIM_TRUSTED_APP]).map((f) => replica(f, 'TrustedApplicationPool', false)),
  ];
  for (const name of [...stuck, ...Object.keys(lags)]) {
    if (!replicas.some((r) => r.fqdn === name)) throw new Error(`simState: no replica named ${name}`);
  }
  const start = overrides.now ? new Date(overrides.now) : now;
  return {
    version: 1,
    replicationLagSeconds: overrides.replicationLagSeconds ?? 5,
    snapshotDelaySeconds: overrides.snapshotDelaySeconds ?? 1,
    now: overrides.now ?? null,
    dateKind: overrides.dateKind ?? 'Unspecified',
    ...(overrides.objects ? { objects: overrides.objects } : {}),
    cms,
    // the starting deployment is a day old, so every replica starts up to date with it
    history: [{ seq: 1, at: new Date(start.getTime() - 86_400_000).toISOString(), cms: structuredClone(cms) }],
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

/**
 * Pins LyncSim's clock to `at` (or lets it run again with null), so a test steps through replication without
 * waiting on the wall clock. Not atomic: only for tests, between calls.
 */
export function setSimNow(statePath: string, at: Date | null): void {
  const state = readSimState(statePath);
  state.now = at ? at.toISOString() : null;
  writeFileSync(statePath, JSON.stringify(state), 'utf8');
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

// --- a simulated deployment with its agents ------------------------------------------------------------------------

export const LYNCSIM_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'powershell', 'LyncSim', 'LyncSim.psd1');

export interface SimulatedDeploymentOptions {
  /** where the state file goes (it must exist) */
  dir: string;
  /** seconds before a change reaches each replica (default 3: long enough to watch the wait) */
  lagSeconds?: number;
  /** the PowerShell the agents run (locatePowerShell finds one) */
  executable: string;
  runbooks: Runbooks;
  log: Logger;
  /** anything else about the starting deployment: existing providers, stuck replicas, faults */
  sim?: Omit<SimOverrides, 'replicationLagSeconds'>;
  invocationTimeoutMs?: number;
  /** more environment for both agents' PowerShell (e.g. TZ, to play hosts in another time zone) */
  agentEnv?: Record<string, string>;
}

export interface SimulatedDeployment {
  statePath: string;
  /** fe01 (internal), edge01 (edge) */
  agents: PowerShellAgent[];
  pool: AgentPool;
  /** the simulator's state as it is now */
  read(): SimState;
  /**
   * Starts both PowerShell sessions at once (each imports LyncSim, which takes seconds) with a read that changes
   * nothing, so the first command does not wait for them one after the other. Resolves with what went wrong, if anything.
   */
  warmUp(): Promise<string[]>;
  /** ends both PowerShell sessions; the state file stays */
  close(): Promise<void>;
}

export function createSimulatedDeployment(options: SimulatedDeploymentOptions): SimulatedDeployment {
  const statePath = createSimState(options.dir, { ...options.sim, replicationLagSeconds: options.lagSeconds ?? 3 });
  const agent = (name: string, host: string, role: 'internal' | 'edge') =>
    embeddedAgent(
      { name, roles: [role], executable: options.executable, module: LYNCSIM_MODULE, env: { ...options.agentEnv, ...simEnv(statePath, host) }, invocationTimeoutMs: options.invocationTimeoutMs ?? 30_000 },
      options.runbooks,
      options.log,
    );
  const agents = [agent('fe01', SIM_FRONT_END, 'internal'), agent('edge01', SIM_EDGE, 'edge')];
  return {
    statePath,
    agents,
    pool: staticAgentPool(agents),
    read: () => readSimState(statePath),
    warmUp: async () => {
      const [fe, edge] = agents;
      const results = await Promise.all([
        fe!.invoke({ cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: {} }),
        edge!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } }),
      ]);
      return results.flatMap((r, i) => (r.ok ? [] : [`agent ${agents[i]!.name}: ${r.error.message}`]));
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.close()));
    },
  };
}
