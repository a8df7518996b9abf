// The bot's side of remote agents. Agents on the Windows hosts open no port: they connect to the bot, long-poll for
// a job, run it, heartbeat while it runs and post its result (the shape of GitHub Actions self-hosted runners and
// Azure Automation Hybrid Runbook Workers).
//
//   POST /agents/v1/claim               {name, roles, version}  → 200 {id, invocation, leaseMs, maxResultBytes} | 204
//   POST /agents/v1/jobs/:id/heartbeat                          → 200 {leaseMs} (the lease starts again)
//   POST /agents/v1/jobs/:id/result     {ok, output | error, durationMs} → 200 {recorded: true}
//
// Only agents in the configuration exist (agents.remote): each has a name, the roles it serves and a token. An
// agent's identity is its token: the hub keeps only the SHA-256 of each, finds the agent by it, and refuses a request
// whose name header or claim names someone else (403). The roles an agent serves are the configured ones; a claim
// announcing any other role is refused (403) and nothing is handed to it. Nothing an unauthenticated request sends is
// logged as sent: a name in the header appears as a short hash, to correlate attempts.
//
// A job belongs to one agent from the moment it is queued. It ends exactly once: with the result of the agent that
// holds it, or dead (the agent went offline before claiming it, or its lease ran out, or it came back asking for new
// work without the result). A result from another agent, a second result and a result after the lease are refused,
// audited, and never applied; the hub never gives a job to another agent: a step never runs twice.
//
// An agent is online while it waits for work or has been heard from within offlineAfterMs; a claim connection that
// the agent closes (the process died) takes it offline at once. Every change of that, every claim, result and refusal
// is an audit record (see AGENT_AUDIT_ACTIONS).
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import { closeServer, createBoundedServer, DEFAULT_HTTP_BOUNDS, isLoopbackHost, listen, plainHttpProblem, type HttpBounds, type TlsFiles } from '../http/bounded.js';
import { createLogger } from '../log.js';
import type { AgentPool, Clock } from '../core/ports.js';
import type { AuditRecord } from '../core/records.js';
import { memoryAgentJobs, type AgentJob, type AgentJobStatus, type AgentJobStore, type AgentPresence, type JobEvent } from '../core/store.js';
import { ROLES, type Agent, type Invocation, type InvocationFailure, type InvocationResult, type Role } from '../core/types.js';
import { checkOutput } from '../agent/outputs.js';

export const AGENT_ROUTE_PREFIX = '/agents/v1/';
export const AGENT_NAME_HEADER = 'x-lync-exo-agent';

/** One configured remote agent, its token resolved from the environment. */
export interface RemoteAgentSpec {
  name: string;
  roles: readonly Role[];
  token: string;
}

/**
 * The audit records the hub writes: actor `agent:NAME` (or `agent:(unauthenticated)`), and a JSON `detail` with
 * at least {agent, address}, plus jobId and cmdlet for jobs, reason and status for refusals.
 */
export const AGENT_AUDIT_ACTIONS = ['agent-online', 'agent-offline', 'agent-claim', 'agent-result', 'agent-refused'] as const;
export type AgentAuditAction = (typeof AGENT_AUDIT_ACTIONS)[number];

export interface AgentHubOptions {
  /** agents.remote with their tokens; only the tokens' hashes are kept */
  agents: readonly RemoteAgentSpec[];
  log: Logger;
  /** where agent audit records go (the store); a failure to record is logged */
  audit?: (record: AuditRecord) => Promise<void> | void;
  /** how long a claimed job lives without a heartbeat or a result; default 30 s */
  leaseMs?: number;
  /** how long a claim waits for a job before it is answered 204; default 25 s */
  claimWaitMs?: number;
  /** an agent not heard from for this long is offline and its queued jobs fail; default leaseMs */
  offlineAfterMs?: number;
  /** the same as offlineAfterMs (its former name) */
  claimTimeoutMs?: number;
  /** larger request bodies get 413 and are not read; default 64 KiB */
  maxBodyBytes?: number;
  clock?: Pick<Clock, 'now'>;
  /**
   * Where jobs and presence are kept: the store (rows, so agents may connect to any instance on a shared
   * PostgreSQL); in this process's memory by default.
   */
  jobs?: AgentJobStore;
  /** how often the store is looked at when no notification came; default min(1 s, offlineAfterMs / 4) */
  pollMs?: number;
}

export interface AgentRow {
  name: string;
  roles: Role[];
  /** what the agent announced: lync-exo's version and its PowerShell's */
  version: string;
  /** ISO 8601; absent when it never connected */
  lastSeen?: string;
  online: boolean;
}

export interface AgentHub {
  /** Handles an agent route and returns true; returns false (and does nothing) for any other request. */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** The embedded agents plus the remote agents online now; `expected('edge')` is `expectedEdges`. */
  pool(embedded: readonly Agent[], expectedEdges: readonly string[]): AgentPool;
  registry(): AgentRow[];
  /** The Agent that sends work to one remote agent (whether or not it is online). */
  agent(name: string): Agent | undefined;
  /** Replaces the tokens (rotation) of configured agents; agents left out are revoked. An unknown name throws. */
  setTokens(tokens: readonly { name: string; token: string }[]): void;
  revoke(name: string): void;
  /** the largest request body the routes accept */
  readonly maxBodyBytes: number;
  /** Fails open jobs, answers waiting claims; later invocations fail at once. */
  close(): Promise<void>;
}

