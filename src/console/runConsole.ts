// `lync-exo console`: the bot in a terminal, against LyncSim. The same composition as the Slack bot (compose():
// LyncExoService, the store, the scheduler), with the ConsoleNotifier in place of Slack's and typed lines in place
// of slash commands and buttons. No Slack tokens are read.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { pino, type Logger } from 'pino';
import { locatePowerShell, probePowerShell, type LocatedPowerShell } from '../agent/locatePowerShell.js';
import { compose, type Composition } from '../compose.js';
import { readConfigFile } from '../config/file.js';
import { loadRunbooks } from '../config/runbooks.js';
import type { Directory } from '../core/ports.js';
import type { PolicyConfig } from '../core/policy.js';
import { createLogger } from '../log.js';
import { createSimulatedDeployment, type SimulatedDeployment } from '../simulator.js';
import { DEFAULT_LOCALE, isLocale, LOCALES } from '../i18n/index.js';
import { ConsoleNotifier, type Output } from './notifier.js';
import { consoleWords } from './renderView.js';
import { CONSOLE_CHANNEL, CONSOLE_PROFILES, consolePolicyFromConfig, defaultConsolePolicy, policyUsers } from './policy.js';
import { ConsoleSession } from './session.js';
import { wantsColor } from './text.js';

export interface ConsoleOptions {
  /** default process.stdin */
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  /** default process.stdout */
  output?: NodeJS.WritableStream & { isTTY?: boolean };
  /** LYNC_EXO_CONFIG (policy from that file), LOG_LEVEL, NO_COLOR; default process.env */
  env?: NodeJS.ProcessEnv;
  /** the PowerShell to run; default: found or installed by locatePowerShell */
  executable?: string;
  /** LyncSim's replication lag in seconds; default 3 */
  lagSeconds?: number;
  /** where LyncSim's state file goes; default a temporary folder, removed at the end */
  dir?: string;
  /** default: pino to stderr at LOG_LEVEL, or warn */
  log?: Logger;
  /** the language of the messages (`--locale`): en or zh-TW; default the policy's (messages.locale), else en */
  locale?: string;
}

/** A console ready for lines: what the interactive loop and the demo both drive. */
export interface ConsoleApp extends Composition {
  session: ConsoleSession;
  notifier: ConsoleNotifier;
  sim: SimulatedDeployment;
  policy: PolicyConfig;
  powershell: LocatedPowerShell;
  log: Logger;
  out: Output;
  /** prints the prompt and the line as typed, then handles it (the demo's way of typing) */
  type(line: string): Promise<'continue' | 'quit'>;
  close(): Promise<void>;
}

/**
 * Slack user groups cannot be read from a terminal: a policy that names groups fails closed, with a sentence. The
 * console's own people (alice, bob, carol) have directory emails, so the audit shows who approved as Slack would.
 */
const consoleDirectory: Directory = {
  groupMembers: async (group) => {
    throw new Error(`the console cannot read Slack user group ${group}`);
  },
  profile: async (user) => CONSOLE_PROFILES[user],
};

function consoleLogger(env: NodeJS.ProcessEnv): Logger {
  const level = env.LOG_LEVEL?.trim() || 'warn';
  return createLogger(level, pino.destination({ dest: 2, sync: true }));
}

/** The PowerShell given (asked for its version), else the one the tests use: found, or installed into .tools/. */
function findPowerShell(executable: string | undefined, out: Output): LocatedPowerShell {
  if (!executable) return locatePowerShell({ install: true, log: (l) => out.write(`${l}\n`) });
  const probe = probePowerShell(executable);
  return { executable, version: probe?.version ?? '(did not answer with its version)', host: probe?.host ?? '?', source: 'given' };
}

