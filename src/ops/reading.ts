// An immediate, visible answer for a command that must read the deployment: when the command's first cmdlet call
// starts, "reading the deployment…" is posted in the channel, and the command's answer (the plan, the report)
// replaces it instead of arriving as a second message. A command refused before it reads anything (not allowed,
// locked, a bad option) posts nothing here: its private refusal is all there is. Reads can take many seconds on a
// real Lync host (the module import alone takes 10 s or more on a cold session); Slack showed nothing meanwhile.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AgentPool, Notifier, PostOptions, View } from '../core/ports.js';
import type { MessageRef } from '../core/records.js';
import type { Agent } from '../core/types.js';

interface Reading {
  channel: string;
  subcommand: string;
  /** the placeholder, once posted (undefined when posting it failed) */
  placeholder?: Promise<MessageRef | undefined>;
  /** the command's own answer has replaced it */
  replaced: boolean;
}

export const READING_TEXT = (subcommand: string): string => `reading the deployment for \`${subcommand}\`…`;
export const READ_PRIVATELY_TEXT = (subcommand: string): string => `read the deployment for \`${subcommand}\`; the answer went privately to the person who asked`;

export interface ReadingAnswers {
  notifier: Notifier;
  agents: AgentPool;
  /** Runs one command with its immediate answer; call it where the adapter calls the service. */
  command<T>(actor: { channel: string }, subcommand: string, work: () => Promise<T>): Promise<T>;
}

export function readingAnswers(notifier: Notifier, pool: AgentPool, log?: { warn(obj: object, msg?: string): void }): ReadingAnswers {
  const als = new AsyncLocalStorage<Reading>();

  const startPlaceholder = () => {
    const r = als.getStore();
    if (!r || r.placeholder) return;
    r.placeholder = notifier.post(r.channel, { kind: 'text', text: READING_TEXT(r.subcommand) }).catch((err: unknown) => {
      log?.warn({ err }, 'posting "reading the deployment…" failed; the answer will be posted when it is ready');
      return undefined;
    });
  };

  const wrappers = new WeakMap<Agent, Agent>();
  const wrap = (agent: Agent): Agent => {
    let w = wrappers.get(agent);
    if (!w) {
      w = new Proxy(agent, {
        get(t, prop) {
          if (prop === 'invoke') {
            return (invocation: Parameters<Agent['invoke']>[0]) => {
              startPlaceholder();
              return t.invoke(invocation);
            };
          }
          const value: unknown = Reflect.get(t, prop, t);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(t) : value;
        },
      });
      wrappers.set(agent, w);
    }
    return w;
  };

  const wrapped: Notifier = {
    async post(channel: string, view: View, options?: PostOptions): Promise<MessageRef> {
      const r = als.getStore();
      // a thread reply is never the answer that replaces the placeholder
      if (!options && r?.placeholder && !r.replaced && channel === r.channel) {
        r.replaced = true;
        const ref = await r.placeholder;
        if (ref) {
          await notifier.update(ref, view);
          return ref;
        }
      }
      return notifier.post(channel, view, options);
    },
    update: (ref, view) => notifier.update(ref, view),
    ephemeral: (channel, user, text) => notifier.ephemeral(channel, user, text),
  };

  return {
    notifier: wrapped,
    agents: { forRole: (role) => pool.forRole(role).map(wrap), expected: (role) => pool.expected(role), describe: () => pool.describe() },
    async command(actor, subcommand, work) {
      const r: Reading = { channel: actor.channel, subcommand, replaced: false };
      try {
        return await als.run(r, work);
      } finally {
        // read, then answered only privately (a failed read, a refusal after the read): say so where it showed
        if (r.placeholder && !r.replaced) {
          const ref = await r.placeholder;
          if (ref) await notifier.update(ref, { kind: 'text', text: READ_PRIVATELY_TEXT(subcommand) }).catch((err: unknown) => log?.warn({ err }, 'closing "reading the deployment…" failed'));
        }
      }
    },
  };
}