/** An invocation this instance queued and waits for: its job's row says when it ends. */
interface Waiting {
  id: string;
  agent: Entry;
  cmdlet: string;
  queuedAt: number;
  settle: (result: InvocationResult) => void;
  /** the store refused to queue it: what the invoker is told once the row is known not to be there */
  queueFailed?: InvocationResult;
}

interface Waiter {
  res: ServerResponse;
  timer: NodeJS.Timeout;
  /** the agent process's claims, when it says (jobs it holds from another session are lost) */
  session: string | undefined;
}

interface Entry {
  name: string;
  /** hex SHA-256 of the token; undefined: revoked */
  hash: string | undefined;
  configured: readonly Role[];
  /** what each instance knows of it: this one's row kept here, the others' read from the store */
  presence: Map<string, AgentPresence>;
  /** the last state written to the audit, by this instance */
  reportedOnline: boolean;
  address?: string;
  /** its claim waiting on this instance */
  waiter?: Waiter;
  /** a claim in the store is under way for the waiter; `again`: look once more when it is done */
  claiming: boolean;
  again: boolean;
  /** this instance's row is being written; `dirty`: write it once more after */
  writing: boolean;
  dirty: boolean;
  remote: RemoteAgent;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_CLAIM_WAIT_MS = 25_000;
const DEFAULT_MAX_BODY = 64 * 1024;
/** how long an ended job's row is kept, to refuse a repeated result as replayed (and presence rows not renewed) */
const REMEMBER_JOBS_MS = 60 * 60_000;
const PRUNE_EVERY_MS = 60_000;
/** the longest between two looks at the store (jobs ended, leases run out, work queued elsewhere, presence) */
const POLL_MAX_MS = 1_000;
/** refusals of unauthenticated requests written to the audit per minute; the rest are only logged */
const UNAUTHENTICATED_AUDITS_PER_MINUTE = 20;

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');
const seconds = (ms: number): string => String(Math.round(ms / 100) / 10);
/** what an unauthenticated request named itself, as a short hash: enough to correlate, never the text sent */
export const nameHash = (raw: string | string[] | undefined): string | undefined => (raw === undefined ? undefined : `sha256:${sha256(Array.isArray(raw) ? raw.join(',') : raw).slice(0, 12)}`);

const ClaimBody = z.object({
  name: z.string().max(63),
  roles: z.array(z.enum(ROLES as [Role, ...Role[]])).min(1),
  version: z.string().max(100).default(''),
  /** the agent process: a claim from another session means the jobs an earlier one held are lost */
  session: z.string().regex(/^[0-9a-f]{8,64}$/).optional(),
});

const FailureBody = z.object({
  kind: z.enum(['powershell', 'timeout', 'agent', 'refused', 'output']),
  message: z.string().max(8_000),
  category: z.string().max(200).optional(),
  errorId: z.string().max(500).optional(),
  exceptionType: z.string().max(500).optional(),
  hint: z.string().max(2_000).optional(),
});

const ResultBody = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    output: z.array(z.record(z.string(), z.unknown())),
    warnings: z.array(z.string().max(2_000)).max(50).optional(),
    durationMs: z.number().nonnegative().optional(),
  }),
  z.object({ ok: z.literal(false), error: FailureBody, durationMs: z.number().nonnegative().optional() }),
]);

/** The Agent the core sees for one remote agent: invoke queues a job for it and waits for the job to end. */
export class RemoteAgent implements Agent {
  constructor(
    readonly name: string,
    /** the roles it serves: those configured that its latest claim announced */
    private readonly served: () => readonly Role[],
    private readonly enqueue: (invocation: Invocation) => Promise<InvocationResult>,
  ) {}

  get roles(): readonly Role[] {
    return this.served();
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.enqueue(invocation);
  }

  /** The remote process is not ours to stop; the hub's close() ends its jobs. */
  async close(): Promise<void> {}
}

function json(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  if (status === 204 || body === undefined) {
    res.writeHead(status, { 'cache-control': 'no-store', ...headers });
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), 'cache-control': 'no-store', ...headers });
  res.end(text);
}

type Body = { ok: true; value: unknown } | { ok: false; status: 400 | 413; message: string };

/** Reads a JSON body of at most `limit` bytes; a larger one is refused without reading the rest. */
function readBody(req: IncomingMessage, limit: number): Promise<Body> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve({ ok: false, status: 413, message: `body of ${declared} bytes; at most ${limit}` });
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (b: Body) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      resolve(b);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.pause();
        finish({ ok: false, status: 413, message: `body over ${limit} bytes` });
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('error', () => finish({ ok: false, status: 400, message: 'the request broke off' }));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return finish({ ok: true, value: {} });
      try {
        finish({ ok: true, value: JSON.parse(text) as unknown });
      } catch {
        finish({ ok: false, status: 400, message: 'the body is not JSON' });
      }
    });
  });
}