/** Builds the console: config, PowerShell, LyncSim with its two agents, the service. Throws ConfigError on a bad config. */
export async function startConsole(options: ConsoleOptions = {}): Promise<ConsoleApp> {
  const env = options.env ?? process.env;
  const out = options.output ?? process.stdout;
  if (options.locale !== undefined && !isLocale(options.locale)) throw new Error(`--locale takes ${LOCALES.join(' or ')}; got "${options.locale}"`);
  const configPath = env.LYNC_EXO_CONFIG?.trim();
  const config = configPath ? readConfigFile(configPath) : undefined;
  const policy = config ? consolePolicyFromConfig(config) : defaultConsolePolicy();
  const command = config?.slack.command ?? '/lync-exo';
  const log = options.log ?? consoleLogger(env);
  const powershell = findPowerShell(options.executable, out);
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(path.join(tmpdir(), 'lync-exo-console-'));
  const runbooks = loadRunbooks();
  const lagSeconds = options.lagSeconds ?? 3;
  const sim = createSimulatedDeployment({ dir, lagSeconds, executable: powershell.executable, runbooks, log });
  const words = consoleWords(isLocale(options.locale) ? options.locale : (config?.messages.locale ?? DEFAULT_LOCALE), config?.messages.timeZone ?? 'UTC');
  const notifier = new ConsoleNotifier({ out, color: wantsColor(out, env), command, words });
  const counters = { r: 0, run: 0 };
  const composition = compose({
    locale: words.locale,
    policy,
    agents: sim.pool,
    notifier,
    directory: consoleDirectory,
    log,
    runbooks,
    commandName: command,
    newId: (prefix) => `${prefix}-${++counters[prefix]}`,
    // a terminal prints each state a run goes through; nothing to rate-limit
    delivery: { minIntervalMs: 0 },
  });
  const users = policyUsers(policy);
  const session = new ConsoleSession({ ...composition, notifier, channel: CONSOLE_CHANNEL, user: users[0] ?? 'alice', users, command });

  const rule = `${policy.required} approval${policy.required === 1 ? '' : 's'}`;
  out.write(
    [
      `lync-exo console · deployment ${policy.deployment} on LyncSim, replication lag ${lagSeconds} s (state: ${sim.statePath})`,
      `PowerShell ${powershell.version} — ${powershell.executable} (${powershell.source})`,
      `Agents: fe01 (internal) plays fe01.contoso.local, edge01 (edge) plays edge01.contoso.local`,
      `Policy${configPath ? ` from ${configPath}` : ''}: requesters ${policy.requesters.anyone ? 'anyone' : policy.requesters.users.join(', ')} · approvers ${policy.approvers.users.join(', ')} · ${rule} · expiry ${Math.round(policy.expiresAfterMs / 60_000)} min`,
      'Starting the PowerShell sessions of fe01 and edge01 …',
      '',
    ].join('\n'),
  );
  for (const problem of await sim.warmUp()) out.write(`warning: ${problem}\n`);
  out.write('Type help for the commands, "as bob" to act as bob, quit to leave.\n');

  return {
    ...composition,
    session,
    notifier,
    sim,
    policy,
    powershell,
    log,
    out,
    async type(line) {
      out.write(`${session.prompt}${line}\n`);
      return session.handle(line);
    },
    async close() {
      composition.service.stopAccepting();
      await composition.scheduler.idle();
      await sim.close();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The interactive console: reads lines until quit or the end of input. Resolves with the process exit code. */
export async function runConsole(options: ConsoleOptions = {}): Promise<number> {
  const input = options.input ?? process.stdin;
  const output = options.output ?? process.stdout;
  let app: ConsoleApp;
  try {
    app = await startConsole({ ...options, output });
  } catch (err) {
    output.write(`lync-exo console: ${(err as Error).message}\n`);
    return 2;
  }
  const terminal = input.isTTY === true && output.isTTY === true;
  const rl = createInterface({ input, output, terminal, historySize: terminal ? 100 : 0 });
  rl.on('SIGINT', () => rl.close());
  const prompt = () => {
    rl.setPrompt(app.session.prompt);
    rl.prompt();
  };
  try {
    prompt();
    for await (const line of rl) {
      // piped input is not echoed by a terminal: echo it so the transcript reads as typed
      if (!terminal) output.write(`${line}\n`);
      let outcome: 'continue' | 'quit' = 'continue';
      try {
        outcome = await app.session.handle(line);
      } catch (err) {
        app.log.error({ err }, 'console: internal error');
        output.write(`console: internal error: ${(err as Error).message}\n`);
      }
      if (outcome === 'quit') break;
      prompt();
    }
  } finally {
    rl.close();
    output.write('\n');
    await app.close();
  }
  return 0;
}
