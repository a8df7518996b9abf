// Warnings a cmdlet wrote (the real Lync cmdlets write them) reach the team under their step, within Slack's limits.
import { describe, expect, it } from 'vitest';
import type { StepResult } from '../../src/core/records.js';
import { renderView } from '../../src/slack/blocks/renderView.js';
import { stepBlock, WARNING_CHARS, WARNINGS_SHOWN } from '../../src/slack/blocks/steps.js';
import { run } from './fixtures.js';
import { limitViolations } from './limits.js';

const sectionText = (step: StepResult): string => {
  const block = stepBlock(step);
  if (block.type !== 'section' || !block.text) throw new Error('a step is one section');
  return block.text.text;
};

const created = (warnings?: string[]): StepResult => ({
  stepId: 'hosting-provider',
  title: 'Hosting provider for Exchange Online',
  role: 'internal',
  kind: 'change',
  action: 'create',
  status: 'succeeded',
  durationMs: 1250,
  invocations: [{ line: "New-CsHostingProvider -Identity 'Exchange Online'", agent: 'fe01', ok: true, durationMs: 1200 }],
  ...(warnings ? { warnings } : {}),
});

describe('warnings under the step', () => {
  it('golden: the step, its cmdlet, then each warning on its line, escaped', () => {
    expect(sectionText(created(['fe01: The change takes effect after replication.', 'edge01: <b>&</b> over\ntwo lines']))).toBe(
      [
        ':white_check_mark: *Hosting provider for Exchange Online* · `+ create` · role internal on fe01 · succeeded · 1.3 s',
        '```',
        "New-CsHostingProvider -Identity 'Exchange Online'",
        '```',
        '*Warnings the cmdlets wrote (2):*',
        '• fe01: The change takes effect after replication.',
        '• edge01: &lt;b&gt;&amp;&lt;/b&gt; over two lines',
      ].join('\n'),
    );
  });

  it('a step without warnings has no warnings heading', () => {
    expect(sectionText(created())).not.toContain('Warnings');
    expect(sectionText(created([]))).not.toContain('Warnings');
  });

  it('after the error and what to check, which matter more when Slack clips the section', () => {
    const text = sectionText({ ...created(['slow store']), status: 'failed', error: 'New-CsHostingProvider: agent fe01: the CMS is read-only', hints: ['wait for the change window'] });
    expect(text.indexOf(':warning: New-CsHostingProvider')).toBeLessThan(text.indexOf('*What to check:*'));
    expect(text.indexOf('*What to check:*')).toBeLessThan(text.indexOf('*Warnings the cmdlets wrote (1):*'));
  });

  it('hundreds of long warnings: a bounded few shown, the rest counted, the message within limits', () => {
    const many = Array.from({ length: 400 }, (_, i) => `warning ${i}: ${'x'.repeat(2000)}`);
    const r = run();
    r.steps = r.steps.map((s) => ({ ...s, warnings: many }));
    const out = renderView({ kind: 'run', run: r });
    expect(limitViolations(out.blocks)).toEqual([]);
    // Slack refuses a message whose blocks carry more than about 12,000 characters in all
    const chars = out.blocks.reduce((n, b) => n + (b.type === 'section' && b.text ? b.text.text.length : 0), 0);
    expect(chars).toBeLessThan(12_000);
    const text = sectionText({ ...created(many) });
    const bullets = text.split('\n').filter((l) => l.startsWith('• '));
    expect(bullets).toHaveLength(WARNINGS_SHOWN);
    for (const b of bullets) expect(b.length).toBeLessThanOrEqual(WARNING_CHARS + 2);
    expect(text).toContain(`_… ${400 - WARNINGS_SHOWN} more warnings not shown_`);
    // the verdict survives whatever the warnings weigh
    expect(JSON.stringify(out.blocks)).toContain(':white_check_mark: *Succeeded*');
  });
});
