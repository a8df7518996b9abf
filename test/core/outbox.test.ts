// The courier over the memory store, with a notifier that fails on demand and a clock the test moves: coalescing,
// Retry-After, outage backoff, a deleted message, a thread reply waiting for its parent.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Courier } from '../../src/core/outbox.js';
import { NotifierError, type Notifier, type View } from '../../src/core/ports.js';
import type { MessageRef } from '../../src/core/records.js';
import { memoryStore } from '../../src/core/store.js';

const text = (t: string): View => ({ kind: 'text', text: t });

class ScriptedNotifier implements Notifier {
  calls: string[] = [];
  failures: NotifierError[] = [];
  private ts = 0;
  async post(channel: string, view: View, options: { thread?: MessageRef } = {}): Promise<MessageRef> {
    this.calls.push(`post ${channel}${options.thread ? ` in thread ${options.thread.ts}` : ''}: ${view.kind === 'text' ? view.text : view.kind}`);
    const f = this.failures.shift();
    if (f) throw f;
    return { channel, ts: `${++this.ts}.0` };
  }
  async update(ref: MessageRef, view: View): Promise<void> {
    this.calls.push(`update ${ref.ts}: ${view.kind === 'text' ? view.text : view.kind}`);
    const f = this.failures.shift();
    if (f) throw f;
  }
  async ephemeral(): Promise<void> {}
}

function setup(over: { minIntervalMs?: number } = {}) {
  let now = 1_000_000;
  const store = memoryStore();
  const notifier = new ScriptedNotifier();
  const courier = new Courier({ store, notifier, log: pino({ level: 'silent' }), now: () => now, minIntervalMs: over.minIntervalMs ?? 3000, setTimer: () => () => undefined });
  return { store, notifier, courier, advance: (ms: number) => (now += ms), now: () => now };
}

describe('the courier', () => {
  it('coalesces: while a message is inside its interval only its latest view is sent, once', async () => {
    const { courier, notifier, advance } = setup();
    await courier.put({ key: 'run:1', channel: 'C1', view: text('step 1') });
    await courier.drain();
    for (const n of [2, 3, 4, 5]) await courier.put({ key: 'run:1', channel: 'C1', view: text(`step ${n}`) });
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: step 1']);
    advance(3000);
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: step 1', 'update 1.0: step 5']);
  });

  it("honours a 429's Retry-After for every message, then delivers the latest state", async () => {
    const { courier, notifier, advance, store } = setup({ minIntervalMs: 0 });
    notifier.failures.push(new NotifierError('rate_limited', 'ratelimited', 7000));
    await courier.put({ key: 'a', channel: 'C1', view: text('a1') });
    await courier.put({ key: 'b', channel: 'C1', view: text('b1') });
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: a1']);
    await courier.put({ key: 'a', channel: 'C1', view: text('a2') });
    advance(6999);
    await courier.drain();
    expect(notifier.calls).toHaveLength(1);
    advance(1);
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: a1', 'post C1: a2', 'post C1: b1']);
    expect(await store.outboxList()).toEqual([]);
  });

  it('backs off during an outage (one call per pause, not one per message) and catches up when Slack is back', async () => {
    const { courier, notifier, advance, store } = setup({ minIntervalMs: 0 });
    for (let i = 0; i < 3; i++) notifier.failures.push(new NotifierError('unavailable', 'connect ECONNREFUSED'));
    for (const k of ['a', 'b', 'c']) await courier.put({ key: k, channel: 'C1', view: text(k) });
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: a']);
    advance(1000);
    await courier.drain();
    advance(2000);
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: a', 'post C1: a', 'post C1: a']);
    advance(3999);
    await courier.drain();
    expect(notifier.calls).toHaveLength(3);
    advance(1);
    await courier.drain();
    expect(notifier.calls.slice(3)).toEqual(['post C1: a', 'post C1: b', 'post C1: c']);
    expect(await store.outboxList()).toEqual([]);
  });

  it('posts a deleted message again; drops one for a channel the bot cannot write to', async () => {
    const { courier, notifier, store } = setup({ minIntervalMs: 0 });
    await courier.put({ key: 'request:r-1', channel: 'C1', view: text('plan') });
    await courier.drain();
    notifier.failures.push(new NotifierError('message_not_found', 'message_not_found'));
    await courier.put({ key: 'request:r-1', channel: 'C1', view: text('approved') });
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: plan', 'update 1.0: approved', 'post C1: approved']);
    expect(await store.messageRef('request:r-1')).toEqual({ channel: 'C1', ts: '2.0' });

    notifier.failures.push(new NotifierError('not_in_channel', 'not_in_channel'));
    await courier.put({ key: 'request:r-2', channel: 'C2', view: text('plan') });
    await courier.drain();
    expect(await store.outboxList()).toEqual([]);
  });

  it("a thread reply waits for its parent's first post, then goes in its thread", async () => {
    const { courier, notifier, advance } = setup({ minIntervalMs: 0 });
    notifier.failures.push(new NotifierError('unavailable', 'socket hang up'));
    await courier.put({ key: 'request:r-1', channel: 'C1', view: text('plan') });
    await courier.put({ key: 'run:run-1', channel: 'C1', view: text('run'), parent: 'request:r-1' });
    await courier.drain();
    advance(1000);
    await courier.drain();
    expect(notifier.calls).toEqual(['post C1: plan', 'post C1: plan', 'post C1 in thread 1.0: run']);
  });

  it('deliverNow says why a post failed, so the person can be told', async () => {
    const { courier, notifier } = setup();
    notifier.failures.push(new NotifierError('not_in_channel', 'not_in_channel'));
    await courier.put({ key: 'request:r-1', channel: 'C1', view: text('plan') });
    expect(await courier.deliverNow('request:r-1')).toMatchObject({ ok: false, problem: 'not_in_channel' });
  });
});
