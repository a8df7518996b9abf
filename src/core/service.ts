// The conversation behind every adapter (Slack, console): an adapter acknowledges first, then calls in; what people
// should see comes back through the Notifier as views, and long runs go to the Scheduler. This class is the door:
// the work is in handlers.ts (one per subcommand), decisions.ts (approve, deny, cancel, expire) and runs.ts.
import { parseCommand } from './command/parse.js';
import type { Vocabulary } from './command/vocabulary.js';
import { Conversation, type Actor, type ServiceDeps } from './conversation.js';
import { approve, deny, expireDue, mayDeny } from './decisions.js';
import type { Result } from './errors.js';
import { handle } from './handlers.js';
import { checkChannel } from './policy.js';
import type { MessageRef, RunRecord } from './records.js';
import { activeRuns, recover, startDue } from './runs.js';
import { watchDue, type WatchOutcome } from './watch.js';
import type { Courier } from './outbox.js';

export { messageKey, type Actor, type Log, type ServiceDeps } from './conversation.js';

export class LyncExoService {
  private readonly c: Conversation;
  readonly courier: Courier;
  readonly vocabulary: Vocabulary;

  constructor(deps: ServiceDeps) {
    this.c = new Conversation(deps);
    this.courier = this.c.courier;
    this.vocabulary = this.c.vocabulary;
  }

  /** Where a plan was posted is kept on its request. */
  delivered(key: string, ref: MessageRef): Promise<void> {
    return this.c.delivered(key, ref);
  }

  /** Stops taking new work (shutdown). */
  stopAccepting(): void {
    this.c.accepting = false;
  }

  /** The subcommand a command line names (`invalid` when it names none), for counting. */
  subcommandOf(text: string): string {
    const parsed = parseCommand(text, this.vocabulary, this.c.commandName);
    return parsed.ok ? parsed.value.name : 'invalid';
  }

  /** A slash command, after the adapter has acknowledged it. */
  async command(actor: Actor, text: string): Promise<void> {
    const parsed = parseCommand(text, this.vocabulary, this.c.commandName);
    if (!parsed.ok) return this.c.tell(actor, parsed.error);
    const command = parsed.value;
    if (command.verb !== 'help') {
      const channel = checkChannel(this.c.deps.policy, actor.channel);
      if (!channel.ok) return this.c.tell(actor, channel.error);
    }
    return handle(this.c, actor, command);
  }

  /** Whether `actor` may deny the request: the Deny form opens only for them. */
  mayDeny(actor: Actor, requestId: string): Promise<Result> {
    return mayDeny(this.c, actor, requestId);
  }

  approve(actor: Actor, requestId: string): Promise<void> {
    return approve(this.c, actor, requestId);
  }

  deny(actor: Actor, requestId: string, reason: string): Promise<void> {
    return deny(this.c, actor, requestId, reason);
  }

  /** Closes pending requests past their expiry and updates their messages; returns how many. */
  expireDue(): Promise<number> {
    return expireDue(this.c);
  }

  /** Approved changes whose change window has opened start now; returns their request ids. */
  startDue(): Promise<string[]> {
    return startDue(this.c);
  }

  /** The drift watch, when its schedule says it is due (or `force`): posts only a changed result. */
  watchDue(force = false): Promise<WatchOutcome> {
    return watchDue(this.c, force);
  }

  /** What the periodic sweep does: expiry, changes whose window opened, the drift watch. Each failure is its own. */
  async sweep(onError: (what: string, err: unknown) => void): Promise<void> {
    await this.expireDue().catch((err: unknown) => onError('expiry', err));
    await this.startDue().catch((err: unknown) => onError('change windows', err));
    await this.watchDue().catch((err: unknown) => onError('drift watch', err));
  }

  /** Start-up recovery: interrupted runs reported, stale locks released, approved requests started. */
  recover(): Promise<{ interrupted: RunRecord[]; locks: number; started: string[] }> {
    return recover(this.c);
  }

  /** Runs in flight in this process (shutdown waits for their current step). */
  activeRuns(): RunRecord[] {
    return [...activeRuns(this.c).values()];
  }
}
