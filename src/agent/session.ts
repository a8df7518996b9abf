// The embedded Windows agent: one long-lived PowerShell session (node-powershell) that imports the Lync module
// once and runs allowlisted cmdlets as data through powershell/LyncExoAgent.psm1.
//
// node-powershell is used for its framing only, and its rough edges are handled here:
// - NODE_POWERSHELL in our environment would override the executable: AgentShell pins the configured one.
// - a missing executable, or a child that dies, leaves a rejected promise nobody awaits (fatal on Node 20):
//   we check the executable first and attach handlers to its exit promise and streams.
// - its invocation timeout neither kills nor frees the session: we time out ourselves and kill the child.
// - any stderr byte fails a call: the prelude catches every error and answers on stdout instead.
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ChildProcess } from 'node:child_process';
import { PowerShell } from 'node-powershell';
import type { Logger } from 'pino';
import type { Agent, Invocation, InvocationFailure, InvocationResult, ParamValue, Role } from '../core/types.js';
import { checkOutput, PROJECTIONS } from './outputs.js';
import { hintFor, type HintContext } from './hints.js';
import { cleanConsoleText, encodeImportPrelude, encodeInitialize, encodeInvocation, encodeSessionKey, newInvocationId, newSessionKey, parseAnswer, type PowerShellError } from './wire.js';
import { killTree } from './killTree.js';

export const DEFAULT_PRELUDE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'powershell', 'LyncExoAgent.psm1');

export interface PowerShellAgentOptions {
  name: string;
  roles: readonly Role[];
  /** path (or name on PATH) of powershell.exe / pwsh */
  executable: string;
  /** the module to import: a name (Lync, SkypeForBusiness) or the path of a .psd1 (the simulator) */
  module: string;
  /** the only cmdlets this agent runs */
  allowlist: readonly string[];
  /** added to the child's environment (e.g. LYNCSIM_STATE, LYNCSIM_HOST) */
  env?: Record<string, string | undefined>;
  /** per cmdlet; default 120 s */
  invocationTimeoutMs?: number;
  /** per start-up command (importing the Lync module can take a while); default 120 s */
  startTimeoutMs?: number;
  logger: Logger;
  /** the prelude module; default powershell/LyncExoAgent.psm1 of this package */
  preludePath?: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;
/** how long to wait for a killed child to be reaped before giving up on it */
const KILL_WAIT_MS = 5_000;

/** Names that look like secrets stay out of the child's environment: the bot's Slack tokens are none of its business. */
const SECRET_NAME = /TOKEN|SECRET|PASSW|CREDENTIAL|API_?KEY|PRIVATE_?KEY|SIGNING|^SLACK_/i;

/** node-powershell's Shell, minus its habit of letting NODE_POWERSHELL replace the executable we chose. */
class AgentShell extends PowerShell {
  protected override setExecutable(options: { executable?: string }): string {
    if (!options.executable) throw new Error('agent shell: no executable');
    return options.executable;
  }
}

/** What node-powershell keeps private but we must handle: its exit promise and the child process. */
interface ShellInternals {
  exitPromise?: Promise<void>;
  process?: ChildProcess;
}

interface Session {
  shell: AgentShell;
  child: ChildProcess | undefined;
  /** the key this session's answers are bound with (see wire.ts) */
  key: Buffer;
  /** set when the child exits or we kill it: the next invoke starts a new session */
  dead: boolean;
  exit?: string;
}

type Sent =
  | { kind: 'done'; stdout: string; stderr: string }
  | { kind: 'exited'; message: string }
  | { kind: 'timeout' };

type Started = { ok: true; session: Session } | { ok: false; failure: InvocationFailure };

const seconds = (ms: number): string => String(Math.round(ms / 100) / 10);
const text = (b: unknown): string => (Buffer.isBuffer(b) ? b.toString('utf8') : typeof b === 'string' ? b : '');
const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err)).trim().split(/\r?\n/)[0] ?? '';

export class PowerShellAgent implements Agent {
  readonly name: string;
  readonly roles: readonly Role[];
  private readonly options: PowerShellAgentOptions;
  private readonly log: Logger;
  private readonly timeoutMs: number;
  private readonly startTimeoutMs: number;
  private session: Session | undefined;
  /** invocations run one at a time: each waits for the one before */
  private tail: Promise<unknown> = Promise.resolve();
  private closed = false;

  constructor(options: PowerShellAgentOptions) {
    this.options = options;
    this.name = options.name;
    this.roles = options.roles;
    this.timeoutMs = options.invocationTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.startTimeoutMs = options.startTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.log = options.logger.child({ agent: options.name, component: 'powershell' });
  }

