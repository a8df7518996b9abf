// `lync-exo agent`: the command line of a remote agent. Configuration comes from the environment (see agent.ts);
// SIGTERM and SIGINT stop it after the job in hand. Run directly too: `node --import tsx src/remote/cli.ts`.
import { fillSecretsFromCredentialStore } from '../service/credentials.js';
import { pathToFileURL } from 'node:url';
import { LOG_LEVELS, type LogLevel } from '../config/env.js';
import { ConfigError } from '../config/runbooks.js';
import { createLogger } from '../log.js';
import { runAgent } from './agent.js';

export const AGENT_USAGE = `usage: lync-exo agent

Runs a remote agent: connects out to the bot, runs the steps the bot's runbooks define, and reports.
Environment:
  LYNC_EXO_BOT_URL        the bot, https://... (plain http only to a loopback host, or with LYNC_EXO_ALLOW_HTTP=1);
                          several instances on PostgreSQL: any one of them (or a load balancer) is enough;
                          several, comma-separated, are each waited on
  LYNC_EXO_AGENT_NAME     this agent's name, as the bot's agents.remote entry names it
  LYNC_EXO_AGENT_ROLES    internal, edge, or internal,edge (no more than that entry gives it)
  LYNC_EXO_AGENT_TOKEN    this agent's token (at least 16 characters)
  LYNC_EXO_CA_FILE        PEM file of the CA that signed the bot's certificate (a private CA); default: the system's
  LYNC_EXO_PWSH           the PowerShell executable (default: powershell.exe / pwsh found on PATH)
  LYNC_EXO_MODULE         Lync (default), SkypeForBusiness, or the path of a module manifest (.psd1)
  LYNC_EXO_INVOCATION_TIMEOUT_SECONDS  per cmdlet (default 120)
  LOG_LEVEL               fatal, error, warn, info (default), debug, trace, silent
`;

/** Runs the agent until SIGTERM/SIGINT; resolves with the process exit code (2: bad configuration). */
export async function agentMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(AGENT_USAGE);
    return 0;
  }
  if (argv.length > 0) {
    // not echoed: it could be a token typed on the command line
    process.stderr.write(`lync-exo agent: takes no arguments (${argv.length} given); configuration comes from the environment\n\n${AGENT_USAGE}`);
    return 2;
  }
  const level = (env.LOG_LEVEL?.trim() || 'info') as LogLevel;
  if (!LOG_LEVELS.includes(level)) {
    process.stderr.write(`lync-exo agent: LOG_LEVEL: must be one of ${LOG_LEVELS.join(', ')}\n`);
    return 2;
  }
  const log = createLogger(level);
  const stop = new AbortController();
  let signals = 0;
  const onSignal = (name: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      log.info({ signal: name }, 'stopping after the current job');
      stop.abort();
    } else {
      log.warn({ signal: name }, 'second signal: exiting now');
      process.exit(1);
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    const filled = await fillSecretsFromCredentialStore(env, ['LYNC_EXO_AGENT_TOKEN']);
    if (filled.length) log.info({ names: filled }, 'secrets: read from the Windows Credential Manager');
    await runAgent({ env, log, signal: stop.signal });
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`lync-exo agent: ${err.message}\n`);
      return 2;
    }
    log.fatal({ err }, 'agent failed');
    return 1;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await agentMain(process.argv.slice(2), process.env);
}
