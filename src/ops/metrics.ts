// Prometheus metrics (prom-client), gathered at the ports the core already talks through, so the core and the
// Slack listeners stay as they are: the service's entry points (commands), the store's audit trail (approvals,
// decisions, runs), the agents (cmdlet durations), the notifier and directory (Slack Web API errors), and gauges
// read when scraped (agents online, pending approvals, outbox depth).
import { AsyncLocalStorage } from 'node:async_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { AgentPool, Directory, Notifier, Reply, ReplyOptions, View } from '../core/ports.js';
import type { RunRecord } from '../core/records.js';
import type { Store } from '../core/store.js';
import type { Agent } from '../core/types.js';
import { ROLES } from '../core/types.js';

export interface Metrics {
  registry: Registry;
  commands: Counter<'subcommand' | 'outcome'>;
  approvals: Counter<'decision'>;
  runs: Counter<'runbook' | 'outcome'>;
  cmdletSeconds: Histogram<'cmdlet' | 'outcome'>;
  replicationWaitSeconds: Histogram<'runbook'>;
  slackErrors: Counter<'method' | 'code'>;
}

export interface MetricsSources {
  agents: () => AgentPool | undefined;
  store: () => Store | undefined;
  /** the outbox's depth, where the store keeps one */
  outboxDepth?: () => Promise<number> | number;
}

/** Audit actions that are decisions on a request, and the label they count under. */
const DECISIONS: Record<string, string> = {
  approved: 'approved',
  'approval-refused': 'refused',
  denied: 'denied',
  cancelled: 'cancelled',
  expired: 'expired',
};

export function createMetrics(sources: MetricsSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'lync_exo_' });
  const m: Metrics = {
    registry,
    commands: new Counter({
      name: 'lync_exo_commands_total',
      help: 'slash commands handled, by subcommand and outcome (ok: done; refused: answered only with a refusal; error: an internal fault)',
      labelNames: ['subcommand', 'outcome'],
      registers: [registry],
    }),
    approvals: new Counter({ name: 'lync_exo_approval_decisions_total', help: 'approvals and other decisions on requests (approved, refused, denied, cancelled, expired)', labelNames: ['decision'], registers: [registry] }),
    runs: new Counter({ name: 'lync_exo_runs_total', help: 'runs finished, by runbook and outcome', labelNames: ['runbook', 'outcome'], registers: [registry] }),
    cmdletSeconds: new Histogram({
      name: 'lync_exo_cmdlet_duration_seconds',
      help: 'time of one cmdlet call on an agent, by cmdlet and outcome',
      labelNames: ['cmdlet', 'outcome'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers: [registry],
    }),
    replicationWaitSeconds: new Histogram({
      name: 'lync_exo_replication_wait_seconds',
      help: "how long a run's replication check took (from its first read to every required replica up to date, or the timeout)",
      labelNames: ['runbook'],
      buckets: [1, 5, 10, 30, 60, 120, 300, 600],
      registers: [registry],
    }),
    slackErrors: new Counter({ name: 'lync_exo_slack_api_errors_total', help: "Slack Web API calls that failed, by method and Slack's error code", labelNames: ['method', 'code'], registers: [registry] }),
  };
  new Gauge({
    name: 'lync_exo_agents_online',
    help: 'agents online, by role',
    labelNames: ['role'],
    registers: [registry],
    collect() {
      const pool = sources.agents();
      for (const role of ROLES) this.set({ role }, pool ? pool.describe().filter((a) => a.online && a.roles.includes(role)).length : 0);
    },
  });
  new Gauge({
    name: 'lync_exo_pending_approvals',
    help: 'requests waiting for approval',
    registers: [registry],
    async collect() {
      const store = sources.store();
      this.set(store ? (await store.listPending()).length : 0);
    },
  });
  new Gauge({
    name: 'lync_exo_outbox_depth',
    help: 'Slack messages saved and not yet delivered',
    registers: [registry],
    async collect() {
      this.set(sources.outboxDepth ? await sources.outboxDepth() : 0);
    },
  });
  return m;
}

/** Slack's error code for a failed call (`not_in_channel`, `ratelimited`), or the client's own code. */
export function slackErrorCode(err: unknown): string {
  const e = err as { data?: { error?: unknown }; code?: unknown };
  if (e.data && typeof e.data.error === 'string') return e.data.error;
  return typeof e.code === 'string' ? e.code : 'unknown';
}

/** `target` with some methods replaced; every other member is the target's own, bound to it. */
export function override<T extends object>(target: T, replaced: Partial<T>): T {
  return new Proxy(target, {
    get(t, prop) {
      if (Object.prototype.hasOwnProperty.call(replaced, prop)) return replaced[prop as keyof T];
      const value: unknown = Reflect.get(t, prop, t);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
    },
  });
}

/** What one command did, seen from the ports while it ran. */
interface CommandTrace {
  posted: boolean;
  acted: boolean;
  /** it answered the person with more than a sentence (a report, a plan, history) */
  answered: boolean;
}
const trace = new AsyncLocalStorage<CommandTrace>();

/** Audit actions after which a command did what it was asked, even if it only answered privately (cancel). */
const ACTIONS = new Set(['requested', 'cancelled', 'approved', 'denied']);

