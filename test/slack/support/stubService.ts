// A stand-in for the core in transport tests: it records what the adapter asked for.
import type { SlackService } from '../../../src/slack/listeners/index.js';

export type ServiceCall =
  | { call: 'command'; user: string; channel: string; text: string }
  | { call: 'approve'; user: string; channel: string; requestId: string }
  | { call: 'deny'; user: string; channel: string; requestId: string; reason: string };

export function stubService(behaviour: { fail?: Error } = {}): SlackService & { calls: ServiceCall[] } {
  const calls: ServiceCall[] = [];
  const done = async () => {
    if (behaviour.fail) throw behaviour.fail;
  };
  return {
    calls,
    command: async (actor, text) => {
      calls.push({ call: 'command', ...actor, text });
      await done();
    },
    approve: async (actor, requestId) => {
      calls.push({ call: 'approve', ...actor, requestId });
      await done();
    },
    deny: async (actor, requestId, reason) => {
      calls.push({ call: 'deny', ...actor, requestId, reason });
      await done();
    },
  };
}
