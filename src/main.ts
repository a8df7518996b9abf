// lync-exo's command line. `lync-exo` (or `lync-exo slack`) runs the bot; `console` plays the same conversations in
// a terminal; `demo` plays a scripted one against the simulator; `agent` runs a remote Windows agent.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { locatePowerShell } from './agent/locatePowerShell.js';
import { warmStart, withWarmState } from './agent/warm.js';
import { compose, embeddedAgent, embeddedHost, policyFromConfig, staticAgentPool } from './compose.js';
import { resolveRemoteAgents } from './config/agents.js';
import { LOG_LEVELS, readEnv, SECRET_ENV_NAMES, type LogLevel } from './config/env.js';
import { readConfigFile, type Config } from './config/file.js';
import { ConfigError, loadRunbooks } from './config/runbooks.js';
import { isLoopbackHost, plainHttpProblem } from './http/bounded.js';
import { createLogger } from './log.js';
import { openStore, readDatabaseEnv } from './store/open.js';
import { StoreError } from './store/sqlite.js';

/** how long shutdown waits for a running step to finish */
const SHUTDOWN_GRACE_MS = 150_000;

const USAGE = `usage: lync-exo [slack|console|demo|agent|audit|service|help|--version]
  slack     run the Slack bot (default): SLACK_BOT_TOKEN, SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, LYNC_EXO_CONFIG
  console   the same conversations in this terminal, against the Lync simulator (policy from LYNC_EXO_CONFIG);
            --locale en|zh-TW: the language of its messages (default: the policy's messages.locale)
  demo      a scripted setup, approval, verification and rollback against the Lync simulator
  agent     a remote Windows agent that connects out to the bot (LYNC_EXO_BOT_URL, LYNC_EXO_AGENT_*)
  audit     print the audit log as JSON lines: lync-exo audit [--since 2026-11-01]
  service   print the Windows service definition (WinSW): lync-exo service --kind bot|agent --account DOMAIN\\user --dir DIR`;

