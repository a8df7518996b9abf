// The in-memory agent: a simulated deployment held in TypeScript, behind the same Agent port as the PowerShell agents
// on LyncSim. Same cmdlets, parameters and parameter sets, same output shapes (what the PowerShell agent sends after
// projection), same failures (binding errors, LyncSim's errors and ids, injected faults, hangs that time out), same
// replication model and Edge local stores; the time comes from an injected clock. It exists so that tests about the
// core and the front ends run in milliseconds; test/agent/memoryContract.test.ts runs the same scenarios on both
// agents, so this file and powershell/LyncSim/LyncSim.psm1 cannot drift apart. When one changes, the other must.
//
// It lives beside the PowerShell agent (src/agent/session.ts) because it is the same kind of thing, an Agent adapter,
// and any composition root (the test world, a demo) can choose either. The state is LyncSim's state file format
// (src/simulator.ts), kept as an object: tests read it with the same helpers (okCalls, simProviders).
import { existsSync, writeFileSync } from 'node:fs';
import type { Clock } from '../core/ports.js';
import { staticAgentPool, type AgentPool } from '../core/ports.js';
import type { Agent, Invocation, InvocationFailure, InvocationResult, ParamValue, Role } from '../core/types.js';
import {
  buildSimState,
  LYNCSIM_MODULE,
  readSimState,
  SIM_EDGE,
  SIM_FRONT_END,
  type SimCall,
  type SimCms,
  type SimHistoryEntry,
  type SimOverrides,
  type SimReplica,
  type SimState,
} from '../simulator.js';
import { text as asText } from '../core/runbook/render.js';
import { hintFor } from './hints.js';
import { checkOutput, PROJECTIONS } from './outputs.js';
import { encodeInvocation, newInvocationId } from './wire.js';

// --- time: LyncSim's DateTimes are 100 ns ticks; here milliseconds, written as .NET writes them ('o', UTC) --------

const parseDate = (value: unknown): number | null => (value === null || value === undefined || value === '' ? null : Date.parse(asText(value)));
/** 2026-03-01T10:00:00.0000000Z, as [DateTime]::ToString('o') writes a UTC time */
export const formatDate = (ms: number): string => new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$10000Z');

// --- errors ------------------------------------------------------------------------------------------------------

/** An error LyncSim raises: its id becomes <reason>,Microsoft.Rtc.Management.Internal.<Verb><Noun>Cmdlet. */
class SimError extends Error {
  constructor(
    readonly reason: string,
    readonly category: string,
    message: string,
  ) {
    super(message);
  }
}

/** An error PowerShell's parameter binder raises: its id is <id>,<function name>. */
class BindingError extends Error {
  constructor(
    readonly errorId: string,
    readonly category: string,
    readonly exceptionType: string,
    message: string,
  ) {
    super(message);
  }
}

const cmdletClass = (name: string): string => {
  const [verb, noun = ''] = name.split('-');
  return `Microsoft.Rtc.Management.Internal.${verb}${noun.startsWith('Cs') ? noun.slice(2) : noun}Cmdlet`;
};
const simErrorId = (e: SimError, cmdlet: string): string => `${e.reason},${cmdletClass(cmdlet)}`;

// --- parameter binding -------------------------------------------------------------------------------------------

type ParamType = 'string' | 'bool' | 'switch' | 'uint32' | 'uint64' | 'verification' | 'object';
interface ParamSpec {
  name: string;
  type: ParamType;
  /** the parameter sets it belongs to; absent: all */
  sets?: readonly string[];
  /** the sets in which it is mandatory ('*': all) */
  mandatory?: readonly string[];
  notNullOrEmpty?: boolean;
  range?: readonly [number, number];
  /** a default value the function body sees when the parameter is not bound */
  default?: unknown;
}
interface CmdletSpec {
  params: readonly ParamSpec[];
  sets: readonly string[];
  defaultSet: string;
  shouldProcess: boolean;
}

// PowerShell's common parameters, in the order it lists them when a name is ambiguous
const COMMON = ['Verbose', 'Debug', 'ErrorAction', 'WarningAction', 'InformationAction', 'ProgressAction', 'ErrorVariable', 'WarningVariable', 'InformationVariable', 'OutVariable', 'OutBuffer', 'PipelineVariable'];
const VERIFICATION = ['AlwaysVerifiable', 'AlwaysUnverifiable', 'UseSourceVerification'];
const NET_TYPE: Record<ParamType, string> = {
  string: 'System.String',
  bool: 'System.Boolean',
  switch: 'System.Management.Automation.SwitchParameter',
  uint32: 'System.UInt32',
  uint64: 'System.UInt64',
  verification: 'VerificationLevelType',
  object: 'System.Management.Automation.PSObject',
};
const BOOL_HINT = 'Boolean parameters accept only Boolean values and numbers, such as $True, $False, 1 or 0.';

const transformError = (param: string, detail: string): BindingError =>
  new BindingError('ParameterArgumentTransformationError', 'InvalidData', 'System.Management.Automation.ParameterBindingArgumentTransformationException', `Cannot process argument transformation on parameter '${param}'. ${detail}`);
const validationError = (param: string, detail: string): BindingError =>
  new BindingError('ParameterArgumentValidationError', 'InvalidData', 'System.Management.Automation.ParameterBindingValidationException', `Cannot validate argument on parameter '${param}'. ${detail}`);
const bindingError = (id: string, message: string): BindingError => new BindingError(id, 'InvalidArgument', 'System.Management.Automation.ParameterBindingException', message);

