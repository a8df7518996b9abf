// Who a Slack user is, from one users.info call (with include_locale) that serves everything asked of a person: the
// name we show, the profile email the audit keeps (only with users:read.email) and the locale replies are written
// in. Before this, the language and the directory each asked Slack for the same person.
//
// Cached per person, a bounded number for a bounded time: someone who changes their Slack language or email is seen
// within the hour, and a workspace of thousands costs at most `max` entries. A failed look-up stands for a minute,
// so Slack being away does not cost a users.info call (and its timeout) before every answer; callers get the error
// and decide what an unknown person means.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import { callSlack } from './notifier.js';

export interface Person {
  name?: string;
  email?: string;
  /** Slack's locale for them, as Slack writes it (`zh-TW`, `en-GB`) */
  locale?: string;
}

export interface PeopleOptions {
  max?: number;
  ttlMs?: number;
  failedTtlMs?: number;
  now?: () => number;
}

export class SlackPeople {
  private readonly cache = new Map<string, { at: number; ttl: number; person: Promise<Person | undefined> }>();
  private readonly max: number;
  private readonly ttlMs: number;
  private readonly failedTtlMs: number;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(
    private readonly client: webApi.WebClient,
    log: Logger,
    options: PeopleOptions = {},
  ) {
    this.max = options.max ?? 1000;
    this.ttlMs = options.ttlMs ?? 3600_000;
    this.failedTtlMs = options.failedTtlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.log = log.child({ component: 'slack-people' });
  }

  /** The person, or undefined when Slack knows no such user; rejects (for a minute) when Slack could not be asked. */
  person(userId: string): Promise<Person | undefined> {
    const hit = this.cache.get(userId);
    if (hit && this.now() - hit.at < hit.ttl) {
      // most recently used last: the oldest entry is the first one dropped
      this.cache.delete(userId);
      this.cache.set(userId, hit);
      return hit.person;
    }
    const entry = { at: this.now(), ttl: this.ttlMs, person: Promise.resolve<Person | undefined>(undefined) };
    entry.person = callSlack(this.log, 'users.info', { user: userId }, () => this.client.users.info({ user: userId, include_locale: true })).then((res) => {
      const u = res.user;
      if (!u) return undefined;
      const name = u.profile?.display_name || u.profile?.real_name || u.real_name || u.name || undefined;
      const email = u.profile?.email || undefined;
      return { ...(name ? { name } : {}), ...(email ? { email } : {}), ...(u.locale ? { locale: u.locale } : {}) };
    });
    entry.person.catch(() => (entry.ttl = this.failedTtlMs));
    this.cache.delete(userId);
    this.cache.set(userId, entry);
    while (this.cache.size > this.max) this.cache.delete(this.cache.keys().next().value!);
    return entry.person;
  }

  get size(): number {
    return this.cache.size;
  }
}
