// The core's Notifier over Slack's Web API. A failed call is logged with its method and channel and rethrown as a
// NotifierError that says what it means (not in the channel, message gone, rate limited for how long, rejected,
// or Slack unavailable): the core's courier decides what to do, and its state is saved either way.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { NotifierError, type DeliveryProblem, type Notifier, type PostOptions, type View } from '../core/ports.js';
import type { MessageRef } from '../core/records.js';
import { renderView, type RenderOptions } from './blocks/renderView.js';
import type { SlackLanguages } from './language.js';

type WebClient = webApi.WebClient;

/** Slack's error code when it has one (`not_in_channel`), else the message. */
export function slackErrorText(err: unknown): string {
  const data = (err as { data?: { error?: unknown } }).data;
  if (data && typeof data.error === 'string') return data.error;
  return err instanceof Error ? err.message : String(err);
}

/** Slack's answers that will not change by sending the same thing again. */
const REJECTED = new Set([
  'invalid_blocks',
  'invalid_blocks_format',
  'msg_blocks_too_long',
  'msg_too_long',
  'no_text',
  'invalid_arguments',
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'missing_scope',
  'cant_update_message',
  'edit_window_closed',
  'restricted_action',
]);

/** What a Web API failure means for a message (see DeliveryProblem). */
export function toNotifierError(err: unknown, method: string): NotifierError {
  const e = err as { code?: string; retryAfter?: number; statusCode?: number; data?: { error?: unknown } };
  const text = `slack ${method}: ${slackErrorText(err)}`;
  if (e.code === 'slack_webapi_rate_limited_error') return new NotifierError('rate_limited', text, (e.retryAfter ?? 1) * 1000, { cause: err });
  const code = typeof e.data?.error === 'string' ? e.data.error : undefined;
  let problem: DeliveryProblem = 'unavailable';
  if (code === 'not_in_channel' || code === 'channel_not_found' || code === 'is_archived' || code === 'message_not_found') problem = code;
  else if (code === 'thread_not_found') problem = 'message_not_found';
  else if (code === 'ratelimited' || code === 'rate_limited') return new NotifierError('rate_limited', text, 1000, { cause: err });
  else if (code && REJECTED.has(code)) problem = 'rejected';
  else if (e.code === 'slack_webapi_http_error' && e.statusCode !== undefined && e.statusCode >= 400 && e.statusCode < 500 && e.statusCode !== 408) problem = 'rejected';
  return new NotifierError(problem, text, undefined, { cause: err });
}

export async function callSlack<T>(log: Logger, method: string, context: Record<string, unknown>, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    const mapped = toNotifierError(err, method);
    const level = mapped.problem === 'unavailable' || mapped.problem === 'rate_limited' || mapped.problem === 'message_not_found' ? 'warn' : 'error';
    log[level]({ err, method, problem: mapped.problem, ...context }, `slack ${method}${typeof context.channel === 'string' ? ` in ${context.channel}` : ''}: ${slackErrorText(err)}`);
    throw mapped;
  }
}

export class SlackNotifier implements Notifier {
  private readonly log: Logger;

  constructor(
    private readonly client: WebClient,
    log: Logger,
    private readonly render: RenderOptions = { command: '/lync-exo' },
    /** whose language: the policy's in channels, each person's own in their ephemerals (default: English) */
    private readonly languages?: SlackLanguages,
  ) {
    this.log = log.child({ component: 'slack-notifier' });
  }

  /** a channel message is read by many: the policy's language */
  private get inChannel(): RenderOptions {
    return this.languages ? { ...this.render, words: this.languages.channel() } : this.render;
  }

  async post(channel: string, view: View, options: PostOptions = {}): Promise<MessageRef> {
    const { text, blocks } = renderView(view, this.inChannel);
    const thread = options.thread ? { thread_ts: options.thread.ts } : {};
    const res = await callSlack(this.log, 'chat.postMessage', { channel, view: view.kind, ...thread }, () =>
      this.client.chat.postMessage({ channel, text, blocks, unfurl_links: false, unfurl_media: false, ...thread }),
    );
    if (!res.ts) throw new Error(`slack chat.postMessage in ${channel}: no ts in the response`);
    return { channel: res.channel ?? channel, ts: res.ts };
  }

  async update(ref: MessageRef, view: View): Promise<void> {
    const { text, blocks } = renderView(view, this.inChannel);
    await callSlack(this.log, 'chat.update', { channel: ref.channel, ts: ref.ts, view: view.kind }, () =>
      this.client.chat.update({ channel: ref.channel, ts: ref.ts, text, blocks }),
    );
  }

  async ephemeral(channel: string, user: string, view: View): Promise<void> {
    const words = this.languages ? await this.languages.forUser(user) : undefined;
    const { text } = renderView(view, words ? { ...this.render, words } : this.render);
    await callSlack(this.log, 'chat.postEphemeral', { channel, user }, () => this.client.chat.postEphemeral({ channel, user, text }));
  }
}
