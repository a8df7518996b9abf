import { describe, expect, it } from 'vitest';
import type { View } from '../../src/core/ports.js';
import type { RequestRecord, StepResult } from '../../src/core/records.js';
import { clip } from '../../src/slack/blocks/kit.js';
import { renderView } from '../../src/slack/blocks/renderView.js';
import { denyModal, readDenyMetadata } from '../../src/slack/blocks/denyModal.js';
import { ACTIONS } from '../../src/slack/ids.js';
import { failedRun, preState, request, rule, run, setupPlan, values } from './fixtures.js';
import { limitViolations } from './limits.js';

const render = (view: View) => {
  const out = renderView(view);
  expect(limitViolations(out.blocks)).toEqual([]);
  return out;
};
const actions = (blocks: ReturnType<typeof renderView>['blocks']) => blocks.filter((b) => b.type === 'actions');
const allText = (blocks: ReturnType<typeof renderView>['blocks']) => JSON.stringify(blocks);

describe('plan', () => {
  it('pending: steps, cmdlets, roles, fingerprint, rule, expiry and the two buttons', () => {
    const out = render({ kind: 'plan', request: request(), rule, dryRun: false });
    expect(out).toMatchSnapshot();
    const text = allText(out.blocks);
    expect(text).toContain('~ change');
    expect(text).toContain('+ create');
    expect(text).toContain('AllowFederatedUsers: False → True');
    expect(text).toContain('Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True');
    expect(text).toContain('<!date^1740826800^');
    expect(text).toContain(request().plan.fingerprint);
    const [block] = actions(out.blocks);
    expect(block).toMatchObject({
      elements: [
        { action_id: ACTIONS.approve, value: 'r-1', style: 'primary', confirm: { confirm: { text: 'Approve' } } },
        { action_id: ACTIONS.deny, value: 'r-1' },
      ],
    });
  });

  it('replace and no-op steps read as -/+ and =', () => {
    const state = preState({
      accessEdge: [{ Identity: 'Global', AllowFederatedUsers: true, RoutingMethod: 'UseDnsSrvRouting' }],
      providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.partner.outlook.cn', Enabled: true, EnabledSharedAddressSpace: true, HostsOCSUsers: false, IsLocal: false, VerificationLevel: 'UseSourceVerification' }],
    });
    const out = render({ kind: 'plan', request: request({ plan: setupPlan(state) }), rule, dryRun: false });
    expect(out).toMatchSnapshot();
    const text = allText(out.blocks);
    expect(text).toContain('= no-op');
    expect(text).toContain('-/+ replace');
    expect(text).toContain('ProxyFqdn: exap.um.partner.outlook.cn → exap.um.outlook.com');
    expect(text).toContain("Remove-CsHostingProvider -Identity 'Exchange Online' -Confirm:$false");
  });

  it('a dry run has no buttons', () => {
    const out = render({ kind: 'plan', request: request({ id: 'dry-run' }), rule, dryRun: true });
    expect(out).toMatchSnapshot();
    expect(actions(out.blocks)).toEqual([]);
  });

  it.each([
    ['approved', { status: 'approved', approvals: [{ user: 'U0BOB', at: '2025-03-01T10:04:00.000Z' }], runId: 'run-1', decidedAt: '2025-03-01T10:04:00.000Z' }, 'Approved* by <@U0BOB>'],
    ['denied', { status: 'denied', decidedBy: 'U0BOB', reason: 'not during <the> freeze & not today', decidedAt: '2025-03-01T10:04:00.000Z' }, 'Denied* by <@U0BOB>'],
    ['cancelled', { status: 'cancelled', decidedBy: 'U0ALICE', decidedAt: '2025-03-01T10:04:00.000Z' }, 'Cancelled* by <@U0ALICE>'],
    ['expired', { status: 'expired' }, 'Expired*'],
  ] as const)('%s: who and why, and no buttons', (_name, over, says) => {
    const out = render({ kind: 'plan', request: request(over as unknown as Partial<RequestRecord>), rule, dryRun: false });
    expect(out).toMatchSnapshot();
    expect(actions(out.blocks)).toEqual([]);
    expect(allText(out.blocks)).toContain(says);
  });

  it('escapes text that would be markup: a denial reason cannot mention @channel', () => {
    const out = render({ kind: 'plan', request: request({ status: 'denied', decidedBy: 'U0BOB', reason: '<!channel> look' }), rule, dryRun: false });
    expect(allText(out.blocks)).toContain('&lt;!channel&gt; look');
    expect(allText(out.blocks)).not.toContain('<!channel>');
  });
});