  /** The PowerShell process id of the live session, if any (for diagnostics and tests). */
  get pid(): number | undefined {
    return this.session && !this.session.dead ? this.session.child?.pid : undefined;
  }

  invoke(invocation: Invocation): Promise<InvocationResult> {
    const run = this.tail.then(() => this.invokeNow(invocation));
    this.tail = run.catch(() => undefined);
    return run;
  }

  async close(): Promise<void> {
    this.closed = true;
    const session = this.session;
    this.session = undefined;
    if (session) await this.kill(session);
  }

  private async invokeNow(invocation: Invocation): Promise<InvocationResult> {
    const started = performance.now();
    const result = (r: { ok: true; output: Record<string, unknown>[]; warnings?: string[] } | { ok: false; error: InvocationFailure }): InvocationResult => {
      const durationMs = Math.round(performance.now() - started);
      this.log.debug(
        { cmdlet: invocation.cmdlet, parameters: summarize(invocation.parameters), durationMs, ok: r.ok, ...(r.ok ? { items: r.output.length } : { kind: r.error.kind, errorId: r.error.errorId }) },
        'powershell invocation',
      );
      return { ...r, durationMs, agent: this.name };
    };
    const cmdlet = String(invocation.cmdlet);
    try {
      if (this.closed) return result({ ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${this.name} is closed` } });
      const id = newInvocationId();
      const encoded = encodeInvocation(invocation, this.options.allowlist, id);
      if (!encoded.ok) return result({ ok: false, error: { kind: 'refused', message: encoded.message } });

      const start = await this.ensureSession(cmdlet);
      if (!start.ok) return result({ ok: false, error: start.failure });
      const session = start.session;

      const sent = await this.send(session, encoded.line, this.timeoutMs);
      if (sent.kind === 'timeout') {
        this.log.warn({ cmdlet, timeoutMs: this.timeoutMs, childPid: session.child?.pid }, 'powershell invocation timed out: killing the session');
        await this.drop(session);
        return result({ ok: false, error: { kind: 'timeout', message: `${cmdlet}: timed out after ${seconds(this.timeoutMs)} s on agent ${this.name}` } });
      }
      if (sent.kind === 'exited') {
        await this.drop(session);
        return result({ ok: false, error: { kind: 'agent', message: `${cmdlet}: powershell exited on agent ${this.name}: ${sent.message}` } });
      }
      return result(this.interpret(invocation, sent, id, session.key));
    } catch (err) {
      // Anything unexpected is this agent's fault, reported as a result: the core never sees a rejection.
      this.log.error({ err, cmdlet }, 'powershell invocation: unexpected error');
      return result({ ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${this.name}: ${errorText(err)}` } });
    }
  }

  /** The envelope (or its absence) → a result; PowerShell errors get their hint. */
  private interpret(
    invocation: Invocation,
    sent: { stdout: string; stderr: string },
    id: string,
    key: Buffer,
  ): { ok: true; output: Record<string, unknown>[]; warnings?: string[] } | { ok: false; error: InvocationFailure } {
    const cmdlet = invocation.cmdlet;
    const parsed = parseAnswer(sent.stdout, id, key);
    const stderr = cleanConsoleText(sent.stderr);
    if (!parsed.ok) {
      // The prelude never writes to stderr: text there without an answer is the console's own error (a crash).
      if (stderr) return { ok: false, error: { kind: 'powershell', message: `${cmdlet}: powershell wrote an error on agent ${this.name}: ${stderr.slice(0, 500)}` } };
      return { ok: false, error: { kind: 'agent', message: `${cmdlet}: agent ${this.name}: ${parsed.message}` } };
    }
    if (!parsed.envelope.ok) return { ok: false, error: this.powershellFailure(cmdlet, parsed.envelope.error) };
    if (parsed.noise > 0) this.log.debug({ cmdlet, lines: parsed.noise }, 'powershell wrote lines besides the answer');
    const checked = checkOutput(cmdlet, parsed.envelope.output, invocation.parameters);
    if (!checked.ok) return { ok: false, error: { kind: 'output', message: checked.message } };
    const warnings = [...(parsed.envelope.warnings ?? [])];
    // A module that wrote to stderr itself (not through an error record) did not fail the cmdlet, which answered:
    // what it wrote is shown to the team as a warning, never dropped.
    if (stderr) {
      this.log.warn({ cmdlet, stderr: stderr.slice(0, 2000) }, 'powershell wrote to stderr');
      warnings.push(stderr.slice(0, 500));
    }
    return warnings.length > 0 ? { ok: true, output: checked.output, warnings } : { ok: true, output: checked.output };
  }

  private powershellFailure(cmdlet: string, e: PowerShellError): InvocationFailure {
    return failureFrom('powershell', `${cmdlet}: ${e.message}`, e, { cmdlet, module: this.options.module, agent: this.name });
  }

  /** The live session, or a new one: spawn, import the prelude, import the Lync module. Never throws. */
  private async ensureSession(cmdlet: string): Promise<Started> {
    if (this.session && !this.session.dead) return { ok: true, session: this.session };
    this.session = undefined;
    const fail = (message: string, extra: Partial<InvocationFailure> = {}): Started => ({ ok: false, failure: { kind: 'agent', message: `${cmdlet}: ${message}`, ...extra } });

    const executable = findExecutable(this.options.executable);
    if (!executable) return fail(`powershell executable not found: ${this.options.executable}`);
    const initId = newInvocationId();
    const init = encodeInitialize(this.options.module, this.options.allowlist, PROJECTIONS, initId);
    if (!init.ok) return fail(`agent ${this.name}: ${init.message}`);

    let session: Session;
    try {
      session = this.spawn(executable);
    } catch (err) {
      return fail(`agent ${this.name}: starting ${executable}: ${errorText(err)}`);
    }
    const step = async (what: string, line: string, strict: boolean): Promise<{ ok: true; stdout: string } | { ok: false; failure: InvocationFailure }> => {
      const sent = await this.send(session, line, this.startTimeoutMs);
      if (sent.kind === 'timeout') return { ok: false, failure: { kind: 'timeout', message: `${cmdlet}: ${what} timed out after ${seconds(this.startTimeoutMs)} s on agent ${this.name}` } };
      if (sent.kind === 'exited') return { ok: false, failure: { kind: 'agent', message: `${cmdlet}: ${what} on agent ${this.name}: powershell exited: ${sent.message}` } };
      // Our own lines write nothing to stderr; the module's import may (its warnings), and answers for itself.
      const stderr = cleanConsoleText(sent.stderr);
      if (strict && stderr) return { ok: false, failure: { kind: 'agent', message: `${cmdlet}: ${what} on agent ${this.name}: ${stderr.split(/\r?\n/)[0] ?? ''}` } };
      return { ok: true, stdout: sent.stdout };
    };

    const prelude = this.options.preludePath ?? DEFAULT_PRELUDE;
    const imported = await step('importing the agent prelude', encodeImportPrelude(prelude), true);
    if (!imported.ok) {
      await this.kill(session);
      return { ok: false, failure: imported.failure };
    }
    const keyed = await step('giving the session its key', encodeSessionKey(session.key), true);
    if (!keyed.ok || !/^lx1k ok$/m.test(cleanConsoleText(keyed.stdout))) {
      await this.kill(session);
      return keyed.ok ? fail(`giving the session its key on agent ${this.name}: the prelude did not accept it`) : { ok: false, failure: keyed.failure };
    }
    const initialized = await step(`importing module ${this.options.module}`, init.line, false);
    if (!initialized.ok) {
      await this.kill(session);
      return { ok: false, failure: initialized.failure };
    }
    const parsed = parseAnswer(initialized.stdout, initId, session.key);
    // On failure kill it: the next invoke tries again from scratch, so a host fixed in the meantime recovers.
    if (!parsed.ok) {
      await this.kill(session);
      return fail(`importing module ${this.options.module} on agent ${this.name}: ${parsed.message}`);
    }
    if (!parsed.envelope.ok) {
      await this.kill(session);
      const e = parsed.envelope.error;
      this.log.warn({ module: this.options.module, category: e.category, errorId: e.errorId }, 'powershell session: module import failed');
      const message = `${cmdlet}: importing module ${this.options.module} on agent ${this.name}: ${e.message}`;
      return { ok: false, failure: failureFrom('agent', message, e, { module: this.options.module, agent: this.name }) };
    }
    this.log.debug({ childPid: session.child?.pid, module: parsed.envelope.output[0] }, 'powershell session started');
    this.session = session;
    return { ok: true, session };
  }

  private spawn(executable: string): Session {
    const shell = new AgentShell({
      executable,
      executableOptions: { '-NoProfile': true, '-NonInteractive': true },
      spawnOptions: { env: childEnv(process.env, this.options.env) },
      throwOnInvocationError: false,
    });
    const internals = shell as unknown as ShellInternals;
    const session: Session = { shell, child: internals.process, key: newSessionKey(), dead: false };
    // Handled here so that a child that fails to start or dies never becomes an unhandled rejection/exception.
    internals.exitPromise?.catch(() => undefined);
    shell.streams.stdin.on('error', () => undefined);
    session.child?.on('error', (err) => {
      session.dead = true;
      session.exit = errorText(err);
    });
    session.child?.on('exit', (code, signal) => {
      session.dead = true;
      session.exit = signal ? `signal ${signal}` : `exit code ${code ?? '?'}`;
      if (this.session === session) this.log.warn({ childPid: session.child?.pid, exit: session.exit }, 'powershell session ended');
    });
    return session;
  }

  /** One line to the session, bounded by our own timer (node-powershell's timeout leaves the command running). */
  private async send(session: Session, line: string, timeoutMs: number): Promise<Sent> {
    if (session.dead) return { kind: 'exited', message: session.exit ?? 'not running' };
    const call: Promise<Sent> = session.shell.invoke(line).then(
      (r): Sent => ({ kind: 'done', stdout: text(r.stdout), stderr: text(r.stderr) }),
      (err: unknown): Sent => ({ kind: 'exited', message: session.exit ?? errorText(err) }),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<Sent>((resolve) => {
      timer = setTimeout(() => resolve({ kind: 'timeout' }), timeoutMs);
    });
    try {
      return await Promise.race([call, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async drop(session: Session): Promise<void> {
    if (this.session === session) this.session = undefined;
    await this.kill(session);
  }

  /** Kills the child and its children for real (SIGKILL: a hung cmdlet ignores politeness) and waits, boundedly, for it to go. */
  private async kill(session: Session): Promise<void> {
    session.dead = true;
    const child = session.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        // the whole tree: the .NET tool's pwsh launcher has dotnet as its child (killTree.ts)
        if (child.pid !== undefined) killTree(child.pid);
        else child.kill('SIGKILL');
      } catch (err) {
        this.log.warn({ err, childPid: child.pid }, 'powershell session: kill');
      }
    }
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      session.shell.dispose('SIGKILL').catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, KILL_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }
}

/** A failure carrying PowerShell's error fields and, for known failures, the operator hint. */
function failureFrom(kind: InvocationFailure['kind'], message: string, e: PowerShellError, context: HintContext): InvocationFailure {
  const failure: InvocationFailure = { kind, message };
  if (e.category) failure.category = e.category;
  if (e.errorId) failure.errorId = e.errorId;
  if (e.exceptionType) failure.exceptionType = e.exceptionType;
  const hint = hintFor(e, context);
  if (hint) failure.hint = hint;
  return failure;
}

/** The configured executable as an absolute path, or undefined when there is no such runnable file. */
export function findExecutable(executable: string, pathEnv = process.env.PATH ?? ''): string | undefined {
  const runnable = (file: string): boolean => {
    try {
      if (!statSync(file).isFile()) return false;
      accessSync(file, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  };
  if (!executable) return undefined;
  if (path.isAbsolute(executable) || executable.includes('/') || executable.includes('\\')) {
    const full = path.resolve(executable);
    return runnable(full) ? full : undefined;
  }
  const suffixes = process.platform === 'win32' ? ['', ...(process.env.PATHEXT ?? '.EXE;.CMD;.BAT;.COM').split(';')] : [''];
  for (const dir of pathEnv.split(path.delimiter)) {
    if (!dir) continue;
    for (const suffix of suffixes) {
      const candidate = path.join(dir, executable + suffix);
      if (runnable(candidate)) return candidate;
    }
  }
  return undefined;
}

/**
 * What the console host must not inherit from the bot's environment: with TERM unset or xterm*, pwsh 7 on Linux
 * writes keypad-mode escapes (ESC[?1h ESC[?1l) around its output; colour and progress rendering do the same.
 */
export const CONSOLE_ENV: Readonly<Record<string, string>> = {
  TERM: 'dumb',
  NO_COLOR: '1',
  POWERSHELL_TELEMETRY_OPTOUT: '1',
  POWERSHELL_UPDATECHECK: 'Off',
};

/** The child's environment: ours without secret-looking names, a plain console, plus the configured additions. */
export function childEnv(parent: NodeJS.ProcessEnv, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(parent)) {
    if (value !== undefined && !SECRET_NAME.test(key)) env[key] = value;
  }
  Object.assign(env, CONSOLE_ENV);
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

/** Parameters for the debug log: names and values, long strings cut short. */
function summarize(parameters: Record<string, ParamValue>): Record<string, ParamValue> {
  const out: Record<string, ParamValue> = {};
  for (const [key, value] of Object.entries(parameters ?? {})) {
    out[key] = typeof value === 'string' && value.length > 200 ? `${value.slice(0, 200)}... (${value.length} chars)` : value;
  }
  return out;
}
