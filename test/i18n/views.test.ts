// Every view in both languages, within Slack's limits (the same checks as the stand-in's), with no catalogue key
// showing; and the largest ones (many steps, many history rows, a long home) in Chinese, whose messages are no
// shorter in characters than English ones.
import { describe, expect, it } from 'vitest';
import type { View } from '../../src/core/ports.js';
import type { RequestRecord, RunRecord } from '../../src/core/records.js';
import { consoleWords, renderViewText } from '../../src/console/renderView.js';
import { CATALOGUES, LOCALES } from '../../src/i18n/index.js';
import { denyModal } from '../../src/slack/blocks/denyModal.js';
import { renderHome } from '../../src/slack/blocks/home.js';
import { slackWords, type Block } from '../../src/slack/blocks/kit.js';
import { renderView, renderViewPages } from '../../src/slack/blocks/renderView.js';
import { checkPublish } from '../slack/support/slackApi.js';
import { failedRun, request, rule, run, setupPlan } from '../slack/fixtures.js';
import { limitViolations } from '../slack/limits.js';

const dotted = Object.keys(CATALOGUES.en).filter((k) => k.includes('.'));
const showsKey = (text: string) => dotted.find((k) => text.includes(k));
const HAN = /[\u4e00-\u9fff]/;

const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
const longRun = (): RunRecord => {
  const r = run();
  return { ...r, steps: many(60, (i) => ({ ...r.steps[i % r.steps.length]!, stepId: `s${i}`, error: 'x'.repeat(400) })) };
};
const requests = (n: number): RequestRecord[] => many(n, (i) => request({ id: `r-${i}`, status: i % 3 ? 'denied' : 'approved', decidedBy: 'U0BOB', reason: '原因 reason '.repeat(20), runId: `run-${i}` }));

const VIEWS: [string, View][] = [
  ['plan pending', { kind: 'plan', request: request(), rule, dryRun: false }],
  ['plan approved with its run', { kind: 'plan', request: request({ status: 'approved', approvals: [{ user: 'U0BOB', at: '2025-03-01T10:01:00.000Z' }], runId: 'run-1' }), rule, dryRun: false, run: { id: 'run-1', status: 'succeeded' } }],
  ['plan denied', { kind: 'plan', request: request({ status: 'denied', decidedBy: 'U0BOB', decidedAt: '2025-03-01T10:01:00.000Z', reason: 'wrong cloud' }), rule, dryRun: false }],
  ['plan expired', { kind: 'plan', request: request({ status: 'expired' }), rule, dryRun: false }],
  ['dry run', { kind: 'plan', request: request(), rule, dryRun: true }],
  ['refused plan', { kind: 'refused-plan', runbook: 'setup', requester: 'U0ALICE', plan: { ...setupPlan(), refusals: ['a provider owns exap.um.outlook.com'] } }],
  ['nothing to change', { kind: 'nothing-to-change', runbook: 'setup', requester: 'U0ALICE', plan: setupPlan(), verify: 'verify' }],
  ['run', { kind: 'run', run: run(), note: 'run Set-CsTenantFederationConfiguration in Teams PowerShell' }],
  ['failed run', { kind: 'run', run: failedRun() }],
  ['interrupted run', { kind: 'run', run: { ...run(), status: 'interrupted' }, outcome: { code: 'interrupted', last: 'a', cut: ['b'], notRun: ['c'] } }],
  ['a run of 60 long steps', { kind: 'run', run: longRun() }],
  ['verify report', { kind: 'report', title: 'verify', runbook: 'setup', requester: 'U0CAROL', verdict: 'fail', steps: run().steps.slice(2), items: [{ item: 'ProxyFqdn', expected: 'a', actual: 'b', ok: false }], agents: [{ name: 'fe01', roles: ['internal'], online: true, host: 'fe01.contoso.local', session: 'ready' }] }],
  ['history of 120 rows', { kind: 'history', requests: requests(60), runs: many(60, (i) => ({ ...failedRun(), id: `run-${i}` })) }],
  ['detail in parts', { kind: 'detail', runId: 'run-1', title: 'per Edge', lines: many(400, (i) => `edge${i}: ${'y'.repeat(60)}`), part: { n: 1, of: 2 } }],
  ['plan outside the change windows, with a change reference', { kind: 'plan', request: request({ change: 'CHG0012345' }), rule, dryRun: false, window: { open: false, opensAt: '2025-03-01T22:00:00.000Z', timeZone: 'Asia/Taipei' } }],
  ['plan approved, waiting for its window', { kind: 'plan', request: request({ status: 'approved', approvals: [{ user: 'U0BOB', at: '2025-03-01T10:01:00.000Z' }], startsAt: '2025-03-01T22:00:00.000Z' }), rule, dryRun: false }],
  ['status with changes waiting for their window', { kind: 'report', title: 'status', requester: 'U0CAROL', steps: [], waiting: many(30, (i) => ({ requestId: `r-${i}`, runbook: 'setup', requester: 'U0ALICE', startsAt: '2025-03-01T22:00:00.000Z', change: 'CHG0012345' })) }],
  ['a drift report with its fix button', { kind: 'report', title: 'verify', runbook: 'setup', requester: 'lync-exo', steps: [], verdict: 'fail', drift: { previous: { verdict: 'pass', since: '2025-03-01T10:00:00.000Z', checkedAt: '2025-03-01T11:00:00.000Z' }, changed: many(40, (i) => ({ item: `item ${i}`, expected: 'True', before: 'True', now: 'False', ok: false })), fix: 'plan --cloud worldwide' } }],
  ['a notice', { kind: 'notice', notice: { code: 'approval-recorded', requestId: 'r-1', more: 2 } }],
];