export function createAgentHub(options: AgentHubOptions): AgentHub {
  const log = options.log.child({ component: 'agent-hub' });
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const claimWaitMs = options.claimWaitMs ?? DEFAULT_CLAIM_WAIT_MS;
  const offlineAfterMs = options.offlineAfterMs ?? options.claimTimeoutMs ?? leaseMs;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const now = (): number => (options.clock ?? { now: () => new Date() }).now().getTime();
  const store = options.jobs ?? memoryAgentJobs();
  const self = store.instanceId;
  const entries = new Map<string, Entry>();
  const byHash = new Map<string, Entry>();
  /** hashes of tokens revoked or rotated away: refused with that reason */
  const retired = new Set<string>();
  /** the invocations this instance queued, by job id, until their job ends */
  const open = new Map<string, Waiting>();
  let closed = false;
  let auditWindow = { start: 0, count: 0 };
  let prunedAt = 0;

  for (const spec of options.agents) {
    if (entries.has(spec.name)) throw new Error(`agent hub: agent ${spec.name} is configured twice`);
    const created: Entry = {
      name: spec.name,
      hash: undefined,
      configured: [...spec.roles],
      presence: new Map(),
      reportedOnline: false,
      claiming: false,
      again: false,
      writing: false,
      dirty: false,
      remote: new RemoteAgent(spec.name, () => served(created), (invocation) => enqueue(created, invocation)),
    };
    entries.set(spec.name, created);
  }

  function record(action: AgentAuditAction, e: Entry | undefined, address: string | undefined, fields: Record<string, unknown> = {}): void {
    if (!options.audit) return;
    if (!e) {
      const t = now();
      if (t - auditWindow.start > 60_000) auditWindow = { start: t, count: 0 };
      if (++auditWindow.count > UNAUTHENTICATED_AUDITS_PER_MINUTE) return;
    }
    const entry: AuditRecord = {
      at: new Date(now()).toISOString(),
      actor: e ? `agent:${e.name}` : 'agent:(unauthenticated)',
      action,
      detail: JSON.stringify({ agent: e?.name ?? null, address: address ?? null, ...fields }),
    };
    Promise.resolve()
      .then(() => options.audit!(entry))
      .catch((err: unknown) => log.error({ action, error: (err as Error)?.message }, 'agent audit: the record was not written'));
  }

  const failed = (what: string) => (err: unknown) => log.error({ error: (err as Error)?.message }, `agent jobs: ${what}: the store failed`);

  function setTokens(tokens: readonly { name: string; token: string }[]): void {
    tokens.forEach((t, i) => {
      // the position, never the name: a token may sit where a name should
      if (!entries.has(t.name)) throw new Error(`agent hub: token ${i + 1} is for an agent that is not configured (agents.remote)`);
    });
    const hashes = tokens.map((t) => sha256(t.token));
    if (new Set(hashes).size !== hashes.length) throw new Error('agent hub: two agents have the same token; a token is an agent\'s identity');
    const keep = new Set(tokens.map((t) => t.name));
    for (const e of entries.values()) if (!keep.has(e.name)) revoke(e.name);
    tokens.forEach((t, i) => {
      const e = entries.get(t.name)!;
      if (e.hash && e.hash !== hashes[i]) {
        byHash.delete(e.hash);
        retired.add(e.hash);
      }
      e.hash = hashes[i]!;
      retired.delete(e.hash);
      byHash.set(e.hash, e);
    });
  }

  function revoke(name: string): void {
    const e = entries.get(name);
    if (!e || !e.hash) return;
    byHash.delete(e.hash);
    retired.add(e.hash);
    e.hash = undefined;
    if (e.waiter) {
      clearTimeout(e.waiter.timer);
      json(e.waiter.res, 401, { error: 'unauthorized' });
      e.waiter = undefined;
    }
    log.warn({ agent: name }, 'agent token revoked');
    audits();
  }

  // --- presence: what this instance and the others know of each agent ---------------------------------------------
  // Shared: each instance keeps a row per agent (roles and version announced, last heard from, a claim waiting there
  // until when, its claim connection closed), so an instance routes a step to an agent connected to another one, and
  // every instance answers "online?" alike. Per instance: the waiting connection itself, the tokens (the same
  // configuration everywhere) and the audit of the connections it serves.
  const here = (e: Entry): AgentPresence | undefined => e.presence.get(self);
  const freshest = (e: Entry): AgentPresence | undefined => [...e.presence.values()].reduce<AgentPresence | undefined>((a, p) => (!a || p.seenMs > a.seenMs ? p : a), undefined);
  const waiting = (e: Entry): boolean => e.waiter !== undefined && !e.waiter.res.destroyed;
  /** online: its token is valid and a claim of it waits somewhere, or its latest contact was within offlineAfterMs */
  function isOnline(e: Entry): boolean {
    if (e.hash === undefined) return false;
    if (waiting(e)) return true;
    const t = now();
    for (const p of e.presence.values()) if (!p.gone && p.waitingUntilMs >= t) return true;
    const last = freshest(e);
    return last !== undefined && !last.gone && t - last.seenMs <= offlineAfterMs;
  }
  /** what it announced in its latest claim (a subset of the configured roles), the configured roles before */
  const served = (e: Entry): Role[] => {
    const announced = freshest(e)?.roles;
    return announced ? e.configured.filter((r) => announced.includes(r)) : [...e.configured];
  };

  function offlineReason(e: Entry): string {
    const last = freshest(e);
    if (e.hash === undefined) return 'its token is revoked';
    if (last === undefined) return 'it has never connected';
    if (last.gone) return `it disconnected ${seconds(now() - last.seenMs)} s ago`;
    return `not heard from for ${seconds(now() - last.seenMs)} s`;
  }

  /** Changes this instance's row for the agent and writes it to the store (one write at a time, the latest wins). */
  function publish(e: Entry, change: Partial<AgentPresence>): void {
    const before = here(e) ?? { agent: e.name, instance: self, roles: freshest(e)?.roles ?? [...e.configured], version: freshest(e)?.version ?? '', seenMs: 0, waitingUntilMs: 0, gone: false };
    const next: AgentPresence = { ...before, ...change };
    if (e.address !== undefined) next.address = e.address;
    e.presence.set(self, next);
    if (e.writing) {
      e.dirty = true;
      return;
    }
    e.writing = true;
    const write = (): Promise<void> =>
      store.agentSeen(here(e)!).then(() => {
        if (!e.dirty) return;
        e.dirty = false;
        return write();
      });
    write()
      .catch(failed(`recording agent ${e.name}`))
      .finally(() => (e.writing = false));
  }

  /** Heard from (a heartbeat, a result): its row here says so, when it has claimed anywhere. */
  function heard(e: Entry): void {
    if (here(e) || freshest(e)) publish(e, { seenMs: now(), gone: false });
  }

  /** Audits each change of online state this instance saw (it reported the agent online). */
  function audits(): void {
    for (const e of entries.values()) {
      if (!e.reportedOnline || isOnline(e)) continue;
      e.reportedOnline = false;
      const last = freshest(e);
      log.warn({ agent: e.name, remoteAddress: e.address, why: offlineReason(e) }, 'agent offline');
      record('agent-offline', e, e.address, { why: offlineReason(e), ...(last ? { lastSeen: new Date(last.seenMs).toISOString() } : {}) });
    }
  }

  function noteOnline(e: Entry): void {
    if (e.reportedOnline || !isOnline(e)) return;
    e.reportedOnline = true;
    record('agent-online', e, e.address, { roles: served(e), version: freshest(e)?.version ?? '' });
  }

  // --- jobs ---------------------------------------------------------------------------------------------------
  const cmdletOf = (invocation: Invocation | undefined): string => (typeof invocation?.cmdlet === 'string' ? invocation.cmdlet : '(no cmdlet)');

  /** The invocation this instance waits for ends with `result` (once). */
  function finish(id: string, result: InvocationResult): void {
    const w = open.get(id);
    if (!w) return;
    open.delete(id);
    w.settle(result);
  }

  /** Ends a job as dead (compare-and-set: only if it is still in `from`); true when this call ended it. */
  async function kill(job: Pick<AgentJob, 'id' | 'agent' | 'status' | 'queuedMs'> & { cmdlet: string }, message: string, from: readonly AgentJobStatus[], lease?: 'expired'): Promise<boolean> {
    const t = now();
    const result: InvocationResult = { ok: false, error: { kind: 'agent', message }, durationMs: t - job.queuedMs, agent: job.agent };
    if (!(await store.jobEnd(job.id, { status: 'dead', result, nowMs: t, from, ...(lease ? { lease } : {}) }))) return false;
    log.warn({ agent: job.agent, jobId: job.id, cmdlet: job.cmdlet, was: job.status }, `agent job failed: ${message}`);
    finish(job.id, result);
    return true;
  }

  const lostByLease = (job: AgentJob) =>
    kill({ ...job, cmdlet: cmdletOf(job.invocation) }, `${cmdletOf(job.invocation)}: agent ${job.agent} lost: no heartbeat or result within ${seconds(leaseMs)} s`, ['claimed'], 'expired');

  function enqueue(e: Entry, invocation: Invocation): Promise<InvocationResult> {
    const cmdlet = cmdletOf(invocation);
    const fail = (message: string) => Promise.resolve<InvocationResult>({ ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${e.name}${message}` }, durationMs: 0, agent: e.name });
    if (closed) return fail(': the bot is shutting down');
    // an agent known to be away costs nothing: the caller learns at once, and reads the others
    if (!isOnline(e)) return fail(` offline: ${offlineReason(e)}`);
    return new Promise<InvocationResult>((resolve) => {
      const id = randomUUID();
      const queuedAt = now();
      open.set(id, { id, agent: e, cmdlet, queuedAt, settle: resolve });
      store.jobQueue({ id, agent: e.name, invocation, queuedMs: queuedAt }).then(
        () => {
          log.debug({ agent: e.name, jobId: id, cmdlet }, 'agent job queued');
          void dispatch(e);
        },
        async (err: unknown) => {
          failed('queueing a job')(err);
          const result: InvocationResult = { ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${e.name}: the job could not be queued (the store failed; see the bot's log)` }, durationMs: 0, agent: e.name };
          const w = open.get(id);
          if (w) w.queueFailed = result;
          // The INSERT may have committed though its answer was lost: end the row, so that no agent runs a step
          // nobody waits for. If it cannot be ended (the store is away, or an agent has it already), the sweep
          // settles it: by the row when there is one, with this failure when there is none.
          if (await store.jobEnd(id, { status: 'dead', result, nowMs: now(), from: ['queued'] }).catch(() => false)) finish(id, result);
        },
      );
    });
  }

  /** Hands the oldest job queued for the agent (by any instance) to its claim waiting here, if it has one. */
  async function dispatch(e: Entry): Promise<void> {
    if (!e.waiter || closed) return;
    if (e.claiming) {
      e.again = true;
      return;
    }
    e.claiming = true;
    try {
      do {
        e.again = false;
        const waiter: Waiter | undefined = e.waiter;
        if (!waiter || waiter.res.destroyed || waiter.res.writableEnded || closed) break;
        const t = now();
        const job = await store.jobClaim(e.name, { nowMs: t, leaseUntilMs: t + leaseMs, ...(waiter.session ? { session: waiter.session } : {}) });
        if (!job) continue;
        if (e.waiter !== waiter || waiter.res.destroyed || waiter.res.writableEnded) {
          // the claim went away meanwhile: nobody got the job, so it goes back in line
          await store.jobRelease(job.id, job.claimedMs!);
          e.again = true;
          continue;
        }
        clearTimeout(waiter.timer);
        e.waiter = undefined;
        publish(e, { waitingUntilMs: t });
        const cmdlet = cmdletOf(job.invocation);
        log.debug({ agent: e.name, jobId: job.id, cmdlet, owner: job.owner === self ? 'this instance' : job.owner }, 'agent job claimed');
        record('agent-claim', e, e.address, { jobId: job.id, cmdlet });
        json(waiter.res, 200, { id: job.id, invocation: job.invocation, leaseMs, maxResultBytes: maxBodyBytes });
      } while (e.again);
    } catch (err) {
      failed(`claiming for agent ${e.name}`)(err);
    } finally {
      e.claiming = false;
    }
  }

  /** A notification from another instance (a shared store): work for a waiting claim, or the end of a job we wait for. */
  function onEvent(event: JobEvent): void {
    if (closed) return;
    if (event.kind === 'queued') {
      const e = entries.get(event.agent);
      if (e?.waiter) void dispatch(e);
    } else if (event.kind === 'ended') {
      if (!open.has(event.id)) return;
      store.jobsGet([event.id]).then((rows) => {
        const row = rows[0];
        if (row?.result && (row.status === 'done' || row.status === 'dead')) finish(row.id, row.result);
      }, failed('reading an ended job'));
    } else void tick();
  }
  const watcher = store.watchJobs?.(onEvent);

  /**
   * The bounded poll (every pollMs, and after a lost notification connection): the other instances' presence rows;
   * the jobs this instance waits for (ended elsewhere, lease run out, agent gone offline before claiming); work
   * queued for a claim waiting here; an hourly prune.
   */
  let ticking = false;
  async function tick(): Promise<void> {
    if (ticking || closed) return;
    ticking = true;
    try {
      const rows = await store.agentPresence();
      for (const e of entries.values()) {
        for (const instance of [...e.presence.keys()]) if (instance !== self) e.presence.delete(instance);
      }
      for (const p of rows) if (p.instance !== self) entries.get(p.agent)?.presence.set(p.instance, p);
      audits();
      if (open.size > 0) {
        const t = now();
        const jobs = await store.jobsGet([...open.keys()]);
        const found = new Set(jobs.map((j) => j.id));
        // a job the store refused to queue, and that is not there: its invoker learns now
        for (const w of [...open.values()]) if (w.queueFailed && !found.has(w.id)) finish(w.id, w.queueFailed);
        for (const job of jobs) {
          const w = open.get(job.id);
          if (!w) continue;
          if ((job.status === 'done' || job.status === 'dead') && job.result) finish(job.id, job.result);
          else if (job.status === 'claimed' && (job.leaseUntilMs ?? 0) <= t) await lostByLease(job);
          else if (job.status === 'queued' && !isOnline(w.agent)) {
            // the offline record comes before the failure it causes, whenever the clock crossed the bound
            audits();
            await kill({ ...job, cmdlet: w.cmdlet }, `${w.cmdlet}: agent ${w.agent.name} offline: ${offlineReason(w.agent)}`, ['queued']);
          }
        }
      }
      const waitingHere = [...entries.values()].filter((e) => e.waiter && !e.claiming).map((e) => e.name);
      if (waitingHere.length > 0) for (const name of await store.jobsWaiting(waitingHere)) void dispatch(entries.get(name)!);
      const t = now();
      if (t - prunedAt >= PRUNE_EVERY_MS) {
        prunedAt = t;
        await store.jobPrune(t - REMEMBER_JOBS_MS);
      }
    } catch (err) {
      failed('looking at jobs and agents')(err);
    } finally {
      ticking = false;
    }
  }
  const pollMs = options.pollMs ?? Math.max(50, Math.min(POLL_MAX_MS, Math.floor(offlineAfterMs / 4)));
  const sweeper = setInterval(() => void tick(), pollMs);
  sweeper.unref?.();

  type Authed = { ok: true; entry: Entry } | { ok: false };

  function authenticate(req: IncomingMessage, res: ServerResponse, route: string): Authed {
    const rawName = req.headers[AGENT_NAME_HEADER];
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    const hash = token ? sha256(token) : undefined;
    const e = hash ? byHash.get(hash) : undefined;
    const address = req.socket.remoteAddress;
    if (!e) {
      const reason = !token ? 'missing token' : retired.has(hash!) ? 'revoked token' : 'unknown token';
      log.warn({ claimedName: nameHash(rawName), remoteAddress: address, route, reason }, 'agent request refused: unauthorized');
      record('agent-refused', undefined, address, { claimedName: nameHash(rawName) ?? null, route, reason, status: 401 });
      json(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer', connection: 'close' });
      return { ok: false };
    }
    if (rawName !== e.name) {
      // the token says who it is: the name it sent is someone else's, or garbage
      log.warn({ agent: e.name, claimedName: nameHash(rawName), remoteAddress: address, route }, 'agent request refused: the name sent does not match the token');
      record('agent-refused', e, address, { claimedName: nameHash(rawName) ?? null, route, reason: 'name-mismatch', status: 403 });
      json(res, 403, { error: 'the agent name does not match its token' }, { connection: 'close' });
      return { ok: false };
    }
    return { ok: true, entry: e };
  }

  function refuse(res: ServerResponse, e: Entry, status: number, reason: string, message: string, fields: Record<string, unknown> = {}): void {
    log.warn({ agent: e.name, remoteAddress: e.address, status, reason, ...fields }, `agent request refused: ${message}`);
    record('agent-refused', e, e.address, { reason, status, ...fields });
    json(res, status, { error: message, ...(reason === 'replayed' ? { duplicate: true } : {}) });
  }

  function refuseBody(req: IncomingMessage, res: ServerResponse, e: Entry, route: string, body: Extract<Body, { ok: false }>): void {
    log.warn({ agent: e.name, remoteAddress: req.socket.remoteAddress, route, status: body.status }, `agent request refused: ${body.message}`);
    record('agent-refused', e, req.socket.remoteAddress, { route, reason: body.status === 413 ? 'too-large' : 'bad-body', status: body.status });
    if (body.status === 413) {
      // the rest of the body is never read: answer and close the connection
      json(res, 413, { error: 'too large', maxBytes: maxBodyBytes }, { connection: 'close' });
      res.on('finish', () => req.destroy());
      return;
    }
    json(res, 400, { error: body.message });
  }

  /** A claim refused: nothing is handed to it, and what this instance knew of it says it is not here. */
  function notHere(e: Entry): void {
    if (here(e)) publish(e, { gone: true, waitingUntilMs: 0, seenMs: now() });
    audits();
  }

  async function claim(req: IncomingMessage, res: ServerResponse, e: Entry, value: unknown): Promise<void> {
    const parsed = ClaimBody.safeParse(value);
    if (!parsed.success) return json(res, 400, { error: 'a claim is {name, roles: ["internal"|"edge"], version}' });
    if (parsed.data.name !== e.name) {
      notHere(e);
      return refuse(res, e, 403, 'name-mismatch', 'the claim names another agent than its token', { route: 'claim', claimedName: nameHash(parsed.data.name) });
    }
    const announced = [...new Set(parsed.data.roles)];
    const foreign = announced.filter((r) => !e.configured.includes(r));
    if (foreign.length > 0) {
      // nothing is handed to it, and it is not online: an agent serves only what the bot's configuration gives it
      notHere(e);
      return refuse(res, e, 403, 'role', `agent ${e.name} is configured for ${e.configured.join(', ')}; it may not serve ${foreign.join(', ')}`, { route: 'claim', announced, configured: e.configured });
    }
    const before = freshest(e);
    const changed = !here(e) || here(e)!.gone || announced.join() !== before?.roles.join() || parsed.data.version !== before?.version;
    const session = parsed.data.session;
    // An agent asks for work only when it has none (in this process): a job it still holds from before will never
    // get its result. Jobs claimed by this process's other claims (one per bot URL) are its own. An agent older
    // than sessions cannot say which of its claims are its own: with several instances its claim on one would kill
    // the step its claim on another is running, so its jobs are left to their lease (a restart fails them a lease
    // later instead of at once).
    for (const job of session === undefined ? [] : await store.jobsHeld(e.name, session)) {
      await kill({ ...job, cmdlet: cmdletOf(job.invocation) }, `${cmdletOf(job.invocation)}: agent ${e.name} lost: it came back without the result (restarted?)`, ['claimed']);
    }
    if (res.destroyed || closed) return;
    if (e.waiter) {
      clearTimeout(e.waiter.timer);
      json(e.waiter.res, 204);
    }
    const t = now();
    const waiter: Waiter = {
      res,
      session,
      // answering is not hearing from it: a frozen agent's lastSeen stays at its claim, so it is offline one bound later
      timer: setTimeout(() => {
        if (e.waiter === waiter) {
          e.waiter = undefined;
          publish(e, { waitingUntilMs: now() });
        }
        json(res, 204);
      }, claimWaitMs),
    };
    waiter.timer.unref?.();
    e.waiter = waiter;
    publish(e, { roles: announced, version: parsed.data.version, seenMs: t, waitingUntilMs: t + claimWaitMs, gone: false });
    if (changed) log.info({ agent: e.name, roles: served(e), version: parsed.data.version, remoteAddress: e.address }, 'agent online');
    noteOnline(e);
    res.on('close', () => {
      clearTimeout(waiter.timer);
      if (e.waiter !== waiter) return;
      e.waiter = undefined;
      // the agent closed its own claim: the process died or stopped, so it is offline now, not in a while
      if (!res.writableFinished) publish(e, { seenMs: now(), waitingUntilMs: 0, gone: true });
      audits();
    });
    await dispatch(e);
  }

  /** The job a heartbeat or result names, when this agent holds it; refused (and undefined) otherwise. */
  async function jobFor(res: ServerResponse, e: Entry, id: string, what: 'heartbeat' | 'result'): Promise<AgentJob | undefined> {
    const job = (await store.jobsGet([id]))[0];
    if (!job) {
      refuse(res, e, 404, 'unknown-job', `no such job`, { route: what, jobId: id });
      return undefined;
    }
    if (job.agent !== e.name) {
      refuse(res, e, 409, 'not-holder', 'this agent does not hold the job', { route: what, jobId: id, holder: job.agent, cmdlet: cmdletOf(job.invocation) });
      return undefined;
    }
    if (job.status === 'queued') {
      refuse(res, e, 409, 'not-claimed', 'the job has not been claimed yet', { route: what, jobId: id, cmdlet: cmdletOf(job.invocation) });
      return undefined;
    }
    return job;
  }

  /** A claimed job whose compare-and-set failed: as it is now (its lease ran out: declared lost first). */
  async function settled(job: AgentJob): Promise<AgentJobStatus | undefined> {
    const now_ = (await store.jobsGet([job.id]))[0];
    if (now_?.status === 'claimed' && (now_.leaseUntilMs ?? 0) <= now()) {
      await lostByLease(now_);
      return (await store.jobsGet([job.id]))[0]?.status;
    }
    return now_?.status;
  }

  async function heartbeat(res: ServerResponse, e: Entry, id: string): Promise<void> {
    const job = await jobFor(res, e, id, 'heartbeat');
    if (!job) return;
    let status: AgentJobStatus | undefined = job.status;
    if (status === 'claimed') {
      const t = now();
      if (await store.jobRenew(id, e.name, t, t + leaseMs)) return json(res, 200, { leaseMs });
      status = await settled(job);
    }
    if (status === 'done') return json(res, 200, { done: true });
    return json(res, 410, { error: 'the job expired; its result will be ignored' });
  }

  async function result(res: ServerResponse, e: Entry, id: string, value: unknown): Promise<void> {
    const job = await jobFor(res, e, id, 'result');
    if (!job) return;
    const cmdlet = cmdletOf(job.invocation);
    const about = { route: 'result', jobId: id, cmdlet };
    const replayed = () => refuse(res, e, 409, 'replayed', 'the result was already recorded; this one is ignored', about);
    const expired = () => refuse(res, e, 410, 'expired', 'the job expired; its result is ignored', about);
    if (job.status === 'done') return replayed();
    if (job.status === 'dead') return expired();
    const parsed = ResultBody.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse(res, e, 400, 'bad-result', `not a result: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`, about);
    }
    const r = parsed.data;
    const t = now();
    const durationMs = Math.round(r.durationMs ?? t - (job.claimedMs ?? job.queuedMs));
    const error: InvocationFailure | undefined = r.ok ? undefined : r.error;
    let outcome: InvocationResult;
    if (r.ok) {
      // An agent's output is checked here as the embedded agent's is: a remote agent is no more trusted than its shape.
      const checked = checkOutput(job.invocation.cmdlet, r.output, job.invocation.parameters);
      const warnings = r.warnings?.length ? { warnings: r.warnings } : {};
      outcome = checked.ok
        ? { ok: true, output: checked.output, ...warnings, durationMs, agent: e.name }
        : { ok: false, error: { kind: 'output', message: `agent ${e.name}: ${checked.message}` }, durationMs, agent: e.name };
    } else outcome = { ok: false, error: error!, durationMs, agent: e.name };
    // compare-and-set: only a job still claimed by this agent, within its lease, takes a result; so once
    if (!(await store.jobEnd(id, { status: 'done', result: outcome, nowMs: t, from: ['claimed'], agent: e.name, lease: 'live' }))) {
      return (await settled(job)) === 'done' ? replayed() : expired();
    }
    log.debug({ agent: e.name, jobId: id, cmdlet, ok: r.ok, durationMs, kind: error?.kind }, 'agent result');
    if (error?.kind === 'refused') log.warn({ agent: e.name, jobId: id, cmdlet }, `agent refused a job: ${error.message}`);
    record('agent-result', e, e.address, { jobId: id, cmdlet, ok: r.ok, durationMs, ...(error ? { kind: error.kind } : {}) });
    finish(id, outcome);
    json(res, 200, { recorded: true });
  }

  async function route(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const claimRoute = path === 'claim';
    const jobRoute = /^jobs\/([0-9a-f-]{36})\/(heartbeat|result)$/.exec(path);
    const name = claimRoute ? 'claim' : jobRoute ? jobRoute[2]! : undefined;
    if (!name) return json(res, 404, { error: 'no such route' });
    if (req.method !== 'POST') return json(res, 405, { error: 'POST only' }, { allow: 'POST' });
    const authed = authenticate(req, res, name);
    if (!authed.ok) return;
    const e = authed.entry;
    if (closed) return json(res, 503, { error: 'the bot is shutting down' });
    e.address = req.socket.remoteAddress;
    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) return refuseBody(req, res, e, name, body);
    if (claimRoute) return claim(req, res, e, body.value);
    heard(e);
    if (name === 'heartbeat') return heartbeat(res, e, jobRoute![1]!);
    return result(res, e, jobRoute![1]!, body.value);
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    if (!path.startsWith(AGENT_ROUTE_PREFIX)) return false;
    route(req, res, path.slice(AGENT_ROUTE_PREFIX.length)).catch((err: unknown) => {
      log.error({ error: (err as Error)?.message, route: path }, 'agent route: unexpected error');
      json(res, 500, { error: 'internal error' });
    });
    return true;
  }

  function registry(): AgentRow[] {
    return [...entries.values()].map((e) => {
      const last = freshest(e);
      return {
        name: e.name,
        roles: served(e),
        version: last?.version ?? '',
        ...(last ? { lastSeen: new Date(last.seenMs).toISOString() } : {}),
        online: isOnline(e),
      };
    });
  }

  setTokens(options.agents.map((a) => ({ name: a.name, token: a.token })));

  return {
    handle,
    registry,
    setTokens,
    revoke,
    maxBodyBytes,
    agent: (name) => entries.get(name)?.remote,
    pool(embedded, expectedEdges) {
      return {
        forRole: (role) => [
          ...embedded.filter((a) => a.roles.includes(role)),
          ...[...entries.values()].filter((e) => isOnline(e) && served(e).includes(role)).map((e) => e.remote),
        ],
        expected: (role) => (role === 'edge' ? [...expectedEdges] : []),
        describe: () => [...embedded.map((a) => ({ name: a.name, roles: a.roles, online: true, version: 'embedded' })), ...registry()],
      };
    },
    async close() {
      closed = true;
      clearInterval(sweeper);
      await watcher?.close();
      for (const w of [...open.values()]) {
        const message = `${w.cmdlet}: agent ${w.agent.name}: the bot is shutting down`;
        // ended in the store when it can be; the invoker is answered either way
        const ended = await kill({ id: w.id, agent: w.agent.name, status: 'queued', queuedMs: w.queuedAt, cmdlet: w.cmdlet }, message, ['queued', 'claimed']).catch(() => false);
        if (!ended) finish(w.id, { ok: false, error: { kind: 'agent', message }, durationMs: now() - w.queuedAt, agent: w.agent.name });
      }
      for (const e of entries.values()) {
        if (!e.waiter) continue;
        clearTimeout(e.waiter.timer);
        const res = e.waiter.res;
        e.waiter = undefined;
        json(res, 204);
      }
    },
  };
}

