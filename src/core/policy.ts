// Who may do what. Refusals are results with a sentence for the user; when a check itself fails (Slack could not
// list a user group), the answer is no: the policy fails closed.
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

export type Check = { ok: true } | { ok: false; message: string };

async function isMember(user: string, who: { users: string[]; groups: string[] }, directory: Directory): Promise<Check> {
  if (who.users.includes(user)) return { ok: true };
  for (const group of who.groups) {
    try {
      if ((await directory.groupMembers(group)).includes(user)) return { ok: true };
    } catch (err) {
      return { ok: false, message: `could not read the members of user group ${group}, so the request is refused: ${(err as Error).message}` };
    }
  }
  return { ok: false, message: '' };
}

export function describeApprovers(policy: PolicyConfig): string {
  const people = [...policy.approvers.users.map((u) => `<@${u}>`), ...policy.approvers.groups.map((g) => `<!subteam^${g}>`)];
  return people.join(', ');
}

export function checkChannel(policy: PolicyConfig, channel: string): Check {
  if (policy.channels.length === 0 || policy.channels.includes(channel)) return { ok: true };
  return { ok: false, message: `lync-exo does not take requests in this channel; use ${policy.channels.map((c) => `<#${c}>`).join(' or ')}` };
}

export async function checkRequester(policy: PolicyConfig, user: string, directory: Directory): Promise<Check> {
  if (policy.requesters.anyone) return { ok: true };
  const member = await isMember(user, policy.requesters, directory);
  if (member.ok) return member;
  return { ok: false, message: member.message || 'you are not on the list of people who may request changes with lync-exo' };
}

export async function checkApprover(policy: PolicyConfig, user: string, requester: string, directory: Directory): Promise<Check> {
  if (user === requester) return { ok: false, message: 'you made this request, so someone else must approve it' };
  const member = await isMember(user, policy.approvers, directory);
  if (member.ok) return member;
  return { ok: false, message: member.message || `you are not an approver for lync-exo (approvers: ${describeApprovers(policy)})` };
}
