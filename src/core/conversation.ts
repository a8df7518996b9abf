// What every part of the flow shares: the dependencies, the runbooks and the vocabulary, and the ways to answer a
// person (a notice or a view, wherever they asked), to show a message (into the outbox) and to audit a step.
import { randomBytes } from 'node:crypto';
import { buildVocabulary, type Vocabulary } from './command/vocabulary.js';
import { LyncExoError } from './errors.js';
import { directoryFields, identify, type Identity } from './identity.js';
import type { Notice, RunOutcome } from './notices.js';
import { Courier, type CourierOptions } from './outbox.js';
import { approversOf, type PolicyConfig } from './policy.js';
import type { AgentPool, Clock, Directory, Notifier, Reply, Scheduler, View } from './ports.js';
import type { MessageRef, RequestRecord, RunRecord } from './records.js';
import type { RunContext } from './run/execute.js';
import { fillIn } from './runbook/inputs.js';
import type { Runbook, RunbookKind } from './runbook/schema.js';
import { windowState } from './schedule.js';
import type { Store } from './store.js';

/** pino's shape, so the core can log without importing it. */
export interface Log {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
  child(bindings: Record<string, unknown>): Log;
}

export interface ServiceDeps {
  runbooks: ReadonlyMap<string, Runbook>;
  store: Store;
  agents: AgentPool;
  notifier: Notifier;
  directory: Directory;
  clock: Clock;
  scheduler: Scheduler;
  policy: PolicyConfig;
  log: Log;
  /**
   * Whether this instance does the work only one instance may do (the drift watch). Absent: yes (one SQLite instance
   * per store); several instances on one store (issue 15) answer from their leader election.
   */
  isLeader?: () => boolean | Promise<boolean>;
  /** the slash command as people type it, for help and hints */
  commandName?: string;
  newId?: (prefix: 'r' | 'run') => string;
  /** how the outbox is delivered (coalescing interval, backoff, a test clock) */
  delivery?: Partial<Pick<CourierOptions, 'minIntervalMs' | 'maxAgeMs' | 'backoffMs' | 'maxBackoffMs' | 'now' | 'setTimer'>>;
}

export interface Actor {
  user: string;
  channel: string;
  /** answers this person wherever they typed or clicked (Slack: the response_url); else an ephemeral in `channel` */
  reply?: Reply;
}

/** Outbox keys: one per message. A run's message is a reply in its request's thread. */
export const messageKey = {
  request: (id: string) => `request:${id}`,
  run: (id: string) => `run:${id}`,
  detail: (runId: string, n: number) => `run:${runId}:detail:${n}`,
};

const defaultId = (prefix: string) => `${prefix}-${randomBytes(3).toString('hex')}`;

export class Conversation {
  readonly newId: (prefix: 'r' | 'run') => string;
  readonly commandName: string;
  readonly vocabulary: Vocabulary;
  readonly courier: Courier;
  /** false once the process is shutting down: no new changes */
  accepting = true;

  constructor(readonly deps: ServiceDeps) {
    this.newId = deps.newId ?? defaultId;
    this.commandName = deps.commandName ?? '/lync-exo';
    this.vocabulary = buildVocabulary(deps.runbooks);
    this.courier = new Courier({
      store: deps.store,
      notifier: deps.notifier,
      log: deps.log,
      now: () => deps.clock.now().getTime(),
      ...deps.delivery,
      onDelivered: (key, ref) => this.delivered(key, ref),
    });
  }

  /** Where a plan was posted is kept on its request (history, recovery and the process tests read it). */
  async delivered(key: string, ref: MessageRef): Promise<void> {
    if (key.startsWith('request:')) await this.deps.store.setRequestMessage(key.slice('request:'.length), ref);
  }

  runbook(name: string): Runbook {
    const rb = this.deps.runbooks.get(name);
    if (!rb) throw new LyncExoError('internal', `runbook ${name} is not loaded`);
    return rb;
  }

  /** The runbook of a kind (the undo runbook, the first report runbook), if one is loaded. */
  runbookOfKind(kind: RunbookKind): Runbook | undefined {
    return [...this.deps.runbooks.values()].find((rb) => rb.kind === kind);
  }

