// Health and metrics for the composition root: the ports wrapped so that what passes through them is counted,
// and the routes that report it.
import type { Runbooks } from '../config/runbooks.js';
import type { AgentPool, Directory, Notifier, Reply } from '../core/ports.js';
import type { Store } from '../core/store.js';
import { opsRoutes, readiness, rolesNeeded, type OpsRoute } from './health.js';
import { createMetrics, instrumentAgents, instrumentDirectory, instrumentNotifier, instrumentService, instrumentStore, override, subcommandOf, type Metrics } from './metrics.js';
import { readingAnswers } from './reading.js';

export { startOpsServer, type OpsServer } from './health.js';
export { slackErrorCode } from './metrics.js';

export interface InstrumentedPorts<S extends Store> {
  metrics: Metrics;
  store: S;
  agents: AgentPool;
  notifier: Notifier;
  directory: Directory;
  /** the service as the Slack adapter should call it: commands counted, "reading the deployment…" shown */
  service<T extends { command(actor: { user: string; channel: string; reply?: Reply }, text: string): Promise<void>; subcommandOf?(text: string): string }>(service: T, commandName: string): T;
  /** /healthz, /readyz, /metrics */
  routes(slackConnected: () => boolean, runbooks: Runbooks): OpsRoute[];
}

export interface PortsToInstrument<S extends Store> {
  store: S;
  agents: AgentPool;
  notifier: Notifier;
  directory: Directory;
  outboxDepth?: () => Promise<number> | number;
  log?: { warn(obj: object, msg?: string): void };
}

export function instrumentPorts<S extends Store>(ports: PortsToInstrument<S>): InstrumentedPorts<S> {
  const agents = { current: undefined as AgentPool | undefined };
  const metrics = createMetrics({ agents: () => agents.current, store: () => ports.store, ...(ports.outboxDepth ? { outboxDepth: ports.outboxDepth } : {}) });
  agents.current = instrumentAgents(ports.agents, metrics);
  const reading = readingAnswers(agents.current, ports.log);
  return {
    metrics,
    store: instrumentStore(ports.store, metrics),
    agents: reading.agents,
    notifier: instrumentNotifier(ports.notifier, metrics),
    directory: instrumentDirectory(ports.directory, metrics),
    service: (service, commandName) => {
      const answering = override(service, { command: (actor, text) => reading.command(actor, subcommandOf(text, service), (a) => service.command(a, text)) } as Partial<typeof service>);
      return instrumentService(answering, metrics, commandName);
    },
    routes: (slackConnected, runbooks) => {
      const roles = rolesNeeded(runbooks);
      return opsRoutes({ metrics, ready: () => readiness({ store: ports.store, slackConnected, agents: ports.agents, roles }) });
    },
  };
}
