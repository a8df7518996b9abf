// Whose language a message is in. A channel message (a plan, a run) is read by many: it is in the policy's
// language. A reply or an ephemeral message is read by one person: it is in their Slack locale (users.info with
// include_locale), when we speak it, else the policy's. Locales are cached per user, a bounded number for a bounded
// time: a person who switches Slack's language sees it within the hour, and a workspace of thousands costs at most
// `max` entries. A failed look-up stands for a minute (the policy's language meanwhile), not before every answer.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { DEFAULT_LOCALE, localeOf, type Locale, type Words } from '../i18n/index.js';
import { slackWords } from './blocks/kit.js';
import { callSlack } from './notifier.js';

export interface LanguagePolicy {
  /** the policy's language: channel messages, and people whose locale we do not speak */
  locale: Locale;
  /** IANA zone of dates in fallback texts (Slack's date tokens show each reader's own) */
  timeZone: string;
}

export const DEFAULT_LANGUAGE: LanguagePolicy = { locale: DEFAULT_LOCALE, timeZone: 'UTC' };

export interface LanguagesOptions {
  max?: number;
  ttlMs?: number;
  /** how long a failed look-up stands (the policy's language meanwhile): not a users.info call before every answer */
  failedTtlMs?: number;
  now?: () => number;
}

export class SlackLanguages {
  private readonly cache = new Map<string, { at: number; ttl: number; locale: Promise<Locale> }>();
  private readonly failedTtlMs: number;
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(
    private readonly client: webApi.WebClient,
    log: Logger,
    readonly policy: LanguagePolicy = DEFAULT_LANGUAGE,
    options: LanguagesOptions = {},
  ) {
    this.max = options.max ?? 1000;
    this.ttlMs = options.ttlMs ?? 3600_000;
    this.failedTtlMs = options.failedTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.log = log.child({ component: 'slack-languages' });
  }

  /** Words for a message many read: the policy's language. */
  channel(): Words {
    return slackWords(this.policy.locale, this.policy.timeZone);
  }

  /** Words for one person: their Slack locale, or the policy's when Slack does not say or we do not speak it. */
  async forUser(userId: string): Promise<Words> {
    return slackWords(await this.localeOf(userId), this.policy.timeZone);
  }

  localeOf(userId: string): Promise<Locale> {
    const hit = this.cache.get(userId);
    if (hit && this.now() - hit.at < hit.ttl) {
      // most recently used last: the oldest entry is the first one dropped
      this.cache.delete(userId);
      this.cache.set(userId, hit);
      return hit.locale;
    }
    const entry = { at: this.now(), ttl: this.ttlMs, locale: Promise.resolve(this.policy.locale) };
    entry.locale = callSlack(this.log, 'users.info', { user: userId }, () => this.client.users.info({ user: userId, include_locale: true })).then(
      (res) => localeOf(res.user?.locale) ?? this.policy.locale,
      // the policy's language, for a short while: Slack is asked again after failedTtlMs
      () => {
        entry.ttl = this.failedTtlMs;
        return this.policy.locale;
      },
    );
    const locale = entry.locale;
    this.cache.delete(userId);
    this.cache.set(userId, entry);
    while (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!);
    return locale;
  }

  get size(): number {
    return this.cache.size;
  }
}
