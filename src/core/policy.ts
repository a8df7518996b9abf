// Who may do what. Refusals are results with a notice for the user; when a check itself fails (Slack could not
// list a user group), the answer is no: the policy fails closed.
import { refusal, type Result } from './errors.js';
import type { Approvers } from './notices.js';
import type { AccountMapping } from './identity.js';
import { validateTextValue } from './runbook/inputs.js';
import type { Directory } from './ports.js';
import type { ChangeWindows } from './schedule.js';

export interface PolicyConfig {
  deployment: string;
  /** channel ids where the bot answers; empty: any channel */
  channels: string[];
  requesters: { anyone: boolean; users: string[]; groups: string[] };
  approvers: { users: string[]; groups: string[] };
  required: number;
  expiresAfterMs: number;
  /** require / ignore: replica FQDNs waited for besides the Edges, and never waited for (see run/execute.ts) */
  replication: { pollIntervalMs: number; timeoutMs: number; require?: string[]; ignore?: string[] };
  /**
   * Agents with the edge role that do not run on an Edge Server (the embedded agent on a Front End), by name, with
   * the host they run on: their -LocalStore reads that host's store, which proves nothing about an Edge.
   */
  edgeStandIns?: Record<string, string>;
  /** change windows: an approved change outside them waits for the next one (schedule.ts) */
  windows?: ChangeWindows;
  /** change references (`--change CHG0012345`): whether one is required, and the pattern it must match */
  changeReference?: ChangeReferencePolicy;
  /** the AD account of a Slack user's profile email, for the audit (identity.ts) */
  accounts?: AccountMapping;
  /** the drift watch: verify on a schedule, post to the channel when the result changed (watch.ts) */
  watch?: WatchPolicy;
}

export interface ChangeReferencePolicy {
  required: boolean;
  /** a regular expression the whole reference must match, e.g. CHG[0-9]{7} */
  pattern: string;
  /** a reference that matches, shown in the refusal */
  example?: string;
}

export interface WatchPolicy {
  /** cron syntax (five fields), e.g. "0 * * * *" */
  schedule: string;
  /** the zone the schedule's hours are in; default UTC */
  timeZone?: string;
  /** where a change in the result is posted */
  channel: string;
  /** the change runbook verified; default: the default one, with the values of its last succeeded run */
  runbook?: string;
}

export type Check = Result;

const yes: Check = { ok: true, value: undefined };

async function isMember(user: string, who: { users: string[]; groups: string[] }, directory: Directory): Promise<Check | undefined> {
  if (who.users.includes(user)) return yes;
  for (const group of who.groups) {
    try {
      if ((await directory.groupMembers(group)).includes(user)) return yes;
    } catch (err) {
      return refusal({ code: 'group-unreadable', group, error: (err as Error).message });
    }
  }
  return undefined;
}

/** Who approves, by id: each front end names or mentions them its own way. */
export function approversOf(policy: PolicyConfig): Approvers {
  return { users: [...policy.approvers.users], groups: [...policy.approvers.groups] };
}

export function checkChannel(policy: PolicyConfig, channel: string): Check {
  if (policy.channels.length === 0 || policy.channels.includes(channel)) return yes;
  return refusal({ code: 'wrong-channel', channels: policy.channels });
}

export async function checkRequester(policy: PolicyConfig, user: string, directory: Directory): Promise<Check> {
  if (policy.requesters.anyone) return yes;
  return (await isMember(user, policy.requesters, directory)) ?? refusal({ code: 'not-a-requester' });
}

/** May `user` decide on a request of `requester`? `action` says which decision, for the refusal. */
export async function checkApprover(policy: PolicyConfig, user: string, requester: string, directory: Directory, action: 'approve' | 'deny' | 'cancel' = 'approve'): Promise<Check> {
  if (user === requester && action === 'approve') return refusal({ code: 'self-approval' });
  return (await isMember(user, policy.approvers, directory)) ?? refusal({ code: 'not-an-approver', action, approvers: approversOf(policy) });
}

/**
 * The change reference of a request: the one typed, checked against the policy's pattern (required or not), or the
 * refusal that names the pattern. Without a policy for references one typed is kept as given.
 */
export function checkChangeReference(policy: PolicyConfig, given: string | undefined): Result<string | undefined> {
  const rule = policy.changeReference;
  const example = rule?.example ? { example: rule.example } : {};
  if (given === undefined) return rule?.required ? refusal({ code: 'change-reference-needed', pattern: rule.pattern, ...example }) : { ok: true, value: undefined };
  const problem = validateTextValue('change', given);
  if (problem) return refusal({ code: 'bad-option', problem });
  if (rule && !new RegExp(`^(?:${rule.pattern})$`, 'u').test(given)) return refusal({ code: 'bad-change-reference', given, pattern: rule.pattern, ...example });
  return { ok: true, value: given };
}
