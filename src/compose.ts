// Composition: the pieces every front end (Slack, console, tests) wires the same way.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { PowerShellAgent } from './agent/session.js';
import { cmdletAllowlist, inLanguage, loadRunbooks, type Runbooks } from './config/runbooks.js';
import { LOCALES } from './i18n/index.js';
import { backgroundScheduler, staticAgentPool, systemClock, type AgentPool, type Clock, type Directory, type Notifier, type Scheduler } from './core/ports.js';
import type { Config } from './config/file.js';
import type { PolicyConfig } from './core/policy.js';
import type { Courier } from './core/outbox.js';
import { LyncExoService, type ServiceDeps } from './core/service.js';
import { memoryStore, type Store } from './core/store.js';
import type { Role } from './core/types.js';

export interface EmbeddedAgentOptions {
  name: string;
  roles: readonly Role[];
  executable: string;
  module: string;
  env?: Record<string, string | undefined>;
  invocationTimeoutMs?: number;
}

export function embeddedAgent(options: EmbeddedAgentOptions, runbooks: Runbooks, logger: Logger): PowerShellAgent {
  return new PowerShellAgent({ ...options, allowlist: cmdletAllowlist(runbooks), logger });
}

/** The server the embedded agent (and the bot) runs on. */
export function embeddedHost(config: Config): string {
  return config.agents.embedded.host ?? hostname();
}

/** The policy the core applies, from the validated config file (minutes and seconds become milliseconds). */
export function policyFromConfig(config: Config): PolicyConfig {
  const { approval, replication } = config;
  return {
    deployment: config.deployment.name,
    channels: config.slack.channels,
    requesters: approval.requesters,
    approvers: approval.approvers,
    required: approval.required,
    expiresAfterMs: approval.expiresAfterMinutes * 60_000,
    replication: {
      pollIntervalMs: replication.pollIntervalSeconds * 1000,
      timeoutMs: replication.timeoutSeconds * 1000,
      require: replication.require,
      ignore: replication.ignore,
    },
    // the embedded agent runs where the bot runs, never on an Edge Server
    ...(config.agents.embedded.roles.includes('edge') ? { edgeStandIns: { [config.agents.embedded.name]: embeddedHost(config) } } : {}),
    ...(config.changeWindows ? { windows: config.changeWindows } : {}),
    ...(config.changeReference ? { changeReference: config.changeReference } : {}),
    ...(config.directory ? { accounts: { ...config.directory.accounts, ...(config.accountTable ? { table: config.accountTable } : {}) } } : {}),
    ...(config.watch ? { watch: config.watch } : {}),
  };
}

export interface ComposeOptions {
  policy: PolicyConfig;
  agents: AgentPool;
  notifier: Notifier;
  directory: Directory;
  log: Logger;
  runbooks?: Runbooks;
  /** the channel's language (the policy's messages.locale, or the console's --locale): step titles are in it */
  locale?: string;
  store?: Store;
  clock?: Clock;
  scheduler?: Scheduler;
  commandName?: string;
  newId?: (prefix: 'r' | 'run') => string;
  delivery?: ServiceDeps['delivery'];
  /** several instances on one store: whether this one is the leader (runs the drift watch); absent: yes */
  isLeader?: ServiceDeps['isLeader'];
}

export interface Composition {
  service: LyncExoService;
  /** delivers the outbox: tests await courier.idle() as they await scheduler.idle() */
  courier: Courier;
  store: Store;
  scheduler: Scheduler;
  runbooks: Runbooks;
}

export function compose(options: ComposeOptions): Composition {
  const runbooks = inLanguage(options.runbooks ?? loadRunbooks(), options.locale, LOCALES);
  const store = options.store ?? memoryStore();
  const work = options.scheduler ?? backgroundScheduler((name, err) => options.log.error({ err, work: name }, 'background work failed'));
  const service = new LyncExoService({
    runbooks,
    store,
    agents: options.agents,
    notifier: options.notifier,
    directory: options.directory,
    clock: options.clock ?? systemClock,
    scheduler: work,
    policy: options.policy,
    log: options.log,
    commandName: options.commandName,
    newId: options.newId,
    delivery: options.delivery,
    ...(options.isLeader ? { isLeader: options.isLeader } : {}),
  });
  // idle: the work after each reply, and the messages it left in the outbox (unless Slack is away)
  const scheduler: Scheduler = {
    run: (name, fn) => work.run(name, fn),
    async idle() {
      await work.idle();
      await service.courier.idle();
    },
  };
  return { service, courier: service.courier, store, scheduler, runbooks };
}

export { staticAgentPool };
