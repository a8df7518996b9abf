// The core's Notifier over Slack's Web API. A failed call is logged with its method and channel and rethrown:
// the core decides what a lost message means (its state is saved either way).
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Notifier, View } from '../core/ports.js';
import type { MessageRef } from '../core/records.js';
import { renderView, type RenderOptions } from './blocks/renderView.js';

type WebClient = webApi.WebClient;

/** Slack's error code when it has one (`not_in_channel`), else the message. */
export function slackErrorText(err: unknown): string {
  const data = (err as { data?: { error?: unknown } }).data;
  if (data && typeof data.error === 'string') return data.error;
  return err instanceof Error ? err.message : String(err);
}

export async function callSlack<T>(log: Logger, method: string, context: Record<string, unknown>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    log.error({ err, method, ...context }, `slack ${method}${typeof context.channel === 'string' ? ` in ${context.channel}` : ''}: ${slackErrorText(err)}`);
    throw err;
  }
}

export class SlackNotifier implements Notifier {
  private readonly log: Logger;

  constructor(
    private readonly client: WebClient,
    log: Logger,
    private readonly render: RenderOptions = { command: '/lync-exo' },
  ) {
    this.log = log.child({ component: 'slack-notifier' });
  }

  async post(channel: string, view: View): Promise<MessageRef> {
    const { text, blocks } = renderView(view, this.render);
    const res = await callSlack(this.log, 'chat.postMessage', { channel, view: view.kind }, () =>
      this.client.chat.postMessage({ channel, text, blocks, unfurl_links: false, unfurl_media: false }),
    );
    if (!res.ts) throw new Error(`slack chat.postMessage in ${channel}: no ts in the response`);
    return { channel: res.channel ?? channel, ts: res.ts };
  }

  async update(ref: MessageRef, view: View): Promise<void> {
    const { text, blocks } = renderView(view, this.render);
    await callSlack(this.log, 'chat.update', { channel: ref.channel, ts: ref.ts, view: view.kind }, () =>
      this.client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }),
    );
  }

  async ephemeral(channel: string, user: string, text: string): Promise<void> {
    await callSlack(this.log, 'chat.postEphemeral', { channel, user }, () => this.client.chat.postEphemeral({ channel, user, text }));
  }
}