/** A wire value converted to the parameter's type, as PowerShell's binder converts it. */
function convert(spec: ParamSpec, value: ParamValue): unknown {
  const { name, type } = spec;
  switch (type) {
    case 'string':
      return value === null ? '' : typeof value === 'boolean' ? (value ? 'True' : 'False') : String(value);
    case 'bool':
    case 'switch':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'number') return value !== 0;
      throw transformError(name, `Cannot convert value "${value === null ? '' : 'System.String'}" to type "${NET_TYPE[type]}". ${BOOL_HINT}`);
    case 'uint32':
    case 'uint64': {
      const max = type === 'uint32' ? 4_294_967_295 : Number.MAX_SAFE_INTEGER;
      if (value === null) return 0;
      if (typeof value === 'boolean') return value ? 1 : 0;
      const n = typeof value === 'number' ? value : /^\s*[+-]?\d+\s*$/.test(value) ? Number(value) : Number.NaN;
      if (Number.isNaN(n)) throw transformError(name, `Cannot convert value "${String(value)}" to type "${NET_TYPE[type]}". Error: "The input string '${String(value)}' was not in a correct format."`);
      if (n < 0 || n > max) throw transformError(name, `Cannot convert value "${String(value)}" to type "${NET_TYPE[type]}". Error: "Value was either too large or too small for a ${type === 'uint32' ? 'UInt32' : 'UInt64'}."`);
      return n;
    }
    case 'verification': {
      const bad = (shown: string) =>
        transformError(
          name,
          `Cannot convert ${shown} to type "VerificationLevelType" due to enumeration values that are not valid. Specify one of the following enumeration values and try again. The possible enumeration values are "${VERIFICATION.join(',')}".`,
        );
      if (value === null) throw bad('null');
      if (typeof value === 'number') {
        if (!Number.isInteger(value) || value < 0 || value >= VERIFICATION.length) throw bad(`value "${value}"`);
        return VERIFICATION[value];
      }
      const text = String(value).trim();
      if (/^\d+$/.test(text)) return convert(spec, Number(text));
      const found = VERIFICATION.find((v) => v.toLowerCase() === text.toLowerCase());
      if (!found) {
        throw transformError(
          name,
          `Cannot convert value "${String(value)}" to type "VerificationLevelType". Error: "Unable to match the identifier name ${String(value)} to a valid enumerator name. Specify one of the following enumerator names and try again:\n${VERIFICATION.join(', ')}"`,
        );
      }
      return found;
    }
    case 'object':
      return value;
  }
}

interface Bound {
  /** bound parameters by their declared names, in binding order, converted */
  values: Map<string, unknown>;
  set: string;
}

/** Binds named parameters as PowerShell does: names (or unambiguous prefixes), conversion, validation, sets, mandatory. */
function bind(spec: CmdletSpec, parameters: Record<string, ParamValue>): Bound {
  const declared = [...spec.params.map((p) => p.name), ...COMMON, ...(spec.shouldProcess ? ['WhatIf', 'Confirm'] : [])];
  const values = new Map<string, unknown>();
  for (const [given, raw] of Object.entries(parameters)) {
    const lower = given.toLowerCase();
    let name = declared.find((d) => d.toLowerCase() === lower);
    if (!name) {
      const matches = declared.filter((d) => d.toLowerCase().startsWith(lower));
      if (matches.length === 0) throw bindingError('NamedParameterNotFound', `A parameter cannot be found that matches parameter name '${given}'.`);
      if (matches.length > 1) {
        throw bindingError('AmbiguousParameter', `Parameter cannot be processed because the parameter name '${given}' is ambiguous. Possible matches include: ${matches.map((m) => `-${m}`).join(' ')}.`);
      }
      name = matches[0]!;
    }
    const p = spec.params.find((x) => x.name === name) ?? { name, type: 'switch' as const };
    const v = convert(p, raw);
    if (p.notNullOrEmpty && (v === '' || v === null)) throw validationError(name, 'The argument is null or empty. Provide an argument that is not null or empty, and then try the command again.');
    if (p.range && typeof v === 'number') {
      const [lo, hi] = p.range;
      if (v > hi) throw validationError(name, `The ${v} argument is greater than the maximum allowed range of ${hi}. Supply an argument that is less than or equal to ${hi} and then try the command again.`);
      if (v < lo) throw validationError(name, `The ${v} argument is less than the minimum allowed range of ${lo}. Supply an argument that is greater than or equal to ${lo} and then try the command again.`);
    }
    values.set(name, v);
  }
  let candidates = [...spec.sets];
  for (const name of values.keys()) {
    const sets = spec.params.find((p) => p.name === name)?.sets;
    if (sets) candidates = candidates.filter((s) => sets.includes(s));
  }
  if (candidates.length === 0) {
    throw bindingError('AmbiguousParameterSet', 'Parameter set cannot be resolved using the specified named parameters. One or more parameters issued cannot be used together or an insufficient number of parameters were provided.');
  }
  // more than one set left: the default when it is one of them; else a set whose mandatory parameters are all given
  const complete = (s: string) => spec.params.every((p) => !isMandatory(p, s) || values.has(p.name));
  const set = candidates.includes(spec.defaultSet) ? spec.defaultSet : candidates.length === 1 ? candidates[0]! : (candidates.find(complete) ?? candidates[0]!);
  const missing = spec.params.filter((p) => isMandatory(p, set) && !values.has(p.name)).map((p) => p.name);
  if (missing.length) {
    throw bindingError('MissingMandatoryParameter', `Cannot process command because of one or more missing mandatory parameters: ${missing.join(' ')}.`);
  }
  return { values, set };
}

const isMandatory = (p: ParamSpec, set: string): boolean => (p.mandatory ?? []).some((m) => m === '*' || m === set) && (!p.sets || p.sets.includes(set));

// --- the cmdlets' parameters (LyncSim.psm1's param blocks) -----------------------------------------------------------

