// The metrics wrapper of the Directory keeps what the core asks of it: names (history) and profiles (the
// approver's email for the audit) pass through, and a failed users.info is counted like any Slack error.
import { expect, it } from 'vitest';
import { createMetrics, instrumentDirectory } from '../../src/ops/metrics.js';
import type { Directory } from '../../src/core/ports.js';

it('passes userName and profile through and counts a failed profile lookup', async () => {
  const metrics = createMetrics({ agents: () => undefined, store: () => undefined });
  const directory: Directory = {
    groupMembers: async () => ['U0BOB'],
    userName: async (u) => (u === 'U0BOB' ? 'bob' : undefined),
    profile: async (u) => {
      if (u === 'U0BOB') return { email: 'bob@contoso.com' };
      throw Object.assign(new Error('An API error occurred: user_not_found'), { code: 'slack_webapi_platform_error', data: { ok: false, error: 'user_not_found' } });
    },
  };
  const wrapped = instrumentDirectory(directory, metrics);
  expect(await wrapped.userName!('U0BOB')).toBe('bob');
  expect(await wrapped.profile!('U0BOB')).toEqual({ email: 'bob@contoso.com' });
  await expect(wrapped.profile!('U0NOBODY')).rejects.toThrow(/user_not_found/);
  const counted = (await metrics.slackErrors.get()).values.find((v) => v.labels.method === 'users.info');
  expect(counted?.value).toBe(1);
  // a directory without them stays without them (the core then names ids and records no email)
  expect('profile' in instrumentDirectory({ groupMembers: async () => [] }, metrics)).toBe(false);
});
