// Remote agents' jobs and presence, and Slack deliveries, on PostgreSQL, for several instances on one database:
// - a claim takes the oldest queued job for the agent with SELECT ... FOR UPDATE SKIP LOCKED, so two instances
//   answering two claims of the same agent at once never take one job twice, and neither waits on the other;
// - a job is claimed only while its owner (the instance waiting for its end) is alive: a job queued by an instance
//   that died is never run later (its run is reported interrupted by the survivors);
// - every change of a job's status notifies (a trigger: pg_notify on lync_exo_agent_jobs, sent at commit), and
//   watchJobs LISTENs on a connection of its own, reconnecting with backoff and asking for a resync after a gap;
//   the hub also polls on a bound, so nothing depends on a notification arriving;
// - a Slack delivery is taken by one instance: INSERT ... ON CONFLICT DO UPDATE ... WHERE (older than the window).
import pg from 'pg';
import type { Log } from '../core/service.js';
import type { AgentJobStore, DeliveryStore, JobEvent } from '../core/store.js';
import { leaseCondition, presenceParams, toAgentJob, toPresence, type AgentJobRow, type AgentPresenceRow } from './rows.js';
import { DELIVERY_PRUNE_EVERY_MS } from './sqliteJobs.js';

export const JOBS_CHANNEL = 'lync_exo_agent_jobs';
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

export interface PostgresJobsOptions {
  pool: pg.Pool;
  /** for watchJobs' own connection */
  config: pg.ClientConfig;
  instanceId: string;
  /** how long an instance that stopped heartbeating stays alive (its jobs claimable) */
  leaseMs: number;
  log?: Pick<Log, 'info' | 'warn'>;
}

export interface PostgresJobs extends AgentJobStore, DeliveryStore {
  watchJobs(on: (event: JobEvent) => void): { close(): Promise<void> };
  /** Closes every watcher (the store is ending). */
  closeWatchers(): Promise<void>;
}