const ROUTING_SETS = ['Identity', 'DnsSrvRouting', 'DefaultRoute'];
const ACCESS_EDGE_SETTINGS: [string, ParamType, (readonly [number, number])?][] = [
  ['AllowAnonymousUsers', 'bool'],
  ['AllowFederatedUsers', 'bool'],
  ['AllowOutsideUsers', 'bool'],
  ['EnableArchivingDisclaimer', 'bool'],
  ['KeepCrlsUpToDateForPeers', 'bool'],
  ['MarkSourceVerifiableOnOutgoingMessages', 'bool'],
  ['EnableDiscoveredPartnerContactsLimit', 'bool'],
  ['EnableUserReplicator', 'bool'],
  ['OutgoingTlsCountForFederatedPartners', 'uint32', [1, 4]],
  ['CertificatesDeletedPercentage', 'uint32'],
  ['DiscoveredPartnerReportPeriodMinutes', 'uint32'],
  ['DiscoveredPartnerStandardRate', 'uint32'],
  ['MaxAcceptedCertificatesStored', 'uint32'],
  ['MaxContactsPerDiscoveredPartner', 'uint32'],
  ['MaxRejectedCertificatesStored', 'uint32'],
  ['DnsSrvCacheRecordCount', 'uint32'],
  ['SkypeSearchUrl', 'string'],
];
const readSpec = (extra: ParamSpec[] = []): CmdletSpec => ({
  params: [{ name: 'Identity', type: 'string', sets: ['Identity'] }, { name: 'Filter', type: 'string', sets: ['Filter'] }, { name: 'LocalStore', type: 'switch' }, ...extra],
  sets: ['Identity', 'Filter'],
  defaultSet: 'Identity',
  shouldProcess: false,
});
const byIdentity = (): CmdletSpec => ({
  params: [{ name: 'Identity', type: 'string', mandatory: ['*'], notNullOrEmpty: true }, { name: 'Force', type: 'switch' }],
  sets: ['Default'],
  defaultSet: 'Default',
  shouldProcess: true,
});

const SPECS: Record<string, CmdletSpec> = {
  'Get-CsAccessEdgeConfiguration': readSpec(),
  'Set-CsAccessEdgeConfiguration': {
    params: [
      { name: 'Identity', type: 'string', sets: ['Identity'], default: 'Global' },
      { name: 'Instance', type: 'object', sets: ['Instance'], mandatory: ['Instance'] },
      ...ACCESS_EDGE_SETTINGS.map(([name, type, range]): ParamSpec => ({ name, type, sets: ROUTING_SETS, ...(range ? { range } : {}) })),
      { name: 'UseDnsSrvRouting', type: 'switch', sets: ['DnsSrvRouting'] },
      { name: 'EnablePartnerDiscovery', type: 'bool', sets: ['DnsSrvRouting'] },
      { name: 'BeClearingHouse', type: 'bool', sets: ['DnsSrvRouting'] },
      { name: 'DiscoveredPartnerVerificationLevel', type: 'verification', sets: ['DnsSrvRouting'] },
      { name: 'UseDefaultRouting', type: 'switch', sets: ['DefaultRoute'] },
      { name: 'DefaultRouteFqdn', type: 'string', sets: ['DefaultRoute'], notNullOrEmpty: true },
      { name: 'IsPublicProvider', type: 'bool', sets: ['DefaultRoute'] },
      { name: 'VerificationLevel', type: 'verification', sets: ['DefaultRoute'] },
      { name: 'Force', type: 'switch' },
    ],
    sets: ['Identity', 'Instance', 'DnsSrvRouting', 'DefaultRoute'],
    defaultSet: 'Identity',
    shouldProcess: true,
  },
  'Get-CsHostingProvider': readSpec(),
  'New-CsHostingProvider': {
    params: [
      { name: 'Identity', type: 'string', mandatory: ['*'], notNullOrEmpty: true },
      { name: 'Enabled', type: 'bool', mandatory: ['*'] },
      { name: 'ProxyFqdn', type: 'string', mandatory: ['*'], notNullOrEmpty: true },
      { name: 'EnabledSharedAddressSpace', type: 'bool', sets: ['SharedAddressSpace'], mandatory: ['SharedAddressSpace'] },
      { name: 'HostsOCSUsers', type: 'bool', sets: ['SharedAddressSpace'], mandatory: ['SharedAddressSpace'] },
      { name: 'IsLocal', type: 'bool', default: false },
      { name: 'VerificationLevel', type: 'verification', default: 'AlwaysVerifiable' },
      { name: 'AutodiscoverUrl', type: 'string' },
      { name: 'SipClientPort', type: 'uint64', default: 443 },
      { name: 'Force', type: 'switch' },
      { name: 'InMemory', type: 'switch' },
    ],
    sets: ['Direct', 'SharedAddressSpace'],
    defaultSet: 'Direct',
    shouldProcess: true,
  },
  'Set-CsHostingProvider': {
    params: [
      { name: 'Identity', type: 'string', sets: ['Identity'], mandatory: ['Identity'], notNullOrEmpty: true },
      { name: 'Instance', type: 'object', sets: ['Instance'], mandatory: ['Instance'] },
      { name: 'Enabled', type: 'bool' },
      { name: 'EnabledSharedAddressSpace', type: 'bool' },
      { name: 'HostsOCSUsers', type: 'bool' },
      { name: 'IsLocal', type: 'bool' },
      { name: 'VerificationLevel', type: 'verification' },
      { name: 'AutodiscoverUrl', type: 'string' },
      { name: 'SipClientPort', type: 'uint64' },
      { name: 'Force', type: 'switch' },
    ],
    sets: ['Identity', 'Instance'],
    defaultSet: 'Identity',
    shouldProcess: true,
  },
  'Remove-CsHostingProvider': byIdentity(),
  'Enable-CsHostingProvider': byIdentity(),
  'Disable-CsHostingProvider': byIdentity(),
  'Get-CsPublicProvider': readSpec(),
  'Get-CsManagementStoreReplicationStatus': {
    params: [
      { name: 'ReplicaFqdn', type: 'string', sets: ['Replicas'] },
      { name: 'CentralManagementStoreStatus', type: 'switch', sets: ['Cms'], mandatory: ['Cms'] },
    ],
    sets: ['Replicas', 'Cms'],
    defaultSet: 'Replicas',
    shouldProcess: false,
  },
  'Invoke-CsManagementStoreReplication': {
    params: [{ name: 'ReplicaFqdn', type: 'string' }, { name: 'Force', type: 'switch' }],
    sets: ['Default'],
    defaultSet: 'Default',
    shouldProcess: false,
  },
  'Get-CsHostedVoicemailPolicy': readSpec(),
};

