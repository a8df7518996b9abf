// A warm start: every agent's PowerShell session starts at boot, all at once, with one read the runbooks already
// use (so it is on the allowlist and changes nothing). Importing the Lync module takes 10 s or more on a real
// host; without this, the first command after a start paid for it while Slack showed nothing. `status` shows how
// each start went.
import type { Runbooks } from '../config/runbooks.js';
import type { AgentPool } from '../core/ports.js';
import type { Agent, Invocation } from '../core/types.js';

export type WarmState = { state: 'starting'; since: number } | { state: 'ready'; ms: number; cmdlet: string } | { state: 'failed'; ms: number; error: string } | { state: 'skipped'; why: string };

/** The first read among the runbooks that runs on a role this agent serves. */
export function warmRead(agent: Pick<Agent, 'roles'>, runbooks: Runbooks): Invocation | undefined {
  for (const rb of runbooks.values()) {
    for (const spec of Object.values(rb.read)) if (agent.roles.includes(spec.role)) return { cmdlet: spec.cmdlet, parameters: spec.parameters ?? {} };
  }
  return undefined;
}

export function describeWarm(w: WarmState | undefined, now = performance.now()): string | undefined {
  if (!w) return undefined;
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  switch (w.state) {
    case 'starting':
      return `starting (${s(now - w.since)} so far)`;
    case 'ready':
      return `started at boot in ${s(w.ms)}`;
    case 'failed':
      return `failed to start at boot after ${s(w.ms)}: ${w.error}`;
    case 'skipped':
      return `not started at boot: ${w.why}`;
  }
}

export interface WarmStart {
  /** every agent's start, settled */
  done: Promise<void>;
  state(name: string): WarmState | undefined;
}

/** Starts every agent's session now, in parallel. Never rejects: a failure is a state `status` shows. */
export function warmStart(agents: readonly Agent[], runbooks: Runbooks, log?: { info(o: object, m?: string): void; warn(o: object, m?: string): void }): WarmStart {
  const states = new Map<string, WarmState>();
  const one = async (agent: Agent): Promise<void> => {
    const read = warmRead(agent, runbooks);
    if (!read) {
      states.set(agent.name, { state: 'skipped', why: 'no runbook reads on its roles' });
      return;
    }
    const since = performance.now();
    states.set(agent.name, { state: 'starting', since });
    const result = await agent.invoke(read).catch((err: unknown) => ({ ok: false as const, error: { message: (err as Error).message } }));
    const ms = performance.now() - since;
    if (result.ok) {
      states.set(agent.name, { state: 'ready', ms, cmdlet: read.cmdlet });
      log?.info({ agent: agent.name, ms: Math.round(ms), cmdlet: read.cmdlet }, `agent ${agent.name}: session started at boot`);
    } else {
      states.set(agent.name, { state: 'failed', ms, error: result.error.message });
      log?.warn({ agent: agent.name, ms: Math.round(ms), error: result.error.message }, `agent ${agent.name}: session failed to start at boot`);
    }
  };
  const done = Promise.all(agents.map(one)).then(() => undefined);
  return { done, state: (name) => states.get(name) };
}

/** The pool with each agent's warm start, and the host of those whose host is known, in what `status` shows. */
export function withWarmState(pool: AgentPool, warm: WarmStart, hosts: Record<string, string> = {}): AgentPool {
  return {
    forRole: (role) => pool.forRole(role),
    expected: (role) => pool.expected(role),
    describe: () =>
      pool.describe().map((row) => {
        const session = describeWarm(warm.state(row.name));
        const host = hosts[row.name];
        return { ...row, ...(host ? { host } : {}), ...(session ? { session } : {}) };
      }),
  };
}