/** The hub's routes in the shape of Bolt's `customRoutes` (HTTPReceiver / ExpressReceiver). */
export function agentHubRoutes(hub: AgentHub): { path: string; method: string[]; handler: (req: IncomingMessage, res: ServerResponse) => void }[] {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (!hub.handle(req, res)) json(res, 404, { error: 'no such route' });
  };
  return ['claim', 'jobs/:id/heartbeat', 'jobs/:id/result'].map((p) => ({ path: `${AGENT_ROUTE_PREFIX}${p}`, method: ['POST'], handler }));
}

export interface AgentHubServer {
  server: Server;
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  close(): Promise<void>;
}

/** Thrown when the hub may not listen as asked (plain HTTP off loopback). */
export class ListenerRefused extends Error {
  override name = 'ListenerRefused';
}

/**
 * A listener for the hub alone: for Socket Mode deployments (no Bolt HTTP server) and for tests. With `tls` it serves
 * HTTPS; without, it listens only on a loopback address unless `insecure` (LYNC_EXO_INSECURE_HTTP=1), which is logged
 * as an error. Bounds (timeouts, body size, connection cap) apply before authentication.
 */
export async function startAgentHubServer(options: {
  hub: AgentHub;
  port: number;
  host?: string;
  tls?: TlsFiles;
  insecure?: boolean;
  bounds?: Partial<HttpBounds>;
  log?: Logger;
}): Promise<AgentHubServer> {
  const host = options.host ?? '127.0.0.1';
  const log = (options.log ?? createLogger('silent')).child({ component: 'agent-hub' });
  const problem = plainHttpProblem({ host, tls: !!options.tls, insecure: !!options.insecure, what: 'remote agents', setting: 'LYNC_EXO_INSECURE_HTTP' });
  if (problem) throw new ListenerRefused(problem);
  if (!options.tls && options.insecure && !isLoopbackHost(host)) {
    log.error({ host, port: options.port }, 'remote agents: INSECURE: listening over plain HTTP off loopback (LYNC_EXO_INSECURE_HTTP=1): agent tokens cross the network in clear');
  }
  const bounds: HttpBounds = { ...DEFAULT_HTTP_BOUNDS, maxBodyBytes: options.hub.maxBodyBytes, ...options.bounds };
  const server = createBoundedServer({ bounds, tls: options.tls, log, name: 'agents' }, (req, res) => {
    if (!options.hub.handle(req, res)) json(res, 404, { error: 'no such route' });
  });
  await listen(server, options.port, host);
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { server, url: `${options.tls ? 'https' : 'http'}://${shown}:${address.port}`, close: () => closeServer(server) };
}

