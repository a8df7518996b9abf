// The store the core talks to. Every decision is a compare-and-set on a pending request, so a double click, two
// approvers at once or a Slack retry can complete an approval only once; only the call that completed it starts
// the run. Implementations: memoryStore below (tests, console), SQLite (src/store/).
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { View } from './ports.js';
import type { AuditRecord, LockHolder, MessageRef, RequestRecord, RunRecord, RunStatus, WatchState } from './records.js';
import type { Invocation, InvocationResult, Role } from './types.js';
import { memoryDeliveries, type DeliveryStore } from './deliveries.js';

export { memoryDeliveries, type DeliveryStore } from './deliveries.js';

export type ApproveOutcome =
  | { outcome: 'recorded'; request: RequestRecord } // counted; more approvals needed
  | { outcome: 'completed'; request: RequestRecord } // this approval completed it: start the run
  | { outcome: 'already-approved-by-you'; request: RequestRecord }
  | { outcome: 'not-pending'; request: RequestRecord }
  | { outcome: 'expired'; request: RequestRecord }; // it had expired: now marked so

export type CloseOutcome = { outcome: 'closed'; request: RequestRecord } | { outcome: 'not-pending'; request: RequestRecord };

export type LockOutcome = { ok: true } | { ok: false; holder: LockHolder };

/**
 * A message to bring up to date in Slack (or any Notifier), kept until it is delivered: the outbox. One entry per
 * message (`key`, such as `request:r-1` or `run:run-1`); a newer view of the same message replaces the older one, so
 * the latest state wins and a message that could not be updated for an hour is updated once, not sixty times.
 */
export interface OutboxEntry {
  key: string;
  channel: string;
  view: View;
  /** the key of the message whose thread this one is posted in */
  parent?: string;
  /** bumped by every put: a delivery only clears the entry when no newer view arrived meanwhile */
  version: number;
  /** failed deliveries since the last success */
  attempts: number;
  /** epoch ms before which it is not tried (coalescing interval, backoff, Retry-After) */
  dueMs: number;
  lastError?: string;
  /** when the first undelivered view was put */
  since: string;
}

export interface OutboxPut {
  key: string;
  channel: string;
  view: View;
  parent?: string;
  /** when a new entry is first due (the coalescing interval after the last delivery); now by default */
  dueMs?: number;
}

/**
 * A remote agent's job, a row in the store: queued by the instance running the step (its owner, which waits for the
 * end), claimed by the agent through any instance, ended once: `done` with the agent's result, or `dead` (the agent
 * was lost, went offline before claiming it, or the bot shut down). Never handed out twice.
 */
export type AgentJobStatus = 'queued' | 'claimed' | 'done' | 'dead';

export interface AgentJob {
  id: string;
  agent: string;
  invocation: Invocation;
  status: AgentJobStatus;
  /** the instance that queued it and waits for its end */
  owner: string;
  queuedMs: number;
  claimedMs?: number;
  /** the agent process that claimed it (its claims' `session`), when it said */
  session?: string;
  /** epoch ms after which a claimed job with no heartbeat or result is lost */
  leaseUntilMs?: number;
  endedMs?: number;
  /** a done or dead job: what its owner's invoke returns */
  result?: InvocationResult;
}

/** A compare-and-set that ends a job: it must be in `from` (held by `agent`, its lease live or run out) at `nowMs`. */
export interface JobEnd {
  status: 'done' | 'dead';
  result: InvocationResult;
  nowMs: number;
  from: readonly AgentJobStatus[];
  agent?: string;
  /** for a claimed job: `live`, its lease has not run out at nowMs (a result); `expired`, it has (declared lost) */
  lease?: 'live' | 'expired';
}

/** What one instance knows of one remote agent: the row it keeps for it, read by the others. */
export interface AgentPresence {
  agent: string;
  instance: string;
  /** what the agent announced in its last claim there */
  roles: Role[];
  version: string;
  address?: string;
  /** epoch ms it was last heard from there */
  seenMs: number;
  /** epoch ms until which a claim of it waits there (0 or the past: none waiting) */
  waitingUntilMs: number;
  /** its claim connection there closed from its side (the process stopped or died) */
  gone: boolean;
}

/** Told by a store shared by several instances: a job was queued for `agent`, or ended; or `resync`: look again. */
export type JobEvent = { kind: 'queued'; agent: string } | { kind: 'ended'; id: string } | { kind: 'resync' };

