// One line typed at the console, turned into a call on the same LyncExoService the Slack adapter calls: the slash
// command text goes to service.command, `approve` and `deny` stand in for the buttons. The console's own words
// are `as NAME`, `help` and `quit`; anything else is handed to the service, whose parser answers every input.
// Each line returns only when the work it started (a run) is finished, so output never interleaves with a prompt.
import type { Scheduler } from '../core/ports.js';
import type { LyncExoService } from '../core/service.js';
import type { Store } from '../core/store.js';
import type { ConsoleNotifier } from './notifier.js';

export interface ConsoleSessionOptions {
  service: LyncExoService;
  store: Store;
  scheduler: Scheduler;
  notifier: ConsoleNotifier;
  channel: string;
  /** the acting user at start */
  user: string;
  /** the people the policy names: `as` warns about anybody else */
  users: readonly string[];
  /** the slash command as people type it */
  command: string;
}

export type LineOutcome = 'continue' | 'quit';

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const REQUEST_ID = /^r-[0-9a-z]+$/i;

export class ConsoleSession {
  user: string;

  constructor(private readonly o: ConsoleSessionOptions) {
    this.user = o.user;
  }

  get prompt(): string {
    return `${this.user}> `;
  }

  private get actor() {
    return { user: this.user, channel: this.o.channel };
  }

  private say(text: string): Promise<void> {
    return this.o.notifier.ephemeral(this.o.channel, this.user, { kind: 'text', text });
  }

  /** The console's own commands, then the subcommands from the vocabulary (through the service, like Slack's help). */
  consoleHelp(): string {
    return [
      'console commands:',
      '  as NAME                  act as NAME from now on (the prompt shows who you are)',
      `  ${this.o.command} SUBCOMMAND …   what Slack users type; the leading ${this.o.command} may be left out`,
      '  approve [REQUEST_ID]     the Approve button (no id: the latest pending request)',
      '  deny [REQUEST_ID] REASON the Deny button with its reason (no id: the latest pending request)',
      '  help                     this text and the subcommands',
      '  quit                     leave (end of input does the same)',
    ].join('\n');
  }

  /** Handles one line; resolves when everything it started is done. */
  async handle(raw: string): Promise<LineOutcome> {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return 'continue';
    // the console has no timer: requests past their expiry are closed before each line, as the bot's sweep would
    await this.o.service.expireDue();
    const [word = '', ...rest] = line.split(/\s+/);
    const lower = word.toLowerCase();
    if (lower === 'quit' || lower === 'exit') return 'quit';
    if (lower === 'help' || lower === '?') {
      await this.say(this.consoleHelp());
      await this.o.service.command(this.actor, 'help');
    } else if (lower === 'as') await this.switchUser(rest);
    else if (lower === 'approve') await this.decide('approve', rest);
    else if (lower === 'deny') await this.decide('deny', rest);
    else await this.o.service.command(this.actor, lower === this.o.command ? rest.join(' ') : line);
    await this.o.scheduler.idle();
    return 'continue';
  }

  private async switchUser(args: string[]): Promise<void> {
    const name = args[0];
    if (args.length !== 1 || !name || !USER_NAME.test(name)) return this.say(`usage: as NAME (people in the policy: ${this.o.users.join(', ')})`);
    this.user = name;
    if (!this.o.users.includes(name)) return this.say(`you are ${name} now; the policy does not name ${name}, so expect refusals (people in the policy: ${this.o.users.join(', ')})`);
  }

  /**
   * `approve [ID]`, `deny [ID] REASON`. Without an id, the latest pending request. A first word of `deny` is an id
   * when it looks like one (r-…) or names a request; otherwise it starts the reason. A mistyped id is never taken
   * for "the latest": the service answers that there is no such request.
   */
  private async decide(what: 'approve' | 'deny', args: string[]): Promise<void> {
    const first = args[0];
    const named = first !== undefined && (what === 'approve' || REQUEST_ID.test(first) || (await this.o.store.getRequest(first)) !== undefined);
    if (named) {
      if (what === 'approve') return args.length === 1 ? this.o.service.approve(this.actor, first) : this.say('usage: approve [REQUEST_ID]');
      return this.o.service.deny(this.actor, first, args.slice(1).join(' '));
    }
    const pending = await this.o.store.listPending();
    const latest = pending.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id, undefined, { numeric: true }))[0];
    if (!latest) return this.say(`there is no pending request to ${what}`);
    if (what === 'approve') return this.o.service.approve(this.actor, latest.id);
    return this.o.service.deny(this.actor, latest.id, args.join(' '));
  }
}
