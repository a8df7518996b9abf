// User-group members from Slack (usergroups.users.list), cached for a minute: approver checks on every click
// should not cost a Web API call each. A failure is logged and rethrown: the policy then answers no.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Directory, DirectoryProfile } from '../core/ports.js';
import { callSlack } from './notifier.js';
import { SlackPeople } from './people.js';

export interface SlackDirectoryOptions {
  ttlMs?: number;
  now?: () => number;
  /** who people are; shared with the languages so each person costs one users.info call */
  people?: SlackPeople;
}

export class SlackDirectory implements Directory {
  private readonly cache = new Map<string, { at: number; users: Promise<string[]> }>();
  private readonly people: SlackPeople;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly log: Logger;

  constructor(
    private readonly client: webApi.WebClient,
    log: Logger,
    options: SlackDirectoryOptions = {},
  ) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.now = options.now ?? Date.now;
    this.log = log.child({ component: 'slack-directory' });
    this.people = options.people ?? new SlackPeople(client, log, { now: this.now });
  }

  groupMembers(groupId: string): Promise<string[]> {
    const hit = this.cache.get(groupId);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.users;
    const users = callSlack(this.log, 'usergroups.users.list', { usergroup: groupId }, () => this.client.usergroups.users.list({ usergroup: groupId })).then(
      (res) => res.users ?? [],
    );
    this.cache.set(groupId, { at: this.now(), users });
    // a failure is not cached: the next check asks again
    users.catch(() => this.cache.delete(groupId));
    return users;
  }

  /** A display name for naming someone without a mention; undefined when Slack does not say. */
  async userName(userId: string): Promise<string | undefined> {
    return (await this.profile(userId).catch(() => undefined))?.name;
  }

  /**
   * Who someone is (SlackPeople: one users.info call per person, cached): their display name and their profile email
   * (which Slack gives only with the users:read.email scope; without it the email is absent and the audit says less).
   * A failure is rethrown: the caller decides what an unknown identity means.
   */
  async profile(userId: string): Promise<DirectoryProfile | undefined> {
    const p = await this.people.person(userId);
    return p && { ...(p.name ? { name: p.name } : {}), ...(p.email ? { email: p.email } : {}) };
  }
}
