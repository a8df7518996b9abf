// lync-exo's command line. `lync-exo` (or `lync-exo slack`) runs the bot; `console` plays the same conversations in
// a terminal; `demo` plays a scripted one against the simulator; `agent` runs a remote Windows agent.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { locatePowerShell } from './agent/locatePowerShell.js';
import { compose, embeddedAgent, policyFromConfig, staticAgentPool } from './compose.js';
import { readEnv } from './config/env.js';
import { readConfigFile, type Config } from './config/file.js';
import { ConfigError, loadRunbooks } from './config/runbooks.js';
import { createLogger } from './log.js';

const USAGE = `usage: lync-exo [slack|console|demo|agent|help]
  slack     run the Slack bot (default): SLACK_BOT_TOKEN, SLACK_APP_TOKEN or SLACK_SIGNING_SECRET, LYNC_EXO_CONFIG
  console   the same conversations in this terminal, against the Lync simulator (policy from LYNC_EXO_CONFIG)
  demo      a scripted setup, approval, verification and rollback against the Lync simulator
  agent     a remote Windows agent that connects out to the bot (LYNC_EXO_BOT_URL, LYNC_EXO_AGENT_*)`;

/** The PowerShell the embedded agent drives: the configured one, or one found on this machine. */
function powershellFor(config: Config): string {
  return config.agents.embedded.powershell ?? locatePowerShell({ install: false }).executable;
}

async function runSlack(log: Logger): Promise<void> {
  const env = readEnv(process.env, 'slack');
  const config = readConfigFile(env.configPath);
  const runbooks = loadRunbooks();
  const { createSlackApp, createSlackPorts } = await import('./slack/index.js');
  const ports = createSlackPorts({ env: env.slack, log, command: config.slack.command });
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
  // Remote agents (an Edge Server, say) connect out to the bot; with no agent tokens configured there are none.
  const { agentHubRoutes, createAgentHub, startAgentHubServer } = await import('./remote/hub.js');
  const hub = env.agentTokens.length ? createAgentHub({ tokens: env.agentTokens, agents: config.agents.remote, log }) : undefined;
  const { service } = compose({
    policy: policyFromConfig(config),
    agents: hub ? hub.pool([agent], config.agents.expectedEdges) : staticAgentPool([agent]),
    notifier: ports.notifier,
    directory: ports.directory,
    log,
    runbooks,
    commandName: config.slack.command,
  });
  const slack = createSlackApp({ env: env.slack, config, service, log, customRoutes: hub && env.slack.mode === 'http' ? agentHubRoutes(hub) : [] });
  await slack.start();
  const listener = env.agentListener;
  const hubServer =
    hub && env.slack.mode === 'socket'
      ? await startAgentHubServer({
          hub,
          port: listener.port,
          host: listener.host,
          ...(listener.tls ? { tls: { cert: readFileSync(listener.tls.certPath), key: readFileSync(listener.tls.keyPath) } } : {}),
        })
      : undefined;
  if (hubServer) log.info({ url: hubServer.url }, 'remote agents: listening');
  // closes requests past their expiry even when nobody clicks, so their buttons disappear
  const sweeper = setInterval(() => {
    service.expireDue().catch((err: unknown) => log.error({ err }, 'expiry sweep failed'));
  }, 30_000);
  const stop = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    clearInterval(sweeper);
    service.stopAccepting();
    await slack.stop();
    await hubServer?.close();
    await hub?.close();
    await agent.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

export async function main(argv: string[]): Promise<number> {
  const mode = argv[0] ?? 'slack';
  const log = createLogger(process.env.LOG_LEVEL ?? 'info');
  try {
    switch (mode) {
      case 'slack':
        await runSlack(log);
        return -1; // keeps running
      case 'agent':
        return (await import('./remote/cli.js')).agentMain(argv.slice(1), process.env);
      case 'console':
        return (await import('./console/runConsole.js')).runConsole();
      case 'demo':
        return (await import('./demo.js')).runDemo();
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
    if (err instanceof ConfigError || (err as { code?: string }).code === 'powershell_not_found') {
      console.error(`lync-exo: ${(err as Error).message}`);
      return 1;
    }
    throw err;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exit(code);
