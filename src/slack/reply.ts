// Answers to the person who typed a command or clicked: through the interaction's response_url, which works in
// any channel, private channel or DM, bot invited or not. Slack takes a response_url at most 5 times within 30
// minutes; past that (or with no response_url, as in a modal submission) the answer falls back to
// chat.postEphemeral, which needs the bot in the channel. The response_url is a capability: never logged.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Reply, ReplyOptions, View } from '../core/ports.js';
import { renderViewPages, type RenderOptions } from './blocks/renderView.js';
import { WEB_API_TIMEOUT_MS } from './client.js';
import type { SlackLanguages } from './language.js';
import { slackErrorText } from './notifier.js';

export const RESPONSE_URL_USES = 5;
export const RESPONSE_URL_WINDOW_MS = 30 * 60_000;

/** How many times each response_url was used, so the sixth answer does not go to a URL Slack refuses. */
export class ResponseUrlBudget {
  private readonly uses = new Map<string, { first: number; n: number }>();
  constructor(private readonly now: () => number = Date.now) {}

  /** true (and counted) when the URL may be used once more */
  take(url: string): boolean {
    const t = this.now();
    for (const [u, use] of this.uses) {
      if (t - use.first <= RESPONSE_URL_WINDOW_MS) break;
      this.uses.delete(u);
    }
    const use = this.uses.get(url) ?? { first: t, n: 0 };
    if (t - use.first > RESPONSE_URL_WINDOW_MS || use.n >= RESPONSE_URL_USES) return false;
    use.n++;
    this.uses.set(url, use);
    return true;
  }
}

export interface ReplyTarget {
  user: string;
  channel: string | undefined;
  responseUrl?: string;
}

export interface ReplyDeps {
  client: webApi.WebClient;
  log: Logger;
  budget: ResponseUrlBudget;
  render: RenderOptions;
  /** the person's own language (default: English) */
  languages?: SlackLanguages;
  fetch?: typeof fetch;
  timeoutMs?: number;
  /** told of a chat.postEphemeral that failed */
  onApiError?: (method: string, err: unknown) => void;
}

export function slackReply(deps: ReplyDeps, target: ReplyTarget): Reply {
  const doFetch = deps.fetch ?? globalThis.fetch;
  const one = async (view: View, text: string, blocks: unknown[], replace: boolean) => {
    const log = deps.log.child({ user: target.user, channel: target.channel, view: view.kind });
    if (target.responseUrl && deps.budget.take(target.responseUrl)) {
      try {
        const res = await doFetch(target.responseUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ response_type: 'ephemeral', replace_original: replace, text, blocks }),
          signal: AbortSignal.timeout(deps.timeoutMs ?? WEB_API_TIMEOUT_MS),
        });
        if (res.ok) return;
        log.warn({ status: res.status }, `reply: the response_url answered ${res.status}; trying an ephemeral message`);
      } catch (err) {
        // the error's message may quote the URL, which is a capability: only its kind is logged
        const e = err as Error & { cause?: { code?: string } };
        log.warn({ error: e.name, code: e.cause?.code }, 'reply: the response_url could not be reached; trying an ephemeral message');
      }
    }
    if (!target.channel) throw new Error(`reply to ${target.user}: no response_url left and no channel to answer in`);
    try {
      await deps.client.chat.postEphemeral({ channel: target.channel, user: target.user, text, blocks: blocks as never });
    } catch (err) {
      deps.onApiError?.('chat.postEphemeral', err);
      throw new Error(`reply to ${target.user} in ${target.channel}: ${slackErrorText(err)}`, { cause: err });
    }
  };
  return async (view: View, options?: ReplyOptions) => {
    // history pages: each page is its own answer, within Slack's limits; only the first replaces an earlier one
    const words = deps.languages ? await deps.languages.forUser(target.user) : undefined;
    let replace = options?.replace === true;
    for (const page of renderViewPages(view, words ? { ...deps.render, words } : deps.render)) {
      await one(view, page.text, page.blocks, replace);
      replace = false;
    }
  };
}
