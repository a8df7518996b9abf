// The catalogues are whole: every English message exists in every other language with the same ICU arguments and
// tags, every message parses, and every notice and outcome the core can say renders in each language with no key
// left showing and no English message standing in for a missing one.
import { parse, TYPE, type MessageFormatElement } from '@formatjs/icu-messageformat-parser';
import { describe, expect, it } from 'vitest';
import type { Notice, NoticeCode, RunOutcome } from '../../src/core/notices.js';
import type { StepProblem } from '../../src/core/records.js';
import { CATALOGUES, LOCALES, localeOf } from '../../src/i18n/index.js';
import { noticeText, outcomeText, stepErrorText } from '../../src/labels.js';
import { consoleWords } from '../../src/console/renderView.js';
import { slackWords } from '../../src/slack/blocks/kit.js';

const en = CATALOGUES.en;
const messages = (c: Record<string, string>) => Object.keys(c).filter((k) => !k.startsWith('_'));

/** The argument names and tag names a message uses, with each plural/select's own cases' arguments. */
function signature(elements: MessageFormatElement[], into = new Set<string>()): Set<string> {
  for (const e of elements) {
    if (e.type === TYPE.argument || e.type === TYPE.number || e.type === TYPE.date || e.type === TYPE.time) into.add(e.value);
    if (e.type === TYPE.plural || e.type === TYPE.select) {
      into.add(e.value);
      for (const option of Object.values(e.options)) signature(option.value, into);
    }
    if (e.type === TYPE.tag) {
      into.add(`<${e.value}>`);
      signature(e.children, into);
    }
  }
  return into;
}

/** The literal text of a message: what reaches Slack unescaped, so it must hold no markup characters. */
function literals(elements: MessageFormatElement[]): string {
  return elements
    .map((e) => (e.type === TYPE.literal ? e.value : e.type === TYPE.tag ? literals(e.children) : e.type === TYPE.plural || e.type === TYPE.select ? Object.values(e.options).map((o) => literals(o.value)).join('') : ''))
    .join('');
}

describe('catalogues', () => {
  for (const locale of LOCALES) {
    it(`${locale}: every message parses, uses no raw markup characters, and has the English message's arguments`, () => {
      const c = CATALOGUES[locale];
      const missing = messages(en).filter((k) => c[k] === undefined);
      const extra = messages(c).filter((k) => en[k] === undefined);
      expect({ missing, extra }).toEqual({ missing: [], extra: [] });
      for (const key of messages(en)) {
        const ours = parse(c[key]!);
        expect([...signature(ours)].sort(), `${locale} ${key}`).toEqual([...signature(parse(en[key]!))].sort());
        expect(literals(ours), `${locale} ${key}: & < > are Slack markup`).not.toMatch(/[&<>]/);
      }
    });
  }

  it('zh-TW has a glossary of the procedure terms, from the zh-TW documentation', () => {
    const zh = CATALOGUES['zh-TW'];
    const glossary = Object.entries(zh).filter(([k]) => k.startsWith('_glossary')).map(([, v]) => v).join('\n');
    for (const term of ['裝載提供者', '中央管理存放區', 'Edge Server', '複寫', '同盟']) expect(glossary).toContain(term);
  });

  it('Slack locales map to ours', () => {
    expect([localeOf('zh-TW'), localeOf('zh_HK'), localeOf('zh-Hant-TW'), localeOf('en-GB'), localeOf('en-US'), localeOf('zh-CN'), localeOf('ja-JP'), localeOf(undefined)]).toEqual(['zh-TW', 'zh-TW', 'zh-TW', 'en', 'en', undefined, undefined, undefined]);
  });
});

