// An immediate, visible answer for a command that must read the deployment: when the command's first cmdlet call
// starts, "reading the deployment…" goes to the person who asked (through the same reply as the answer: in Slack,
// the command's response_url), and the command's own answer replaces it. A command refused before it reads
// anything (not allowed, locked, a bad option) shows nothing here: its refusal is all there is. A command whose
// answer goes to the channel (a plan) closes the note with a line saying so. Reads can take many seconds on a real
// Lync host (the module import alone takes 10 s or more on a cold session); Slack showed nothing meanwhile.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { AgentPool, Reply } from '../core/ports.js';
import type { Agent } from '../core/types.js';
import { override } from './metrics.js';

interface Reading {
  reply: Reply;
  subcommand: string;
  /** the note, once sent: resolves true when it was delivered (and so can be replaced) */
  placeholder?: Promise<boolean>;
  /** the command's own answer has replaced it */
  replaced: boolean;
}

export const READING_TEXT = (subcommand: string): string => `reading the deployment for \`${subcommand}\`…`;
export const READ_DONE_TEXT = (subcommand: string): string => `read the deployment for \`${subcommand}\`; the answer is posted in the channel`;

export interface ReadingAnswers {
  agents: AgentPool;
  /** Runs one command with its immediate answer; call it where the adapter calls the service. */
  command<A extends { reply?: Reply }, T>(actor: A, subcommand: string, work: (actor: A) => Promise<T>): Promise<T>;
}

export function readingAnswers(pool: AgentPool, log?: { warn(obj: object, msg?: string): void }): ReadingAnswers {
  const als = new AsyncLocalStorage<Reading>();

  const startPlaceholder = () => {
    const r = als.getStore();
    if (!r || r.placeholder) return;
    r.placeholder = r.reply({ kind: 'text', text: READING_TEXT(r.subcommand) }).then(
      () => true,
      (err: unknown) => {
        log?.warn({ err }, 'sending "reading the deployment…" failed; the answer is sent when it is ready');
        return false;
      },
    );
  };

  const wrappers = new WeakMap<Agent, Agent>();
  const wrap = (agent: Agent): Agent => {
    let w = wrappers.get(agent);
    if (!w) {
      w = override(agent, {
        invoke: (invocation) => {
          startPlaceholder();
          return agent.invoke(invocation);
        },
      });
      wrappers.set(agent, w);
    }
    return w;
  };

  return {
    agents: { forRole: (role) => pool.forRole(role).map(wrap), expected: (role) => pool.expected(role), describe: () => pool.describe() },
    async command(actor, subcommand, work) {
      const reply = actor.reply;
      // no reply to answer through (the console): nothing to show early
      if (!reply) return work(actor);
      const r: Reading = { reply, subcommand, replaced: false };
      const answering: Reply = async (view, options) => {
        if (r.placeholder && !r.replaced) {
          r.replaced = true;
          if (await r.placeholder) return reply(view, { ...options, replace: true });
        }
        return reply(view, options);
      };
      try {
        return await als.run(r, () => work({ ...actor, reply: answering }));
      } finally {
        // read, then answered in the channel only (a plan): the note says where the answer is
        if (r.placeholder && !r.replaced && (await r.placeholder)) {
          await reply({ kind: 'text', text: READ_DONE_TEXT(subcommand) }, { replace: true }).catch((err: unknown) => log?.warn({ err }, 'closing "reading the deployment…" failed'));
        }
      }
    },
  };
}