// --- the deployment ------------------------------------------------------------------------------------------------

const sameText = (a: unknown, b: unknown): boolean => asText(a ?? '').toLowerCase() === asText(b ?? '').toLowerCase();
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

/** PowerShell's WildcardPattern (*, ?, [set]), ignoring case. */
function wildcard(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*') re += '.*';
    else if (c === '?') re += '.';
    else if (c === '[') {
      const end = pattern.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${pattern.slice(i + 1, end).replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '`' && i + 1 < pattern.length) re += pattern[++i]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    else re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`, 'is');
}

interface ReplicaView {
  seen: SimHistoryEntry | null;
  upToDate: boolean;
  lastStatusReport: number | null;
  lastUpdateCreation: number | null;
  productVersion: string | null;
  reports: boolean;
}

/** What one replica holds at `now` (LyncSim's Get-LxSimReplicaView, line for line). */
function replicaView(state: SimState, replica: SimReplica, now: number): ReplicaView {
  let lag = Number(state.replicationLagSeconds);
  if (replica.lagSeconds !== null && replica.lagSeconds !== undefined) lag = Number(replica.lagSeconds);
  let delay = state.snapshotDelaySeconds === null || state.snapshotDelaySeconds === undefined ? 1 : Number(state.snapshotDelaySeconds);
  if (delay > lag) delay = lag;
  const cutoff = now - lag * 1000;
  const known = now - delay * 1000;
  const stuck = replica.stuck === true;
  const stuckAt = replica.stuckAtSeq ?? 1;
  const reports = replica.reports !== false;
  let latest: SimHistoryEntry | null = null;
  let seen: SimHistoryEntry | null = null;
  for (const h of state.history ?? []) {
    const at = parseDate(h.at)!;
    if ((at <= known || latest === null) && (latest === null || h.seq > latest.seq)) latest = h;
    if (at > cutoff) continue;
    if (stuck && h.seq > stuckAt) continue;
    if (seen === null || h.seq > seen.seq) seen = h;
  }
  if (!reports) return { seen: null, upToDate: false, lastStatusReport: null, lastUpdateCreation: null, productVersion: null, reports: false };
  const forcedAt = parseDate(replica.forcedAt);
  const forcedPending = forcedAt !== null && (stuck || forcedAt + lag * 1000 > now);
  const upToDate = seen !== null && latest !== null && seen.seq >= latest.seq && !forcedPending;
  let lastReport: number | null = null;
  let lastUpdate: number | null = null;
  let version: string | null = null;
  if (seen !== null) {
    lastUpdate = parseDate(seen.at)! + delay * 1000;
    version = String(replica.productVersion);
    lastReport = stuck ? lastUpdate + (lag - delay) * 1000 : now;
  }
  if (forcedPending) lastReport = null;
  return { seen, upToDate, lastStatusReport: lastReport, lastUpdateCreation: lastUpdate, productVersion: version, reports: true };
}

/** Snapshots no replica will read again are dropped (LyncSim's Remove-LxSimUnneededHistory). */
function pruneHistory(state: SimState, now: number): void {
  let keepFrom = Number.MAX_SAFE_INTEGER;
  for (const r of state.replicas ?? []) {
    const view = replicaView(state, r, now);
    if (!view.reports) continue;
    if (view.seen === null) return;
    if (view.seen.seq < keepFrom) keepFrom = view.seen.seq;
  }
  state.history = state.history.filter((h) => h.seq >= keepFrom);
}

export interface MemoryDeploymentOptions {
  /** LyncSim's clock when the state does not pin one (state.now): replication and timeouts follow it */
  clock: Clock;
  /** the starting deployment, as for LyncSim (createSimState) */
  sim?: SimOverrides;
  /** the cmdlets the agents run (cmdletAllowlist of the runbooks) */
  allowlist: readonly string[];
  /** how long an injected hang lasts before the agent reports a timeout, as the PowerShell agent does (default 120 s) */
  invocationTimeoutMs?: number;
  /**
   * a LyncSim state file to mirror: read before each call and written after each write, so tests and tools that
   * edit the file (setSimNow, injected faults) work on this agent as on LyncSim. Absent: the state lives in memory only.
   */
  statePath?: string;
}

/** One simulated deployment in memory, and the agents that play its hosts. */
export class MemoryDeployment {
  state: SimState;
  readonly clock: Clock;
  readonly allowlist: readonly string[];
  readonly invocationTimeoutMs: number;
  readonly statePath: string | undefined;

  constructor(options: MemoryDeploymentOptions) {
    this.clock = options.clock;
    this.statePath = options.statePath;
    this.state = this.statePath && existsSync(this.statePath) ? readSimState(this.statePath) : buildSimState(options.sim ?? {}, options.clock.now());
    this.allowlist = options.allowlist;
    this.invocationTimeoutMs = options.invocationTimeoutMs ?? 120_000;
    this.save();
  }

  /** The mirrored file, when there is one, as the truth between calls. */
  load(): void {
    if (this.statePath) this.state = readSimState(this.statePath);
  }

  save(): void {
    if (this.statePath) writeFileSync(this.statePath, JSON.stringify(this.state), 'utf8');
  }

  /** An agent that plays `host` (an FQDN of the replica list, or any other name: an admin host). */
  agent(name: string, host: string, roles: readonly Role[], invocationTimeoutMs = this.invocationTimeoutMs): MemoryAgent {
    return new MemoryAgent(this, name, host, roles, invocationTimeoutMs);
  }

  /** LyncSim's clock: the pinned one, or the injected clock. */
  now(): number {
    return this.state.now ? parseDate(this.state.now)! : this.clock.now().getTime();
  }

  /** A copy of the state, as readSimState gives the file's. */
  read(): SimState {
    this.load();
    return copy(this.state);
  }

  replica(host: string): SimReplica | undefined {
    return this.state.replicas.find((r) => sameText(r.fqdn, host));
  }

  /** 'hang', the injected failure, or nothing. */
  fault(cmdlet: string): 'hang' | SimError | undefined {
    if (this.state.faults?.hang?.includes(cmdlet)) return 'hang';
    const message = this.state.faults?.fail?.[cmdlet];
    return message === undefined ? undefined : new SimError('InjectedFault', 'NotSpecified', String(message));
  }
}

const cmsUnreachable = (host: string) =>
  new SimError(
    'CmsUnreachable',
    'ConnectionError',
    `Cannot connect to the Central Management Store from "${host}": an Edge Server holds only a read-only replica and cannot reach the CMS. Run this command on an internal server, or read the local replica with -LocalStore.`,
  );
const providerNotFound = (identity: string) => new SimError('ProviderNotFound', 'ObjectNotFound', `Cannot find a hosting provider with Identity "${identity}".`);

type Output = { items: Record<string, unknown>[] } | { hang: true };
const HANG: Output = { hang: true };

export class MemoryAgent implements Agent {
  private closed = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deployment: MemoryDeployment,
    readonly name: string,
    readonly host: string,
    readonly roles: readonly Role[],
    private readonly timeoutMs: number,
  ) {}

  invoke(invocation: Invocation): Promise<InvocationResult> {
    // one at a time, as a PowerShell session runs them
    const run = this.tail.then(() => this.invokeNow(invocation));
    this.tail = run.catch(() => undefined);
    return run;
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }

  private async invokeNow(invocation: Invocation): Promise<InvocationResult> {
    const started = this.deployment.clock.now().getTime();
    const done = (r: { ok: true; output: Record<string, unknown>[] } | { ok: false; error: InvocationFailure }): InvocationResult => ({
      ...r,
      durationMs: Math.max(0, this.deployment.clock.now().getTime() - started),
      agent: this.name,
    });
    const cmdlet = String(invocation.cmdlet);
    if (this.closed) return done({ ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${this.name} is closed` } });
    const encoded = encodeInvocation(invocation, this.deployment.allowlist, newInvocationId());
    if (!encoded.ok) return done({ ok: false, error: { kind: 'refused', message: encoded.message } });
    const spec = SPECS[cmdlet];
    if (!spec) {
      return done({
        ok: false,
        error: this.failure(`The term '${cmdlet}' is not recognized as a name of a cmdlet, function, script file, or executable program (module LyncSim).`, 'ObjectNotFound', 'CommandNotFoundException', 'System.Management.Automation.CommandNotFoundException', cmdlet),
      });
    }
    let out: Output;
    try {
      const bound = bind(spec, invocation.parameters);
      this.deployment.load();
      out = this.run(cmdlet, bound);
    } catch (err) {
      if (err instanceof BindingError) return done({ ok: false, error: this.failure(err.message, err.category, `${err.errorId},${cmdlet}`, err.exceptionType, cmdlet) });
      if (err instanceof SimError) {
        const type = err.category === 'ObjectNotFound' ? 'System.Management.Automation.ItemNotFoundException' : 'System.InvalidOperationException';
        return done({ ok: false, error: this.failure(err.message, err.category, simErrorId(err, cmdlet), type, cmdlet) });
      }
      throw err;
    }
    if ('hang' in out) {
      // the PowerShell agent's bound: it gives up, kills the session and says so; the next call starts afresh
      await this.deployment.clock.sleep(this.timeoutMs);
      const seconds = String(Math.round(this.timeoutMs / 100) / 10);
      return done({ ok: false, error: { kind: 'timeout', message: `${cmdlet}: timed out after ${seconds} s on agent ${this.name}` } });
    }
    const checked = checkOutput(cmdlet, out.items, invocation.parameters);
    if (!checked.ok) return done({ ok: false, error: { kind: 'output', message: checked.message } });
    return done({ ok: true, output: checked.output });
  }

  /** A PowerShell failure as the PowerShell agent reports it (its message prefixed with the cmdlet, and a hint). */
  private failure(message: string, category: string, errorId: string, exceptionType: string, cmdlet: string): InvocationFailure {
    const failure: InvocationFailure = { kind: 'powershell', message: `${cmdlet}: ${message}`, category, errorId, exceptionType };
    const hint = hintFor({ message, category, errorId, exceptionType }, { cmdlet, module: LYNCSIM_MODULE, agent: this.name });
    if (hint) failure.hint = hint;
    return failure;
  }

  // --- reads and writes as LyncSim does them ----------------------------------------------------------------------

  /** The CMS this call sees: the live store, or with -LocalStore the snapshot the host's replica holds (null: none). */
  private cmsView(cmdlet: string, localStore: boolean): SimCms | null | 'hang' {
    const d = this.deployment;
    const fault = d.fault(cmdlet);
    if (fault === 'hang') return 'hang';
    if (fault) throw fault;
    const replica = d.replica(this.host);
    if (localStore) {
      if (!replica) {
        throw new SimError(
          'NoLocalStore',
          'ResourceUnavailable',
          `"${this.host}" has no local replica of the Central Management Store (it is not in the replica list), so -LocalStore has nothing to read.`,
        );
      }
      return replicaView(d.state, replica, d.now()).seen?.cms ?? null;
    }
    if (replica?.role === 'Edge') throw cmsUnreachable(this.host);
    return d.state.cms;
  }

  /** One state-changing call: faults, reachability, the change, a history snapshot, the call log (Invoke-LxSimWrite). */
  private write(cmdlet: string, bound: Map<string, unknown>, change: (state: SimState) => boolean): Output {
    const d = this.deployment;
    const state = d.state;
    const now = d.now();
    const parameters: Record<string, unknown> = {};
    for (const [k, v] of bound) if (!COMMON.includes(k)) parameters[k] = v;
    const call: SimCall = { at: formatDate(now), host: this.host, cmdlet, parameters, outcome: 'ok', errorId: null };
    const fault = d.fault(cmdlet);
    let failure: SimError | undefined;
    if (fault === 'hang') call.outcome = 'hang';
    else {
      try {
        if (fault) throw fault;
        if (d.replica(this.host)?.role === 'Edge') throw cmsUnreachable(this.host);
        // the change works on a copy, so a failure half way leaves the store as it was (LyncSim re-reads the file)
        const draft = copy(state);
        if (change(draft)) {
          const seq = Math.max(0, ...draft.history.map((h) => h.seq));
          draft.history.push({ seq: seq + 1, at: formatDate(now), cms: copy(draft.cms) });
          pruneHistory(draft, now);
        }
        Object.assign(state, draft);
      } catch (err) {
        if (!(err instanceof SimError)) throw err;
        failure = err;
        call.outcome = 'error';
        call.errorId = simErrorId(err, cmdlet);
      }
    }
    state.calls.push(call);
    d.save();
    if (fault === 'hang') return HANG;
    if (failure) throw failure;
    return { items: [] };
  }

  private run(cmdlet: string, b: Bound): Output {
    const v = b.values;
    const has = (n: string) => v.has(n);
    const str = (n: string) => asText(v.get(n) ?? '');
    const whatIf = v.get('WhatIf') === true;
    switch (cmdlet) {
      case 'Get-CsAccessEdgeConfiguration': {
        const cms = this.cmsView(cmdlet, v.get('LocalStore') === true);
        if (cms === 'hang') return HANG;
        if (!cms) return { items: [] };
        const settings = cms.accessEdge;
        if (has('Identity') && !sameText(str('Identity'), settings.Identity)) return { items: [] };
        if (has('Filter') && !wildcard(str('Filter')).test(settings.Identity)) return { items: [] };
        return { items: [accessEdgeOut(settings as unknown as Record<string, unknown>)] };
      }
      case 'Set-CsAccessEdgeConfiguration':
        return this.setAccessEdge(b, whatIf);
      case 'Get-CsHostingProvider':
      case 'Get-CsPublicProvider':
      case 'Get-CsHostedVoicemailPolicy': {
        const cms = this.cmsView(cmdlet, v.get('LocalStore') === true);
        if (cms === 'hang') return HANG;
        if (!cms) return { items: [] };
        const list = (cmdlet === 'Get-CsHostingProvider' ? cms.hostingProviders : cmdlet === 'Get-CsPublicProvider' ? cms.publicProviders : cms.hostedVoicemailPolicies) ?? [];
        const pattern = has('Filter') ? wildcard(str('Filter')) : undefined;
        const picked = (list as unknown as Record<string, unknown>[]).filter((p) => (!has('Identity') || sameText(p.Identity, str('Identity'))) && (!pattern || pattern.test(String(p.Identity))));
        if (cmdlet === 'Get-CsHostingProvider') return { items: picked.map(providerOut) };
        // no projection for public providers: the agent sends the object's string form, its type name
        if (cmdlet === 'Get-CsPublicProvider') return { items: picked.map(() => ({ value: 'DisplayPublicProvider' })) };
        return { items: picked.map((p) => ({ Identity: String(p.Identity), Description: p.Description ?? null, Destination: p.Destination ?? null, Organization: p.Organization ?? null })) };
      }
      case 'New-CsHostingProvider':
        return this.newProvider(b, whatIf);
      case 'Set-CsHostingProvider':
        return this.setProvider(b, whatIf);
      case 'Remove-CsHostingProvider':
      case 'Enable-CsHostingProvider':
      case 'Disable-CsHostingProvider': {
        if (whatIf) return { items: [] };
        const identity = str('Identity');
        return this.write(cmdlet, v, (state) => {
          const list = state.cms.hostingProviders;
          const i = list.findIndex((p) => sameText(p.Identity, identity));
          if (i < 0) throw providerNotFound(identity);
          if (cmdlet === 'Remove-CsHostingProvider') list.splice(i, 1);
          else if (cmdlet === 'Enable-CsHostingProvider') list[i]!.Enabled = true;
          else {
            if (!list[i]!.Enabled) throw new SimError('ProviderAlreadyDisabled', 'InvalidOperation', `The hosting provider "${list[i]!.Identity}" is already disabled.`);
            list[i]!.Enabled = false;
          }
          return true;
        });
      }
      case 'Get-CsManagementStoreReplicationStatus':
        return this.replicationStatus(b);
      case 'Invoke-CsManagementStoreReplication': {
        const target = has('ReplicaFqdn') ? str('ReplicaFqdn') : undefined;
        return this.write(cmdlet, v, (state) => {
          const at = formatDate(this.deployment.now());
          let hit = false;
          for (const r of state.replicas) {
            if (target !== undefined && !sameText(r.fqdn, target)) continue;
            r.forcedAt = at;
            hit = true;
          }
          if (!hit) throw new SimError('ReplicaNotFound', 'ObjectNotFound', `Cannot find a replica with the fully qualified domain name "${target ?? ''}".`);
          return false;
        });
      }
      default:
        throw new Error(`in-memory agent: no implementation of ${cmdlet}`);
    }
  }

  private setAccessEdge(b: Bound, whatIf: boolean): Output {
    const bound = new Map(b.values);
    let identity = b.values.has('Identity') ? String(b.values.get('Identity')) : 'Global';
    if (b.set === 'Instance') {
      // over the wire an Instance is only text: it has no Identity and no settings (what LyncSim then sees)
      identity = '';
      bound.delete('Instance');
    }
    if (whatIf) return { items: [] };
    return this.write('Set-CsAccessEdgeConfiguration', bound, (state) => {
      const settings = state.cms.accessEdge as unknown as Record<string, unknown>;
      if (!sameText(identity, settings.Identity)) {
        throw new SimError('AccessEdgeNotFound', 'ObjectNotFound', `Cannot find an Access Edge configuration with Identity "${identity}": only the Global instance exists.`);
      }
      const toDefault = bound.get('UseDefaultRouting') === true;
      if (toDefault) {
        const fqdn = bound.has('DefaultRouteFqdn') ? bound.get('DefaultRouteFqdn') : settings.DefaultRouteFqdn;
        if (fqdn === null || fqdn === undefined || fqdn === '') {
          throw new SimError('DefaultRouteFqdnMissing', 'InvalidArgument', 'Default routing needs a route: set -DefaultRouteFqdn together with -UseDefaultRouting.');
        }
        if (state.cms.hostingProviders.length + (state.cms.publicProviders ?? []).length > 0) {
          throw new SimError(
            'ProvidersExist',
            'InvalidOperation',
            'You must remove all hosting providers and public providers before you can assign a default route (-DefaultRouteFqdn). Remove them with Remove-CsHostingProvider and Remove-CsPublicProvider first.',
          );
        }
      }
      const skip = ['Identity', 'Instance', 'Force', 'UseDnsSrvRouting', 'UseDefaultRouting', 'WhatIf', 'Confirm', ...COMMON];
      for (const [k, value] of bound) if (!skip.includes(k)) settings[k] = value;
      if (bound.get('UseDnsSrvRouting') === true) {
        settings.RoutingMethod = 'UseDnsSrvRouting';
        settings.DefaultRouteFqdn = null;
      } else if (toDefault) settings.RoutingMethod = 'UseDefaultRouting';
      return true;
    });
  }

  private newProvider(b: Bound, whatIf: boolean): Output {
    const v = b.values;
    const identity = String(v.get('Identity'));
    const proxy = String(v.get('ProxyFqdn'));
    const provider = {
      Identity: identity,
      ProxyFqdn: proxy,
      VerificationLevel: (v.get('VerificationLevel') ?? 'AlwaysVerifiable') as SimCms['hostingProviders'][number]['VerificationLevel'],
      Enabled: v.get('Enabled') === true,
      EnabledSharedAddressSpace: b.set === 'SharedAddressSpace' ? v.get('EnabledSharedAddressSpace') === true : false,
      HostsOCSUsers: b.set === 'SharedAddressSpace' ? v.get('HostsOCSUsers') === true : false,
      IsLocal: v.get('IsLocal') === true,
      AutodiscoverUrl: v.has('AutodiscoverUrl') ? String(v.get('AutodiscoverUrl')) : null,
      SipClientPort: v.has('SipClientPort') ? Number(v.get('SipClientPort')) : 443,
    };
    // the new object, unsaved; with no projection for New-, the agent sends its string form
    if (v.get('InMemory') === true) return { items: [{ value: 'DisplayHostingProvider' }] };
    if (whatIf) return { items: [] };
    return this.write('New-CsHostingProvider', v, (state) => {
      for (const p of state.cms.hostingProviders) {
        if (sameText(p.Identity, identity)) throw new SimError('ProviderIdentityExists', 'ResourceExists', `A hosting provider with Identity "${p.Identity}" already exists.`);
        if (sameText(p.ProxyFqdn, proxy)) {
          throw new SimError('ProxyFqdnInUse', 'InvalidOperation', `The ProxyFqdn "${proxy}" is already used by the hosting provider "${p.Identity}": a ProxyFqdn must be unique across hosting and public providers.`);
        }
      }
      for (const p of state.cms.publicProviders ?? []) {
        if (sameText(p.Identity, identity)) {
          throw new SimError('ProviderIdentityExists', 'ResourceExists', `A public provider with Identity "${p.Identity}" already exists: Identities must be unique across hosting and public providers.`);
        }
        if (sameText(p.ProxyFqdn, proxy)) {
          throw new SimError('ProxyFqdnInUse', 'InvalidOperation', `The ProxyFqdn "${proxy}" is already used by the public provider "${p.Identity}": a ProxyFqdn must be unique across hosting and public providers.`);
        }
      }
      state.cms.hostingProviders.push(provider);
      return true;
    });
  }

  private setProvider(b: Bound, whatIf: boolean): Output {
    const bound = new Map(b.values);
    const fromInstance = b.set === 'Instance';
    let identity = asText(bound.get('Identity') ?? '');
    if (fromInstance) {
      // over the wire an Instance is only text: no Identity, no ProxyFqdn, no settings
      identity = '';
      bound.delete('Instance');
      bound.set('Identity', identity);
    }
    if (whatIf) return { items: [] };
    return this.write('Set-CsHostingProvider', bound, (state) => {
      const list = state.cms.hostingProviders;
      let p = list.find((x) => sameText(x.Identity, identity));
      if (!p && fromInstance) {
        p = { Identity: identity, ProxyFqdn: '', VerificationLevel: 'AlwaysVerifiable', Enabled: false, EnabledSharedAddressSpace: false, HostsOCSUsers: false, IsLocal: false, AutodiscoverUrl: null, SipClientPort: 443 };
        list.push(p);
      }
      if (!p) throw providerNotFound(identity);
      const target = p as unknown as Record<string, unknown>;
      for (const name of ['Enabled', 'EnabledSharedAddressSpace', 'HostsOCSUsers', 'IsLocal', 'VerificationLevel', 'AutodiscoverUrl', 'SipClientPort']) {
        if (!bound.has(name)) continue;
        const value = bound.get(name);
        target[name] = name === 'AutodiscoverUrl' && (value === '' || value === null) ? null : value;
      }
      return true;
    });
  }

  private replicationStatus(b: Bound): Output {
    const d = this.deployment;
    const cms = this.cmsView('Get-CsManagementStoreReplicationStatus', false);
    if (cms === 'hang') return HANG;
    const replicas = d.state.replicas;
    if (b.set === 'Cms') {
      const master = replicas.find((r) => r.role === 'FrontEnd')?.fqdn ?? null;
      return { items: [{ ActiveMasterFqdn: master, ActiveFileTransferAgents: master === null ? [] : [master], ActiveReplicas: replicas.map((r) => r.fqdn), DeletedReplicas: [] }] };
    }
    const now = d.now();
    const only = b.values.has('ReplicaFqdn') ? String(b.values.get('ReplicaFqdn')) : undefined;
    const items = replicas
      .filter((r) => only === undefined || sameText(r.fqdn, only))
      .map((r) => {
        const view = replicaView(d.state, r, now);
        const date = (ms: number | null) => (ms === null ? null : formatDate(ms));
        return { UpToDate: view.upToDate, ReplicaFqdn: r.fqdn, LastStatusReport: date(view.lastStatusReport), LastUpdateCreation: date(view.lastUpdateCreation), ProductVersion: view.productVersion };
      });
    return { items };
  }
}