describe('run', () => {
  it('succeeded: statuses, durations, cmdlets, replicas, Edge comparison, verdict, people, run id', () => {
    const out = render({ kind: 'run', run: run() });
    expect(out).toMatchSnapshot();
    const text = allText(out.blocks);
    for (const s of ['fe01.contoso.local', 'edge01.contoso.local', 'ProxyFqdn', '✓', '1.3 s', '<@U0ALICE>', '<@U0BOB>', 'run-1', ':white_check_mark: *Succeeded*']) expect(text).toContain(s);
  });

  it('failed: the lagging replica, the error and the hints', () => {
    const out = render({ kind: 'run', run: failedRun() });
    expect(out).toMatchSnapshot();
    const text = allText(out.blocks);
    expect(text).toContain('NO');
    expect(text).toContain('What to check');
    expect(text).toContain('Replica Replicator Agent');
  });

  it('an Edge mismatch shows expected vs actual with ✗', () => {
    const r = run({ status: 'failed' });
    r.steps[3]!.edges = [{ agent: 'edge01', ok: false, found: true, checks: [{ property: 'ProxyFqdn', expected: 'exap.um.outlook.com', actual: 'exap.um.office365.us', ok: false }] }];
    r.steps[3]!.status = 'failed';
    const text = allText(render({ kind: 'run', run: r }).blocks);
    expect(text).toMatch(/edge01 +ProxyFqdn +exap\.um\.outlook\.com +exap\.um\.office365\.us +✗/);
  });
});

