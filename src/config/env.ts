// Secrets and process settings from the environment, validated at start-up. An error names the variable and never
// repeats its value: a token pasted into the wrong variable must not end up in a log.
import { z } from 'zod';
import { ConfigError } from './runbooks.js';

/** `slack`: connect to Slack (needs its tokens); `console` and `demo` play conversations in a terminal. */
export type RunMode = 'slack' | 'console' | 'demo';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type SlackEnv =
  | { mode: 'socket'; botToken: string; appToken: string }
  | { mode: 'http'; botToken: string; signingSecret: string; port: number };

export interface AgentToken {
  name: string;
  token: string;
}

export interface AgentListener {
  port: number;
  host: string;
  tls?: { certPath: string; keyPath: string };
  /** LYNC_EXO_INSECURE_HTTP=1 */
  insecure: boolean;
  /** HTTP mode: where Slack's listener binds (the agents' routes share it) */
  httpHost: string;
}

export interface EnvConfig {
  /** absent in console and demo modes */
  slack?: SlackEnv;
  configPath: string;
  dataDir: string;
  logLevel: LogLevel;
  /** tokens that remote agents present; empty when none are configured */
  agentTokens: AgentToken[];
  agentListener: AgentListener;
  /** /healthz, /readyz and /metrics in Socket Mode (HTTP mode serves them on Slack's listener) */
  opsListener: { port: number; host: string };
  slackApiUrl?: string;
}

/** Variables whose values are secrets: never logged, never echoed in an error. */
export const SECRET_ENV_NAMES = ['SLACK_BOT_TOKEN', 'SLACK_APP_TOKEN', 'SLACK_SIGNING_SECRET', 'LYNC_EXO_AGENT_TOKENS'] as const;

/** pino `redact` paths for the places a secret can sit in a logged object. */
export const redactPaths: string[] = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.*.botToken',
  '*.*.appToken',
  '*.*.signingSecret',
  'agentTokens[*].token',
  '*.agentTokens[*].token',
  // the remote agents as resolved (agents.remote with their tokens) and the agent's own settings
  'agents[*].token',
  '*.agents[*].token',
  'remote[*].token',
  '*.remote[*].token',
  'settings.token',
  '*.settings.token',
  'headers.authorization',
  '*.headers.authorization',
  'headers["x-slack-signature"]',
  '*.headers["x-slack-signature"]',
  ...SECRET_ENV_NAMES.map((n) => `env.${n}`),
];

const AGENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const MIN_AGENT_TOKEN = 16;

/** Unset and empty (as Docker and systemd often write them) are the same; surrounding spaces are trimmed. */
const optional = z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined), z.string().optional());
const withDefault = (value: string) => z.preprocess((v) => (typeof v === 'string' && v.trim() !== '' ? v.trim() : value), z.string());

const port = (fallback: string) =>
  withDefault(fallback).pipe(
    z
      .string()
      .regex(/^[0-9]{1,5}$/, 'must be a port number from 1 to 65535')
      .transform(Number)
      .refine((n) => n >= 1 && n <= 65535, 'must be a port number from 1 to 65535'),
  );

