// Who may do what. Refusals are results with a notice for the user; when a check itself fails (Slack could not
// list a user group), the answer is no: the policy fails closed.
import { refusal, type Result } from './errors.js';
import type { Approvers } from './notices.js';
import type { Directory } from './ports.js';

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
