// The courier: brings messages up to date from the store's outbox, off every decision's and every run's path. The
// core puts the latest view of a message (a store write) and goes on; the courier posts or updates it when it can:
//   - one delivery at a time, oldest message first; a thread reply waits for its parent's first post;
//   - per message at most one delivery every `minIntervalMs` (the latest view wins; chat.update is Tier 3);
//   - a 429's Retry-After pauses every delivery that long; an outage (5xx, reset, timeout) backs off 1 s, 2 s, 4 s
//     ... up to a minute, for all deliveries at once, so a Slack outage costs one call a minute, not one per message;
//   - a message deleted in Slack is posted again; a channel the bot cannot write to, or a message Slack will never
//     accept, is dropped with an error log (the record stays in the store and `history` shows it);
//   - an entry undelivered for `maxAgeMs` (a day) is dropped with an error log.
// The outbox is in the store, so what was not delivered before a restart is delivered after it.
import { problemOf, type DeliveryProblem, type Notifier } from './ports.js';
import type { MessageRef } from './records.js';
import type { Log } from './service.js';
import type { OutboxEntry, OutboxPut, Store } from './store.js';

export type Delivery = { ok: true; ref: MessageRef } | { ok: false; problem: DeliveryProblem; error: string };

export interface CourierOptions {
  store: Store;
  notifier: Notifier;
  log: Log;
  /** epoch ms; the clock's by default (tests move it to make a backoff pass) */
  now: () => number;
  /** at most one delivery per message in this interval (default 3 s) */
  minIntervalMs?: number;
  /** how long an undelivered entry is kept trying (default 24 h) */
  maxAgeMs?: number;
  /** first backoff after an outage, doubled per failure up to `maxBackoffMs` (defaults 1 s and 60 s) */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** a timer; setTimeout (unref'd) by default */
  setTimer?: (ms: number, fn: () => void) => () => void;
  /** after each successful delivery (the service records where a plan was posted) */
  onDelivered?: (key: string, ref: MessageRef) => Promise<void>;
}

/** how long a delivery holds its entry against other instances (longer than a Slack call takes) */
const CLAIM_MS = 30_000;

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function defaultTimer(ms: number, fn: () => void): () => void {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
}

export class Courier {
  private chain: Promise<unknown> = Promise.resolve();
  private cancelTimer: (() => void) | undefined;
  private timerAt = Infinity;
  /** no delivery before this (Retry-After, outage backoff) */
  private pausedUntil = 0;
  private outageFailures = 0;
  private stopped = false;
  /** when each message was last delivered (in memory: after a restart the first delivery goes at once) */
  private readonly lastSent = new Map<string, number>();
  /** the last delivery outcome of each message, for deliverNow when a pass delivered it first */
  private readonly lastOutcome = new Map<string, Delivery>();
  /** entries another instance is delivering (outboxClaim), left to it until its claim runs out */
  private readonly claimedElsewhere = new Map<string, number>();
  private readonly minIntervalMs: number;
  private readonly maxAgeMs: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly setTimer: (ms: number, fn: () => void) => () => void;

  constructor(private readonly o: CourierOptions) {
    this.minIntervalMs = o.minIntervalMs ?? 3000;
    this.maxAgeMs = o.maxAgeMs ?? 24 * 3600_000;
    this.backoffMs = o.backoffMs ?? 1000;
    this.maxBackoffMs = o.maxBackoffMs ?? 60_000;
    this.setTimer = o.setTimer ?? defaultTimer;
  }

  /** The latest view of a message, kept in the store; delivered soon, never awaited by the caller's flow. */
  async put(entry: OutboxPut): Promise<void> {
    const now = this.o.now();
    const last = this.lastSent.get(entry.key);
    this.claimedElsewhere.delete(entry.key);
    await this.o.store.outboxPut({ ...entry, dueMs: Math.max(now, last === undefined ? now : last + this.minIntervalMs) }, new Date(now));
    this.kick();
  }

