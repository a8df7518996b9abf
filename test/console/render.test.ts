// The console's text: tables that line up with or without colour, Slack markup made readable, and run progress
// compacted to one line per change. Pure: no PowerShell.
import { describe, expect, it } from 'vitest';
import { ConsoleNotifier } from '../../src/console/notifier.js';
import { renderHistory, renderRun, stepDetails } from '../../src/console/renderView.js';
import { box, plain, stripAnsi, style, wantsColor, width } from '../../src/console/text.js';
import type { RequestRecord, RunRecord, StepResult } from '../../src/core/records.js';
import { renderHistory as renderSlackHistory } from '../../src/slack/blocks/history.js';

function run(steps: Partial<StepResult>[], status: RunRecord['status'] = 'running'): RunRecord {
  return {
    id: 'run-1',
    requestId: 'r-1',
    runbook: 'setup',
    deployment: 'contoso',
    channel: 'console',
    requester: 'alice',
    approvers: ['bob'],
    status,
    startedAt: '2025-03-01T10:00:00.000Z',
    values: { cloud: 'worldwide' },
    steps: steps.map((s, i) => ({ stepId: `s${i}`, title: `Step ${i + 1}`, role: 'internal', kind: 'change', status: 'pending', invocations: [], ...s })),
  };
}

function capture(color = false) {
  let text = '';
  const notifier = new ConsoleNotifier({ out: { write: (s: string) => (text += s) }, color });
  return { notifier, text: () => text };
}

