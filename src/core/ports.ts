// The few things the core asks of the world. Slack, the console and the tests each provide them.
import { LyncExoError } from './errors.js';
import type { Approvers, Notice, RunOutcome } from './notices.js';
import type { MessageRef, RequestRecord, RunRecord, RunStatus, StepResult } from './records.js';
import type { Plan } from './runbook/planner.js';
import type { Agent, Role } from './types.js';

/** What a message shows, as data. Each adapter renders it its own way (Block Kit, terminal text). */
export type View =
  /** `window`: when the policy has change windows, whether one is open now (it runs when approved) or when the next opens (it waits) */
  | { kind: 'plan'; request: RequestRecord; rule: ApprovalRule; dryRun: boolean; run?: { id: string; status: RunStatus; summary?: string }; window?: WindowNote }
  | { kind: 'refused-plan'; runbook: string; requester: string; plan: Plan }
  /** `verify`: the subcommand that checks replication and the Edges for this runbook (`verify hybrid`) */
  | { kind: 'nothing-to-change'; runbook: string; requester: string; plan: Plan; verify?: string }
  /** `outcome`: why it ended, when the core decided it; `note`: what the admin must do besides (its runbook's note) */
  | { kind: 'run'; run: RunRecord; outcome?: RunOutcome; note?: string }
  /** `runbook`: the runbook reported on (verify: the one compared with); `note`: what the admin must do besides */
  /** `waiting`: approved changes waiting for their change window (status); `drift`: what the drift watch saw change (watch.ts) */
  | { kind: 'report'; title: string; runbook?: string; requester: string; steps: StepResult[]; verdict?: 'pass' | 'fail'; items?: VerifyItem[]; agents?: AgentRow[]; note?: string; waiting?: WaitingChange[]; drift?: Drift }
  | { kind: 'history'; requests: RequestRecord[]; runs: RunRecord[]; names?: Record<string, string> }
  /** more about one step of a run (a long error, the per-Edge comparison), posted in the run's thread */
  | { kind: 'detail'; runId: string; title: string; lines: string[]; part?: { n: number; of: number } }
  /** what the core says to a person (a refusal, a confirmation, help): words come from the front end's labels */
  | { kind: 'notice'; notice: Notice }
  /** a front end's own words (its placeholders, its error replies); the core never makes one */
  | { kind: 'text'; text: string };

/** A plan under change windows: open now (it runs when approved, if before closesAt), or when the next one opens. */
export type WindowNote = { open: true; closesAt: string; timeZone: string } | { open: false; opensAt: string; timeZone: string };

/** An approved change that waits for its change window; `cancel REQUEST_ID` withdraws it until it starts. */
export interface WaitingChange {
  requestId: string;
  runbook: string;
  requester: string;
  startsAt: string;
  change?: string;
}

/**
 * What the drift watch found changed since its last watch: the items whose result changed (before → now), since when
 * the previous result held, and the command that plans the way back (a button in Slack: `fix`).
 */
export interface Drift {
  /** the previous result and when it was first seen; absent on the first watch */
  previous?: { verdict: 'pass' | 'fail'; since: string; checkedAt: string };
  changed: { item: string; expected: string; before?: string; now: string; ok: boolean }[];
  /** the command line (without the slash command) that plans the change putting it right: `plan setup --cloud worldwide` */
  fix?: string;
}

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
  approvers: Approvers;
}

export interface PostOptions {
  /** post as a reply in this message's thread */
  thread?: MessageRef;
}

export interface Notifier {
  post(channel: string, view: View, options?: PostOptions): Promise<MessageRef>;
  update(ref: MessageRef, view: View): Promise<void>;
  /** A reply only `user` sees: refusals and acknowledgements. */
  ephemeral(channel: string, user: string, view: View): Promise<void>;
}

/**
 * What a failed delivery means, so the core can decide without knowing Slack: the bot cannot write there
 * (`not_in_channel`, `channel_not_found`, `is_archived`), the message is gone (`message_not_found`), slow down
 * (`rate_limited`, with how long), never going to work as sent (`rejected`), or try again later (`unavailable`).
 */
export type DeliveryProblem = 'not_in_channel' | 'channel_not_found' | 'is_archived' | 'message_not_found' | 'rate_limited' | 'rejected' | 'unavailable';

export class NotifierError extends LyncExoError {
  constructor(
    readonly problem: DeliveryProblem,
    message: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown },
  ) {
    super('delivery_failed', message, options);
    this.name = 'NotifierError';
  }
}

export const problemOf = (err: unknown): DeliveryProblem => (err instanceof NotifierError ? err.problem : 'unavailable');

/** The bot cannot write in that channel at all (not a member, cannot see it, archived): a plan there is useless. */
export function cannotPostThere(problem: DeliveryProblem): boolean {
  return problem === 'not_in_channel' || problem === 'channel_not_found' || problem === 'is_archived';
}

/** An answer to the person who typed a command or clicked, wherever they did it (Slack: the response_url). */
export type Reply = (view: View, options?: ReplyOptions) => Promise<void>;

export interface ReplyOptions {
  /** this answer takes the place of the previous one to the same person (a "reading the deployment…" note) */
  replace?: boolean;
}

/** Who belongs to a user group (Slack: usergroups.users.list). */
export interface Directory {
  groupMembers(groupId: string): Promise<string[]>;
  /** a person's display name, to name them without a mention (Slack: users.info); undefined when unknown */
  userName?(userId: string): Promise<string | undefined>;
  /** who they are in the directory (Slack: users.info, profile.email with users:read.email); undefined when unknown */
  profile?(userId: string): Promise<DirectoryProfile | undefined>;
}

export interface DirectoryProfile {
  name?: string;
  email?: string;
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