  /** Delivers soon (on the next turn of the event loop). */
  kick(): void {
    this.schedule(0);
  }

  /**
   * Tries to deliver one message now and says how it went (the plan post, so the person can be told the bot is not
   * in the channel). When Slack is known to be away (a pause is running) it answers `unavailable` without a call.
   */
  deliverNow(key: string): Promise<Delivery> {
    return this.serial(async () => {
      const entry = (await this.o.store.outboxList()).find((e) => e.key === key);
      if (!entry) {
        // a pass got to it first: its outcome
        const last = this.lastOutcome.get(key);
        if (last) return last;
        const ref = await this.o.store.messageRef(key);
        return ref ? { ok: true, ref } : { ok: false, problem: 'unavailable', error: `nothing waiting for ${key}` };
      }
      if (this.o.now() < this.pausedUntil) return { ok: false, problem: 'unavailable', error: 'slack is away; delivery paused' };
      const waiting = new Set((await this.o.store.outboxList()).map((e) => e.key));
      const r = await this.deliver(entry, waiting);
      return r === 'waiting' ? { ok: false, problem: 'unavailable', error: 'waiting for the parent message' } : r;
    });
  }

  /** One pass over what is due now; resolves when it is done. */
  drain(): Promise<void> {
    return this.serial(() => this.pass());
  }

  /**
   * Resolves once the outbox is empty, or deliveries are paused (Slack is away: nothing to wait for), every pass
   * done. Waits out the coalescing interval of what is still due (tests, shutdown).
   */
  async idle(): Promise<void> {
    for (;;) {
      await this.drain();
      if (this.stopped || this.o.now() < this.pausedUntil) return;
      const { due, later } = await this.split();
      if (due.length) continue;
      if (later.length === 0) return;
      const next = later.reduce((min, e) => Math.min(min, e.dueMs), Infinity);
      await new Promise<void>((resolve) => this.setTimer(Math.max(0, next - this.o.now()), resolve));
    }
  }

  /** Undelivered entries (for status and tests). */
  waiting(): Promise<OutboxEntry[]> {
    return this.o.store.outboxList();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const p = this.chain.then(work);
    this.chain = p.catch((err: unknown) => this.o.log.error({ err }, 'outbox: a delivery pass failed'));
    return p;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    const at = this.o.now() + delayMs;
    if (this.cancelTimer && this.timerAt <= at) return;
    this.cancelTimer?.();
    this.timerAt = at;
    this.cancelTimer = this.setTimer(Math.max(0, delayMs), () => {
      this.cancelTimer = undefined;
      this.timerAt = Infinity;
      void this.drain();
    });
  }

  /** Due entries that can go now, and the rest; a reply whose parent was never posted waits for it. */
  private async split(): Promise<{ due: OutboxEntry[]; later: OutboxEntry[]; waiting: Set<string> }> {
    const all = await this.o.store.outboxList();
    const waiting = new Set(all.map((e) => e.key));
    const now = this.o.now();
    const due: OutboxEntry[] = [];
    const later: OutboxEntry[] = [];
    for (const [key, until] of this.claimedElsewhere) if (until <= now || !waiting.has(key)) this.claimedElsewhere.delete(key);
    for (const e of all) {
      if (this.claimedElsewhere.has(e.key)) continue;
      const blocked = e.parent !== undefined && waiting.has(e.parent) && !(await this.o.store.messageRef(e.parent));
      if (blocked) continue;
      (e.dueMs <= now ? due : later).push(e);
    }
    return { due, later, waiting };
  }

  private async pass(): Promise<void> {
    if (this.stopped) return;
    for (let rounds = 0; rounds < 1000; rounds++) {
      if (this.o.now() < this.pausedUntil) break;
      const { due, waiting } = await this.split();
      if (due.length === 0) break;
      for (const e of due) {
        if (this.o.now() < this.pausedUntil || this.stopped) break;
        await this.deliver(e, waiting);
      }
    }
    const { due, later } = await this.split();
    // an entry another instance holds is looked at again when its claim runs out (it is usually gone by then)
    const next = Math.min(...[...due, ...later].map((e) => e.dueMs), ...this.claimedElsewhere.values());
    if (next !== Infinity) this.schedule(Math.max(next, this.pausedUntil) - this.o.now());
  }