describe('views in both languages within Slack limits', () => {
  for (const locale of LOCALES) {
    const words = slackWords(locale, 'Asia/Taipei');
    for (const [name, view] of VIEWS) {
      it(`${locale}: ${name}`, () => {
        for (const page of renderViewPages(view, { command: '/lync-exo', words })) {
          expect(limitViolations(page.blocks)).toEqual([]);
          expect(page.text.length).toBeLessThanOrEqual(3000);
          const all = page.text + JSON.stringify(page.blocks);
          expect(showsKey(all)).toBeUndefined();
          if (locale === 'zh-TW') expect(page.text + JSON.stringify(page.blocks.filter((b) => b.type === 'header'))).toMatch(HAN);
        }
        const lines = renderViewText(view, { command: '/lync-exo', words: consoleWords(locale) }).join('\n');
        expect(showsKey(lines)).toBeUndefined();
        if (locale === 'zh-TW') expect(lines).toMatch(HAN);
      });
    }

    it(`${locale}: the deny form and the App Home (100 waiting requests, the longest lists) within a view's limits`, () => {
      const modal = denyModal({ requestId: 'r-1', channel: 'C0LYNCOPS' }, words);
      // a modal's title, submit and close take 24 characters at most
      for (const t of [modal.title, modal.submit!, modal.close!]) expect(t.text.length).toBeLessThanOrEqual(24);
      expect(limitViolations(modal.blocks.filter((b) => b.type === 'section') as Block[])).toEqual([]);
      const home = renderHome({ deployment: 'contoso', running: { deployment: 'contoso', runId: 'run-9', requestId: 'r-9', requester: 'U0ALICE', since: '2025-03-01T10:00:00.000Z' }, latest: [run(), failedRun()], waiting: requests(100), runs: many(5, () => failedRun()) }, words, '/lync-exo');
      expect(checkPublish({ user_id: 'U0BOB', view: home })).toBeUndefined();
      expect(home.blocks.length).toBeLessThanOrEqual(100);
      expect(showsKey(JSON.stringify(home))).toBeUndefined();
      if (locale === 'zh-TW') expect(JSON.stringify(home)).toContain('等待您處理');
    });
  }

  it('English stays English: the same plan reads in each language, the fallback text too', () => {
    const en = renderView({ kind: 'plan', request: request(), rule, dryRun: false });
    const zh = renderView({ kind: 'plan', request: request(), rule, dryRun: false }, { command: '/lync-exo', words: slackWords('zh-TW') });
    expect(en.text).toBe('Plan r-1 (setup) by <@U0ALICE>: 2 changes, waiting for approval');
    expect(zh.text).toBe('<@U0ALICE> 的計畫 r-1（setup）：2 項變更，等待核准');
    expect(JSON.stringify(en.blocks)).not.toMatch(HAN);
  });
});
