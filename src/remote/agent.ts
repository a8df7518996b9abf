// `lync-exo agent`: a Windows host's agent that connects out to the bot (no inbound port), claims a job, checks it
// against its own copy of the runbooks, runs it in its PowerShell session (the embedded agent's PowerShellAgent),
// heartbeats while it runs and posts the result. When the bot is away it retries with backoff and never exits on
// its own; on SIGTERM (the abort signal) it finishes the job it holds, posts the result, closes PowerShell, returns.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { z } from 'zod';
import { locatePowerShell } from '../agent/locatePowerShell.js';
import { childEnv, PowerShellAgent } from '../agent/session.js';
import { warmStart } from '../agent/warm.js';
import { cmdletAllowlist, ConfigError, loadRunbooks, type Runbooks } from '../config/runbooks.js';
import { ROLES, type Agent, type InvocationResult, type Role } from '../core/types.js';
import { isLoopbackHost } from '../http/bounded.js';
import { AGENT_NAME_HEADER } from './hub.js';
import { validateJob } from './jobPolicy.js';

export interface AgentSettings {
  /** the first of botUrls */
  botUrl: URL;
  /**
   * LYNC_EXO_BOT_URL, comma-separated: one is enough (any instance, or a load balancer in front of them: jobs are
   * rows in the shared database); with several, the agent waits for work on each, so losing one costs nothing
   */
  botUrls: URL[];
  name: string;
  roles: Role[];
  token: string;
  /** LYNC_EXO_PWSH; undefined: find one (never installs) */
  executable: string | undefined;
  module: string;
  invocationTimeoutMs: number;
  /** LYNC_EXO_CA_FILE: the only CA(s) the bot's certificate may chain to (a private CA); undefined: the system's */
  ca?: Buffer;
}

export interface RunAgentOptions {
  env?: NodeJS.ProcessEnv;
  log: Logger;
  signal?: AbortSignal;
  /** default: commands/ of this package */
  runbooks?: Runbooks;
  /** default: a PowerShellAgent from the settings */
  powershell?: (settings: AgentSettings, runbooks: Runbooks) => Agent;
}

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MIN_TOKEN = 16;
/** the longest a claim may stay open: the bot answers within its claimWaitMs (25 s by default) */
const CLAIM_HTTP_TIMEOUT_MS = 90_000;
const REQUEST_TIMEOUT_MS = 15_000;
export const BACKOFF_MIN_MS = 500;
export const BACKOFF_MAX_MS = 30_000;

export const AGENT_VERSION = (() => {
  try {
    const pkg = JSON.parse(readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'package.json'), 'utf8')) as { version?: string };
    return `lync-exo ${pkg.version ?? '?'}`;
  } catch {
    return 'lync-exo ?';
  }
})();

export { isLoopbackHost };

const text = (env: NodeJS.ProcessEnv, name: string): string | undefined => {
  const v = env[name];
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
};

