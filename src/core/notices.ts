// What the core says to a person, as data: who, what, which request or run. Slack and the console turn each notice
// into words with the one labels table (src/labels.ts); the core writes no sentences of its own for people and no
// markup of any front end.
import type { DeliveryProblem } from './ports.js';
import type { LockHolder, RequestStatus, RunStatus } from './records.js';

/** A subcommand as help shows it. */
export interface UsageRow {
  name: string;
  usage: string;
  summary: string;
  approval: boolean;
  options: { name: string; placeholder: string; description: string; default: string }[];
}

export type Notice =
  // the command itself
  | { code: 'bad-command'; problem: string; usage?: string }
  | { code: 'unknown-subcommand'; word: string; guess?: string; usage?: string; known?: string[]; command?: string }
  | { code: 'bad-option'; problem: string }
  | { code: 'help'; command: string; subcommands: UsageRow[] }
  | { code: 'usage'; command: string; subcommand: UsageRow }
  // who may ask, where, and when
  | { code: 'wrong-channel'; channels: string[] }
  | { code: 'not-a-requester' }
  | { code: 'group-unreadable'; group: string; error: string }
  | { code: 'shutting-down' }
  | { code: 'locked'; holder: LockHolder }
  // change references (policy changeReference): `pattern` is the regular expression it must match
  | { code: 'change-reference-needed'; pattern: string; example?: string }
  | { code: 'bad-change-reference'; given: string; pattern: string; example?: string }
  // reading and posting
  | { code: 'read-failed'; error: string; hint?: string; planned: boolean }
  | { code: 'plan-not-posted'; problem: DeliveryProblem; channel: string; requestId: string }
  | { code: 'plan-delayed'; requestId: string; channel: string }
  // decisions
  | { code: 'no-request'; requestId: string }
  | { code: 'decide-elsewhere'; requestId: string; channel: string }
  | { code: 'not-pending'; requestId: string; status: RequestStatus | 'gone' }
  | { code: 'self-approval' }
  | { code: 'not-an-approver'; action: 'approve' | 'deny' | 'cancel'; approvers: Approvers; requester?: string; requestId?: string }
  | { code: 'expired'; requestId: string; expiresAt: string; runbook: string; command: string }
  | { code: 'already-approved'; requestId: string; more: number }
  | { code: 'approval-recorded'; requestId: string; more: number }
  | { code: 'reason-needed' }
  | { code: 'cancelled'; requestId: string }
  /** cancel of an approved change that waits for its window: it will not start */
  | { code: 'cancelled-waiting'; requestId: string; startsAt: string }
  // rollback
  | { code: 'no-run'; runId: string }
  | { code: 'nothing-to-undo'; undo: string }
  | { code: 'cannot-undo'; runId: string; runbook: string; status: RunStatus; undo: string }
  | { code: 'already-undone'; runId: string; by?: string; runbook: string; report?: string; command: string };

export type NoticeCode = Notice['code'];

/** Who approves: people and user groups, by id (each front end names or mentions them its own way). */
export interface Approvers {
  users: string[];
  groups: string[];
}

/** Why a run ended as it did, when the core decided it rather than a step (a step's failure is in the step). */
export type RunOutcome =
  | { code: 'lock-held'; holder: LockHolder }
  | { code: 'changed-since-approval'; approved: string; now: string; runbook: string; command: string }
  | { code: 'reread-failed'; error: string }
  | { code: 'internal-error'; runId: string; error: string }
  | { code: 'interrupted'; last?: string; cut: string[]; notRun: string[] };