// --- output shapes: the projected objects the PowerShell agent sends (src/agent/outputs.ts PROJECTIONS) ----------------

function providerOut(p: Record<string, unknown>): Record<string, unknown> {
  return {
    Identity: String(p.Identity),
    Name: String(p.Identity),
    ProxyFqdn: String(p.ProxyFqdn),
    VerificationLevel: String(p.VerificationLevel),
    Enabled: p.Enabled === true,
    EnabledSharedAddressSpace: p.EnabledSharedAddressSpace === true,
    HostsOCSUsers: p.HostsOCSUsers === true,
    IsLocal: p.IsLocal === true,
    AutodiscoverUrl: p.AutodiscoverUrl === null || p.AutodiscoverUrl === undefined ? null : asText(p.AutodiscoverUrl),
    SipClientPort: p.SipClientPort === null || p.SipClientPort === undefined ? 443 : Number(p.SipClientPort),
  };
}

const ACCESS_EDGE_ORDER = [
  'Identity', 'AllowAnonymousUsers', 'AllowFederatedUsers', 'AllowOutsideUsers', 'BeClearingHouse', 'EnablePartnerDiscovery', 'EnableArchivingDisclaimer',
  'EnableUserReplicator', 'KeepCrlsUpToDateForPeers', 'MarkSourceVerifiableOnOutgoingMessages', 'OutgoingTlsCountForFederatedPartners',
  'DiscoveredPartnerStandardRate', 'EnableDiscoveredPartnerContactsLimit', 'MaxContactsPerDiscoveredPartner', 'DiscoveredPartnerReportPeriodMinutes',
  'MaxAcceptedCertificatesStored', 'MaxRejectedCertificatesStored', 'CertificatesDeletedPercentage', 'RoutingMethod',
];