/** The subcommand a command line names, or `invalid` (the service knows its vocabulary: the runbooks loaded). */
export function subcommandOf(text: string, service: { subcommandOf?(text: string): string }): string {
  return service.subcommandOf?.(text) ?? 'invalid';
}

type CommandActor = { user: string; channel: string; reply?: Reply };

/**
 * Counts each command by subcommand and outcome: ok when it posted, acted (an audited request or decision) or
 * answered with a view; refused when all it said was a sentence (a refusal, a bad option); error when it threw.
 */
export function instrumentService<S extends { command(actor: CommandActor, text: string): Promise<void>; subcommandOf?(text: string): string }>(service: S, metrics: Metrics, _commandName = '/lync-exo'): S {
  const command = service.command.bind(service);
  const replaced: Partial<S> = {};
  replaced.command = async (actor, text) => {
    const subcommand = subcommandOf(text, service);
    const t: CommandTrace = { posted: false, acted: false, answered: false };
    const reply = actor.reply;
    const traced = reply
      ? {
          ...actor,
          reply: (view: View, options?: ReplyOptions) => {
            // a notice is a sentence (a refusal, a bad option); a report, plan or history is an answer
            if (view.kind !== 'text' && view.kind !== 'notice') t.answered = true;
            return reply(view, options);
          },
        }
      : actor;
    try {
      await trace.run(t, () => command(traced, text));
    } catch (err) {
      metrics.commands.inc({ subcommand, outcome: 'error' });
      throw err;
    }
    const ok = subcommand === 'help' || t.posted || t.acted || t.answered;
    metrics.commands.inc({ subcommand, outcome: ok ? 'ok' : 'refused' });
  };
  return override(service, replaced);
}

export function instrumentNotifier(notifier: Notifier, metrics: Metrics): Notifier {
  const counted = async <T>(method: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (err) {
      metrics.slackErrors.inc({ method, code: slackErrorCode(err) });
      throw err;
    }
  };
  return {
    // options (a thread) pass through: a wrapper that drops them would post every thread reply at the top level
    post: (channel, view, options) => {
      const t = trace.getStore();
      if (t) t.posted = true;
      return counted('chat.postMessage', () => notifier.post(channel, view, options));
    },
    update: (ref, view) => counted('chat.update', () => notifier.update(ref, view)),
    ephemeral: (channel, user, text) => counted('chat.postEphemeral', () => notifier.ephemeral(channel, user, text)),
  };
}

export function instrumentDirectory(directory: Directory, metrics: Metrics): Directory {
  return {
    groupMembers: async (groupId) => {
      try {
        return await directory.groupMembers(groupId);
      } catch (err) {
        metrics.slackErrors.inc({ method: 'usergroups.users.list', code: slackErrorCode(err) });
        throw err;
      }
    },
    // names (history) and profiles (the approver's email for the audit) pass through: without them they are lost
    ...(directory.userName ? { userName: directory.userName.bind(directory) } : {}),
    ...(directory.profile
      ? {
          profile: async (userId: string) => {
            try {
              return await directory.profile!(userId);
            } catch (err) {
              metrics.slackErrors.inc({ method: 'users.info', code: slackErrorCode(err) });
              throw err;
            }
          },
        }
      : {}),
  };
}

/** Decisions and finished runs, from the audit trail the service writes anyway; replication waits from the run. */
export function instrumentStore<S extends Store>(store: S, metrics: Metrics): S {
  const saved = new Map<string, RunRecord>();
  const replaced: Partial<S> = {};
  replaced.saveRun = async (run) => {
    await store.saveRun(run);
    saved.set(run.id, run);
  };
  replaced.audit = async (record) => {
    await store.audit(record);
    const t = trace.getStore();
    if (t && ACTIONS.has(record.action)) t.acted = true;
    const decision = DECISIONS[record.action];
    if (decision) metrics.approvals.inc({ decision });
    const outcome = /^run-(succeeded|failed|refused|stopped|interrupted)$/.exec(record.action)?.[1];
    if (outcome && record.runId) {
      const run = saved.get(record.runId) ?? (await store.getRun(record.runId));
      saved.delete(record.runId);
      metrics.runs.inc({ runbook: run?.runbook ?? 'unknown', outcome });
      const wait = run?.steps.find((s) => s.kind === 'replication' && s.durationMs !== undefined);
      if (run && wait?.durationMs !== undefined) metrics.replicationWaitSeconds.observe({ runbook: run.runbook }, wait.durationMs / 1000);
    }
  };
  return override(store, replaced);
}

/** Times every cmdlet call the core makes through the pool, on whichever agent serves it. */
export function instrumentAgents(pool: AgentPool, metrics: Metrics): AgentPool {
  const wrappers = new WeakMap<Agent, Agent>();
  const wrap = (agent: Agent): Agent => {
    let w = wrappers.get(agent);
    if (!w) {
      w = override(agent, {
        invoke: async (invocation) => {
          const started = performance.now();
          const result = await agent.invoke(invocation);
          metrics.cmdletSeconds.observe({ cmdlet: invocation.cmdlet, outcome: result.ok ? 'ok' : result.error.kind }, (performance.now() - started) / 1000);
          return result;
        },
      });
      wrappers.set(agent, w);
    }
    return w;
  };
  return {
    forRole: (role) => pool.forRole(role).map(wrap),
    expected: (role) => pool.expected(role),
    describe: () => pool.describe(),
  };
}
