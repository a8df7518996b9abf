// The bot's side of remote agents. Agents on the Windows hosts open no port: they connect to the bot, long-poll for
// a job, run it, heartbeat while it runs and post its result (the shape of GitHub Actions self-hosted runners and
// Azure Automation Hybrid Runbook Workers).
//
//   POST /agents/v1/claim               {name, roles, version}  → 200 {id, invocation, leaseMs, maxResultBytes} | 204
//   POST /agents/v1/jobs/:id/heartbeat                          → 200 {leaseMs} (the lease starts again)
//   POST /agents/v1/jobs/:id/result     {ok, output | error, durationMs} → 200 {recorded: true} | 200 {duplicate: true}
//
// Every request carries `x-lync-exo-agent: <name>` and `authorization: Bearer <token>`. The hub keeps only the
// SHA-256 of each token and compares in constant time; a wrong, missing or revoked token gets 401 and a log line
// with the name claimed and the address, never the token.
//
// A job belongs to one agent from the moment it is queued. It ends exactly once: with the agent's result, or dead
// (the agent was not heard from in time to claim it, or its lease ran out, or it came back asking for new work
// without the result). A dead job's late result is ignored, and the hub never gives a job to another agent: a step
// never runs twice.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AgentPool, Clock } from '../core/ports.js';
import { ROLES, type Agent, type Invocation, type InvocationFailure, type InvocationResult, type Role } from '../core/types.js';
import { checkOutput } from '../agent/outputs.js';

export const AGENT_ROUTE_PREFIX = '/agents/v1/';
export const AGENT_NAME_HEADER = 'x-lync-exo-agent';

export interface AgentHubOptions {
  /** per-agent tokens (LYNC_EXO_AGENT_TOKENS); only their hashes are kept */
  tokens: readonly { name: string; token: string }[];
  log: Logger;
  /** how long a claimed job lives without a heartbeat or a result; default 30 s */
  leaseMs?: number;
  /** how long a claim waits for a job before it is answered 204; default 25 s */
  claimWaitMs?: number;
  /** how long a queued job waits for its agent, when the agent is not heard from at all; default leaseMs */
  claimTimeoutMs?: number;
  /** larger request bodies get 413 and are not read; default 64 KiB */
  maxBodyBytes?: number;
  /** the roles configuration lets each agent serve (agents.remote); an agent serves those of them it announces */
  agents?: readonly { name: string; roles: readonly Role[] }[];
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
  /** Replaces the tokens (rotation); agents left out are revoked. */
  setTokens(tokens: readonly { name: string; token: string }[]): void;
  revoke(name: string): void;
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
  /** SHA-256 of the token; undefined: revoked */
  hash: Buffer | undefined;
  configured: readonly Role[] | undefined;
  roles: Role[];
  version: string;
  lastSeen?: number;
  address?: string;
  waiter?: Waiter;
  queue: Job[];
  remote: RemoteAgent;
}

