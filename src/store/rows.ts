// The rows both SQL stores keep, and how records become rows and back. What must be atomic is in real columns
// (status, expiry, approvals, locks); what is only ever read back whole (plan, values, steps, pre-state, message refs)
// is JSON text, so a record reads back exactly as written. Times are kept as the ISO text given, and as epoch
// milliseconds for comparisons (`*_ms`, NULL when the text is not a date).
import type { AgentJob, AgentPresence, OutboxEntry } from '../core/store.js';
import type { Approval, AuditRecord, LockHolder, MessageRef, RequestRecord, RunRecord } from '../core/records.js';

export interface RequestRow {
  id: string;
  runbook: string;
  deployment: string;
  requester: string;
  channel: string;
  status: RequestRecord['status'];
  created_at: string;
  expires_at: string;
  expires_ms: number | null;
  decided_at: string | null;
  decided_by: string | null;
  reason: string | null;
  run_id: string | null;
  rollback_of: string | null;
  message: string | null;
  values_json: string;
  plan_json: string;
  change_ref: string | null;
  starts_at: string | null;
}

export interface RunRow {
  id: string;
  request_id: string;
  runbook: string;
  deployment: string;
  channel: string;
  requester: string;
  status: RunRecord['status'];
  started_at: string;
  finished_at: string | null;
  summary: string | null;
  message: string | null;
  approvers_json: string;
  values_json: string;
  steps_json: string;
  pre_state_json: string | null;
  change_ref: string | null;
  approved_by_json: string | null;
}

export interface LockRow {
  deployment: string;
  run_id: string;
  request_id: string;
  requester: string;
  since: string;
}

export interface AuditRow {
  at: string;
  actor: string;
  action: string;
  channel: string | null;
  request_id: string | null;
  run_id: string | null;
  fingerprint: string | null;
  detail: string | null;
  email: string | null;
  account: string | null;
  change_ref: string | null;
}

export interface ApprovalRow {
  user: string;
  at: string;
  email: string | null;
  account: string | null;
}

export interface OutboxRow {
  key: string;
  seq: number;
  channel: string;
  parent: string | null;
  view_json: string;
  version: number;
  attempts: number;
  due_ms: number;
  last_error: string | null;
  since: string;
}

export const toOutbox = (row: OutboxRow): OutboxEntry => ({
  key: row.key,
  channel: row.channel,
  view: JSON.parse(row.view_json) as OutboxEntry['view'],
  ...(row.parent !== null && { parent: row.parent }),
  version: row.version,
  attempts: row.attempts,
  dueMs: row.due_ms,
  ...(row.last_error !== null && { lastError: row.last_error }),
  since: row.since,
});

/** Epoch ms of an ISO time, or null when it is not one (memoryStore's Date.parse gives NaN: never before `now`). */
export const ms = (iso: string): number | null => {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};
export const json = (v: unknown): string | null => (v === undefined ? null : JSON.stringify(v));
export const parse = <T>(text: string): T => JSON.parse(text) as T;

export function toRequest(row: RequestRow, approvals: Approval[]): RequestRecord {
  return {
    id: row.id,
    runbook: row.runbook,
    deployment: row.deployment,
    requester: row.requester,
    channel: row.channel,
    values: parse(row.values_json),
    plan: parse(row.plan_json),
    ...(row.rollback_of !== null && { rollbackOf: row.rollback_of }),
    status: row.status,
    approvals,
    ...(row.decided_by !== null && { decidedBy: row.decided_by }),
    ...(row.reason !== null && { reason: row.reason }),
    ...(row.run_id !== null && { runId: row.run_id }),
    ...(row.change_ref !== null && { change: row.change_ref }),
    ...(row.starts_at !== null && { startsAt: row.starts_at }),
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    ...(row.decided_at !== null && { decidedAt: row.decided_at }),
    ...(row.message !== null && { message: parse<MessageRef>(row.message) }),
  };
}

export function toRun(row: RunRow): RunRecord {
  return {
    id: row.id,
    requestId: row.request_id,
    runbook: row.runbook,
    deployment: row.deployment,
    channel: row.channel,
    requester: row.requester,
    approvers: parse(row.approvers_json),
    ...(row.approved_by_json !== null && { approvedBy: parse<NonNullable<RunRecord['approvedBy']>>(row.approved_by_json) }),
    ...(row.change_ref !== null && { change: row.change_ref }),
    status: row.status,
    startedAt: row.started_at,
    ...(row.finished_at !== null && { finishedAt: row.finished_at }),
    ...(row.pre_state_json !== null && { preState: parse<NonNullable<RunRecord['preState']>>(row.pre_state_json) }),
    values: parse(row.values_json),
    steps: parse(row.steps_json),
    ...(row.summary !== null && { summary: row.summary }),
    ...(row.message !== null && { message: parse<MessageRef>(row.message) }),
  };
}

export const toLock = (row: LockRow): LockHolder => ({ deployment: row.deployment, runId: row.run_id, requestId: row.request_id, requester: row.requester, since: row.since });

export function toAudit(row: AuditRow): AuditRecord {
  return {
    at: row.at,
    actor: row.actor,
    action: row.action,
    ...(row.channel !== null && { channel: row.channel }),
    ...(row.request_id !== null && { requestId: row.request_id }),
    ...(row.run_id !== null && { runId: row.run_id }),
    ...(row.fingerprint !== null && { fingerprint: row.fingerprint }),
    ...(row.detail !== null && { detail: row.detail }),
    ...(row.email !== null && { email: row.email }),
    ...(row.account !== null && { account: row.account }),
    ...(row.change_ref !== null && { change: row.change_ref }),
  };
}

