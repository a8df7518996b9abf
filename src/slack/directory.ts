// User-group members from Slack (usergroups.users.list), cached for a minute: approver checks on every click
// should not cost a Web API call each. A failure is logged and rethrown: the policy then answers no.
import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Directory } from '../core/ports.js';
import { callSlack } from './notifier.js';

export interface SlackDirectoryOptions {
  ttlMs?: number;
  now?: () => number;
}

export class SlackDirectory implements Directory {
  private readonly cache = new Map<string, { at: number; users: Promise<string[]> }>();
  private readonly names = new Map<string, { at: number; name: string | undefined }>();
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

  /** A display name for naming someone without a mention; cached for an hour, undefined when Slack does not say. */
  async userName(userId: string): Promise<string | undefined> {
    const hit = this.names.get(userId);
    if (hit && this.now() - hit.at < 3600_000) return hit.name;
    try {
      const res = await callSlack(this.log, 'users.info', { user: userId }, () => this.client.users.info({ user: userId }));
      const u = res.user;
      const name = u?.profile?.display_name || u?.profile?.real_name || u?.real_name || u?.name || undefined;
      this.names.set(userId, { at: this.now(), name });
      return name;
    } catch {
      return undefined;
    }
  }
}