describe('the other views', () => {
  it('refused plan: the reasons', () => {
    const p = setupPlan(preState({ accessEdge: [{ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDefaultRouting' }] }));
    expect(p.refusals.length).toBeGreaterThan(0);
    const out = render({ kind: 'refused-plan', runbook: 'setup', requester: 'U0ALICE', plan: p });
    expect(out).toMatchSnapshot();
    expect(allText(out.blocks)).toContain('UseDefaultRouting');
  });

  it('nothing to change: offers verify', () => {
    const p = setupPlan(preState({
      accessEdge: [{ Identity: 'Global', AllowFederatedUsers: true, RoutingMethod: 'UseDnsSrvRouting' }],
      providers: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true, EnabledSharedAddressSpace: true, HostsOCSUsers: false, IsLocal: false, VerificationLevel: 'UseSourceVerification' }],
    }));
    const out = render({ kind: 'nothing-to-change', runbook: 'setup', requester: 'U0ALICE', plan: p, verify: 'verify' });
    expect(out).toMatchSnapshot();
    expect(allText(out.blocks)).toContain('/lync-exo verify');
  });

  it('verify report: items pass/fail', () => {
    const out = render({
      kind: 'report', title: 'verify', requester: 'U0CAROL', verdict: 'fail', steps: run().steps.slice(2),
      items: [
        { item: 'Allow federated users: AllowFederatedUsers', expected: 'True', actual: 'True', ok: true },
        { item: 'Hosting provider for Exchange Online: Exchange Online', expected: 'exists', actual: 'absent', ok: false },
      ],
    });
    expect(out).toMatchSnapshot();
    expect(allText(out.blocks)).toContain('✗ fail');
  });

  it('status report: objects read per agent', () => {
    const step: StepResult = {
      stepId: 'edge-providers', title: 'Hosting providers in the Edge local store', role: 'edge', kind: 'read', status: 'succeeded', durationMs: 420,
      invocations: [{ line: 'Get-CsHostingProvider -LocalStore', agent: 'edge01', ok: true, durationMs: 400 }],
      objects: [{ agent: 'edge01', items: [{ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true }] }],
    };
    const out = render({ kind: 'report', title: 'status', requester: 'U0CAROL', steps: [step] });
    expect(out).toMatchSnapshot();
  });

  it('history', () => {
    const out = render({
      kind: 'history',
      requests: [request({ status: 'approved', approvals: [{ user: 'U0BOB', at: '2025-03-01T10:04:00.000Z' }], runId: 'run-1' }), request({ id: 'r-2', status: 'denied', decidedBy: 'U0CAROL', reason: 'wrong cloud' })],
      runs: [run()],
    });
    expect(out).toMatchSnapshot();
  });

  it('text', () => {
    expect(render({ kind: 'text', text: 'usage: /lync-exo setup' })).toMatchSnapshot();
  });

  it('the deny modal carries the request and channel', () => {
    const modal = denyModal({ requestId: 'r-1', channel: 'C0LYNCOPS' });
    expect(modal).toMatchSnapshot();
    expect(readDenyMetadata(modal.private_metadata!)).toEqual({ requestId: 'r-1', channel: 'C0LYNCOPS' });
    expect(readDenyMetadata('nope')).toBeUndefined();
  });
});

describe("Slack's limits", () => {
  it('a huge plan stays within 50 blocks and 3,000 characters, and keeps its buttons', () => {
    const base = setupPlan();
    const big = { ...base, steps: Array.from({ length: 80 }, (_, i) => ({ ...base.steps[1]!, stepId: `p${i}`, target: `Provider ${i}`, invocations: Array.from({ length: 30 }, () => base.steps[1]!.invocations[0]!) })), warnings: Array.from({ length: 200 }, (_, i) => `warning ${i}: a user is homed on the provider that will be removed`) };
    const out = render({ kind: 'plan', request: request({ plan: big }), rule, dryRun: false });
    expect(actions(out.blocks)).toHaveLength(1);
    expect(allText(out.blocks)).toMatch(/more steps cut; the full details are in the thread/);
    expect(allText(out.blocks)).toMatch(/more lines cut; the full text is in the thread/);
  });

  it('a huge run stays within limits and keeps its verdict', () => {
    const r = run();
    const replicas = Array.from({ length: 400 }, (_, i) => ({ fqdn: `replica${i}.contoso.local`, upToDate: i % 2 === 0, lastStatusReport: null, lastUpdateCreation: null, productVersion: null }));
    r.steps = Array.from({ length: 70 }, (_, i) => ({ ...run().steps[2]!, stepId: `s${i}`, replicas }));
    const out = render({ kind: 'run', run: r });
    expect(allText(out.blocks)).toContain(':white_check_mark: *Succeeded*');
    expect(allText(out.blocks)).toMatch(/more lines cut; the full text is in the thread/);
    expect(out.text.length).toBeLessThanOrEqual(3000);
  });

  it('clip cuts on lines, closes an open code fence and counts what it cut', () => {
    const text = ['head', '```', ...Array.from({ length: 500 }, (_, i) => `line ${i} ${'x'.repeat(20)}`), '```'].join('\n');
    const out = clip(text, 300);
    expect(out.length).toBeLessThanOrEqual(300);
    expect((out.match(/^```/gm) ?? []).length).toBe(2);
    const kept = out.split('\n').filter((l) => l.startsWith('line ')).length;
    expect(out).toContain(`… ${502 - 1 - kept} more lines cut; the full text is in the thread`);
    expect(clip('x'.repeat(5000), 100).length).toBeLessThanOrEqual(100);
    expect(clip('short')).toBe('short');
  });

  it('values and inputs pass through unchanged', () => {
    expect(allText(render({ kind: 'plan', request: request(), rule, dryRun: false }).blocks)).toContain(values.proxyFqdn);
  });
});
