// A Notifier that keeps what would have been shown, for tests that read the conversation as data.
import type { Notice } from '../../src/core/notices.js';
import type { Notifier, View } from '../../src/core/ports.js';
import type { MessageRef } from '../../src/core/records.js';
import { renderView } from '../../src/slack/blocks/renderView.js';

export interface Recorded {
  ref: MessageRef;
  view: View;
  updates: number;
}

export class RecordingNotifier implements Notifier {
  readonly messages: Recorded[] = [];
  /** each private reply: its view, and its words as Slack shows them */
  readonly ephemerals: { channel: string; user: string; text: string; view: View }[] = [];
  private seq = 0;

  async post(channel: string, view: View): Promise<MessageRef> {
    const ref = { channel, ts: `${++this.seq}.000` };
    this.messages.push({ ref, view: structuredClone(view), updates: 0 });
    return ref;
  }

  async update(ref: MessageRef, view: View): Promise<void> {
    const m = this.messages.find((x) => x.ref.ts === ref.ts);
    if (!m) throw new Error(`no message ${ref.ts}`);
    m.view = structuredClone(view);
    m.updates++;
  }

  async ephemeral(channel: string, user: string, view: View): Promise<void> {
    this.ephemerals.push({ channel, user, text: renderView(view).text, view: structuredClone(view) });
  }

  /** the notices `user` was told, newest last */
  notices(user: string): Notice[] {
    return this.ephemerals.filter((e) => e.user === user && e.view.kind === 'notice').map((e) => (e.view as Extract<View, { kind: 'notice' }>).notice);
  }

  /** the latest view of each message of a kind */
  views<K extends View['kind']>(kind: K): Extract<View, { kind: K }>[] {
    return this.messages.filter((m) => m.view.kind === kind).map((m) => m.view as Extract<View, { kind: K }>);
  }

  lastEphemeral(user: string): string | undefined {
    return this.ephemerals.filter((e) => e.user === user).at(-1)?.text;
  }
}