/** The version in the package.json beside src/ or dist/ (the installed package's own). */
function packageVersion(): string {
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

/** The PowerShell the embedded agent drives: the configured one, or one found on this machine. */
function powershellFor(config: Config): string {
  return config.agents.embedded.powershell ?? locatePowerShell({ install: false }).executable;
}

/** A PEM file named by a variable; an unreadable one is a start-up error naming the variable and the path. */
function readPem(variable: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${variable}: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'unreadable'}`);
  }
}

async function runSlack(log: Logger): Promise<void> {
  // secrets the environment lacks, from the Windows Credential Manager when LYNC_EXO_SECRETS asks for it; the
  // database URL too, since it carries the PostgreSQL password (absent there as well: SQLite, as without it)
  const { fillSecretsFromCredentialStore } = await import('./service/credentials.js');
  const filled = await fillSecretsFromCredentialStore(process.env, [...SECRET_ENV_NAMES, 'LYNC_EXO_DATABASE_URL']);
  const env = readEnv(process.env, 'slack');
  const config = readConfigFile(env.configPath);
  filled.push(...(await fillSecretsFromCredentialStore(process.env, config.agents.remote.flatMap((r) => (r.tokenEnv ? [r.tokenEnv] : [])))));
  if (filled.length) log.info({ names: filled }, 'secrets: read from the Windows Credential Manager');
  // SQLite (one bot per file, the instance lock) or PostgreSQL (several instances: LYNC_EXO_DATABASE_URL)
  const opened = await openStore(env.dataDir, readDatabaseEnv(process.env), log);
  const store = opened.store;
  const runbooks = loadRunbooks();
  const { createSlackApp, createSlackPorts } = await import('./slack/index.js');
  const clientOptions = env.slackApiUrl ? { slackApiUrl: env.slackApiUrl } : {};
  const ports = createSlackPorts({ env: env.slack, log, command: config.slack.command, clientOptions, language: config.messages });
  const embedded = config.agents.embedded;
  const agent = embeddedAgent(
    {
      name: embedded.name,
      roles: embedded.roles,
      executable: powershellFor(config),
      module: path.isAbsolute(embedded.module) || !embedded.module.endsWith('.psd1') ? embedded.module : path.resolve(embedded.module),
      env: embedded.env,
      invocationTimeoutMs: embedded.invocationTimeoutSeconds * 1000,
    },
    runbooks,
    log,
  );
  // warm start: the session starts now, while the rest starts up; status shows how it went (issue 13)
  const warm = warmStart([agent], runbooks, log);
  // Remote agents (an Edge Server, say) connect out to the bot: only those in agents.remote, each with its token.
  const remote = resolveRemoteAgents(config.agents.remote, env.agentTokens, process.env);
  const listener = env.agentListener;
  const tls = listener.tls ? { cert: readPem('LYNC_EXO_TLS_CERT', listener.tls.certPath), key: readPem('LYNC_EXO_TLS_KEY', listener.tls.keyPath) } : undefined;
  const { agentHubRoutes, createAgentHub, startAgentHubServer } = await import('./remote/hub.js');
  // their jobs and presence are rows in the store: on PostgreSQL an agent may connect to any instance
  const hub = remote.length ? createAgentHub({ agents: remote, log, audit: (record) => store.audit(record), jobs: store }) : undefined;
  if (hub && env.slack.mode === 'http') {
    // the agents' routes share Slack's listener: the same rule, plain HTTP only on loopback unless told
    const problem = plainHttpProblem({ host: listener.httpHost, tls: !!tls, insecure: listener.insecure, what: 'Slack and remote agents (HTTP mode, LYNC_EXO_HOST)', setting: 'LYNC_EXO_INSECURE_HTTP' });
    if (problem) throw new ConfigError(problem);
    if (!tls && !isLoopbackHost(listener.httpHost)) log.error({ host: listener.httpHost }, 'remote agents: INSECURE: plain HTTP off loopback (LYNC_EXO_INSECURE_HTTP=1): agent tokens cross the network in clear');
  }
  // health and metrics: the ports counted as the core uses them (issue 13)
  const { instrumentPorts, slackErrorCode, startOpsServer } = await import('./ops/index.js');
  const ops = instrumentPorts({ store, agents: withWarmState(hub ? hub.pool([agent], config.agents.expectedEdges) : staticAgentPool([agent]), warm, { [agent.name]: embeddedHost(config) }), notifier: ports.notifier, directory: ports.directory, outboxDepth: async () => (await store.outboxList()).length, log });
  const { service, scheduler } = compose({
    store: ops.store,
    locale: config.messages.locale,
    policy: policyFromConfig(config),
    agents: ops.agents,
    notifier: ops.notifier,
    directory: ops.directory,
    log,
    runbooks,
    commandName: config.slack.command,
  });
  const recovered = await service.recover();
  if (recovered.interrupted.length || recovered.locks) log.warn({ interrupted: recovered.interrupted.map((r) => r.id), locks: recovered.locks }, 'recovered after an unclean stop');
  const opsRoutes = ops.routes(() => slack.connected(), runbooks);
  const { homeSource } = await import('./home.js');
  const slack = createSlackApp({
    env: env.slack,
    config,
    service: ops.service(service, config.slack.command),
    onApiError: (method, err) => ops.metrics.slackErrors.inc({ method, code: slackErrorCode(err) }),
    log,
    clientOptions,
    languages: ports.languages,
    home: homeSource(ops.store, policyFromConfig(config), ops.directory),
    customRoutes: env.slack.mode === 'http' ? [...(hub ? agentHubRoutes(hub) : []), ...opsRoutes] : [],
    // a Slack retry reaching another instance (PostgreSQL) is recognised: the deliveries taken are rows
    deliveries: store,
    http: { host: listener.httpHost, ...(tls ? { tls } : {}) },
  });
  // Socket Mode has no inbound port: health and metrics get a listener of their own (loopback by default)
  const opsServer = env.slack.mode === 'socket' ? await startOpsServer(opsRoutes, env.opsListener) : undefined;
  if (opsServer) log.info({ url: opsServer.url }, 'health and metrics: listening');
  await slack.start();
  let hubServer: Awaited<ReturnType<typeof startAgentHubServer>> | undefined;
  if (hub && env.slack.mode === 'socket') {
    try {
      hubServer = await startAgentHubServer({ hub, port: listener.port, host: listener.host, insecure: listener.insecure, log, ...(tls ? { tls } : {}) });
    } catch (err) {
      await slack.stop().catch(() => undefined);
      throw err;
    }
  }
  if (hubServer) log.info({ url: hubServer.url }, 'remote agents: listening');
  // closes requests past their expiry even when nobody clicks, so their buttons disappear; starts changes whose
  // window opened; runs the drift watch when its schedule says so. On PostgreSQL the leader alone sweeps, and also
  // takes over from instances that stopped heartbeating (failover), within about a lease.
  const shared = opened.shared;
  let sweeping = false;
  const sweep = async () => {
    if (shared && !(await shared.leader())) return;
    await service.sweep((what, err) => log.error({ err }, `${what} sweep failed`));
    if (!shared) return;
    const taken = await service.recover();
    if (taken.interrupted.length || taken.locks || taken.started.length) {
      log.warn({ interrupted: taken.interrupted.map((r) => r.id), locks: taken.locks, started: taken.started }, 'failover: took over from an instance that stopped heartbeating');
    }
  };
  const sweeper = setInterval(
    () => {
      if (sweeping) return;
      sweeping = true;
      sweep()
        .catch((err: unknown) => log.error({ err }, 'sweep failed'))
        .finally(() => (sweeping = false));
    },
    // a sixth of the lease: a dead instance's run is reported at most a lease and a sixth after its last heartbeat
    shared ? Math.min(30_000, Math.max(200, Math.floor(shared.leaseMs / 6))) : 30_000,
  );
  // Shutdown: take no new changes, let a running step finish (bounded), record the run as stopped, close cleanly.
  const stop = async (signal: string) => {
    log.info({ signal, running: service.activeRuns().map((r) => r.id) }, 'shutting down');
    clearInterval(sweeper);
    service.stopAccepting();
    const drained = await Promise.race([scheduler.idle().then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), SHUTDOWN_GRACE_MS).unref())]);
    if (!drained) log.warn({ graceMs: SHUTDOWN_GRACE_MS }, 'a step was still running at the end of the grace period; its run will be reported as interrupted at the next start');
    // what the outbox still holds stays in the database and goes out at the next start
    service.courier.stop();
    await slack.stop().catch((err: unknown) => log.warn({ err }, 'stopping slack'));
    await hubServer?.close();
    await opsServer?.close();
    await hub?.close();
    await agent.close();
    await opened.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/** `lync-exo audit [--since DATE]`: the audit log as JSON lines, for export. */
async function printAudit(args: string[]): Promise<number> {
  const at = args.indexOf('--since');
  const since = at >= 0 ? new Date(args[at + 1] ?? '') : undefined;
  if (since && Number.isNaN(since.getTime())) {
    console.error(`lync-exo audit: --since needs a date such as 2026-11-01 or 2026-11-01T08:00:00Z; got "${args[at + 1] ?? ''}"`);
    return 2;
  }
  const env = readEnv(process.env, 'console');
  const opened = await openStore(env.dataDir, readDatabaseEnv(process.env), createLogger('silent'), { instanceLock: false });
  try {
    for (const record of await opened.store.listAudit(since)) process.stdout.write(`${JSON.stringify(record)}\n`);
  } finally {
    await opened.close();
  }
  return 0;
}

/** `console [--locale en|zh-TW]`: the language of the console's messages (checked by startConsole). */
function consoleArgs(args: string[]): { locale?: string } {
  const at = args.findIndex((a) => a === '--locale' || a.startsWith('--locale='));
  if (at < 0) return {};
  const arg = args[at]!;
  return { locale: arg.includes('=') ? arg.slice('--locale='.length) : (args[at + 1] ?? '') };
}

export async function main(argv: string[]): Promise<number> {
  const mode = argv[0] ?? 'slack';
  // checked before the logger exists: pino would throw with the value in its message
  const level = (process.env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    console.error(`lync-exo: environment: LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}`);
    return 2;
  }
  const log = createLogger(level);
  try {
    switch (mode) {
      case 'slack':
        await runSlack(log);
        return -1; // keeps running
      case 'audit':
        return await printAudit(argv.slice(1));
      case 'agent':
        return (await import('./remote/cli.js')).agentMain(argv.slice(1), process.env);
      case 'console':
        return (await import('./console/runConsole.js')).runConsole(consoleArgs(argv.slice(1)));
      case 'service':
        return (await import('./service/winsw.js')).serviceMain(argv.slice(1));
      case 'demo':
        return (await import('./demo.js')).runDemo();
      case '--version':
      case 'version':
        console.log(packageVersion());
        return 0;
      case 'help':
      case '--help':
      case '-h':
        console.log(USAGE);
        return 0;
      default:
        console.error(`lync-exo: unknown mode "${mode}"\n${USAGE}`);
        return 2;
    }
  } catch (err) {
    if (err instanceof ConfigError || err instanceof StoreError || (err as Error).name === 'ListenerRefused' || (err as { code?: string }).code === 'powershell_not_found') {
      console.error(`lync-exo: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