  private async deliver(entry: OutboxEntry, waiting: Set<string>): Promise<Delivery | 'waiting'> {
    const { store, notifier, log } = this.o;
    // several instances on one store: only the one holding the claim posts, so a message is never posted twice
    const e = store.outboxClaim ? await store.outboxClaim(entry.key, this.o.now(), this.o.now() + CLAIM_MS) : entry;
    if (!e) {
      this.claimedElsewhere.set(entry.key, this.o.now() + CLAIM_MS);
      return 'waiting';
    }
    this.claimedElsewhere.delete(entry.key);
    const parentRef = e.parent ? await store.messageRef(e.parent) : undefined;
    if (e.parent && !parentRef && waiting.has(e.parent)) return 'waiting';
    const ref = await store.messageRef(e.key);
    try {
      let out: MessageRef;
      if (ref) {
        await notifier.update(ref, e.view);
        out = ref;
      } else out = await notifier.post(e.channel, e.view, parentRef ? { thread: parentRef } : {});
      this.outageFailures = 0;
      this.lastSent.set(e.key, this.o.now());
      if (this.lastSent.size > 10_000) this.lastSent.delete(this.lastSent.keys().next().value!);
      await store.outboxDelivered(e.key, e.version, out, this.o.now() + this.minIntervalMs);
      await this.o.onDelivered?.(e.key, out);
      return this.remember(e.key, { ok: true, ref: out });
    } catch (err) {
      const problem = problemOf(err);
      const error = errorText(err);
      const context = { key: e.key, channel: e.channel, problem, attempts: e.attempts + 1 };
      const now = this.o.now();
      switch (problem) {
        case 'message_not_found':
          // deleted in Slack: post it again (a reply whose parent is gone goes to the channel)
          if (ref) await store.forgetMessage(e.key);
          else if (e.parent) await store.forgetMessage(e.parent);
          log.warn(context, `outbox: ${e.key}: the message is gone; posting it again`);
          await store.outboxRetry(e.key, now, error);
          break;
        case 'rate_limited': {
          const wait = (err as { retryAfterMs?: number }).retryAfterMs ?? this.backoffMs;
          this.pausedUntil = Math.max(this.pausedUntil, now + wait);
          log.warn({ ...context, retryAfterMs: wait }, `outbox: rate limited; every delivery waits ${wait} ms`);
          await store.outboxRetry(e.key, now + wait, error);
          break;
        }
        case 'not_in_channel':
        case 'channel_not_found':
        case 'is_archived':
        case 'rejected':
          log.error(context, `outbox: ${e.key}: dropped, slack will not take it: ${error}`);
          await store.outboxDrop(e.key);
          break;
        case 'unavailable': {
          if (now - Date.parse(e.since) > this.maxAgeMs) {
            log.error(context, `outbox: ${e.key}: dropped after ${Math.round(this.maxAgeMs / 3600_000)} h undelivered: ${error}`);
            await store.outboxDrop(e.key);
            break;
          }
          const wait = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** this.outageFailures++);
          this.pausedUntil = Math.max(this.pausedUntil, now + wait);
          log.warn({ ...context, retryInMs: wait }, `outbox: slack unavailable (${error}); trying again in ${wait} ms`);
          await store.outboxRetry(e.key, now + wait, error);
          break;
        }
      }
      return this.remember(e.key, { ok: false, problem, error });
    }
  }

  private remember(key: string, d: Delivery): Delivery {
    this.lastOutcome.delete(key);
    this.lastOutcome.set(key, d);
    if (this.lastOutcome.size > 1000) this.lastOutcome.delete(this.lastOutcome.keys().next().value!);
    return d;
  }
}