describe('text', () => {
  it('draws boxes whose columns line up even when cells are coloured', () => {
    const st = style(true);
    const lines = box([['replica', 'up to date'], ['fe01.contoso.local', st.green('yes')], ['edge01.contoso.local', st.red('NO')]], st);
    const widths = lines.map(width);
    expect(new Set(widths).size).toBe(1);
    expect(stripAnsi(lines.join('\n'))).toBe(
      [
        '┌──────────────────────┬────────────┐',
        '│ replica              │ up to date │',
        '├──────────────────────┼────────────┤',
        '│ fe01.contoso.local   │ yes        │',
        '│ edge01.contoso.local │ NO         │',
        '└──────────────────────┴────────────┘',
      ].join('\n'),
    );
  });

  it('turns Slack mentions into names people read', () => {
    expect(plain('a change is already running: run run-1 by <@alice>; use <#C0123|lync-ops> or ask <!subteam^S0AB>')).toBe(
      'a change is already running: run run-1 by @alice; use #lync-ops or ask @S0AB',
    );
  });

  it('colours only a terminal, and never with NO_COLOR set', () => {
    expect(wantsColor({ isTTY: true }, {})).toBe(true);
    expect(wantsColor({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor({ isTTY: false }, {})).toBe(false);
    expect(wantsColor({}, {})).toBe(false);
  });
});

describe('ConsoleNotifier', () => {
  it('numbers messages, marks updates, compacts progress to one line per change and shows the finished run whole', async () => {
    const { notifier, text } = capture();
    const ref = await notifier.post('console', { kind: 'run', run: run([{}, { kind: 'replication' }]) });
    expect(ref.ts).toBe('1');
    expect(text()).toContain('── message 1 · run');
    const before = text().length;

    await notifier.update(ref, { kind: 'run', run: run([{ status: 'succeeded', durationMs: 700 }, {}]) });
    const lagging = { fqdn: 'edge01.contoso.local', upToDate: false, lastStatusReport: null, lastUpdateCreation: null, productVersion: null };
    const fresh = { ...lagging, fqdn: 'fe01.contoso.local', upToDate: true };
    const polling = run([{ status: 'succeeded', durationMs: 700 }, { kind: 'replication', status: 'running', replicas: [fresh, lagging] }]);
    await notifier.update(ref, { kind: 'run', run: polling });
    await notifier.update(ref, { kind: 'run', run: polling }); // the same poll again: nothing new to say
    const progress = text().slice(before).trim().split('\n');
    expect(progress).toEqual([
      '(update of message 1) run run-1 · step 1/2 · ✓ Step 1: succeeded in 700 ms',
      '(update of message 1) run run-1 · step 1/2 · ↻ Step 2: waiting for edge01.contoso.local (1 of 2 up to date)',
    ]);

    const done = run([{ status: 'succeeded', durationMs: 700 }, { kind: 'replication', status: 'succeeded', replicas: [fresh, { ...lagging, upToDate: true }] }], 'succeeded');
    done.summary = 'the change is in the Central Management Store and on every Edge';
    await notifier.update(ref, { kind: 'run', run: done });
    const last = text().slice(before);
    expect(last).toContain('(update of message 1)\nRun run-1: setup — succeeded');
    expect(last).toMatch(/│ edge01\.contoso\.local │ yes\s+│/);
    expect(notifier.messages[0]!.updates).toBe(4);
  });

  it('shows ephemeral replies as (only you), indented under the label', async () => {
    const { notifier, text } = capture();
    await notifier.ephemeral('console', 'alice', { kind: 'text', text: 'usage of /lync-exo:\n`/lync-exo setup`: plan' });
    expect(text()).toBe('(only you) usage of /lync-exo:\n           `/lync-exo setup`: plan\n');
    expect(notifier.lastEphemeral('alice')).toMatch(/^usage/);
  });

  it('refuses to update a message it never posted', async () => {
    const { notifier } = capture();
    await expect(notifier.update({ channel: 'console', ts: '9' }, { kind: 'text', text: 'x' })).rejects.toThrow(/no message 9/);
  });
});

describe('warnings under the step', () => {
  it('a step that succeeded with warnings shows them, one per line, under its cmdlet and findings', () => {
    const step: StepResult = {
      stepId: 'hosting-provider',
      title: 'Hosting provider for Exchange Online',
      role: 'internal',
      kind: 'change',
      action: 'create',
      status: 'succeeded',
      durationMs: 1250,
      invocations: [{ line: "New-CsHostingProvider -Identity 'Exchange Online'", agent: 'fe01', ok: true, durationMs: 1200 }],
      warnings: ['fe01: The change will take effect after replication.', 'edge01: Topology not published\n  since the last change.'],
    };
    expect(stepDetails(step, style(false))).toEqual([
      '✓ Hosting provider for Exchange Online',
      "  PS> New-CsHostingProvider -Identity 'Exchange Online'   (fe01, ok, 1.2 s)",
      '  Warnings the cmdlets wrote (2):',
      '    ⚠ fe01: The change will take effect after replication.',
      '    ⚠ edge01: Topology not published since the last change.',
    ]);
  });

  it('a step with nothing but warnings still gets its details, after the error and what to check', () => {
    const only: StepResult = { stepId: 's', title: 'Read', role: 'edge', kind: 'read', status: 'failed', invocations: [], error: 'Get-CsHostingProvider: agent edge01: store offline', hints: ['start the service'], warnings: ['slow store'] };
    expect(stepDetails(only, style(false))).toEqual([
      '✗ Read',
      '  ⚠ Get-CsHostingProvider: agent edge01: store offline',
      '  What to check:',
      '    • start the service',
      '  Warnings the cmdlets wrote (1):',
      '    ⚠ slow store',
    ]);
    // no warnings field, no warnings heading
    expect(stepDetails({ ...only, warnings: undefined }, style(false)).join('\n')).not.toContain('Warnings');
  });

  it('the finished run shows the warnings under their step, in yellow on a terminal', () => {
    const r = run([{ title: 'Create', status: 'succeeded', invocations: [{ line: 'New-CsHostingProvider', agent: 'fe01', ok: true, durationMs: 5 }], warnings: ['careful'] }, { title: 'Replicate', status: 'succeeded' }], 'succeeded');
    const lines = renderRun(r, { command: '/lync-exo', style: style(true) });
    const at = lines.findIndex((l) => stripAnsi(l) === '✓ Create');
    expect(at).toBeGreaterThan(-1);
    expect(lines.slice(at + 2, at + 4).map(stripAnsi)).toEqual(['  Warnings the cmdlets wrote (1):', '    ⚠ careful']);
    expect(lines[at + 3]).toBe(style(true).yellow('    ⚠ careful'));
  });
});

describe('history: who approved, in directory terms', () => {
  const approved: RequestRecord = {
    id: 'r-1',
    runbook: 'setup',
    deployment: 'contoso',
    requester: 'alice',
    channel: 'console',
    values: {},
    plan: { fingerprint: 'f', steps: [] } as unknown as RequestRecord['plan'],
    status: 'approved',
    approvals: [{ user: 'bob', at: '2025-03-01T10:00:00.000Z', email: 'bob@contoso.com', account: 'CONTOSO\\bob' }, { user: 'carol', at: '2025-03-01T10:01:00.000Z' }],
    createdAt: '2025-03-01T09:59:00.000Z',
    expiresAt: '2025-03-01T10:59:00.000Z',
  };

  it('the console names each approver with the email and account recorded when they approved', () => {
    const text = stripAnsi(renderHistory([approved], [], { command: '/lync-exo', style: style(false) }).join('\n'));
    expect(text).toContain('@bob (bob@contoso.com, CONTOSO\\bob), @carol');
  });

  it('Slack does too, with the directory text escaped (it came from a profile anyone can edit)', () => {
    const hostile: RequestRecord = { ...approved, approvals: [{ user: 'U0BOB', at: approved.createdAt, email: '<!channel>@contoso.com' }] };
    const page = JSON.stringify(renderSlackHistory([approved, hostile], [], { bob: 'Bob' }).blocks);
    expect(page).toContain('bob@contoso.com, CONTOSO\\\\bob');
    expect(page).toContain('&lt;!channel&gt;@contoso.com');
    expect(page).not.toContain('<!channel>');
  });
});
