// The few things the core asks of the world. Slack, the console and the tests each provide them.
import type { MessageRef, RequestRecord, RunRecord, StepResult } from './records.js';
import type { Plan } from './runbook/planner.js';
import type { Agent, Role } from './types.js';

/** What a message shows, as data. Each adapter renders it its own way (Block Kit, terminal text). */
export type View =
  | { kind: 'plan'; request: RequestRecord; rule: ApprovalRule; dryRun: boolean }
  | { kind: 'refused-plan'; runbook: string; requester: string; plan: Plan }
  | { kind: 'nothing-to-change'; runbook: string; requester: string; plan: Plan }
  | { kind: 'run'; run: RunRecord }
  | { kind: 'report'; title: string; requester: string; steps: StepResult[]; verdict?: 'pass' | 'fail'; items?: VerifyItem[]; agents?: AgentRow[] }
  | { kind: 'history'; requests: RequestRecord[]; runs: RunRecord[] }
  | { kind: 'text'; text: string };

export interface VerifyItem {
  item: string;
  expected: string;
  actual: string;
  ok: boolean;
}

/** An agent as `status` shows it. */
export interface AgentRow {
  name: string;
  roles: readonly Role[];
  online: boolean;
  lastSeen?: string;
  version?: string;
  /** the server it runs on, where known (the embedded agent: the bot's host) */
  host?: string;
  /** how its PowerShell session's start at boot went (the embedded agents) */
  session?: string;
}

export interface ApprovalRule {
  required: number;
  approvers: string;
}

export interface Notifier {
  post(channel: string, view: View): Promise<MessageRef>;
  update(ref: MessageRef, view: View): Promise<void>;
  /** A reply only `user` sees: refusals and acknowledgements. */
  ephemeral(channel: string, user: string, text: string): Promise<void>;
}

/** Who belongs to a user group (Slack: usergroups.users.list). */
export interface Directory {
  groupMembers(groupId: string): Promise<string[]>;
}

export interface Clock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Runs work after the reply; tests await `idle()` instead of guessing how long it takes. */
export interface Scheduler {
  run(name: string, work: () => Promise<void>): void;
  idle(): Promise<void>;
}

export function backgroundScheduler(onError: (name: string, err: unknown) => void): Scheduler {
  const inFlight = new Set<Promise<void>>();
  return {
    run(name, work) {
      const p = work()
        .catch((err: unknown) => onError(name, err))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    },
    async idle() {
      while (inFlight.size) await Promise.all([...inFlight]);
    },
  };
}

/** The agents that serve each role. Remote agents come and go; `expected` names Edges that must answer. */
export interface AgentPool {
  forRole(role: Role): Agent[];
  expected(role: Role): string[];
  describe(): AgentRow[];
}

export function staticAgentPool(agents: Agent[]): AgentPool {
  return {
    forRole: (role) => agents.filter((a) => a.roles.includes(role)),
    expected: () => [],
    describe: () => agents.map((a) => ({ name: a.name, roles: a.roles, online: true })),
  };
}