/** An approval row: the identity columns only where the directory said. */
export const toApproval = (row: ApprovalRow): Approval => ({
  user: row.user,
  at: row.at,
  ...(row.email !== null && { email: row.email }),
  ...(row.account !== null && { account: row.account }),
});

/** A request's columns, by name (requests' own; its approvals are rows of their own). */
export const requestParams = (r: RequestRecord) => ({
  id: r.id,
  runbook: r.runbook,
  deployment: r.deployment,
  requester: r.requester,
  channel: r.channel,
  status: r.status,
  created_at: r.createdAt,
  expires_at: r.expiresAt,
  expires_ms: ms(r.expiresAt),
  decided_at: r.decidedAt ?? null,
  decided_by: r.decidedBy ?? null,
  reason: r.reason ?? null,
  run_id: r.runId ?? null,
  rollback_of: r.rollbackOf ?? null,
  message: json(r.message),
  values_json: JSON.stringify(r.values),
  plan_json: JSON.stringify(r.plan),
  change_ref: r.change ?? null,
  starts_at: r.startsAt ?? null,
});

export const auditParams = (r: AuditRecord) => ({
  at: r.at,
  at_ms: ms(r.at),
  actor: r.actor,
  action: r.action,
  channel: r.channel ?? null,
  request_id: r.requestId ?? null,
  run_id: r.runId ?? null,
  fingerprint: r.fingerprint ?? null,
  detail: r.detail ?? null,
  email: r.email ?? null,
  account: r.account ?? null,
  change_ref: r.change ?? null,
});

/** How a dialect writes the i-th parameter, named `name`: `@name` (better-sqlite3), `$1` (pg). */
export type Placeholder = (name: string, i: number) => string;

/**
 * `INSERT INTO table (a, b) VALUES (<a>, <b>)` for the columns of `params` (one of the *Params below), so a column
 * added to a record is written by both stores from one list. With `key`, an upsert that updates every other column.
 */
export const insertSql = (table: string, params: object, placeholder: Placeholder, key?: string): string => {
  const cols = Object.keys(params);
  const insert = `INSERT INTO ${table} (${cols.join(', ')}) VALUES (${cols.map(placeholder).join(', ')})`;
  if (!key) return insert;
  return `${insert} ON CONFLICT (${key}) DO UPDATE SET ${cols.filter((c) => c !== key).map((c) => `${c} = excluded.${c}`).join(', ')}`;
};

export const runParams = (run: RunRecord) => ({
  id: run.id,
  request_id: run.requestId,
  runbook: run.runbook,
  deployment: run.deployment,
  channel: run.channel,
  requester: run.requester,
  status: run.status,
  started_at: run.startedAt,
  finished_at: run.finishedAt ?? null,
  summary: run.summary ?? null,
  message: json(run.message),
  approvers_json: JSON.stringify(run.approvers),
  values_json: JSON.stringify(run.values),
  steps_json: JSON.stringify(run.steps),
  pre_state_json: json(run.preState),
  change_ref: run.change ?? null,
  approved_by_json: json(run.approvedBy),
});

export interface AgentJobRow {
  id: string;
  agent: string;
  owner: string;
  status: AgentJob['status'];
  invocation_json: string;
  queued_ms: number;
  claimed_ms: number | null;
  session: string | null;
  lease_until_ms: number | null;
  ended_ms: number | null;
  result_json: string | null;
}

export function toAgentJob(row: AgentJobRow): AgentJob {
  return {
    id: row.id,
    agent: row.agent,
    invocation: parse(row.invocation_json),
    status: row.status,
    owner: row.owner,
    queuedMs: row.queued_ms,
    ...(row.claimed_ms !== null && { claimedMs: row.claimed_ms }),
    ...(row.session !== null && { session: row.session }),
    ...(row.lease_until_ms !== null && { leaseUntilMs: row.lease_until_ms }),
    ...(row.ended_ms !== null && { endedMs: row.ended_ms }),
    ...(row.result_json !== null && { result: parse<NonNullable<AgentJob['result']>>(row.result_json) }),
  };
}

export interface AgentPresenceRow {
  agent: string;
  instance: string;
  roles_json: string;
  version: string;
  address: string | null;
  seen_ms: number;
  waiting_until_ms: number;
  /** SQLite: 0 or 1 */
  gone: boolean | number;
}

export const toPresence = (row: AgentPresenceRow): AgentPresence => ({
  agent: row.agent,
  instance: row.instance,
  roles: parse(row.roles_json),
  version: row.version,
  ...(row.address !== null && { address: row.address }),
  seenMs: row.seen_ms,
  waitingUntilMs: row.waiting_until_ms,
  gone: row.gone === true || row.gone === 1,
});

export const presenceParams = (p: AgentPresence) => [p.agent, p.instance, JSON.stringify(p.roles), p.version, p.address ?? null, p.seenMs, p.waitingUntilMs] as const;

/**
 * The lease condition of JobEnd as SQL on `lease_until_ms`, with the time as parameter `$n` (PostgreSQL) or `?`
 * (SQLite): only a claimed job's lease is looked at.
 */
export const leaseCondition = (lease: 'live' | 'expired' | undefined, now: string): string =>
  lease === undefined ? 'TRUE' : `(status <> 'claimed' OR coalesce(lease_until_ms, 0) ${lease === 'live' ? '>' : '<='} ${now})`;