/** The Access Edge object: default routing shows DefaultRouteFqdn, IsPublicProvider and VerificationLevel instead. */
function accessEdgeOut(s: Record<string, unknown>): Record<string, unknown> {
  const defaultRoute = s.RoutingMethod === 'UseDefaultRouting';
  const out: Record<string, unknown> = {};
  for (const name of ACCESS_EDGE_ORDER) {
    if (defaultRoute && name === 'BeClearingHouse') {
      out.DefaultRouteFqdn = s.DefaultRouteFqdn ?? null;
      out.IsPublicProvider = s.IsPublicProvider === true;
      out.VerificationLevel = String(s.VerificationLevel);
      continue;
    }
    if (defaultRoute && name === 'EnablePartnerDiscovery') continue;
    const value = s[name];
    out[name] = value === undefined ? null : name === 'Identity' ? asText(value) : value;
  }
  // the agent sends the projected properties in the projection's order
  const ordered: Record<string, unknown> = {};
  for (const name of PROJECTIONS['Get-CsAccessEdgeConfiguration']!) if (name in out) ordered[name] = out[name];
  return ordered;
}

// --- a deployment with its two agents, like createSimulatedDeployment --------------------------------------------------

export interface MemorySimulatedDeployment {
  deployment: MemoryDeployment;
  /** fe01 (internal), edge01 (edge) */
  agents: MemoryAgent[];
  pool: AgentPool;
  read(): SimState;
  /** pins LyncSim's clock (setSimNow for the file) */
  setNow(at: Date | null): void;
  close(): Promise<void>;
}