/** Remote agents' jobs and presence, as rows: any instance hands out, heartbeats and ends any job. */
export interface AgentJobStore {
  /** this process, as the owner of the jobs it queues and the instance of the presence rows it writes */
  readonly instanceId: string;
  /** A queued job, owned by this instance. */
  jobQueue(job: { id: string; agent: string; invocation: Invocation; queuedMs: number }): Promise<void>;
  /**
   * The oldest queued job for `agent` whose owner is alive, now claimed (by `session`) until `leaseUntilMs`;
   * undefined when there is none. Two claims at once never take the same job.
   */
  jobClaim(agent: string, claim: { nowMs: number; leaseUntilMs: number; session?: string }): Promise<AgentJob | undefined>;
  /** A claim whose answer never left (the connection closed): the job, still claimed at `claimedMs`, is queued again. */
  jobRelease(id: string, claimedMs: number): Promise<boolean>;
  /** A heartbeat: the job is claimed by `agent` and its lease has not run out at nowMs; the lease is extended. */
  jobRenew(id: string, agent: string, nowMs: number, leaseUntilMs: number): Promise<boolean>;
  /** Ends the job when it is as `end` says (compare-and-set); false when it was not (ended already, another holder ...). */
  jobEnd(id: string, end: JobEnd): Promise<boolean>;
  /** The jobs of these ids that exist. */
  jobsGet(ids: readonly string[]): Promise<AgentJob[]>;
  /** Jobs claimed by `agent` other than those its `session` claimed (all of them when no session is given). */
  jobsHeld(agent: string, exceptSession?: string): Promise<AgentJob[]>;
  /** Of these agents, those with a queued job they could claim now. */
  jobsWaiting(agents: readonly string[]): Promise<string[]>;
  /** Forgets jobs queued before `beforeMs` that ended or whose owner is gone, and presence rows not renewed since. */
  jobPrune(beforeMs: number): Promise<void>;
  /** Writes this instance's row for an agent (one per agent and instance). */
  agentSeen(presence: AgentPresence): Promise<void>;
  agentPresence(): Promise<AgentPresence[]>;
  /**
   * Several instances (PostgreSQL): calls `on` when another instance queues or ends a job (LISTEN/NOTIFY), and
   * `resync` after its connection was lost and made again. A store for one instance leaves it out.
   */
  watchJobs?(on: (event: JobEvent) => void): { close(): Promise<void> };
}


