// A whole lync-exo behind any front end, for integration tests: the real service, an in-memory store, and two agents
// sharing one simulated deployment, `fe01` (internal) and `edge01` (edge): real PowerShell agents on LyncSim, or
// (agents: 'memory') the in-memory agent, which answers alike (test/agent/memoryContract.test.ts) in milliseconds.
// Choose memory for tests about the core and the front ends; keep PowerShell for tests about the boundary.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { createMemoryDeployment, virtualClock } from '../../src/agent/memory.js';
import { compose, type Composition } from '../../src/compose.js';
import { cmdletAllowlist, loadRunbooks } from '../../src/config/runbooks.js';
import { systemClock, type AgentPool, type Clock, type Directory, type Notifier } from '../../src/core/ports.js';
import type { PolicyConfig } from '../../src/core/policy.js';
import type { ServiceDeps } from '../../src/core/service.js';
import type { Store } from '../../src/core/store.js';
import { createSimState, createSimulatedDeployment, type SimOverrides } from '../../src/simulator.js';

export { LYNCSIM_MODULE } from '../../src/simulator.js';

export const USERS = { alice: 'U0ALICE', bob: 'U0BOB', carol: 'U0CAROL', mallory: 'U0MALLORY' } as const;
export const CHANNEL = 'C0LYNCOPS';

export function testPolicy(over: Partial<PolicyConfig> = {}): PolicyConfig {
  return {
    deployment: 'contoso',
    channels: [CHANNEL],
    requesters: { anyone: false, users: [USERS.alice, USERS.bob, USERS.carol], groups: [] },
    approvers: { users: [USERS.alice, USERS.bob, USERS.carol], groups: [] },
    required: 1,
    expiresAfterMs: 60 * 60_000,
    // the timeout only ends a hang: a 1 s lag on a loaded machine can take many slow polls (a stuck replica's test sets its own)
    replication: { pollIntervalMs: 300, timeoutMs: 60_000 },
    ...over,
  };
}

export interface WorldOptions {
  /** the channel's language: runbook step titles in it (compose's locale) */
  locale?: string;
  /** the PowerShell the agents run; not needed with agents: 'memory' */
  executable?: string;
  /**
   * powershell (default): real PowerShell agents on LyncSim. memory: the in-memory agent on the same state file
   * (so setSimNow and edits of statePath work), with a virtual clock unless `clock` is given: replication lag and
   * poll intervals cost no wall-clock time.
   */
  agents?: 'powershell' | 'memory';
  /** the core's clock (and, with memory agents, LyncSim's); default: the system clock, or a virtual one for memory */
  clock?: Clock;
  notifier: Notifier;
  directory?: Directory;
  policy?: Partial<PolicyConfig>;
  sim?: SimOverrides;
  store?: Store;
  invocationTimeoutMs?: number;
  delivery?: ServiceDeps['delivery'];
}

export interface World extends Composition {
  agents: AgentPool;
  statePath: string;
  dir: string;
  /** the clock the core runs on */
  clock: Clock;
  close(): Promise<void>;
}


export function createWorld(options: WorldOptions): World {
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-world-'));
  const runbooks = loadRunbooks();
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const memory = options.agents === 'memory';
  const clock = options.clock ?? (memory ? virtualClock() : systemClock);
  const lagSeconds = options.sim?.replicationLagSeconds ?? 1;
  const invocationTimeoutMs = options.invocationTimeoutMs ?? 30_000;
  let sim: { pool: AgentPool; statePath: string; close(): Promise<void> };
  if (memory) {
    const statePath = createSimState(dir, { ...options.sim, replicationLagSeconds: lagSeconds });
    sim = { ...createMemoryDeployment({ clock, allowlist: cmdletAllowlist(runbooks), statePath, invocationTimeoutMs }), statePath };
  } else {
    if (!options.executable) throw new Error('createWorld: a PowerShell world needs options.executable (or agents: memory)');
    sim = createSimulatedDeployment({ dir, lagSeconds, sim: options.sim, executable: options.executable, runbooks, log, invocationTimeoutMs });
  }
  let n = 0;
  const composition = compose({
    ...(options.locale ? { locale: options.locale } : {}),
    policy: testPolicy(options.policy),
    agents: sim.pool,
    notifier: options.notifier,
    directory: options.directory ?? { groupMembers: async () => [] },
    log,
    runbooks,
    store: options.store,
    clock,
    newId: (prefix) => `${prefix}-${++n}`,
    // every state a message goes through is delivered, so tests can read each one; the tests of coalescing set it
    delivery: { minIntervalMs: 0, ...options.delivery },
  });
  return {
    ...composition,
    agents: sim.pool,
    statePath: sim.statePath,
    dir,
    clock,
    async close() {
      await composition.scheduler.idle();
      composition.courier.stop();
      await sim.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
