// The console's policy: the config file's when one is given, else a small team that shows the whole flow.
// There are no Slack channels in a terminal, so the console has one channel and takes requests there.
import { policyFromConfig } from '../compose.js';
import type { Config } from '../config/file.js';
import type { PolicyConfig } from '../core/policy.js';
import type { DirectoryProfile } from '../core/ports.js';

export const CONSOLE_CHANNEL = 'console';
export const CONSOLE_USERS = ['alice', 'bob', 'carol'] as const;
/** their directory profiles: the audit records who approved by email and AD account (CONTOSO\\bob) */
export const CONSOLE_PROFILES: Record<string, DirectoryProfile> = Object.fromEntries(CONSOLE_USERS.map((u) => [u, { name: u, email: `${u}@contoso.com` }]));

/** alice, bob and carol may request; bob and carol approve; one approval; 60 min expiry; replication polled every second; contoso.com emails are CONTOSO\\ accounts. */
export function defaultConsolePolicy(): PolicyConfig {
  return {
    deployment: 'contoso',
    channels: [],
    requesters: { anyone: false, users: [...CONSOLE_USERS], groups: [] },
    approvers: { users: ['bob', 'carol'], groups: [] },
    required: 1,
    expiresAfterMs: 60 * 60_000,
    replication: { pollIntervalMs: 1_000, timeoutMs: 60_000 },
    accounts: { rule: 'CONTOSO\\{local}', domains: ['contoso.com'] },
  };
}

/** The policy of a config file, for the console: user ids are typed as they are (`as U0123ABCDEF`). */
export function consolePolicyFromConfig(config: Config): PolicyConfig {
  return { ...policyFromConfig(config), channels: [] };
}

/** The people to offer at start: everyone the policy names. */
export function policyUsers(policy: PolicyConfig): string[] {
  return [...new Set([...policy.requesters.users, ...policy.approvers.users])];
}
