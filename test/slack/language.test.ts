// Whose language: each person's Slack locale (users.info include_locale), cached per person within a bound
// (SlackPeople), the policy's when Slack does not say, cannot be asked, or names a language lync-exo does not speak.
// One users.info per person serves both the language and the directory identity.
import { webApi } from '@slack/bolt';
import { afterEach, describe, expect, it } from 'vitest';
import { SlackDirectory } from '../../src/slack/directory.js';
import { SlackLanguages, type LanguagePolicy } from '../../src/slack/language.js';
import { SlackPeople, type PeopleOptions } from '../../src/slack/people.js';
import { memoryLog } from './support/memoryLog.js';
import { startSlackStandIn, type SlackStandIn } from './support/slackApi.js';

let api: SlackStandIn | undefined;
afterEach(async () => {
  await api?.close();
  api = undefined;
});

const names = { U0ALICE: 'alice', U0BOB: 'bob', U0CAROL: 'carol', U0DAVE: 'dave' };

let people: SlackPeople;
async function languages(locales: Record<string, string>, policy: LanguagePolicy = { locale: 'en', timeZone: 'UTC' }, options: PeopleOptions = {}) {
  api = await startSlackStandIn({ names, locales, emails: { U0BOB: 'bob@contoso.com' } });
  const client = new webApi.WebClient('xoxb-test', { slackApiUrl: api.url, retryConfig: { retries: 0 } });
  people = new SlackPeople(client, memoryLog().log, options);
  return new SlackLanguages(people, policy);
}

describe('SlackLanguages', () => {
  it("a person's Slack locale when we speak it, else the policy's; the channel always the policy's", async () => {
    const l = await languages({ U0ALICE: 'zh-TW', U0BOB: 'en-GB', U0CAROL: 'ja-JP' }, { locale: 'zh-TW', timeZone: 'Asia/Taipei' });
    expect([await l.localeOf('U0ALICE'), await l.localeOf('U0BOB'), await l.localeOf('U0CAROL')]).toEqual(['zh-TW', 'en', 'zh-TW']);
    expect(l.channel().locale).toBe('zh-TW');
    expect((await l.forUser('U0BOB')).t('button.approve')).toBe('Approve');
    // asked with include_locale, once per person
    expect(api!.of('users.info').map((c) => [c.body.user, c.body.include_locale])).toEqual([['U0ALICE', 'true'], ['U0BOB', 'true'], ['U0CAROL', 'true']]);
    await l.forUser('U0ALICE');
    expect(api!.of('users.info')).toHaveLength(3);
  });

  it('when Slack cannot be asked: the policy language for a minute, then it asks again', async () => {
    let now = 0;
    const l = await languages({ U0ALICE: 'zh-TW' }, undefined, { now: () => now });
    api!.failNext('users.info', 'ratelimited');
    expect(await l.localeOf('U0ALICE')).toBe('en');
    expect(await l.localeOf('U0ALICE')).toBe('en');
    expect(api!.of('users.info')).toHaveLength(1);
    now = 60_001;
    expect(await l.localeOf('U0ALICE')).toBe('zh-TW');
    expect(api!.of('users.info')).toHaveLength(2);
  });

  it('keeps at most `max` people, dropping the least recently seen, and asks again after the time to live', async () => {
    let now = 0;
    const l = await languages({ U0ALICE: 'zh-TW' }, undefined, { max: 2, ttlMs: 1000, now: () => now });
    await l.localeOf('U0ALICE');
    await l.localeOf('U0BOB');
    await l.localeOf('U0ALICE');
    await l.localeOf('U0CAROL');
    expect(people.size).toBe(2);
    await l.localeOf('U0ALICE'); // still cached: bob was the one dropped
    expect(api!.of('users.info').map((c) => c.body.user)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL']);
    now = 1001;
    await l.localeOf('U0ALICE');
    expect(api!.of('users.info').map((c) => c.body.user)).toEqual(['U0ALICE', 'U0BOB', 'U0CAROL', 'U0ALICE']);
  });

  it("one users.info per person serves their language and their directory identity", async () => {
    const l = await languages({ U0BOB: 'zh-TW' });
    const directory = new SlackDirectory(new webApi.WebClient('xoxb-test', { slackApiUrl: api!.url, retryConfig: { retries: 0 } }), memoryLog().log, { people });
    expect(await l.localeOf('U0BOB')).toBe('zh-TW');
    expect(await directory.profile('U0BOB')).toEqual({ name: 'bob', email: 'bob@contoso.com' });
    expect(await directory.userName('U0BOB')).toBe('bob');
    expect(api!.of('users.info').map((c) => [c.body.user, c.body.include_locale])).toEqual([['U0BOB', 'true']]);
  });
});
