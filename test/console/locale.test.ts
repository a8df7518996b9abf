// `lync-exo console --locale`: the console's messages in the language asked for, a clear refusal of one it does
// not speak (before any PowerShell starts), and a terminal table that lines up in Chinese.
import { describe, expect, it } from 'vitest';
import { ConsoleNotifier } from '../../src/console/notifier.js';
import { consoleWords } from '../../src/console/renderView.js';
import { runConsole } from '../../src/console/runConsole.js';
import { width } from '../../src/console/text.js';
import { request, rule } from '../slack/fixtures.js';

const sink = () => {
  let text = '';
  return { out: { write: (s: string) => ((text += s), true) }, text: () => text };
};

describe('console --locale', () => {
  it('refuses a language it does not speak, naming the ones it does, before PowerShell starts', async () => {
    const o = sink();
    const code = await runConsole({ locale: 'fr', input: (async function* () {})() as never, output: o.out as never, executable: '/nonexistent/pwsh' });
    expect(code).toBe(2);
    expect(o.text()).toBe('lync-exo console: --locale takes en or zh-TW; got "fr"\n');
  });

  it('shows the plan in zh-TW, its box table aligned by display columns', async () => {
    const o = sink();
    const notifier = new ConsoleNotifier({ out: o.out, words: consoleWords('zh-TW', 'Asia/Taipei') });
    await notifier.post('console', { kind: 'plan', request: request(), rule, dryRun: false });
    const text = o.text();
    expect(text).toContain('計畫：setup');
    expect(text).toContain('要求者 @U0ALICE · Runbook setup · 要求 `r-1`');
    expect(text).toContain('核准：approve r-1');
    // 2025-03-01T11:00:00Z in Taipei
    expect(text).toMatch(/逾期時間 2025年3月1日 19:00:00 \[GMT\+8\]/);
    const table = text.split('\n').filter((l) => l.startsWith('│') || l.startsWith('┌'));
    expect(new Set(table.map(width)).size).toBe(1);
  });
});