// One of every notice the core can say (the Record makes the compiler name a new code here), and every outcome.
const holder = { deployment: 'contoso', runId: 'run-1', requestId: 'r-1', requester: 'U0ALICE', since: '2026-12-01T10:00:00.000Z' };
const row = { name: 'setup', usage: '[--cloud worldwide]', summary: 'connect to Exchange Online', approval: true, options: [{ name: 'cloud', placeholder: 'worldwide', description: 'the cloud', default: 'worldwide' }] };
const NOTICES: { [C in NoticeCode]: Extract<Notice, { code: C }>[] } = {
  'bad-command': [{ code: 'bad-command', problem: 'too many words', usage: '/lync-exo setup' }],
  'unknown-subcommand': [
    { code: 'unknown-subcommand', word: 'stup', guess: 'setup', usage: '/lync-exo setup' },
    { code: 'unknown-subcommand', word: 'stup', guess: 'setup' },
    { code: 'unknown-subcommand', word: 'x', known: ['setup', 'status'] },
  ],
  'bad-option': [{ code: 'bad-option', problem: '--cloud takes one of …' }],
  help: [{ code: 'help', command: '/lync-exo', subcommands: [row] }],
  usage: [{ code: 'usage', command: '/lync-exo', subcommand: row }],
  'wrong-channel': [{ code: 'wrong-channel', channels: ['C0A', 'C0B'] }],
  'not-a-requester': [{ code: 'not-a-requester' }],
  'group-unreadable': [{ code: 'group-unreadable', group: 'S0X', error: 'missing_scope' }],
  'shutting-down': [{ code: 'shutting-down' }],
  locked: [{ code: 'locked', holder }],
  'change-reference-needed': [{ code: 'change-reference-needed', pattern: '^CHG\\d{7}$', example: 'CHG0012345' }],
  'bad-change-reference': [
    { code: 'bad-change-reference', given: 'x', pattern: '^CHG\\d{7}$', example: 'CHG0012345' },
    { code: 'bad-change-reference', given: 'x', pattern: '^CHG\\d{7}$' },
  ],
  'cancelled-waiting': [{ code: 'cancelled-waiting', requestId: 'r-1', startsAt: '2026-12-05T22:00:00.000Z' }],
  'read-failed': [
    { code: 'read-failed', error: 'timeout', hint: 'check the agent', planned: true },
    { code: 'read-failed', error: 'timeout', planned: false },
  ],
  'plan-not-posted': [
    { code: 'plan-not-posted', problem: 'not_in_channel', channel: 'C0A', requestId: 'r-1' },
    { code: 'plan-not-posted', problem: 'channel_not_found', channel: 'C0A', requestId: 'r-1' },
    { code: 'plan-not-posted', problem: 'is_archived', channel: 'C0A', requestId: 'r-1' },
    { code: 'plan-not-posted', problem: 'rejected', channel: 'C0A', requestId: 'r-1' },
  ],
  'plan-delayed': [{ code: 'plan-delayed', requestId: 'r-1', channel: 'C0A' }],
  'no-request': [{ code: 'no-request', requestId: 'r-9' }],
  'decide-elsewhere': [{ code: 'decide-elsewhere', requestId: 'r-1', channel: 'C0A' }],
  'not-pending': [{ code: 'not-pending', requestId: 'r-1', status: 'approved' }],
  'self-approval': [{ code: 'self-approval' }],
  'not-an-approver': [
    { code: 'not-an-approver', action: 'approve', approvers: { users: ['U0BOB'], groups: ['S0OPS'] } },
    { code: 'not-an-approver', action: 'deny', approvers: { users: ['U0BOB'], groups: [] } },
    { code: 'not-an-approver', action: 'cancel', approvers: { users: ['U0BOB'], groups: [] } },
    { code: 'not-an-approver', action: 'cancel', approvers: { users: ['U0BOB'], groups: [] }, requester: 'U0ALICE', requestId: 'r-1' },
  ],
  expired: [{ code: 'expired', requestId: 'r-1', expiresAt: '2026-12-01T11:00:00.000Z', runbook: 'setup', command: '/lync-exo' }],
  'already-approved': [{ code: 'already-approved', requestId: 'r-1', more: 1 }],
  'approval-recorded': [{ code: 'approval-recorded', requestId: 'r-1', more: 2 }],
  'reason-needed': [{ code: 'reason-needed' }],
  cancelled: [{ code: 'cancelled', requestId: 'r-1' }],
  'no-run': [{ code: 'no-run', runId: 'run-9' }],
  'nothing-to-undo': [{ code: 'nothing-to-undo', undo: 'rollback' }],
  'cannot-undo': [{ code: 'cannot-undo', runId: 'run-1', runbook: 'verify', status: 'succeeded', undo: 'rollback' }],
  'already-undone': [
    { code: 'already-undone', runId: 'run-1', runbook: 'setup', command: '/lync-exo', report: 'status' },
    { code: 'already-undone', runId: 'run-1', by: 'run-2', runbook: 'setup', command: '/lync-exo' },
  ],
};
const OUTCOMES: RunOutcome[] = [
  { code: 'lock-held', holder },
  { code: 'changed-since-approval', approved: 'aaaa', now: 'bbbb', runbook: 'setup', command: '/lync-exo' },
  { code: 'reread-failed', error: 'timeout' },
  { code: 'internal-error', runId: 'run-1', error: 'boom' },
  { code: 'interrupted', last: 'Allow federated users', cut: ['Hosting provider'], notRun: ['Replication'] },
];

