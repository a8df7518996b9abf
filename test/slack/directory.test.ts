// SlackDirectory.profile: one users.info call gives the name and the profile email (users:read.email), cached for
// an hour; a failure is rethrown, and stands for a minute; without the scope Slack sends no email and none is invented.
import nock from 'nock';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { webApi } from '@slack/bolt';
import { SlackDirectory } from '../../src/slack/directory.js';
import { memoryLog } from './support/memoryLog.js';

beforeEach(() => {
  nock.disableNetConnect();
});
afterEach(() => {
  nock.cleanAll();
  nock.enableNetConnect();
});

it('reads the name and the email once an hour; a failure stands for a minute; no email without the scope', async () => {
  let now = 0;
  const directory = new SlackDirectory(new webApi.WebClient('xoxb-test', { retryConfig: { retries: 0 } }), memoryLog().log, { now: () => now });
  const scope = nock('https://slack.com')
    .post('/api/users.info', (b: Record<string, string>) => b.user === 'U0BOB')
    .reply(200, { ok: true, user: { id: 'U0BOB', name: 'bob', profile: { display_name: 'Bob', email: 'bob@contoso.com' } } })
    .post('/api/users.info')
    .reply(200, { ok: false, error: 'user_not_found' })
    .post('/api/users.info')
    .reply(200, { ok: true, user: { id: 'U0BOB', name: 'bob', profile: { display_name: 'Bob' } } });
  expect(await directory.profile('U0BOB')).toEqual({ name: 'Bob', email: 'bob@contoso.com' });
  // the name comes from the same cached answer
  expect(await directory.userName('U0BOB')).toBe('Bob');
  now = 3599_000;
  expect(await directory.profile('U0BOB')).toEqual({ name: 'Bob', email: 'bob@contoso.com' });
  now = 3601_000;
  await expect(directory.profile('U0BOB')).rejects.toThrow(/users.info: user_not_found/);
  // Slack is not asked again at once (a users.info timeout before every answer), but a minute later
  now = 3660_000;
  await expect(directory.profile('U0BOB')).rejects.toThrow(/users.info: user_not_found/);
  now = 3661_001;
  // the app lost users:read.email: the profile has no email, and none is made up
  expect(await directory.profile('U0BOB')).toEqual({ name: 'Bob' });
  scope.done();
});
