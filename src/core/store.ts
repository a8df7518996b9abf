// The store the core talks to. Every decision is a compare-and-set on a pending request, so a double click, two
// approvers at once or a Slack retry can complete an approval only once; only the call that completed it starts
// the run. Implementations: memoryStore below (tests, console), SQLite (src/store/).
import type { AuditRecord, LockHolder, RequestRecord, RunRecord } from './records.js';

export type ApproveOutcome =
  | { outcome: 'recorded'; request: RequestRecord } // counted; more approvals needed
  | { outcome: 'completed'; request: RequestRecord } // this approval completed it: start the run
  | { outcome: 'already-approved-by-you'; request: RequestRecord }
  | { outcome: 'not-pending'; request: RequestRecord }
  | { outcome: 'expired'; request: RequestRecord }; // it had expired: now marked so

export type CloseOutcome = { outcome: 'closed'; request: RequestRecord } | { outcome: 'not-pending'; request: RequestRecord };

export type LockOutcome = { ok: true } | { ok: false; holder: LockHolder };

export interface Store {
  createRequest(request: RequestRecord): Promise<void>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  /** Adds an approval when the request is still pending and not expired at `now`. */
  approve(id: string, user: string, required: number, now: Date): Promise<ApproveOutcome | undefined>;
  /** Denies, cancels or expires a pending request. */
  close(id: string, status: 'denied' | 'cancelled' | 'expired', by: string, reason: string | undefined, now: Date): Promise<CloseOutcome | undefined>;
  setRequestMessage(id: string, message: RequestRecord['message']): Promise<void>;
  setRequestRun(id: string, runId: string): Promise<void>;
  /** Pending requests whose expiry is before `now`. */
  listExpired(now: Date): Promise<RequestRecord[]>;
  listPending(): Promise<RequestRecord[]>;

  createRun(run: RunRecord): Promise<void>;
  saveRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** The newest finished runs of a runbook (for rollback without a run id). */
  latestRun(runbook: string, status: RunRecord['status']): Promise<RunRecord | undefined>;
  listRunning(): Promise<RunRecord[]>;

  acquireLock(holder: LockHolder): Promise<LockOutcome>;
  releaseLock(deployment: string, runId: string): Promise<void>;
  getLock(deployment: string): Promise<LockHolder | undefined>;

  /** Start-up: runs left 'running' by a dead process become 'interrupted'; they are returned to be reported. */
  markInterrupted(now: Date): Promise<RunRecord[]>;
  /** Start-up, after markInterrupted: locks whose run is not running are released and returned. */
  recoverLocks(): Promise<LockHolder[]>;

  audit(record: AuditRecord): Promise<void>;
  listAudit(since?: Date): Promise<AuditRecord[]>;
  /** Newest first. */
  history(limit: number): Promise<{ requests: RequestRecord[]; runs: RunRecord[] }>;
}

const clone = <T>(v: T): T => structuredClone(v);

export const INTERRUPTED_SUMMARY = 'interrupted: lync-exo stopped while this run was in progress; check the deployment before running it again';

/** A store in memory: each method runs to completion without awaiting, so its compare-and-set is atomic. */
export function memoryStore(): Store {
  const requests = new Map<string, RequestRecord>();
  const runs = new Map<string, RunRecord>();
  const locks = new Map<string, LockHolder>();
  const audits: AuditRecord[] = [];
  const pending = (r: RequestRecord) => r.status === 'pending';

  return {
    async createRequest(request) {
      if (requests.has(request.id)) throw new Error(`request ${request.id} exists`);
      requests.set(request.id, clone(request));
    },
    async getRequest(id) {
      const r = requests.get(id);
      return r && clone(r);
    },
    async approve(id, user, required, now) {
      const r = requests.get(id);
      if (!r) return undefined;
      if (!pending(r)) return { outcome: 'not-pending', request: clone(r) };
      if (Date.parse(r.expiresAt) <= now.getTime()) {
        Object.assign(r, { status: 'expired', decidedAt: now.toISOString(), decidedBy: 'expiry' });
        return { outcome: 'expired', request: clone(r) };
      }
      if (r.approvals.some((a) => a.user === user)) return { outcome: 'already-approved-by-you', request: clone(r) };
      r.approvals.push({ user, at: now.toISOString() });
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
