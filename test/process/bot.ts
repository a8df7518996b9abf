// The bot as operators run it: `node --import tsx src/main.ts` in a process of its own (HTTP mode), with its SQLite
// file in a temporary data dir, its embedded agent driving real PowerShell on LyncSim, and Slack's Web API played
// by a local HTTP server that records every call. Tests send it signed Slack requests, kill it, and restart it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { stringify } from 'yaml';
import { createSimState, LYNCSIM_MODULE, readSimState, SIM_FRONT_END, type SimOverrides, type SimState } from '../../src/simulator.js';
import { blockAction, interactiveBody, slashCommandFields } from '../slack/support/payloads.js';
import { send, SIGNING_SECRET } from '../slack/support/signing.js';
import { startSlackStandIn, type ApiCall, type SlackStandIn } from '../slack/support/slackApi.js';
import { pwshExecutable } from '../support/pwsh.js';
import { freePort } from '../support/net.js';

export { freePort };

export const ROOT = path.resolve(import.meta.dirname, '..', '..');
export const CHANNEL = 'C0LYNCOPS';
// the config file wants Slack-shaped ids (U + at least 6 letters or digits), so U0BOB is too short
export const USERS = { alice: 'U0ALICE', bob: 'U0BOB001', carol: 'U0CAROL', dave: 'U0DAVE01', erin: 'U0ERIN01' } as const;
/** everyone but alice, who asks for the changes (a requester never counts as an approver) */
export const APPROVERS = [USERS.bob, USERS.carol, USERS.dave, USERS.erin];

// --- Slack's Web API: the strict stand-in, on loopback ------------------------------------------------------------

export type { ApiCall } from '../slack/support/slackApi.js';
export type FakeSlack = SlackStandIn;
/** Slack knows each of USERS by name, with a profile email (the app has users:read.email). */
export const startFakeSlack = (): Promise<SlackStandIn> =>
  startSlackStandIn({
    members: [CHANNEL],
    names: Object.fromEntries(Object.entries(USERS).map(([name, id]) => [id, name])),
    emails: Object.fromEntries(Object.entries(USERS).map(([name, id]) => [id, `${name}@contoso.com`])),
  });

/** What a message says: its fallback text and its blocks, as one searchable string. */
export const said = (call: ApiCall): string => `${typeof call.body.text === 'string' ? call.body.text : ''}\n${JSON.stringify(call.body.blocks ?? [])}`;

// --- the bot process ---------------------------------------------------------------------------------------------

export interface BotProcess {
  child: ChildProcess;
  port: number;
  url: string;
  /** stdout and stderr, as they came */
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** signal to the bot process only (SIGTERM: graceful stop) */
  signal(sig: NodeJS.Signals): void;
  /** SIGKILL to the whole process group: the bot and its PowerShell die together, as when the host loses power */
  killHard(): Promise<void>;
}