/** A name for this process unique per start: host, pid and a random part. */
export const newInstanceId = (): string => `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;

export interface Store extends AgentJobStore, DeliveryStore {
  createRequest(request: RequestRecord): Promise<void>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  /** Adds an approval when the request is still pending and not expired at `now`; `who`: the approver's directory identity, kept on the approval. */
  approve(id: string, user: string, required: number, now: Date, who?: { email?: string; account?: string }): Promise<ApproveOutcome | undefined>;
  /** Denies, cancels or expires a pending request. */
  close(id: string, status: 'denied' | 'cancelled' | 'expired', by: string, reason: string | undefined, now: Date): Promise<CloseOutcome | undefined>;
  /** Cancels an approved request whose run has not started (it waits for its change window): `not-pending` otherwise. */
  cancelWaiting(id: string, by: string, now: Date): Promise<CloseOutcome | undefined>;
  /** When an approved request's run is to start (the next change window); undefined: clears it. */
  setRequestStart(id: string, startsAt: string | undefined): Promise<void>;
  setRequestMessage(id: string, message: RequestRecord['message']): Promise<void>;
  setRequestRun(id: string, runId: string): Promise<void>;
  /** Pending requests whose expiry is before `now`. */
  listExpired(now: Date): Promise<RequestRecord[]>;
  listPending(): Promise<RequestRecord[]>;

  createRun(run: RunRecord): Promise<void>;
  saveRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** The newest finished runs of a runbook (for rollback without a run id). */
  latestRun(runbook: string, status: RunStatus): Promise<RunRecord | undefined>;
  listRunning(): Promise<RunRecord[]>;

  acquireLock(holder: LockHolder): Promise<LockOutcome>;
  releaseLock(deployment: string, runId: string): Promise<void>;
  getLock(deployment: string): Promise<LockHolder | undefined>;

  /** Start-up: runs left 'running' by a dead process become 'interrupted'; they are returned to be reported. */
  markInterrupted(now: Date): Promise<RunRecord[]>;
  /** Start-up, after markInterrupted: locks whose run is not running are released and returned. */
  recoverLocks(): Promise<LockHolder[]>;

  /**
   * Records the run an approved request starts, in one step with claiming the request: true when this call claimed
   * it (the request is approved and had no run), false when another did. Creates the run record.
   */
  claimRun(requestId: string, run: RunRecord): Promise<boolean>;
  /** Approved requests whose run was never started (the process stopped in between): start-up starts them. */
  listUnstarted(): Promise<RequestRecord[]>;

  /** Puts the latest view of a message; keeps its place in line and its due time when one is already waiting. */
  outboxPut(entry: OutboxPut, now: Date): Promise<void>;
  /** Entries due at `now`, oldest first. */
  outboxDue(now: Date): Promise<OutboxEntry[]>;
  /** Every waiting entry, oldest first. */
  outboxList(): Promise<OutboxEntry[]>;
  /**
   * A delivery of `version` succeeded: the message's ref is kept; the entry goes unless a newer view came meanwhile
   * (then it is due at `nextDueMs`, the coalescing interval) .
   */
  outboxDelivered(key: string, version: number, ref: MessageRef, nextDueMs: number): Promise<void>;
  /** A delivery failed: tried again at `dueMs`. */
  outboxRetry(key: string, dueMs: number, error: string): Promise<void>;
  outboxDrop(key: string): Promise<void>;
  /**
   * Several instances on one store (PostgreSQL): takes the entry for delivery by this instance until `untilMs` and
   * returns it as it is now; undefined when another instance is delivering it, or it is gone. Delivered, retry and
   * drop end the claim. A store for one instance leaves it out.
   */
  outboxClaim?(key: string, nowMs: number, untilMs: number): Promise<OutboxEntry | undefined>;
  /** Where a message was posted, by its outbox key. */
  messageRef(key: string): Promise<MessageRef | undefined>;
  /** The message is gone from Slack (deleted): the next delivery posts it again. */
  forgetMessage(key: string): Promise<void>;

  /** The drift watch's last result (watch.ts), by its name. */
  getWatch(name: string): Promise<WatchState | undefined>;
  saveWatch(state: WatchState): Promise<void>;

  audit(record: AuditRecord): Promise<void>;
  listAudit(since?: Date): Promise<AuditRecord[]>;
  /** Newest first. */
  history(limit: number): Promise<{ requests: RequestRecord[]; runs: RunRecord[] }>;
}

const clone = <T>(v: T): T => structuredClone(v);

/** Agent jobs and presence in memory, for one instance (tests, console; the hub's default). */
export function memoryAgentJobs(instanceId = newInstanceId()): AgentJobStore {
  const jobs = new Map<string, AgentJob>();
  const presence = new Map<string, AgentPresence>();
  const claimedBy = (j: AgentJob, agent?: string) => j.status === 'claimed' && (agent === undefined || j.agent === agent);
  return {
    instanceId,
    async jobQueue(job) {
      if (jobs.has(job.id)) throw new Error(`job ${job.id} exists`);
      jobs.set(job.id, { ...clone(job), status: 'queued', owner: instanceId });
    },
    async jobClaim(agent, claim) {
      // Map keeps insertion order: the first queued is the oldest
      const job = [...jobs.values()].find((j) => j.agent === agent && j.status === 'queued');
      if (!job) return undefined;
      Object.assign(job, { status: 'claimed', claimedMs: claim.nowMs, leaseUntilMs: claim.leaseUntilMs, ...(claim.session !== undefined ? { session: claim.session } : {}) });
      return clone(job);
    },
    async jobRelease(id, claimedMs) {
      const job = jobs.get(id);
      if (!job || job.status !== 'claimed' || job.claimedMs !== claimedMs) return false;
      job.status = 'queued';
      delete job.claimedMs;
      delete job.leaseUntilMs;
      delete job.session;
      return true;
    },
    async jobRenew(id, agent, nowMs, leaseUntilMs) {
      const job = jobs.get(id);
      if (!job || !claimedBy(job, agent) || (job.leaseUntilMs ?? 0) <= nowMs) return false;
      job.leaseUntilMs = leaseUntilMs;
      return true;
    },
    async jobEnd(id, end) {
      const job = jobs.get(id);
      if (!job || !end.from.includes(job.status) || (end.agent !== undefined && job.agent !== end.agent)) return false;
      if (job.status === 'claimed' && end.lease !== undefined && ((job.leaseUntilMs ?? 0) > end.nowMs) !== (end.lease === 'live')) return false;
      Object.assign(job, { status: end.status, endedMs: end.nowMs, result: clone(end.result) });
      return true;
    },
    async jobsGet(ids) {
      return ids.flatMap((id) => (jobs.has(id) ? [clone(jobs.get(id)!)] : []));
    },
    async jobsHeld(agent, exceptSession) {
      return [...jobs.values()].filter((j) => claimedBy(j, agent) && (exceptSession === undefined || j.session !== exceptSession)).map(clone);
    },
    async jobsWaiting(agents) {
      return agents.filter((a) => [...jobs.values()].some((j) => j.agent === a && j.status === 'queued'));
    },
    async jobPrune(beforeMs) {
      for (const [id, j] of jobs) if (j.queuedMs < beforeMs && (j.status === 'done' || j.status === 'dead')) jobs.delete(id);
      for (const [k, p] of presence) if (p.seenMs < beforeMs) presence.delete(k);
    },
    async agentSeen(p) {
      presence.set(`${p.agent}\u0000${p.instance}`, clone(p));
    },
    async agentPresence() {
      return [...presence.values()].map(clone);
    },
  };
}


export const INTERRUPTED_SUMMARY = 'interrupted: lync-exo stopped while this run was in progress; check the deployment before running it again';

/** A store in memory: each method runs to completion without awaiting, so its compare-and-set is atomic. */
export function memoryStore(): Store {
  const jobs = memoryAgentJobs();
  const deliveries = memoryDeliveries();
  const requests = new Map<string, RequestRecord>();
  const runs = new Map<string, RunRecord>();
  const locks = new Map<string, LockHolder>();
  const audits: AuditRecord[] = [];
  const outbox = new Map<string, OutboxEntry & { seq: number }>();
  const watches = new Map<string, WatchState>();
  const refs = new Map<string, MessageRef>();
  let seq = 0;
  const pending = (r: RequestRecord) => r.status === 'pending';
  const inLine = () => [...outbox.values()].sort((a, b) => a.seq - b.seq);
  const entry = ({ seq: _seq, ...e }: OutboxEntry & { seq: number }): OutboxEntry => clone(e);

  return {
    ...jobs,
    ...deliveries,
    async createRequest(request) {
      if (requests.has(request.id)) throw new Error(`request ${request.id} exists`);
      requests.set(request.id, clone(request));
    },
    async getRequest(id) {
      const r = requests.get(id);
      return r && clone(r);
    },
    async approve(id, user, required, now, who) {
      const r = requests.get(id);
      if (!r) return undefined;
      if (!pending(r)) return { outcome: 'not-pending', request: clone(r) };
      if (Date.parse(r.expiresAt) <= now.getTime()) {
        Object.assign(r, { status: 'expired', decidedAt: now.toISOString(), decidedBy: 'expiry' });
        return { outcome: 'expired', request: clone(r) };
      }
      if (r.approvals.some((a) => a.user === user)) return { outcome: 'already-approved-by-you', request: clone(r) };
      r.approvals.push({ user, at: now.toISOString(), ...(who?.email ? { email: who.email } : {}), ...(who?.account ? { account: who.account } : {}) });
      if (r.approvals.length < required) return { outcome: 'recorded', request: clone(r) };
      Object.assign(r, { status: 'approved', decidedAt: now.toISOString() });
      return { outcome: 'completed', request: clone(r) };
    },
    async close(id, status, by, reason, now) {
      const r = requests.get(id);
      if (!r) return undefined;
      if (!pending(r)) return { outcome: 'not-pending', request: clone(r) };
      Object.assign(r, { status, decidedBy: by, reason, decidedAt: now.toISOString() });
      return { outcome: 'closed', request: clone(r) };
    },
    async cancelWaiting(id, by, now) {
      const r = requests.get(id);
      if (!r) return undefined;
      if (r.status !== 'approved' || r.runId) return { outcome: 'not-pending', request: clone(r) };
      Object.assign(r, { status: 'cancelled', decidedBy: by, decidedAt: now.toISOString() });
      return { outcome: 'closed', request: clone(r) };
    },
    async setRequestStart(id, startsAt) {
      const r = requests.get(id);
      if (!r) return;
      if (startsAt === undefined) delete r.startsAt;
      else r.startsAt = startsAt;
    },
    async setRequestMessage(id, message) {
      const r = requests.get(id);
      if (r) r.message = message;
    },
    async setRequestRun(id, runId) {
      const r = requests.get(id);
      if (r) r.runId = runId;
    },
    async listExpired(now) {
      return [...requests.values()].filter((r) => pending(r) && Date.parse(r.expiresAt) <= now.getTime()).map(clone);
    },
    async listPending() {
      return [...requests.values()].filter(pending).map(clone);
    },
    async createRun(run) {
      runs.set(run.id, clone(run));
    },
    async saveRun(run) {
      runs.set(run.id, clone(run));
    },
    async getRun(id) {
      const r = runs.get(id);
      return r && clone(r);
    },
    async latestRun(runbook, status) {
      return clone([...runs.values()].filter((r) => r.runbook === runbook && r.status === status).sort((a, b) => b.startedAt.localeCompare(a.startedAt))[0]);
    },
    async listRunning() {
      return [...runs.values()].filter((r) => r.status === 'running').map(clone);
    },
    async acquireLock(holder) {
      const current = locks.get(holder.deployment);
      if (current) return { ok: false, holder: clone(current) };
      locks.set(holder.deployment, clone(holder));
      return { ok: true };
    },
    async releaseLock(deployment, runId) {
      if (locks.get(deployment)?.runId === runId) locks.delete(deployment);
    },
    async getLock(deployment) {
      const l = locks.get(deployment);
      return l && clone(l);
    },
    async markInterrupted(now) {
      const cut = [...runs.values()].filter((r) => r.status === 'running');
      for (const r of cut) Object.assign(r, { status: 'interrupted', finishedAt: now.toISOString(), summary: r.summary ?? INTERRUPTED_SUMMARY });
      return cut.map(clone);
    },
    async recoverLocks() {
      const stale = [...locks.values()].filter((l) => runs.get(l.runId)?.status !== 'running');
      for (const l of stale) locks.delete(l.deployment);
      return stale.map(clone);
    },
    async claimRun(requestId, run) {
      const r = requests.get(requestId);
      if (!r || r.status !== 'approved' || r.runId) return false;
      r.runId = run.id;
      runs.set(run.id, clone(run));
      return true;
    },
    async listUnstarted() {
      return [...requests.values()].filter((r) => r.status === 'approved' && !r.runId).map(clone);
    },
    async outboxPut(put, now) {
      const current = outbox.get(put.key);
      if (current) {
        Object.assign(current, { view: clone(put.view), channel: put.channel, version: current.version + 1 });
        if (put.parent !== undefined) current.parent = put.parent;
        return;
      }
      outbox.set(put.key, { key: put.key, channel: put.channel, view: clone(put.view), ...(put.parent !== undefined && { parent: put.parent }), version: 1, attempts: 0, dueMs: put.dueMs ?? now.getTime(), since: now.toISOString(), seq: ++seq });
    },
    async outboxDue(now) {
      return inLine().filter((e) => e.dueMs <= now.getTime()).map(entry);
    },
    async outboxList() {
      return inLine().map(entry);
    },
    async outboxDelivered(key, version, ref, nextDueMs) {
      refs.set(key, clone(ref));
      const current = outbox.get(key);
      if (!current) return;
      if (current.version === version) outbox.delete(key);
      else {
        Object.assign(current, { attempts: 0, dueMs: nextDueMs });
        delete current.lastError;
      }
    },
    async outboxRetry(key, dueMs, error) {
      const current = outbox.get(key);
      if (current) Object.assign(current, { attempts: current.attempts + 1, dueMs, lastError: error });
    },
    async outboxDrop(key) {
      outbox.delete(key);
    },
    async messageRef(key) {
      const ref = refs.get(key);
      return ref && clone(ref);
    },
    async forgetMessage(key) {
      refs.delete(key);
    },
    async getWatch(name) {
      const w = watches.get(name);
      return w && clone(w);
    },
    async saveWatch(state) {
      watches.set(state.name, clone(state));
    },
    async audit(record) {
      audits.push(clone(record));
    },
    async listAudit(since) {
      return audits.filter((a) => !since || Date.parse(a.at) >= since.getTime()).map(clone);
    },
    async history(limit) {
      const newest = <T extends { createdAt?: string; startedAt?: string }>(a: T, b: T) => (b.createdAt ?? b.startedAt ?? '').localeCompare(a.createdAt ?? a.startedAt ?? '');
      return {
        requests: [...requests.values()].sort(newest).slice(0, limit).map(clone),
        runs: [...runs.values()].sort(newest).slice(0, limit).map(clone),
      };
    },
  };
}