/** Reads the agent's environment. Errors name the variable and never repeat a value (a token may sit in any). */
export function readAgentEnv(env: NodeJS.ProcessEnv = process.env): AgentSettings {
  const problems: string[] = [];
  const rawUrl = text(env, 'LYNC_EXO_BOT_URL');
  const botUrls: URL[] = [];
  if (rawUrl === undefined) problems.push('LYNC_EXO_BOT_URL: required (the bot, e.g. https://lync-exo.contoso.com)');
  // several instances of the bot on one PostgreSQL database: the agent serves each of them
  const rawUrls = (rawUrl ?? '').split(',').map((u) => u.trim()).filter(Boolean);
  for (const [i, raw] of rawUrls.entries()) {
    const which = rawUrls.length > 1 ? `LYNC_EXO_BOT_URL (URL ${i + 1})` : 'LYNC_EXO_BOT_URL';
    let botUrl: URL | undefined;
    try {
      botUrl = new URL(raw);
    } catch {
      problems.push(`${which}: not a URL`);
    }
    if (botUrl) {
      botUrls.push(botUrl);
      const allowHttp = text(env, 'LYNC_EXO_ALLOW_HTTP') === '1';
      if (botUrl.username || botUrl.password) problems.push(`${which}: must not carry a user name or password (the token goes in LYNC_EXO_AGENT_TOKEN)`);
      else if (botUrl.protocol === 'http:' && !isLoopbackHost(botUrl.hostname) && !allowHttp) {
        problems.push(`${which}: must be https:// (plain http is allowed only to a loopback host, or with LYNC_EXO_ALLOW_HTTP=1 for testing); host ${botUrl.hostname}`);
      } else if (botUrl.protocol !== 'http:' && botUrl.protocol !== 'https:') problems.push(`${which}: must be https://`);
      if (botUrl.search || botUrl.hash) problems.push(`${which}: must not have a query or fragment`);
    }
  }
  const name = text(env, 'LYNC_EXO_AGENT_NAME');
  if (name === undefined) problems.push('LYNC_EXO_AGENT_NAME: required (this agent\'s name, as in the bot\'s agents.remote)');
  else if (!AGENT_NAME.test(name)) problems.push('LYNC_EXO_AGENT_NAME: letters, digits, ., _ and -, starting with a letter or digit');
  const rawRoles = text(env, 'LYNC_EXO_AGENT_ROLES');
  const roles: Role[] = [];
  if (rawRoles === undefined) problems.push(`LYNC_EXO_AGENT_ROLES: required: ${ROLES.join(', ')} or both, comma-separated`);
  else {
    for (const r of rawRoles.split(',').map((s) => s.trim()).filter(Boolean)) {
      // the position, not the text: whatever was pasted there is not repeated
      if (!(ROLES as readonly string[]).includes(r)) problems.push(`LYNC_EXO_AGENT_ROLES: item ${rawRoles.split(',').map((x) => x.trim()).filter(Boolean).indexOf(r) + 1} is not a role (${ROLES.join(', ')})`);
      else if (!roles.includes(r as Role)) roles.push(r as Role);
    }
    if (roles.length === 0 && !problems.some((p) => p.startsWith('LYNC_EXO_AGENT_ROLES'))) problems.push('LYNC_EXO_AGENT_ROLES: no role given');
  }
  const token = text(env, 'LYNC_EXO_AGENT_TOKEN');
  if (token === undefined) problems.push('LYNC_EXO_AGENT_TOKEN: required (this agent\'s token, the one the bot lists for it)');
  else if (token.length < MIN_TOKEN) problems.push(`LYNC_EXO_AGENT_TOKEN: shorter than ${MIN_TOKEN} characters`);
  else if (/\s/.test(token)) problems.push('LYNC_EXO_AGENT_TOKEN: contains white space');
  const module = text(env, 'LYNC_EXO_MODULE') ?? 'Lync';
  if (!(module === 'Lync' || module === 'SkypeForBusiness' || /\.psd1$/i.test(module))) problems.push('LYNC_EXO_MODULE: Lync, SkypeForBusiness, or the path of a module manifest (.psd1)');
  const rawTimeout = text(env, 'LYNC_EXO_INVOCATION_TIMEOUT_SECONDS');
  const timeout = rawTimeout === undefined ? 120 : Number(rawTimeout);
  if (!Number.isInteger(timeout) || timeout < 1 || timeout > 3600) problems.push('LYNC_EXO_INVOCATION_TIMEOUT_SECONDS: a whole number of seconds from 1 to 3600');
  const caFile = text(env, 'LYNC_EXO_CA_FILE');
  let ca: Buffer | undefined;
  if (caFile !== undefined) {
    try {
      ca = readFileSync(caFile);
      if (!ca.toString('utf8').includes('-----BEGIN CERTIFICATE-----')) problems.push(`LYNC_EXO_CA_FILE: ${caFile} holds no PEM certificate`);
    } catch (err) {
      problems.push(`LYNC_EXO_CA_FILE: cannot read ${caFile}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`agent environment: ${problems.join('; ')}`);
  return { botUrl: botUrls[0]!, botUrls, name: name!, roles, token: token!, executable: text(env, 'LYNC_EXO_PWSH'), module, invocationTimeoutMs: timeout * 1000, ...(ca ? { ca } : {}) };
}

/** 0.5 s, 1 s, 2 s ... up to 30 s, each between half and all of that (so agents restarted together spread out). */
export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(base / 2 + (random() * base) / 2);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

const ClaimedJob = z.object({
  id: z.string().regex(/^[0-9a-f-]{36}$/),
  invocation: z.unknown(),
  leaseMs: z.number().int().min(100).max(3_600_000),
  maxResultBytes: z.number().int().positive().optional(),
});
type ClaimedJob = z.infer<typeof ClaimedJob>;

type ResultBody = Omit<Extract<InvocationResult, { ok: true }>, 'agent'> | Omit<Extract<InvocationResult, { ok: false }>, 'agent'>;

/** An HTTP answer the agent did not expect; `status` 0: no answer at all. */
class BotError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** What went wrong with a TLS connection, in words an operator acts on. */
const TLS_PROBLEMS: Record<string, string> = {
  CERT_HAS_EXPIRED: "the bot's certificate has expired",
  CERT_NOT_YET_VALID: "the bot's certificate is not valid yet (check the clocks)",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the bot's certificate is self-signed and not trusted: set LYNC_EXO_CA_FILE to it or to its CA",
  SELF_SIGNED_CERT_IN_CHAIN: "the bot's certificate chains to a CA this agent does not trust: set LYNC_EXO_CA_FILE to that CA",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the bot's certificate is signed by a CA this agent does not trust: set LYNC_EXO_CA_FILE to that CA",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the bot's certificate is signed by a CA this agent does not trust: set LYNC_EXO_CA_FILE to that CA",
  ERR_TLS_CERT_ALTNAME_INVALID: "the bot's certificate does not name the host in LYNC_EXO_BOT_URL",
};

const errorText = (err: unknown): string => {
  const e = err as { message?: string; code?: string; cause?: { code?: string; message?: string } };
  const code = e?.code ?? e?.cause?.code;
  if (code && TLS_PROBLEMS[code]) return `TLS: ${TLS_PROBLEMS[code]} (${code})`;
  const cause = e?.cause?.code ?? e?.cause?.message;
  return `${e?.message ?? String(err)}${cause ? ` (${cause})` : ''}`;
};

/** The bot's agent routes, as this agent calls them. The token goes in a header and nowhere else. */
class BotClient {
  constructor(
    private readonly settings: AgentSettings,
    readonly bot: URL = settings.botUrl,
    /** this process, in every claim: jobs held by an earlier process of this agent are lost, not this one's */
    private readonly session: string = randomBytes(8).toString('hex'),
  ) {}

  private async post(route: string, body: unknown, signal: AbortSignal): Promise<{ status: number; body: unknown }> {
    const url = new URL(`agents/v1/${route}`, this.bot.href.endsWith('/') ? this.bot : `${this.bot.href}/`);
    const payload = JSON.stringify(body);
    let status: number;
    let raw: string;
    try {
      ({ status, raw } = await new Promise<{ status: number; raw: string }>((resolve, reject) => {
        const options = {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(payload)),
            authorization: `Bearer ${this.settings.token}`,
            [AGENT_NAME_HEADER]: this.settings.name,
          },
          signal,
          // the bot's certificate is always verified; LYNC_EXO_CA_FILE replaces the system's CAs with a private one
          ...(url.protocol === 'https:' ? { rejectUnauthorized: true, ...(this.settings.ca ? { ca: this.settings.ca } : {}) } : {}),
        };
        // no redirect is ever followed: it could carry the token somewhere else, or to plain http
        const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res: IncomingMessage) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size <= 1024 * 1024) chunks.push(c);
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, raw: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end(payload);
      }));
    } catch (err) {
      throw new BotError(`${route}: ${errorText(err)}`, 0);
    }
    let parsed: unknown;
    try {
      parsed = raw ? (JSON.parse(raw) as unknown) : undefined;
    } catch {
      parsed = undefined;
    }
    if (status === 401) {
      throw new BotError(`${route}: the bot refused agent ${this.settings.name}'s token (401): check LYNC_EXO_AGENT_TOKEN here and the bot's agents.remote entry for ${this.settings.name}`, 401);
    }
    if (status === 403) {
      throw new BotError(`${route}: the bot refused agent ${this.settings.name} (403)${describe(parsed)}: check LYNC_EXO_AGENT_NAME and LYNC_EXO_AGENT_ROLES here against the bot's agents.remote entry`, 403);
    }
    if (status >= 300 && status < 400) throw new BotError(`${route}: the bot answered with a redirect (${status}); redirects are not followed`, status);
    return { status, body: parsed };
  }

  async claim(signal: AbortSignal | undefined): Promise<ClaimedJob | undefined> {
    const timeout = AbortSignal.timeout(CLAIM_HTTP_TIMEOUT_MS);
    const r = await this.post('claim', { name: this.settings.name, roles: this.settings.roles, version: AGENT_VERSION, session: this.session }, signal ? AbortSignal.any([signal, timeout]) : timeout);
    if (r.status === 204) return undefined;
    if (r.status !== 200) throw new BotError(`claim: the bot answered ${r.status}${describe(r.body)}`, r.status);
    const job = ClaimedJob.safeParse(r.body);
    if (!job.success) throw new BotError('claim: the bot answered with something that is not a job', 200);
    return job.data;
  }

  async heartbeat(jobId: string): Promise<number> {
    return (await this.post(`jobs/${jobId}/heartbeat`, {}, AbortSignal.timeout(REQUEST_TIMEOUT_MS))).status;
  }

  async result(jobId: string, body: ResultBody): Promise<{ status: number; body: unknown }> {
    return this.post(`jobs/${jobId}/result`, body, AbortSignal.timeout(REQUEST_TIMEOUT_MS));
  }
}

const describe = (body: unknown): string => (body && typeof body === 'object' && 'error' in body ? `: ${String(body.error).slice(0, 200)}` : '');

function defaultPowerShell(log: Logger, env: NodeJS.ProcessEnv) {
  return (settings: AgentSettings, runbooks: Runbooks): Agent => {
    let executable = settings.executable;
    if (executable === undefined) {
      try {
        executable = locatePowerShell({ install: false }).executable;
      } catch (err) {
        throw new ConfigError(`LYNC_EXO_PWSH: not set, and no PowerShell was found: ${(err as Error).message}`);
      }
    }
    return new PowerShellAgent({
      name: settings.name,
      roles: settings.roles,
      executable,
      module: settings.module,
      allowlist: cmdletAllowlist(runbooks),
      // what this process was given (LYNCSIM_* in tests, anything a module needs), without secret-looking names
      env: childEnv(env),
      invocationTimeoutMs: settings.invocationTimeoutMs,
      logger: log,
    });
  };
}

export async function runAgent(options: RunAgentOptions): Promise<void> {
  const env = options.env ?? process.env;
  const settings = readAgentEnv(env);
  const runbooks = options.runbooks ?? loadRunbooks();
  const log = options.log.child({ agent: settings.name });
  const signal = options.signal;
  const powershell = (options.powershell ?? defaultPowerShell(log, env))(settings, runbooks);
  log.info({ bot: settings.botUrls.map((u) => u.origin).join(', '), roles: settings.roles, module: settings.module, version: AGENT_VERSION }, 'agent starting');
  // warm start: the session starts now, not on the first job (jobs queue behind it)
  void warmStart([powershell], runbooks, log).done;
  try {
    // one claim loop per URL given (any instance hands out any job); their jobs share the one PowerShell session,
    // which runs them one at a time. One session id for all: a job one loop holds is not lost when another claims.
    const session = randomBytes(8).toString('hex');
    const clients = settings.botUrls.map((url) => new BotClient(settings, url, session));
    await Promise.all(clients.map((client) => serve(client, { settings, runbooks, powershell, clients, log: clients.length > 1 ? log.child({ bot: client.bot.origin }) : log }, signal)));
  } finally {
    await powershell.close();
    log.info('agent stopped');
  }
}

/** Waits for work from one bot instance and runs it, until stopped; an instance that is away is tried again. */
async function serve(client: BotClient, ctx: Omit<JobContext, 'client'>, signal: AbortSignal | undefined): Promise<void> {
  const { log } = ctx;
  let failures = 0;
  while (!signal?.aborted) {
    let job: ClaimedJob | undefined;
    try {
      job = await client.claim(signal);
    } catch (err) {
      if (signal?.aborted) break;
      failures++;
      const delay = backoffDelay(failures);
      const status = err instanceof BotError ? err.status : 0;
      const message = err instanceof BotError ? err.message : errorText(err);
      if (status === 401 || status === 403 || message.includes(': TLS: ')) log.error({ attempt: failures, retryInMs: delay, status }, message);
      else log.warn({ attempt: failures, retryInMs: delay, status }, `bot unreachable: ${message}`);
      await sleep(delay, signal);
      continue;
    }
    if (failures > 0) log.info({ after: failures }, 'connected to the bot again');
    failures = 0;
    // once claimed, a job runs to its end and its result is posted, even when a stop was asked for meanwhile
    if (job) await runJob(job, { ...ctx, client });
  }
}

interface JobContext {
  settings: AgentSettings;
  runbooks: Runbooks;
  powershell: Agent;
  client: BotClient;
  /** every instance's client: a heartbeat or result that cannot reach the one that handed the job out goes to the next */
  clients: readonly BotClient[];
  log: Logger;
}

/** The client for attempt `n` (0 first) of a call about a job handed out by `ctx.client`: then the others in turn. */
const clientFor = (ctx: JobContext, n: number): BotClient => {
  const start = Math.max(0, ctx.clients.indexOf(ctx.client));
  return ctx.clients.length ? ctx.clients[(start + n) % ctx.clients.length]! : ctx.client;
};

async function runJob(job: ClaimedJob, ctx: JobContext): Promise<void> {
  const { settings, log } = ctx;
  const started = performance.now();
  const named = (job.invocation as { cmdlet?: unknown } | null)?.cmdlet;
  const cmdlet = typeof named === 'string' ? named.slice(0, 100) : '(none)';
  const jlog = log.child({ jobId: job.id, cmdlet });
  let body: ResultBody;
  const check = validateJob(ctx.runbooks, job.invocation, settings.roles);
  if (!check.ok) {
    const message = `agent ${settings.name} refused the job: ${check.reason}`;
    jlog.warn(message);
    body = { ok: false, error: { kind: 'refused', message }, durationMs: Math.round(performance.now() - started) };
  } else {
    jlog.debug('job claimed');
    let gaveUp = false;
    let unreachable = 0;
    const beat = setInterval(
      () => {
        clientFor(ctx, unreachable).heartbeat(job.id).then(
          (status) => {
            if (status >= 500) unreachable++;
            if ((status === 410 || status === 404 || status === 409) && !gaveUp) {
              gaveUp = true;
              jlog.warn({ status }, 'the bot gave up on this job (its lease ran out): the step keeps running here, but its result will be ignored');
            }
          },
          (err: unknown) => {
            // the next heartbeat tries the next instance: any of them renews the job's lease
            unreachable++;
            jlog.warn({ err: errorText(err) }, 'heartbeat failed');
          },
        );
      },
      Math.max(100, Math.floor(job.leaseMs / 3)),
    );
    let result: InvocationResult;
    try {
      result = await ctx.powershell.invoke(job.invocation as Parameters<Agent['invoke']>[0]);
    } finally {
      clearInterval(beat);
    }
    const { agent: _agent, ...rest } = result;
    body = rest;
    const limit = job.maxResultBytes;
    if (limit !== undefined && Buffer.byteLength(JSON.stringify(body)) > limit - 512) {
      const size = Buffer.byteLength(JSON.stringify(body));
      body = { ok: false, error: { kind: 'output', message: `${cmdlet}: agent ${settings.name}: the result is ${size} bytes, more than the bot accepts (${limit})` }, durationMs: result.durationMs };
    }
  }
  await postResult(job, body, ctx, jlog);
}

/** Posts a result, retrying while the bot is away, until about the job's lease has passed (the bot gives up then). */
async function postResult(job: ClaimedJob, body: ResultBody, ctx: JobContext, jlog: Logger): Promise<void> {
  const deadline = Date.now() + Math.max(job.leaseMs, 5_000);
  for (let attempt = 1; ; attempt++) {
    try {
      // the first attempt to the instance that handed the job out, the next ones to the others in turn
      const r = await clientFor(ctx, attempt - 1).result(job.id, body);
      if (r.status === 200) {
        jlog.debug({ ok: body.ok, duplicate: (r.body as { duplicate?: boolean } | undefined)?.duplicate === true }, 'result posted');
        return;
      }
      if (r.status === 409 || r.status === 410 || r.status === 404) {
        jlog.warn({ status: r.status }, `the bot did not take the result${describe(r.body)}`);
        return;
      }
      if (r.status >= 400 && r.status < 500) {
        jlog.error({ status: r.status }, `the bot refused the result${describe(r.body)}`);
        return;
      }
      throw new BotError(`result: the bot answered ${r.status}`, r.status);
    } catch (err) {
      const delay = backoffDelay(attempt);
      if (Date.now() + delay > deadline) {
        jlog.error({ attempts: attempt }, `giving up posting the result: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      jlog.warn({ attempt, retryInMs: delay }, `posting the result: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(delay);
    }
  }
}