export function postgresAgentJobs({ pool, config, instanceId, leaseMs, log }: PostgresJobsOptions): PostgresJobs {
  const q = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []) => (await pool.query<R>(sql, params)).rows;
  /** the owner of the row in `agent_jobs` is this instance or one whose heartbeat is within the lease; $n: the lease */
  const ownerAlive = (self: string, lease: string) =>
    `(owner = ${self} OR EXISTS (SELECT 1 FROM instances i WHERE i.id = agent_jobs.owner AND i.heartbeat_at > clock_timestamp() - ${lease} * interval '1 millisecond'))`;
  const watchers = new Set<{ close(): Promise<void> }>();
  let prunedAt = 0;

  function watchJobs(on: (event: JobEvent) => void): { close(): Promise<void> } {
    let closed = false;
    let client: pg.Client | undefined;
    let attempt = 0;
    let retry: NodeJS.Timeout | undefined;
    const schedule = () => {
      if (closed || retry) return;
      const delay = Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(attempt, 10));
      attempt++;
      retry = setTimeout(() => {
        retry = undefined;
        void connect();
      }, delay);
      retry.unref();
    };
    const lost = (c: pg.Client, why: string) => {
      if (client !== c) return;
      client = undefined;
      void c.end().catch(() => undefined);
      if (closed) return;
      log?.warn({ err: why }, 'store: the connection that listens for agent jobs was lost; listening again (meanwhile the hub polls)');
      schedule();
    };
    const connect = async () => {
      if (closed) return;
      const c = new pg.Client({ ...config });
      c.on('error', (err) => lost(c, err.message));
      c.on('end', () => lost(c, 'the server closed it'));
      try {
        client = c;
        await c.connect();
        const schema = (await c.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]?.s;
        c.on('notification', (n) => {
          if (n.channel !== JOBS_CHANNEL || !n.payload) return;
          try {
            const p = JSON.parse(n.payload) as { schema?: string; queued?: string; ended?: string };
            if (p.schema !== schema) return;
            if (typeof p.queued === 'string') on({ kind: 'queued', agent: p.queued });
            else if (typeof p.ended === 'string') on({ kind: 'ended', id: p.ended });
          } catch {
            // not ours
          }
        });
        await c.query(`LISTEN ${JOBS_CHANNEL}`);
        if (closed) {
          await c.end().catch(() => undefined);
          return;
        }
        // what was notified while not listening is found by looking again
        if (attempt > 0) {
          log?.info({ attempts: attempt }, 'store: listening for agent jobs again');
          on({ kind: 'resync' });
        }
        attempt = 0;
      } catch (err) {
        lost(c, (err as Error).message);
      }
    };
    void connect();
    const handle = {
      async close() {
        closed = true;
        clearTimeout(retry);
        watchers.delete(handle);
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
      },
    };
    watchers.add(handle);
    return handle;
  }

  return {
    instanceId,
    watchJobs,
    async closeWatchers() {
      await Promise.all([...watchers].map((w) => w.close()));
    },
    async jobQueue(job) {
      await pool.query("INSERT INTO agent_jobs (id, agent, owner, status, invocation_json, queued_ms) VALUES ($1, $2, $3, 'queued', $4, $5)", [
        job.id,
        job.agent,
        instanceId,
        JSON.stringify(job.invocation),
        job.queuedMs,
      ]);
    },
    async jobClaim(agent, c) {
      const rows = await q<AgentJobRow>(
        `UPDATE agent_jobs SET status = 'claimed', claimed_ms = $3, lease_until_ms = $4, session = $5
         WHERE id = (SELECT id FROM agent_jobs WHERE agent = $1 AND status = 'queued' AND ${ownerAlive('$2', '$6')} ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED) AND status = 'queued'
         RETURNING *`,
        [agent, instanceId, c.nowMs, c.leaseUntilMs, c.session ?? null, leaseMs],
      );
      return rows[0] && toAgentJob(rows[0]);
    },
    async jobRelease(id, claimedMs) {
      const r = await pool.query("UPDATE agent_jobs SET status = 'queued', claimed_ms = NULL, lease_until_ms = NULL, session = NULL WHERE id = $1 AND status = 'claimed' AND claimed_ms = $2", [id, claimedMs]);
      return r.rowCount === 1;
    },
    async jobRenew(id, agent, nowMs, leaseUntilMs) {
      const r = await pool.query("UPDATE agent_jobs SET lease_until_ms = $1 WHERE id = $2 AND agent = $3 AND status = 'claimed' AND lease_until_ms > $4", [leaseUntilMs, id, agent, nowMs]);
      return r.rowCount === 1;
    },
    async jobEnd(id, end) {
      const r = await pool.query(
        `UPDATE agent_jobs SET status = $2, ended_ms = $3, result_json = $4
         WHERE id = $1 AND status = ANY($5::text[]) AND ($6::text IS NULL OR agent = $6) AND ${leaseCondition(end.lease, '$3')}`,
        [id, end.status, end.nowMs, JSON.stringify(end.result), [...end.from], end.agent ?? null],
      );
      return r.rowCount === 1;
    },
    async jobsGet(ids) {
      if (ids.length === 0) return [];
      const rows = await q<AgentJobRow>('SELECT * FROM agent_jobs WHERE id = ANY($1::text[])', [[...ids]]);
      const by = new Map(rows.map((r) => [r.id, r]));
      return ids.flatMap((id) => (by.has(id) ? [toAgentJob(by.get(id)!)] : []));
    },
    async jobsHeld(agent, exceptSession) {
      const rows = await q<AgentJobRow>("SELECT * FROM agent_jobs WHERE agent = $1 AND status = 'claimed' AND ($2::text IS NULL OR session IS DISTINCT FROM $2) ORDER BY seq", [agent, exceptSession ?? null]);
      return rows.map(toAgentJob);
    },
    async jobsWaiting(agents) {
      if (agents.length === 0) return [];
      const rows = await q<{ agent: string }>(`SELECT DISTINCT agent FROM agent_jobs WHERE agent = ANY($1::text[]) AND status = 'queued' AND ${ownerAlive('$2', '$3')}`, [[...agents], instanceId, leaseMs]);
      const found = new Set(rows.map((r) => r.agent));
      return agents.filter((a) => found.has(a));
    },
    async jobPrune(beforeMs) {
      await pool.query(`DELETE FROM agent_jobs WHERE queued_ms < $1 AND (status IN ('done', 'dead') OR NOT ${ownerAlive('$2', '$3')})`, [beforeMs, instanceId, leaseMs]);
      await pool.query('DELETE FROM agent_presence WHERE seen_ms < $1', [beforeMs]);
    },
    async agentSeen(p) {
      await pool.query(
        `INSERT INTO agent_presence (agent, instance, roles_json, version, address, seen_ms, waiting_until_ms, gone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (agent, instance) DO UPDATE SET roles_json = excluded.roles_json, version = excluded.version, address = excluded.address,
           seen_ms = excluded.seen_ms, waiting_until_ms = excluded.waiting_until_ms, gone = excluded.gone`,
        [...presenceParams(p), p.gone],
      );
    },
    async agentPresence() {
      return (await q<AgentPresenceRow>('SELECT * FROM agent_presence ORDER BY agent, instance')).map(toPresence);
    },
    async deliveryTake(key, nowMs, windowMs) {
      if (nowMs - prunedAt >= DELIVERY_PRUNE_EVERY_MS) {
        prunedAt = nowMs;
        await pool.query('DELETE FROM deliveries WHERE seen_ms <= $1', [nowMs - windowMs]);
      }
      const r = await pool.query('INSERT INTO deliveries (key, seen_ms) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET seen_ms = excluded.seen_ms WHERE deliveries.seen_ms <= $3', [key, nowMs, nowMs - windowMs]);
      return r.rowCount === 1;
    },
  };
}