export function createMemoryDeployment(options: MemoryDeploymentOptions & { lagSeconds?: number }): MemorySimulatedDeployment {
  const deployment = new MemoryDeployment({ ...options, sim: { ...options.sim, replicationLagSeconds: options.lagSeconds ?? options.sim?.replicationLagSeconds ?? 3 } });
  const agents = [deployment.agent('fe01', SIM_FRONT_END, ['internal']), deployment.agent('edge01', SIM_EDGE, ['edge'])];
  return {
    deployment,
    agents,
    pool: staticAgentPool(agents),
    read: () => deployment.read(),
    setNow: (at) => {
      deployment.load();
      deployment.state.now = at ? at.toISOString() : null;
      deployment.save();
    },
    close: async () => {
      await Promise.all(agents.map((a) => a.close()));
    },
  };
}

/**
 * A clock for the in-memory world: `sleep` moves time forward at once (after letting other work run), so a
 * replication lag or a poll interval costs no wall-clock time. Start it where you like.
 */
export function virtualClock(start: Date = new Date()): Clock & { advance(ms: number): void } {
  let now = start.getTime();
  return {
    now: () => new Date(now),
    sleep: async (ms) => {
      await new Promise<void>((resolve) => setImmediate(resolve));
      now += Math.max(0, ms);
    },
    advance: (ms) => {
      now += ms;
    },
  };
}
