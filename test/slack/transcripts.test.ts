// Whole conversations through Slack's transport and the real core, with PowerShell agents on LyncSim; each is
// compared with its transcript under test/slack/transcripts/ (update with `npx vitest run test/slack -u`).
import { afterEach, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { USERS } from '../support/world.js';
import { type Harness, progressOf, startHarness } from './transcript.js';

const names = { [USERS.alice]: 'alice', [USERS.bob]: 'bob', [USERS.carol]: 'carol', [USERS.mallory]: 'mallory' };

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describeWithPwsh('Slack transcripts against LyncSim', () => {
  it('setup approved and verified', async () => {
    h = await startHarness({ executable: pwshExecutable()!, names });
    await h.say(USERS.alice, 'setup');
    const requestId = h.pendingRequestId();
    await h.click(USERS.bob, 'approve', requestId);
    await h.say(USERS.alice, 'verify');
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/setup-approved-and-verified.txt');

    // the run message moved forward step by step and never went back
    const runPost = h.api.calls.find((c) => c.method === 'chat.postMessage' && String(c.body.text).startsWith('Run '))!;
    const updates = progressOf(h.api, runPost.response!.ts as string);
    expect(updates.length).toBeGreaterThanOrEqual(4);
    const rank = [':white_small_square:', ':arrows_counterclockwise:', ':white_check_mark:'];
    for (let i = 1; i < updates.length; i++) {
      updates[i]!.forEach((status, step) => expect(rank.indexOf(status)).toBeGreaterThanOrEqual(rank.indexOf(updates[i - 1]![step]!)));
    }
    expect(updates.at(-1)!.every((s) => s === ':white_check_mark:')).toBe(true);
  });

  it('self-approval refused', async () => {
    h = await startHarness({ executable: pwshExecutable()!, names });
    await h.say(USERS.alice, 'setup --cloud gcchigh');
    const requestId = h.pendingRequestId();
    await h.click(USERS.alice, 'approve', requestId);
    await h.click(USERS.bob, 'deny', requestId);
    await h.submitDenial(USERS.bob, requestId, 'GCC High is not our tenant');
    await h.click(USERS.carol, 'approve', requestId);
    await expect(h.transcript()).toMatchFileSnapshot('./transcripts/self-approval-refused.txt');
    expect(h.api.calls.filter((c) => c.method === 'chat.postMessage')).toHaveLength(1);
  });
});