describe('every notice and outcome in every language', () => {
  const keys = messages(en);
  // a key shown instead of its message (`notice.locked`); one-word keys (`none`) are words too, so only dotted ones
  const showsKey = (text: string) => keys.find((k) => k.includes('.') && text.includes(k));
  const englishOnly = (text: string) => keys.filter((k) => !/[{}]/.test(en[k]!) && en[k]!.length > 12 && text.includes(en[k]!));
  for (const locale of LOCALES) {
    for (const words of [slackWords(locale), consoleWords(locale)]) {
      it(`${locale}, ${words.marks.strong('x') === '*x*' ? 'Slack' : 'console'}`, () => {
        // bad-option's problem is the command parser's own sentence (src/core/command/parse.ts), passed as it is
        const notices = Object.values(NOTICES).flat().filter((n) => n.code !== 'bad-option');
        const texts = [...notices.map((n) => noticeText(n as Notice, words)), ...OUTCOMES.map((o) => outcomeText(o, words))];
        for (const text of texts) {
          expect(text.length).toBeGreaterThan(0);
          expect(showsKey(text), text).toBeUndefined();
          if (locale !== 'en') expect(englishOnly(text), text).toEqual([]);
          if (locale === 'zh-TW') expect(text, 'Traditional Chinese words').toMatch(/[\u4e00-\u9fff]/);
        }
      });
    }
  }
});

describe('failures the core finds, in every language', () => {
  // the Record makes the compiler name a new problem code here
  const PROBLEMS: { [C in StepProblem['code']]: Extract<StepProblem, { code: C }> } = {
    'edge-mismatch': { code: 'edge-mismatch', agents: ['edge01', 'edge02'] },
    'no-edge-agent': { code: 'no-edge-agent' },
    'edge-offline': { code: 'edge-offline' },
  };
  for (const locale of LOCALES) {
    it(`${locale}: worded from the catalogue, not the English error beside them`, () => {
      for (const problem of Object.values(PROBLEMS)) {
        const text = stepErrorText({ error: 'ENGLISH ERROR', problem }, slackWords(locale))!;
        expect(text).not.toContain('ENGLISH ERROR');
        expect(text).not.toMatch(/step\.problem/);
        if (problem.code === 'edge-mismatch') expect(text).toContain('edge02');
        if (locale === 'zh-TW') expect(text, 'Traditional Chinese words').toMatch(/[\u4e00-\u9fff]/);
      }
      // an error PowerShell wrote has no code: shown as written, escaped for Slack
      expect(stepErrorText({ error: 'Cannot find <thing> & co' }, slackWords(locale))).toBe('Cannot find &lt;thing&gt; &amp; co');
    });
  }
});