const DEFAULT_LEASE_MS = 30_000;
const DEFAULT_CLAIM_WAIT_MS = 25_000;
const DEFAULT_MAX_BODY = 64 * 1024;
/** finished jobs remembered to answer a repeated result with {duplicate: true} */
const REMEMBER_JOBS = 2_000;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();
const seconds = (ms: number): string => String(Math.round(ms / 100) / 10);
/** a name someone claimed, for a log line: bounded, and only if it is one (a token pasted there is not logged) */
const claimedName = (raw: unknown): string | undefined => (typeof raw === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(raw) ? raw : raw === undefined ? undefined : '(not a name)');

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
    return this.entry().roles;
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
  const claimTimeoutMs = options.claimTimeoutMs ?? leaseMs;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY;
  const now = (): number => (options.clock ?? { now: () => new Date() }).now().getTime();
  const configured = new Map((options.agents ?? []).map((a) => [a.name, a.roles]));
  const entries = new Map<string, Entry>();
  const jobs = new Map<string, Job>();
  const finished: string[] = [];
  /** compared against when the name is unknown, so an unknown name costs the same as a wrong token */
  const decoy = sha256(randomUUID());
  let closed = false;

  const entryFor = (name: string): Entry => {
    let e = entries.get(name);
    if (!e) {
      const created: Entry = {
        name,
        hash: undefined,
        configured: configured.get(name),
        roles: [],
        version: '',
        queue: [],
        remote: new RemoteAgent(name, () => created, enqueue),
      };
      entries.set(name, (e = created));
    }
    return e;
  };

  function setTokens(tokens: readonly { name: string; token: string }[]): void {
    const keep = new Set(tokens.map((t) => t.name));
    for (const e of entries.values()) if (!keep.has(e.name)) revoke(e.name);
    for (const t of tokens) entryFor(t.name).hash = sha256(t.token);
  }

  function revoke(name: string): void {
    const e = entries.get(name);
    if (!e) return;
    e.hash = undefined;
    if (e.waiter) {
      clearTimeout(e.waiter.timer);
      json(e.waiter.res, 401, { error: 'unauthorized' });
      e.waiter = undefined;
    }
    log.warn({ agent: name }, 'agent token revoked');
  }

  const isOnline = (e: Entry): boolean => e.hash !== undefined && (e.waiter !== undefined || (e.lastSeen !== undefined && now() - e.lastSeen <= 2 * claimWaitMs));

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

  /** A queued job fails when its agent is neither waiting for work nor heard from within claimTimeoutMs. */
  function armClaimTimer(job: Job, delay: number): void {
    job.timer = setTimeout(() => {
      if (job.state !== 'queued') return;
      const e = job.agent;
      const quiet = e.lastSeen === undefined ? Infinity : now() - e.lastSeen;
      if (e.hash !== undefined && (e.waiter || quiet < claimTimeoutMs)) return armClaimTimer(job, Math.max(50, claimTimeoutMs - (e.waiter ? 0 : quiet)));
      const why = e.hash === undefined ? 'its token is revoked' : e.lastSeen === undefined ? 'it has never connected' : `not heard from for ${seconds(quiet)} s`;
      kill(job, `${job.invocation.cmdlet}: agent ${e.name} offline: it did not take the job within ${seconds(now() - job.queuedAt)} s (${why})`);
    }, delay);
    job.timer.unref?.();
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
    if (closed) return Promise.resolve({ ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${e.name}: the bot is shutting down` }, durationMs: 0, agent: e.name });
    return new Promise<InvocationResult>((resolve) => {
      const job: Job = { id: randomUUID(), agent: e, invocation, state: 'queued', queuedAt: now(), leaseUntil: 0, settle: resolve };
      jobs.set(job.id, job);
      e.queue.push(job);
      log.debug({ agent: e.name, jobId: job.id, cmdlet }, 'agent job queued');
      armClaimTimer(job, claimTimeoutMs);
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
      json(waiter.res, 200, { id: job.id, invocation: job.invocation, leaseMs, maxResultBytes: maxBodyBytes });
    }
  }

  type Authed = { ok: true; entry: Entry } | { ok: false };

  function authenticate(req: IncomingMessage, res: ServerResponse, route: string): Authed {
    const rawName = req.headers[AGENT_NAME_HEADER];
    const name = typeof rawName === 'string' ? rawName : undefined;
    const auth = req.headers.authorization;
    const token = typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
    const e = name === undefined ? undefined : entries.get(name);
    const presented = sha256(token ?? '');
    const expected = e?.hash ?? decoy;
    const match = timingSafeEqual(presented, expected);
    if (token && e?.hash && match) return { ok: true, entry: e };
    const reason = !token ? 'missing token' : !e ? 'unknown agent' : !e.hash ? 'revoked token' : 'wrong token';
    log.warn({ agent: claimedName(rawName), remoteAddress: req.socket.remoteAddress, route, reason }, 'agent request refused: unauthorized');
    json(res, 401, { error: 'unauthorized' }, { 'www-authenticate': 'Bearer', connection: 'close' });
    return { ok: false };
  }

  function refuseBody(req: IncomingMessage, res: ServerResponse, e: Entry, route: string, body: Extract<Body, { ok: false }>): void {
    log.warn({ agent: e.name, remoteAddress: req.socket.remoteAddress, route, status: body.status }, `agent request refused: ${body.message}`);
    if (body.status === 413) {
      // the rest of the body is never read: answer and close the connection
      json(res, 413, { error: 'too large', maxBytes: maxBodyBytes }, { connection: 'close' });
      res.on('finish', () => req.destroy());
      return;
    }
    json(res, 400, { error: body.message });
  }

  function seen(e: Entry, req: IncomingMessage): void {
    e.lastSeen = now();
    e.address = req.socket.remoteAddress;
  }

  function claim(req: IncomingMessage, res: ServerResponse, e: Entry, value: unknown): void {
    const parsed = ClaimBody.safeParse(value);
    if (!parsed.success) return json(res, 400, { error: 'a claim is {name, roles: ["internal"|"edge"], version}' });
    if (parsed.data.name !== e.name) return json(res, 400, { error: `the body names agent ${claimedName(parsed.data.name)}, the header ${e.name}` });
    const wasOnline = isOnline(e);
    seen(e, req);
    const announced = [...new Set(parsed.data.roles)];
    const roles = e.configured ? announced.filter((r) => e.configured!.includes(r)) : announced;
    if (e.configured && roles.length < announced.length) {
      log.warn({ agent: e.name, announced, configured: e.configured }, 'agent announces roles the configuration does not give it: they are not used');
    }
    const changed = roles.join() !== e.roles.join() || parsed.data.version !== e.version;
    e.roles = roles;
    e.version = parsed.data.version;
    if (!wasOnline || changed) log.info({ agent: e.name, roles, version: e.version, remoteAddress: e.address }, 'agent online');
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
      timer: setTimeout(() => {
        if (e.waiter === waiter) e.waiter = undefined;
        seen(e, req);
        json(res, 204);
      }, claimWaitMs),
    };
    waiter.timer.unref?.();
    e.waiter = waiter;
    res.on('close', () => {
      clearTimeout(waiter.timer);
      if (e.waiter === waiter) e.waiter = undefined;
    });
    dispatch(e);
  }

  function jobFor(res: ServerResponse, e: Entry, id: string, what: string): Job | undefined {
    const job = jobs.get(id);
    if (!job) {
      json(res, 404, { error: 'no such job' });
      return undefined;
    }
    if (job.agent !== e || job.state === 'queued') {
      log.warn({ agent: e.name, jobId: id, holder: job.agent.name }, `agent ${what} refused: the agent does not hold the job`);
      json(res, 409, { error: 'this agent does not hold the job' });
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
    if (job.state === 'done') {
      log.info({ agent: e.name, jobId: id }, 'agent result posted again: ignored');
      return json(res, 200, { duplicate: true });
    }
    if (job.state === 'dead') {
      log.warn({ agent: e.name, jobId: id, cmdlet: job.invocation.cmdlet }, 'agent result after the job expired: ignored');
      return json(res, 410, { error: 'the job expired; its result is ignored' });
    }
    const parsed = ResultBody.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return json(res, 400, { error: `not a result: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'unknown'}` });
    }
    const r = parsed.data;
    const durationMs = Math.round(r.durationMs ?? now() - (job.claimedAt ?? job.queuedAt));
    const error: InvocationFailure | undefined = r.ok ? undefined : r.error;
    log.debug({ agent: e.name, jobId: id, cmdlet: job.invocation.cmdlet, ok: r.ok, durationMs, kind: error?.kind }, 'agent result');
    if (error?.kind === 'refused') log.warn({ agent: e.name, jobId: id, cmdlet: job.invocation.cmdlet }, `agent refused a job: ${error.message}`);
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
    const body = await readBody(req, maxBodyBytes);
    if (!body.ok) return refuseBody(req, res, e, name, body);
    if (claimRoute) return claim(req, res, e, body.value);
    seen(e, req);
    if (name === 'heartbeat') return heartbeat(res, e, jobRoute![1]!);
    return result(res, e, jobRoute![1]!, body.value);
  }

  function handle(req: IncomingMessage, res: ServerResponse): boolean {
    const url = req.url ?? '';
    const path = url.split('?')[0]!;
    if (!path.startsWith(AGENT_ROUTE_PREFIX)) return false;
    route(req, res, path.slice(AGENT_ROUTE_PREFIX.length)).catch((err: unknown) => {
      log.error({ err, route: path }, 'agent route: unexpected error');
      json(res, 500, { error: 'internal error' });
    });
    return true;
  }

  function registry(): AgentRow[] {
    return [...entries.values()]
      .filter((e) => e.hash !== undefined || e.lastSeen !== undefined)
      .map((e) => ({
        name: e.name,
        roles: e.roles.length ? e.roles : [...(e.configured ?? [])],
        version: e.version,
        ...(e.lastSeen !== undefined ? { lastSeen: new Date(e.lastSeen).toISOString() } : {}),
        online: isOnline(e),
      }));
  }

  setTokens(options.tokens);
  for (const name of configured.keys()) entryFor(name);

  return {
    handle,
    registry,
    setTokens,
    revoke,
    agent: (name) => entries.get(name)?.remote,
    pool(embedded, expectedEdges) {
      return {
        forRole: (role) => [
          ...embedded.filter((a) => a.roles.includes(role)),
          ...[...entries.values()].filter((e) => isOnline(e) && e.roles.includes(role)).map((e) => e.remote),
        ],
        expected: (role) => (role === 'edge' ? [...expectedEdges] : []),
        describe: () => [...embedded.map((a) => ({ name: a.name, roles: a.roles, online: true, version: 'embedded' })), ...registry()],
      };
    },
    async close() {
      closed = true;
      for (const job of [...jobs.values()]) kill(job, `${job.invocation.cmdlet}: agent ${job.agent.name}: the bot is shutting down`);
      for (const e of entries.values()) {
        if (!e.waiter) continue;
        clearTimeout(e.waiter.timer);
        json(e.waiter.res, 204);
        e.waiter = undefined;
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

/**
 * A plain HTTP(S) listener for the hub alone: for Socket Mode deployments (no Bolt HTTP server) and for tests.
 * With `tls` it serves HTTPS, which agents require unless they connect over loopback.
 */
export async function startAgentHubServer(options: { hub: AgentHub; port: number; host?: string; tls?: { key: string | Buffer; cert: string | Buffer } }): Promise<AgentHubServer> {
  const listener = (req: IncomingMessage, res: ServerResponse) => {
    if (!options.hub.handle(req, res)) json(res, 404, { error: 'no such route' });
  };
  const server: Server = options.tls ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener) : createHttpServer(listener);
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${shown}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
