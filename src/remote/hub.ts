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

type JobState = 'queued' | 'claimed' | 'done' | 'dead';

interface Job {
  id: string;
  agent: Entry;
  invocation: Invocation;
  state: JobState;
  queuedAt: number;
  claimedAt?: number;
  leaseUntil: number;
  timer?: NodeJS.Timeout;
  settle: (result: InvocationResult) => void;
}

interface Waiter {
  res: ServerResponse;
  timer: NodeJS.Timeout;
}

interface Entry {
  name: string;
  /** hex SHA-256 of the token; undefined: revoked */
  hash: string | undefined;
  configured: readonly Role[];
  /** what it announced in its last claim (a subset of configured) */
  announced: Role[] | undefined;
  version: string;
  lastSeen?: number;
  /** its claim connection closed from its side: gone until it is heard from again */
  left: boolean;
  /** the last state written to the audit */
  reportedOnline: boolean;
  address?: string;
  waiter?: Waiter;
  queue: Job[];
  remote: RemoteAgent;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_CLAIM_WAIT_MS = 25_000;
const DEFAULT_MAX_BODY = 64 * 1024;
/** finished jobs remembered to refuse a repeated result as replayed */
const REMEMBER_JOBS = 2_000;
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
    private readonly entry: () => Entry,
    private readonly enqueue: (entry: Entry, invocation: Invocation) => Promise<InvocationResult>,
  ) {}

  get roles(): readonly Role[] {
    const e = this.entry();
    return e.announced ? e.configured.filter((r) => e.announced!.includes(r)) : e.configured;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    return this.enqueue(this.entry(), invocation);
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
  const entries = new Map<string, Entry>();
  const byHash = new Map<string, Entry>();
  /** hashes of tokens revoked or rotated away: refused with that reason */
  const retired = new Set<string>();
  const jobs = new Map<string, Job>();
  const finished: string[] = [];
  let closed = false;
  let auditWindow = { start: 0, count: 0 };

  for (const spec of options.agents) {
    if (entries.has(spec.name)) throw new Error(`agent hub: agent ${spec.name} is configured twice`);
    const created: Entry = {
      name: spec.name,
      hash: undefined,
      configured: [...spec.roles],
      announced: undefined,
      version: '',
      left: false,
      reportedOnline: false,
      queue: [],
      remote: new RemoteAgent(spec.name, () => created, enqueue),
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
    sweep();
  }

  const waiting = (e: Entry): boolean => e.waiter !== undefined && !e.waiter.res.destroyed;
  /** online: its token is valid, a claim of its was accepted, and it waits for work or was heard from lately */
  const isOnline = (e: Entry): boolean =>
    e.hash !== undefined && e.announced !== undefined && !e.left && (waiting(e) || (e.lastSeen !== undefined && now() - e.lastSeen <= offlineAfterMs));
  const served = (e: Entry): Role[] => [...e.remote.roles];

  function offlineReason(e: Entry): string {
    if (e.hash === undefined) return 'its token is revoked';
    if (e.lastSeen === undefined) return 'it has never connected';
    if (e.left) return `it disconnected ${seconds(now() - e.lastSeen)} s ago`;
    return `not heard from for ${seconds(now() - e.lastSeen)} s`;
  }

  /** Audits each change of online state, and fails the queued jobs of agents gone offline. */
  function sweep(): void {
    for (const e of entries.values()) {
      const online = isOnline(e);
      if (e.reportedOnline && !online) {
        e.reportedOnline = false;
        log.warn({ agent: e.name, remoteAddress: e.address, why: offlineReason(e) }, 'agent offline');
        record('agent-offline', e, e.address, { why: offlineReason(e), ...(e.lastSeen !== undefined ? { lastSeen: new Date(e.lastSeen).toISOString() } : {}) });
      }
      if (!online) for (const job of [...e.queue]) if (job.state === 'queued') kill(job, `${job.invocation.cmdlet}: agent ${e.name} offline: ${offlineReason(e)}`);
    }
  }
  const sweeper = setInterval(sweep, Math.max(50, Math.min(1_000, Math.floor(offlineAfterMs / 4))));
  sweeper.unref?.();

  function seen(e: Entry, req: IncomingMessage): void {
    e.lastSeen = now();
    e.left = false;
    e.address = req.socket.remoteAddress;
  }

  function noteOnline(e: Entry): void {
    if (e.reportedOnline || !isOnline(e)) return;
    e.reportedOnline = true;
    record('agent-online', e, e.address, { roles: served(e), version: e.version });
  }

  function remember(job: Job): void {
    finished.push(job.id);
    while (finished.length > REMEMBER_JOBS) jobs.delete(finished.shift()!);
  }

  function end(job: Job, result: InvocationResult, state: 'done' | 'dead'): void {
    if (job.state === 'done' || job.state === 'dead') return;
    job.state = state;
    clearTimeout(job.timer);
    const i = job.agent.queue.indexOf(job);
    if (i !== -1) job.agent.queue.splice(i, 1);
    remember(job);
    job.settle(result);
  }

  function kill(job: Job, message: string): void {
    if (job.state === 'done' || job.state === 'dead') return;
    log.warn({ agent: job.agent.name, jobId: job.id, cmdlet: job.invocation.cmdlet, was: job.state }, `agent job failed: ${message}`);
    end(job, { ok: false, error: { kind: 'agent', message }, durationMs: now() - job.queuedAt, agent: job.agent.name }, 'dead');
  }

  function armLease(job: Job): void {
    clearTimeout(job.timer);
    job.timer = setTimeout(
      () => {
        if (job.state !== 'claimed') return;
        if (now() < job.leaseUntil) return armLease(job);
        kill(job, `${job.invocation.cmdlet}: agent ${job.agent.name} lost: no heartbeat or result within ${seconds(leaseMs)} s`);
      },
      Math.max(10, job.leaseUntil - now()),
    );
    job.timer.unref?.();
  }

  function enqueue(e: Entry, invocation: Invocation): Promise<InvocationResult> {
    const cmdlet = typeof invocation?.cmdlet === 'string' ? invocation.cmdlet : '(no cmdlet)';
    const fail = (message: string) => Promise.resolve<InvocationResult>({ ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${e.name}${message}` }, durationMs: 0, agent: e.name });
    if (closed) return fail(': the bot is shutting down');
    // an agent known to be away costs nothing: the caller learns at once, and reads the others
    if (!isOnline(e)) return fail(` offline: ${offlineReason(e)}`);
    return new Promise<InvocationResult>((resolve) => {
      const job: Job = { id: randomUUID(), agent: e, invocation, state: 'queued', queuedAt: now(), leaseUntil: 0, settle: resolve };
      jobs.set(job.id, job);
      e.queue.push(job);
      log.debug({ agent: e.name, jobId: job.id, cmdlet }, 'agent job queued');
      dispatch(e);
    });
  }

  /** Hands the next queued job to the agent's waiting claim, if it has one. */
  function dispatch(e: Entry): void {
    while (e.waiter && e.queue.length > 0) {
      const waiter = e.waiter;
      if (waiter.res.destroyed || waiter.res.writableEnded) {
        clearTimeout(waiter.timer);
        e.waiter = undefined;
        return;
      }
      const job = e.queue.shift()!;
      if (job.state !== 'queued') continue;
      clearTimeout(waiter.timer);
      e.waiter = undefined;
      job.state = 'claimed';
      job.claimedAt = now();
      job.leaseUntil = job.claimedAt + leaseMs;
      armLease(job);
      log.debug({ agent: e.name, jobId: job.id, cmdlet: job.invocation.cmdlet }, 'agent job claimed');
      record('agent-claim', e, e.address, { jobId: job.id, cmdlet: job.invocation.cmdlet });
      json(waiter.res, 200, { id: job.id, invocation: job.invocation, leaseMs, maxResultBytes: maxBodyBytes });
    }
  }

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

  function claim(req: IncomingMessage, res: ServerResponse, e: Entry, value: unknown): void {
    const parsed = ClaimBody.safeParse(value);
    if (!parsed.success) return json(res, 400, { error: 'a claim is {name, roles: ["internal"|"edge"], version}' });
    if (parsed.data.name !== e.name) {
      e.announced = undefined;
      sweep();
      return refuse(res, e, 403, 'name-mismatch', 'the claim names another agent than its token', { route: 'claim', claimedName: nameHash(parsed.data.name) });
    }
    const announced = [...new Set(parsed.data.roles)];
    const foreign = announced.filter((r) => !e.configured.includes(r));
    if (foreign.length > 0) {
      // nothing is handed to it, and it is not online: an agent serves only what the bot's configuration gives it
      e.announced = undefined;
      sweep();
      return refuse(res, e, 403, 'role', `agent ${e.name} is configured for ${e.configured.join(', ')}; it may not serve ${foreign.join(', ')}`, { route: 'claim', announced, configured: e.configured });
    }
    const changed = e.announced === undefined || announced.join() !== e.announced.join() || parsed.data.version !== e.version;
    e.announced = announced;
    e.version = parsed.data.version;
    if (changed) log.info({ agent: e.name, roles: served(e), version: e.version, remoteAddress: e.address }, 'agent online');
    // An agent asks for work only when it has none: a job it still holds will never get its result.
    for (const job of jobs.values()) {
      if (job.agent === e && job.state === 'claimed') kill(job, `${job.invocation.cmdlet}: agent ${e.name} lost: it came back without the result (restarted?)`);
    }
    if (e.waiter) {
      clearTimeout(e.waiter.timer);
      json(e.waiter.res, 204);
    }
    const waiter: Waiter = {
      res,
      // answering is not hearing from it: a frozen agent's lastSeen stays at its claim, so it is offline one bound later
      timer: setTimeout(() => {
        if (e.waiter === waiter) e.waiter = undefined;
        json(res, 204);
      }, claimWaitMs),
    };
    waiter.timer.unref?.();
    e.waiter = waiter;
    noteOnline(e);
    res.on('close', () => {
      clearTimeout(waiter.timer);
      if (e.waiter !== waiter) return;
      e.waiter = undefined;
      if (!res.writableFinished) {
        // the agent closed its own claim: the process died or stopped, so it is offline now, not in a while
        e.lastSeen = now();
        e.left = true;
        sweep();
      }
    });
    dispatch(e);
  }

  function jobFor(res: ServerResponse, e: Entry, id: string, what: 'heartbeat' | 'result'): Job | undefined {
    const job = jobs.get(id);
    if (!job) {
      refuse(res, e, 404, 'unknown-job', `no such job`, { route: what, jobId: id });
      return undefined;
    }
    if (job.agent !== e) {
      refuse(res, e, 409, 'not-holder', 'this agent does not hold the job', { route: what, jobId: id, holder: job.agent.name, cmdlet: job.invocation.cmdlet });
      return undefined;
    }
    if (job.state === 'queued') {
      refuse(res, e, 409, 'not-claimed', 'the job has not been claimed yet', { route: what, jobId: id, cmdlet: job.invocation.cmdlet });
      return undefined;
    }
    return job;
  }

  function heartbeat(res: ServerResponse, e: Entry, id: string): void {
    const job = jobFor(res, e, id, 'heartbeat');
    if (!job) return;
    if (job.state === 'dead') return json(res, 410, { error: 'the job expired; its result will be ignored' });
    if (job.state === 'done') return json(res, 200, { done: true });
    job.leaseUntil = now() + leaseMs;
    json(res, 200, { leaseMs });
  }

  function result(res: ServerResponse, e: Entry, id: string, value: unknown): void {
    const job = jobFor(res, e, id, 'result');
    if (!job) return;
    const about = { route: 'result', jobId: id, cmdlet: job.invocation.cmdlet };
    if (job.state === 'done') return refuse(res, e, 409, 'replayed', 'the result was already recorded; this one is ignored', about);
    if (job.state === 'dead') return refuse(res, e, 410, 'expired', 'the job expired; its result is ignored', about);
    const parsed = ResultBody.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse(res, e, 400, 'bad-result', `not a result: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}`, about);
    }
    const r = parsed.data;
    const durationMs = Math.round(r.durationMs ?? now() - (job.claimedAt ?? job.queuedAt));
    const error: InvocationFailure | undefined = r.ok ? undefined : r.error;
    log.debug({ agent: e.name, jobId: id, cmdlet: job.invocation.cmdlet, ok: r.ok, durationMs, kind: error?.kind }, 'agent result');
    if (error?.kind === 'refused') log.warn({ agent: e.name, jobId: id, cmdlet: job.invocation.cmdlet }, `agent refused a job: ${error.message}`);
    record('agent-result', e, e.address, { jobId: id, cmdlet: job.invocation.cmdlet, ok: r.ok, durationMs, ...(error ? { kind: error.kind } : {}) });
    if (r.ok) {
      // An agent's output is checked here as the embedded agent's is: a remote agent is no more trusted than its shape.
      const checked = checkOutput(job.invocation.cmdlet, r.output, job.invocation.parameters);
      const warnings = r.warnings?.length ? { warnings: r.warnings } : {};
      end(
        job,
        checked.ok
          ? { ok: true, output: checked.output, ...warnings, durationMs, agent: e.name }
          : { ok: false, error: { kind: 'output', message: `agent ${e.name}: ${checked.message}` }, durationMs, agent: e.name },
        'done',
      );
    } else end(job, { ok: false, error: error!, durationMs, agent: e.name }, 'done');
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
    seen(e, req);
    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) return refuseBody(req, res, e, name, body);
    if (claimRoute) return claim(req, res, e, body.value);
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
    return [...entries.values()].map((e) => ({
      name: e.name,
      roles: served(e),
      version: e.version,
      ...(e.lastSeen !== undefined ? { lastSeen: new Date(e.lastSeen).toISOString() } : {}),
      online: isOnline(e),
    }));
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
      for (const job of [...jobs.values()]) kill(job, `${job.invocation.cmdlet}: agent ${job.agent.name}: the bot is shutting down`);
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

