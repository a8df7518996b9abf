// Remote agents' jobs and presence, and Slack deliveries, in the SQLite file: the same contract as on PostgreSQL, for
// the one instance a SQLite file has. Every statement runs to completion synchronously, so each compare-and-set is
// atomic; a job is claimed only by the process that queued it (the owner), so a job left by a process that died is
// never handed out after a restart (its run was reported interrupted): it is forgotten an hour later.
import type Database from 'better-sqlite3';
import { newInstanceId, type AgentJobStore, type DeliveryStore } from '../core/store.js';
import { leaseCondition, presenceParams, toAgentJob, toPresence, type AgentJobRow, type AgentPresenceRow } from './rows.js';

/** How often (at most) the deliveries table is pruned of records older than their window. */
export const DELIVERY_PRUNE_EVERY_MS = 60_000;

export function sqliteAgentJobs(db: Database.Database, instanceId = newInstanceId()): AgentJobStore & DeliveryStore {
  const q = {
    insert: db.prepare(
      `INSERT INTO agent_jobs (id, seq, agent, owner, status, invocation_json, queued_ms)
       VALUES (@id, (SELECT coalesce(max(seq), 0) + 1 FROM agent_jobs), @agent, @owner, 'queued', @invocation_json, @queued_ms)`,
    ),
    oldest: db.prepare<[string, string], AgentJobRow>("SELECT * FROM agent_jobs WHERE agent = ? AND status = 'queued' AND owner = ? ORDER BY seq LIMIT 1"),
    claim: db.prepare<[number, number, string | null, string]>("UPDATE agent_jobs SET status = 'claimed', claimed_ms = ?, lease_until_ms = ?, session = ? WHERE id = ? AND status = 'queued'"),
    release: db.prepare<[string, number]>("UPDATE agent_jobs SET status = 'queued', claimed_ms = NULL, lease_until_ms = NULL, session = NULL WHERE id = ? AND status = 'claimed' AND claimed_ms = ?"),
    renew: db.prepare<[number, string, string, number]>("UPDATE agent_jobs SET lease_until_ms = ? WHERE id = ? AND agent = ? AND status = 'claimed' AND lease_until_ms > ?"),
    get: db.prepare<[string], AgentJobRow>('SELECT * FROM agent_jobs WHERE id = ?'),
    held: db.prepare<[string], AgentJobRow>("SELECT * FROM agent_jobs WHERE agent = ? AND status = 'claimed' ORDER BY seq"),
    waiting: db.prepare<[string, string], { n: number }>("SELECT 1 AS n FROM agent_jobs WHERE agent = ? AND status = 'queued' AND owner = ? LIMIT 1"),
    pruneJobs: db.prepare<[number, string]>("DELETE FROM agent_jobs WHERE queued_ms < ? AND (status IN ('done', 'dead') OR owner <> ?)"),
    prunePresence: db.prepare<[number]>('DELETE FROM agent_presence WHERE seen_ms < ?'),
    seen: db.prepare(
      `INSERT INTO agent_presence (agent, instance, roles_json, version, address, seen_ms, waiting_until_ms, gone) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (agent, instance) DO UPDATE SET roles_json = excluded.roles_json, version = excluded.version, address = excluded.address,
         seen_ms = excluded.seen_ms, waiting_until_ms = excluded.waiting_until_ms, gone = excluded.gone`,
    ),
    presence: db.prepare<[], AgentPresenceRow>('SELECT * FROM agent_presence ORDER BY agent, instance'),
    take: db.prepare<[string, number, number], { key: string }>(
      'INSERT INTO deliveries (key, seen_ms) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET seen_ms = excluded.seen_ms WHERE deliveries.seen_ms <= ? RETURNING key',
    ),
    pruneDeliveries: db.prepare<[number]>('DELETE FROM deliveries WHERE seen_ms <= ?'),
  };
  const ends = new Map<string, Database.Statement>();
  /** the UPDATE of one JobEnd shape (from-states, agent or not, lease condition), prepared once */
  const endStatement = (from: readonly string[], agent: boolean, lease: 'live' | 'expired' | undefined) => {
    const key = `${from.join(',')}|${agent}|${lease ?? ''}`;
    let st = ends.get(key);
    if (!st) {
      st = db.prepare(
        `UPDATE agent_jobs SET status = @status, ended_ms = @now, result_json = @result
         WHERE id = @id AND status IN (${from.map((f) => `'${f.replace(/[^a-z]/g, '')}'`).join(', ')}) ${agent ? 'AND agent = @agent' : ''} AND ${leaseCondition(lease, '@now')}`,
      );
      ends.set(key, st);
    }
    return st;
  };
  const claim = db.transaction((agent: string, nowMs: number, leaseUntilMs: number, session: string | null) => {
    const row = q.oldest.get(agent, instanceId);
    if (!row || q.claim.run(nowMs, leaseUntilMs, session, row.id).changes !== 1) return undefined;
    return toAgentJob(q.get.get(row.id)!);
  });
  let prunedAt = 0;

  return {
    instanceId,
    async jobQueue(job) {
      q.insert.run({ id: job.id, agent: job.agent, owner: instanceId, invocation_json: JSON.stringify(job.invocation), queued_ms: job.queuedMs });
    },
    async jobClaim(agent, c) {
      return claim.immediate(agent, c.nowMs, c.leaseUntilMs, c.session ?? null);
    },
    async jobRelease(id, claimedMs) {
      return q.release.run(id, claimedMs).changes === 1;
    },
    async jobRenew(id, agent, nowMs, leaseUntilMs) {
      return q.renew.run(leaseUntilMs, id, agent, nowMs).changes === 1;
    },
    async jobEnd(id, end) {
      if (end.from.length === 0) return false;
      const params = { id, status: end.status, now: end.nowMs, result: JSON.stringify(end.result), ...(end.agent !== undefined ? { agent: end.agent } : {}) };
      return endStatement(end.from, end.agent !== undefined, end.lease).run(params).changes === 1;
    },
    async jobsGet(ids) {
      return ids.flatMap((id) => {
        const row = q.get.get(id);
        return row ? [toAgentJob(row)] : [];
      });
    },
    async jobsHeld(agent, exceptSession) {
      return q.held.all(agent).filter((r) => exceptSession === undefined || r.session !== exceptSession).map(toAgentJob);
    },
    async jobsWaiting(agents) {
      return agents.filter((a) => q.waiting.get(a, instanceId) !== undefined);
    },
    async jobPrune(beforeMs) {
      q.pruneJobs.run(beforeMs, instanceId);
      q.prunePresence.run(beforeMs);
    },
    async agentSeen(p) {
      q.seen.run(...presenceParams(p), p.gone ? 1 : 0);
    },
    async agentPresence() {
      return q.presence.all().map(toPresence);
    },
    async deliveryTake(key, nowMs, windowMs) {
      if (nowMs - prunedAt >= DELIVERY_PRUNE_EVERY_MS) {
        prunedAt = nowMs;
        q.pruneDeliveries.run(nowMs - windowMs);
      }
      return q.take.get(key, nowMs, nowMs - windowMs) !== undefined;
    },
  };
}