export async function waitFor<T>(check: () => T | undefined | false | Promise<T | undefined | false>, ms: number, what: string, why: () => string = () => ''): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}\n${why()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export interface HarnessOptions {
  /** the starting deployment (lag 1 s unless told) */
  sim?: SimOverrides;
  /** how long a run waits for replication (default 30 s) */
  replicationTimeoutSeconds?: number;
  /** remote agents in the config file; the embedded agent's roles (default internal and edge) and the expected Edges */
  agents?: { remote: { name: string; roles: ('internal' | 'edge')[]; tokenEnv?: string }[]; embeddedRoles?: ('internal' | 'edge')[]; expectedEdges?: string[] };
  /** the Slack secrets the bot gets and the requests are signed with */
  secrets?: { botToken?: string; signingSecret?: string };
}

export interface AgentProcess {
  name: string;
  child: ChildProcess;
  output: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(): Promise<void>;
}

export interface Harness {
  dir: string;
  dataDir: string;
  dbPath: string;
  statePath: string;
  configPath: string;
  slack: FakeSlack;
  bot: BotProcess | undefined;
  /** spawns the bot; `listening` false: only spawn (for start-up failures) */
  start(options?: { env?: Record<string, string>; listening?: boolean }): Promise<BotProcess>;
  /** a real \`lync-exo agent\` process on the bot's port, driving real PowerShell on LyncSim as host \`simHost\` */
  startAgent(name: string, env: Record<string, string>, simHost: string): AgentProcess;
  agents: AgentProcess[];
  command(user: string, text: string, options?: { triggerId?: string; headers?: Record<string, string> }): Promise<{ status: number; text: string }>;
  approve(user: string, requestId: string, messageTs?: string): Promise<{ status: number; text: string }>;
  /** a click on one of a request's buttons */
  click(user: string, which: 'approve' | 'deny', requestId: string, messageTs?: string): Promise<{ status: number; text: string }>;
  sim(): SimState;
  setFaults(hang: string[]): void;
  query<T>(sql: string, ...params: unknown[]): T[];
  logs(): string;
  close(): Promise<void>;
}

let triggers = 0;

export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-process-'));
  const dataDir = path.join(dir, 'data');
  const statePath = createSimState(dir, { replicationLagSeconds: 1, ...options.sim });
  const configPath = path.join(dir, 'lync-exo.yml');
  writeFileSync(
    configPath,
    stringify({
      deployment: { name: 'contoso' },
      slack: { command: '/lync-exo', channels: [CHANNEL] },
      approval: {
        requesters: { users: [USERS.alice, USERS.bob, USERS.carol] },
        approvers: { users: Object.values(USERS), groups: [] },
        required: 1,
        expiresAfterMinutes: 60,
      },
      replication: { pollIntervalSeconds: 1, timeoutSeconds: options.replicationTimeoutSeconds ?? 30 },
      agents: {
        embedded: {
          name: 'lync01',
          roles: options.agents?.embeddedRoles ?? ['internal', 'edge'],
          module: LYNCSIM_MODULE,
          powershell: pwshExecutable() ?? 'pwsh',
          env: { LYNCSIM_STATE: statePath, LYNCSIM_HOST: SIM_FRONT_END },
          invocationTimeoutSeconds: 120,
        },
        expectedEdges: options.agents?.expectedEdges ?? ['lync01'],
        ...(options.agents ? { remote: options.agents.remote } : {}),
      },
    }),
  );
  const signingSecret = options.secrets?.signingSecret ?? SIGNING_SECRET;
  const agents: AgentProcess[] = [];
  const slack = await startFakeSlack();
  const bots: BotProcess[] = [];

  const harness: Harness = {
    dir,
    dataDir,
    dbPath: path.join(dataDir, 'lync-exo.db'),
    statePath,
    configPath,
    slack,
    bot: undefined,

    async start(startOptions = {}) {
      const port = await freePort();
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts')], {
        cwd: ROOT,
        // a process group of its own: a hard kill takes its PowerShell along
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...(process.env.DOTNET_ROLL_FORWARD ? { DOTNET_ROLL_FORWARD: process.env.DOTNET_ROLL_FORWARD } : {}),
          LYNC_EXO_SLACK_MODE: 'http',
          PORT: String(port),
          SLACK_SIGNING_SECRET: signingSecret,
          SLACK_BOT_TOKEN: options.secrets?.botToken ?? 'xoxb-0000-process-test',
          LYNC_EXO_HOST: '127.0.0.1',
          LYNC_EXO_CONFIG: configPath,
          LYNC_EXO_DATA_DIR: dataDir,
          LYNC_EXO_SLACK_API_URL: slack.url,
          LOG_LEVEL: 'info',
          ...startOptions.env,
        },
      });
      const output: string[] = [];
      child.stdout.on('data', (b: Buffer) => output.push(b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => output.push(b.toString('utf8')));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      let gone = false;
      void exited.then(() => (gone = true));
      const bot: BotProcess = {
        child,
        port,
        url: `http://127.0.0.1:${port}/slack/events`,
        output,
        exited,
        signal: (sig) => void child.kill(sig),
        async killHard() {
          try {
            process.kill(-child.pid!, 'SIGKILL');
          } catch {
            // already gone
          }
          await exited;
        },
      };
      bots.push(bot);
      harness.bot = bot;
      if (startOptions.listening !== false) {
        await waitFor(
          () => gone || output.join('').includes('slack: listening for signed HTTP requests'),
          60_000,
          'the bot to listen',
          () => output.join(''),
        );
        if (gone) throw new Error(`the bot exited during start-up:\n${output.join('')}`);
      }
      return bot;
    },

    command(user, text, commandOptions = {}) {
      const fields = { ...slashCommandFields({ user, channel: CHANNEL, text, responseUrl: slack.responseUrl('commands') }), trigger_id: commandOptions.triggerId ?? `trigger-${++triggers}-${user}` };
      return send(harness.bot!.url, new URLSearchParams(fields).toString(), { headers: commandOptions.headers, secret: signingSecret });
    },

    approve(user, requestId, messageTs) {
      return harness.click(user, 'approve', requestId, messageTs);
    },

    click(user, which, requestId, messageTs) {
      return send(harness.bot!.url, interactiveBody(blockAction({ user, channel: CHANNEL, requestId, messageTs, responseUrl: slack.responseUrl('actions') }, which)), { secret: signingSecret });
    },

    agents,

    startAgent(name, env, simHost) {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'src', 'main.ts'), 'agent'], {
        cwd: ROOT,
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          ...(process.env.DOTNET_ROLL_FORWARD ? { DOTNET_ROLL_FORWARD: process.env.DOTNET_ROLL_FORWARD } : {}),
          LYNC_EXO_BOT_URL: `http://127.0.0.1:${harness.bot!.port}`,
          LYNC_EXO_AGENT_NAME: name,
          LYNC_EXO_PWSH: pwshExecutable() ?? 'pwsh',
          LYNC_EXO_MODULE: LYNCSIM_MODULE,
          LYNC_EXO_INVOCATION_TIMEOUT_SECONDS: '60',
          LYNCSIM_STATE: statePath,
          LYNCSIM_HOST: simHost,
          LOG_LEVEL: 'debug',
          ...env,
        },
      });
      const output: string[] = [];
      child.stdout.on('data', (b: Buffer) => output.push(b.toString('utf8')));
      child.stderr.on('data', (b: Buffer) => output.push(b.toString('utf8')));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
      const agent: AgentProcess = {
        name,
        child,
        output,
        exited,
        async kill() {
          if (child.exitCode === null && child.signalCode === null) {
            try {
              process.kill(-child.pid!, 'SIGKILL');
            } catch {
              // already gone
            }
          }
          await exited;
        },
      };
      agents.push(agent);
      return agent;
    },

    sim: () => readSimState(statePath),

    setFaults(hang) {
      const state = readSimState(statePath);
      state.faults.hang = hang;
      writeFileSync(`${statePath}.tmp`, JSON.stringify(state));
      renameSync(`${statePath}.tmp`, statePath);
    },

    query<T>(sql: string, ...params: unknown[]): T[] {
      const db = new Database(harness.dbPath, { readonly: true, fileMustExist: true });
      try {
        return db.prepare(sql).all(...params) as T[];
      } finally {
        db.close();
      }
    },

    logs: () => [...bots.map((b, i) => `--- bot ${i + 1} ---\n${b.output.join('')}`), ...agents.map((a) => `--- agent ${a.name} ---\n${a.output.join('')}`)].join('\n'),

    async close() {
      for (const a of agents) await a.kill();
      for (const b of bots) await b.killHard();
      await slack.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  mkdirSync(dataDir, { recursive: true });
  return harness;
}

