// Whose language a message is in. A channel message (a plan, a run) is read by many: it is in the policy's
// language. A reply or an ephemeral message is read by one person: it is in their Slack locale (users.info with
// include_locale, through SlackPeople's cache), when we speak it, else the policy's.
import { DEFAULT_LOCALE, localeOf, type Locale, type Words } from '../i18n/index.js';
import { slackWords } from './blocks/kit.js';
import type { SlackPeople } from './people.js';

export interface LanguagePolicy {
  /** the policy's language: channel messages, and people whose locale we do not speak */
  locale: Locale;
  /** IANA zone of dates in fallback texts (Slack's date tokens show each reader's own) */
  timeZone: string;
}

export const DEFAULT_LANGUAGE: LanguagePolicy = { locale: DEFAULT_LOCALE, timeZone: 'UTC' };

export class SlackLanguages {
  constructor(
    private readonly people: SlackPeople,
    readonly policy: LanguagePolicy = DEFAULT_LANGUAGE,
  ) {}

  /** Words for a message many read: the policy's language. */
  channel(): Words {
    return slackWords(this.policy.locale, this.policy.timeZone);
  }

  /** Words for one person: their Slack locale, or the policy's when Slack does not say or we do not speak it. */
  async forUser(userId: string): Promise<Words> {
    return slackWords(await this.localeOf(userId), this.policy.timeZone);
  }

  /** Their locale when we speak it; the policy's when Slack does not say, names another, or cannot be asked. */
  localeOf(userId: string): Promise<Locale> {
    return this.people.person(userId).then(
      (p) => localeOf(p?.locale) ?? this.policy.locale,
      () => this.policy.locale,
    );
  }
}