const Schema = z.object({
  SLACK_BOT_TOKEN: optional,
  SLACK_APP_TOKEN: optional,
  SLACK_SIGNING_SECRET: optional,
  LYNC_EXO_SLACK_MODE: optional.pipe(z.enum(['socket', 'http'], { error: 'must be socket or http' }).optional()),
  PORT: port('3000'),
  LYNC_EXO_CONFIG: withDefault('./lync-exo.yml'),
  LYNC_EXO_DATA_DIR: withDefault('./data'),
  LOG_LEVEL: withDefault('info').pipe(z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` })),
  LYNC_EXO_AGENT_TOKENS: optional,
  LYNC_EXO_AGENT_PORT: port('8443'),
  LYNC_EXO_AGENT_HOST: withDefault('0.0.0.0'),
  /** Slack's Web API base URL: only for a proxy in front of slack.com, or a stand-in in tests */
  LYNC_EXO_SLACK_API_URL: optional.pipe(z.url({ error: 'must be a URL such as https://slack.com/api/' }).optional()),
  LYNC_EXO_TLS_CERT: optional,
  LYNC_EXO_TLS_KEY: optional,
  LYNC_EXO_METRICS_PORT: port('9464'),
  LYNC_EXO_METRICS_HOST: withDefault('127.0.0.1'),
  /** HTTP mode: the address Slack's listener (and the agents' routes on it) binds to */
  LYNC_EXO_HOST: withDefault('0.0.0.0'),
  /** 1: listen for agents over plain HTTP off loopback (logged as an error at every start) */
  LYNC_EXO_INSECURE_HTTP: optional.pipe(z.enum(['0', '1'], { error: 'must be 1 (or 0, or unset)' }).optional()),
});

function prefixProblem(name: string, value: string, prefix: string, what: string): string | undefined {
  if (value.startsWith(prefix)) return undefined;
  const looksLike = value.startsWith('xoxb-') ? ' (it looks like a bot token, xoxb-)' : value.startsWith('xapp-') ? ' (it looks like an app-level token, xapp-)' : '';
  return `${name}: must be ${what} starting with ${prefix}${looksLike}`;
}

function readAgentTokens(raw: string | undefined): AgentToken[] {
  if (raw === undefined) return [];
  const tokens: AgentToken[] = [];
  // every error names the entry by its position: a name and a token written the wrong way round must not be printed
  raw.split(',').forEach((entry, i) => {
    const colon = entry.indexOf(':');
    if (colon === -1) throw new ConfigError(`LYNC_EXO_AGENT_TOKENS: entry ${i + 1} is not name:token`);
    const name = entry.slice(0, colon).trim();
    const token = entry.slice(colon + 1).trim();
    if (!AGENT_NAME.test(name)) throw new ConfigError(`LYNC_EXO_AGENT_TOKENS: entry ${i + 1}: the agent name must be letters, digits, ., _ and -`);
    if (token.length < MIN_AGENT_TOKEN) throw new ConfigError(`LYNC_EXO_AGENT_TOKENS: entry ${i + 1}: the token is shorter than ${MIN_AGENT_TOKEN} characters`);
    if (/\s/.test(token)) throw new ConfigError(`LYNC_EXO_AGENT_TOKENS: entry ${i + 1}: the token contains white space`);
    const twice = tokens.findIndex((t) => t.name === name);
    if (twice !== -1) throw new ConfigError(`LYNC_EXO_AGENT_TOKENS: entry ${i + 1} names the same agent as entry ${twice + 1}`);
    tokens.push({ name, token });
  });
  return tokens;
}

/** Where remote agents reach the bot when Slack uses Socket Mode (in HTTP mode they share Slack's listener). */
function readAgentListener(e: z.infer<typeof Schema>): AgentListener {
  if ((e.LYNC_EXO_TLS_CERT === undefined) !== (e.LYNC_EXO_TLS_KEY === undefined)) {
    throw new ConfigError('environment: LYNC_EXO_TLS_CERT and LYNC_EXO_TLS_KEY: set both (PEM file paths) or neither');
  }
  return {
    port: e.LYNC_EXO_AGENT_PORT,
    host: e.LYNC_EXO_AGENT_HOST,
    insecure: e.LYNC_EXO_INSECURE_HTTP === '1',
    httpHost: e.LYNC_EXO_HOST,
    ...(e.LYNC_EXO_TLS_CERT !== undefined && e.LYNC_EXO_TLS_KEY !== undefined ? { tls: { certPath: e.LYNC_EXO_TLS_CERT, keyPath: e.LYNC_EXO_TLS_KEY } } : {}),
  };
}

function readSlack(e: z.infer<typeof Schema>): SlackEnv {
  const problems: string[] = [];
  const bot = e.SLACK_BOT_TOKEN;
  if (bot === undefined) problems.push('SLACK_BOT_TOKEN: required (the bot token, xoxb-...)');
  else {
    const p = prefixProblem('SLACK_BOT_TOKEN', bot, 'xoxb-', 'a bot token');
    if (p) problems.push(p);
  }
  const mode = e.LYNC_EXO_SLACK_MODE ?? (e.SLACK_APP_TOKEN !== undefined ? 'socket' : 'http');
  if (mode === 'socket') {
    if (e.SLACK_APP_TOKEN === undefined) problems.push('SLACK_APP_TOKEN: required for Socket Mode (LYNC_EXO_SLACK_MODE=socket); an app-level token, xapp-..., with connections:write');
    else {
      const p = prefixProblem('SLACK_APP_TOKEN', e.SLACK_APP_TOKEN, 'xapp-', 'an app-level token');
      if (p) problems.push(p);
    }
  } else if (e.SLACK_SIGNING_SECRET === undefined) {
    problems.push(
      e.LYNC_EXO_SLACK_MODE === 'http'
        ? 'SLACK_SIGNING_SECRET: required for HTTP mode (LYNC_EXO_SLACK_MODE=http)'
        : 'SLACK_APP_TOKEN or SLACK_SIGNING_SECRET: one is required; SLACK_APP_TOKEN (xapp-...) for Socket Mode, the default, or SLACK_SIGNING_SECRET for HTTP mode',
    );
  }
  if (problems.length > 0) throw new ConfigError(`environment: ${problems.join('; ')}`);
  return mode === 'socket' ? { mode, botToken: bot!, appToken: e.SLACK_APP_TOKEN! } : { mode, botToken: bot!, signingSecret: e.SLACK_SIGNING_SECRET!, port: e.PORT };
}

/**
 * Reads and checks the environment. In `slack` mode (the default) the Slack variables are required and `slack` is
 * set; in `console` and `demo` modes they are not read at all.
 */
export function readEnv(env?: NodeJS.ProcessEnv, mode?: 'slack'): EnvConfig & { slack: SlackEnv };
export function readEnv(env: NodeJS.ProcessEnv, mode: RunMode): EnvConfig;
export function readEnv(env: NodeJS.ProcessEnv = process.env, mode: RunMode = 'slack'): EnvConfig {
  const result = Schema.safeParse(env);
  if (!result.success) {
    // messages are ours, and name the variable; zod's issue.input (the value) is never used
    throw new ConfigError(`environment: ${result.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = result.data;
  return {
    ...(mode === 'slack' ? { slack: readSlack(e) } : {}),
    configPath: e.LYNC_EXO_CONFIG,
    dataDir: e.LYNC_EXO_DATA_DIR,
    logLevel: e.LOG_LEVEL,
    agentTokens: readAgentTokens(e.LYNC_EXO_AGENT_TOKENS),
    agentListener: readAgentListener(e),
    opsListener: { port: e.LYNC_EXO_METRICS_PORT, host: e.LYNC_EXO_METRICS_HOST },
    ...(e.LYNC_EXO_SLACK_API_URL ? { slackApiUrl: e.LYNC_EXO_SLACK_API_URL } : {}),
  };
}