export interface RequestRow {
  id: string;
  status: string;
  run_id: string | null;
  message: string | null;
}

export interface RunRow {
  id: string;
  request_id: string;
  status: string;
  summary: string | null;
  steps_json: string;
}

export const requests = (h: Harness): RequestRow[] => h.query<RequestRow>('SELECT id, status, run_id, message FROM requests ORDER BY rowid');
export const runs = (h: Harness): RunRow[] => h.query<RunRow>('SELECT id, request_id, status, summary, steps_json FROM runs ORDER BY rowid');
export const locks = (h: Harness): { run_id: string }[] => h.query<{ run_id: string }>('SELECT run_id FROM locks');
export const stepStatuses = (run: RunRow): Record<string, string> =>
  Object.fromEntries((JSON.parse(run.steps_json) as { stepId: string; status: string }[]).map((s) => [s.stepId, s.status]));

/** `/lync-exo setup` by alice, then the pending request it created (waits for its plan message). */
export async function requestSetup(h: Harness): Promise<RequestRow> {
  const before = requests(h).length;
  const res = await h.command(USERS.alice, 'setup');
  if (res.status !== 200) throw new Error(`slash command: HTTP ${res.status} ${res.text}`);
  return waitFor(
    () => {
      const all = requests(h);
      const r = all.length > before ? all.at(-1) : undefined;
      return r?.message ? r : undefined;
    },
    90_000,
    'a pending request with its plan message',
    () => `${JSON.stringify(h.slack.of('respond').map((c) => c.body.text))}\n${h.logs()}`,
  );
}

/** The ts of a request's plan message, as the Approve button's message carries it. */
export const messageTs = (r: RequestRow): string | undefined => (r.message ? (JSON.parse(r.message) as { ts: string }).ts : undefined);
