// User-group members from Slack (usergroups.users.list), cached for a minute: approver checks on every click
// should not cost a Web API call each. A failure is logged and rethrown: the policy then answers no.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Directory, DirectoryProfile } from '../core/ports.js';
import { callSlack } from './notifier.js';

export interface SlackDirectoryOptions {
  ttlMs?: number;
  now?: () => number;
}

export class SlackDirectory implements Directory {
  private readonly cache = new Map<string, { at: number; users: Promise<string[]> }>();
  private readonly profiles = new Map<string, { at: number; profile: Promise<DirectoryProfile | undefined> }>();
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
   * Who someone is, from one users.info call cached for an hour: their display name and their profile email (which
   * Slack gives only with the users:read.email scope; without it the email is absent and the audit says less).
   * A failure is not cached, and is rethrown: the caller decides what an unknown identity means.
   */
  profile(userId: string): Promise<DirectoryProfile | undefined> {
    const hit = this.profiles.get(userId);
    if (hit && this.now() - hit.at < 3600_000) return hit.profile;
    const profile = callSlack(this.log, 'users.info', { user: userId }, () => this.client.users.info({ user: userId })).then((res): DirectoryProfile | undefined => {
      const u = res.user;
      if (!u) return undefined;
      const name = u.profile?.display_name || u.profile?.real_name || u.real_name || u.name || undefined;
      const email = u.profile?.email || undefined;
      return { ...(name ? { name } : {}), ...(email ? { email } : {}) };
    });
    this.profiles.set(userId, { at: this.now(), profile });
    profile.catch(() => this.profiles.delete(userId));
    return profile;
  }
}
