// Requests, runs and their results: what the store keeps and the views show.
import type { Identity } from './identity.js';
import type { InputValues } from './runbook/inputs.js';
import type { Plan, PreState } from './runbook/planner.js';
import type { InvocationFailure, Role } from './types.js';

/** Where a message lives, so it can be updated in place (Slack: channel + ts; console: an id). */
export interface MessageRef {
  channel: string;
  ts: string;
}

export type RequestStatus = 'pending' | 'approved' | 'denied' | 'expired' | 'cancelled';

export interface Approval {
  user: string;
  at: string;
  /** the approver's directory identity when they approved (identity.ts) */
  email?: string;
  account?: string;
}

export interface RequestRecord {
  id: string;
  runbook: string;
  deployment: string;
  requester: string;
  channel: string;
  values: InputValues;
  plan: Plan;
  /** rollback: the run it undoes */
  rollbackOf?: string;
  status: RequestStatus;
  approvals: Approval[];
  /** who denied or cancelled, and why */
  decidedBy?: string;
  reason?: string;
  runId?: string;
  /** the change reference the requester gave (`--change CHG0012345`), checked against the policy's pattern */
  change?: string;
  /** approved outside every change window: the run starts when the next one opens (and no earlier) */
  startsAt?: string;
  createdAt: string;
  expiresAt: string;
  decidedAt?: string;
  message?: MessageRef;
}

export type StepStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped' | 'no-op';

export interface InvocationRecord {
  line: string;
  agent?: string;
  ok?: boolean;
  durationMs?: number;
  error?: InvocationFailure;
}

export interface ReplicaRow {
  fqdn: string;
  upToDate: boolean;
  lastStatusReport: string | null;
  lastUpdateCreation: string | null;
  productVersion: string | null;
  /** false: listed for information (a pool that never reports, a host the check does not read), never waited for */
  required?: boolean;
  /** up to date with an update created after the change (or no change to wait for) */
  current?: boolean;
}

/**
 * How a replica row reads, for every renderer: `ok` false only for one the run waited for and did not get. Rows
 * from before the required/current fields (older stored runs) read as they did: up to date or not.
 */
export function replicaVerdict(r: ReplicaRow): { label: string; ok: boolean } {
  if (r.required === false) return { label: r.upToDate ? 'yes (not required)' : 'no (not required)', ok: true };
  if (r.upToDate && r.current === false) return { label: 'NO (older update)', ok: false };
  return r.upToDate ? { label: 'yes', ok: true } : { label: 'NO', ok: false };
}

export interface PropertyCheck {
  property: string;
  expected: unknown;
  actual: unknown;
  ok: boolean;
}

/**
 * A failure the core itself found (not an error text from PowerShell), as a code the front ends word in the reader's
 * language; `error` beside it keeps the English sentence for logs, the audit and older readers.
 */
export type StepProblem = { code: 'edge-mismatch'; agents: string[] } | { code: 'no-edge-agent' } | { code: 'edge-offline' };

export interface EdgeRow {
  agent: string;
  ok: boolean;
  /** the provider is absent (expected or not) */
  found: boolean;
  checks: PropertyCheck[];
  error?: string;
  problem?: StepProblem;
}

export interface StepResult {
  stepId: string;
  title: string;
  role: Role;
  kind: 'change' | 'replication' | 'edge-check' | 'read';
  action?: string;
  status: StepStatus;
  durationMs?: number;
  invocations: InvocationRecord[];
  replicas?: ReplicaRow[];
  edges?: EdgeRow[];
  /** read steps: the objects read, per agent */
  objects?: { agent: string; items: Record<string, unknown>[] }[];
  /** what failed and what to check */
  error?: string;
  problem?: StepProblem;
  hints?: string[];
  /** warnings the step's cmdlets wrote (prefixed with the agent's name when several agents ran it) */
  warnings?: string[];
}

export type RunStatus = 'running' | 'succeeded' | 'failed' | 'refused' | 'interrupted' | 'stopped';

export interface RunRecord {
  id: string;
  requestId: string;
  runbook: string;
  deployment: string;
  channel: string;
  requester: string;
  approvers: string[];
  /** the approvers with their directory identity, as recorded when they approved */
  approvedBy?: Identity[];
  /** the request's change reference */
  change?: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  /** the state read when the run started: what a rollback restores */
  preState?: PreState;
  values: InputValues;
  steps: StepResult[];
  /** why the run stopped or was refused, in one line, as the audit trail keeps it (the run view carries it as data) */
  summary?: string;
  message?: MessageRef;
}

export interface LockHolder {
  deployment: string;
  runId: string;
  requestId: string;
  requester: string;
  since: string;
}

export interface AuditRecord {
  at: string;
  actor: string;
  action: string;
  channel?: string;
  requestId?: string;
  runId?: string;
  fingerprint?: string;
  detail?: string;
  /** the actor's directory identity, for a person (identity.ts) */
  email?: string;
  account?: string;
  /** the change reference of the request or run */
  change?: string;
}

/**
 * What the drift watch saw last (watch.ts): the verify result as compared, since when it has been so, and when it
 * was last checked. Kept in the store, so a restart neither forgets a drift nor reports it twice.
 */
export interface WatchState {
  /** the watch's name: the runbook it verifies */
  name: string;
  verdict: 'pass' | 'fail';
  /** every compared item and check, as `verify` shows them */
  items: { item: string; expected: string; actual: string; ok: boolean }[];
  /** when the result first read as it does now */
  since: string;
  /** the last watch that ran */
  checkedAt: string;
}