  get runContext(): Omit<RunContext, 'progress'> {
    return { agents: this.deps.agents, clock: this.deps.clock, replication: this.deps.policy.replication, edgeStandIns: this.deps.policy.edgeStandIns };
  }

  now(): Date {
    return this.deps.clock.now();
  }

  /** A notice to the person; a failure to deliver it is logged, never a reason to stop what was decided. */
  tell(actor: Actor, notice: Notice): Promise<void> {
    return this.answer(actor, { kind: 'notice', notice });
  }

  /** A view for the person who asked (dry runs, refused plans, verify, status, history): wherever they asked. */
  async answer(actor: Actor, view: View): Promise<void> {
    try {
      if (actor.reply) await actor.reply(view);
      else if (view.kind === 'notice' || view.kind === 'text') await this.deps.notifier.ephemeral(actor.channel, actor.user, view);
      else await this.deps.notifier.post(actor.channel, view);
    } catch (err) {
      this.deps.log.warn({ err, user: actor.user, channel: actor.channel, view: view.kind }, `reply to ${actor.user}: could not be delivered`);
    }
  }

  /** The latest view of a message, into the outbox: a store write, never a wait for Slack. */
  show(key: string, channel: string, view: View, parent?: string): Promise<void> {
    return this.courier.put({ key, channel, view, ...(parent ? { parent } : {}) });
  }

  /** Who `user` is in the directory now (email, AD account), for the audit and the approval. */
  identify(user: string): Promise<Identity> {
    return identify(this.deps.directory, this.deps.policy.accounts, user, (err) => this.deps.log.warn({ err, user }, 'directory: no profile for the audit'));
  }

  /** `who`: the actor's directory identity, kept with the record; `change`: the change reference it concerns. */
  async audit(actor: string, action: string, extra: { channel?: string; requestId?: string; runId?: string; fingerprint?: string; detail?: string; change?: string; who?: Identity } = {}): Promise<void> {
    const { who, change, ...rest } = extra;
    const record = { at: this.now().toISOString(), actor, action, ...rest, ...(who ? directoryFields(who) : {}), ...(change ? { change } : {}) };
    this.deps.log.info({ audit: record }, `audit: ${action}`);
    await this.deps.store.audit(record);
  }

  /** Who holds the deployment's lock, as a notice, when someone does. */
  async locked(): Promise<Notice | undefined> {
    const holder = await this.deps.store.getLock(this.deps.policy.deployment);
    return holder && { code: 'locked', holder };
  }

  planView(request: RequestRecord, dryRun: boolean, run?: RunRecord): View {
    const windows = this.deps.policy.windows;
    const state = windows && !run && request.status !== 'denied' && request.status !== 'cancelled' && request.status !== 'expired' ? windowState(windows, this.now()) : undefined;
    return {
      kind: 'plan',
      request,
      dryRun,
      ...(state && windows ? { window: state.open ? { open: true, closesAt: state.closesAt.toISOString(), timeZone: windows.timeZone } : { open: false, opensAt: request.startsAt ?? state.opensAt.toISOString(), timeZone: windows.timeZone } } : {}),
      rule: { required: this.deps.policy.required, approvers: approversOf(this.deps.policy) },
      ...(run ? { run: { id: run.id, status: run.status, ...(run.summary ? { summary: run.summary } : {}) } } : {}),
    };
  }

  /** The plan message shows the request's decision (and its run's outcome): queued, delivered when Slack answers. */
  async refreshPlanMessage(request: RequestRecord, run?: RunRecord): Promise<void> {
    const current = (await this.deps.store.getRequest(request.id)) ?? request;
    await this.show(messageKey.request(current.id), current.channel, this.planView(current, false, run));
  }

  /** The run's message: the record, why it ended (when the core decided it) and its runbook's note. */
  showRun(run: RunRecord, outcome?: RunOutcome): Promise<void> {
    const runbook = this.deps.runbooks.get(run.runbook);
    const note = runbook?.note ? fillIn(runbook.note, run.values) : undefined;
    return this.show(messageKey.run(run.id), run.channel, { kind: 'run', run, ...(outcome ? { outcome } : {}), ...(note ? { note } : {}) }, messageKey.request(run.requestId));
  }
}
