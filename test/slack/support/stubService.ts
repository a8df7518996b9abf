// A stand-in for the core in transport tests: it records what the adapter asked for.
import type { SlackService } from '../../../src/slack/listeners/index.js';

export type ServiceCall =
  | { call: 'command'; user: string; channel: string; text: string }
  | { call: 'approve'; user: string; channel: string; requestId: string }
  | { call: 'deny'; user: string; channel: string; requestId: string; reason: string };

export function stubService(behaviour: { fail?: Error; mayDeny?: boolean } = {}): SlackService & { calls: ServiceCall[] } {
  const calls: ServiceCall[] = [];
  const done = async () => {
    if (behaviour.fail) throw behaviour.fail;
  };
  return {
    calls,
    command: async ({ user, channel }, text) => {
      calls.push({ call: 'command', user, channel, text });
      await done();
    },
    approve: async ({ user, channel }, requestId) => {
      calls.push({ call: 'approve', user, channel, requestId });
      await done();
    },
    deny: async ({ user, channel }, requestId, reason) => {
      calls.push({ call: 'deny', user, channel, requestId, reason });
      await done();
    },
    mayDeny: async () => (behaviour.mayDeny === false ? { ok: false, error: { code: 'not-an-approver', action: 'deny', approvers: { users: ['U0BOB'], groups: [] } } } : { ok: true }),
  };
}
