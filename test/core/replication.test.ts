// The replication and Edge checks against scripted agents and a fake clock: which replicas must be up to date, a
// replica that reports UpToDate for the update before the change, one that never reports, the Edge read retried
// before a mismatch is called, and the warnings cmdlets write reaching the step.
import { describe, expect, it } from 'vitest';
import { checkEdges, checkReplication, EDGE_READ_ATTEMPTS, selectReplicas, type CheckedReplicaRow, type RunContext } from '../../src/core/run/execute.js';
import type { AgentPool, Clock } from '../../src/core/ports.js';
import type { StepResult } from '../../src/core/records.js';
import type { Agent, Invocation, InvocationResult, Role } from '../../src/core/types.js';

const T0 = Date.parse('2026-03-01T10:00:00.000Z');

function fakeClock(): Clock & { slept: number[] } {
  let now = T0;
  const slept: number[] = [];
  return {
    slept,
    now: () => new Date(now),
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
  };
}

/** An agent that answers each call with the next scripted output (the last one repeats). */
function scripted(name: string, roles: Role[], answers: Array<Record<string, unknown>[] | { warnings: string[]; output: Record<string, unknown>[] }>): Agent & { calls: Invocation[] } {
  const calls: Invocation[] = [];
  return {
    name,
    roles,
    calls,
    invoke: async (inv): Promise<InvocationResult> => {
      calls.push(inv);
      const a = answers[Math.min(calls.length - 1, answers.length - 1)]!;
      return Array.isArray(a) ? { ok: true, output: a, durationMs: 1, agent: name } : { ok: true, output: a.output, warnings: a.warnings, durationMs: 1, agent: name };
    },
    close: async () => undefined,
  };
}

function pool(agents: Agent[], expectedEdges: string[] = []): AgentPool {
  return {
    forRole: (role) => agents.filter((a) => a.roles.includes(role)),
    expected: (role) => (role === 'edge' ? expectedEdges : []),
    describe: () => [],
  };
}

const replica = (fqdn: string, upToDate: boolean, created: string | null) => ({
  UpToDate: upToDate,
  ReplicaFqdn: fqdn,
  LastStatusReport: created,
  LastUpdateCreation: created,
  ProductVersion: created ? '5.0.8308.0' : null,
});

const before = '2026-03-01T09:00:00.0000000Z';
const after = '2026-03-01T10:00:02.0000000Z';
const replicationSpec = { id: 'replication', title: 'replication', role: 'internal' as const, type: 'replication' as const, cmdlet: 'Get-CsManagementStoreReplicationStatus', wait: true };
const edgeSpec = { id: 'edge', title: 'edge', role: 'edge' as const, type: 'edge-check' as const, cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true }, expect: 'hosting-provider' };
const step = (kind: StepResult['kind']): StepResult => ({ stepId: kind, title: kind, role: 'internal', kind, status: 'running', invocations: [] });

function context(agents: Agent[], over: Partial<RunContext['replication']> = {}, clock = fakeClock()): RunContext & { clock: ReturnType<typeof fakeClock> } {
  return { agents: pool(agents), clock, replication: { pollIntervalMs: 1000, timeoutMs: 10_000, ...over }, progress: async () => undefined };
}

describe('selectReplicas', () => {
  const seen = [
    { fqdn: 'fe01.contoso.local', reported: true },
    { fqdn: 'edge01.contoso.local', reported: true },
    { fqdn: 'trustedapp01.contoso.local', reported: false },
  ];
  it.each([
    ['the Edge agent by first label', ['edge01'], {}, ['edge01.contoso.local'], []],
    ['the Edge agent by FQDN, any case', ['EDGE01.contoso.local'], {}, ['edge01.contoso.local'], []],
    ['plus what the policy requires', ['edge01'], { require: ['FE01.contoso.local'] }, ['fe01.contoso.local', 'edge01.contoso.local'], []],
    ['even one that never reported, when the policy requires it', ['edge01'], { require: ['trustedapp01.contoso.local'] }, ['edge01.contoso.local', 'trustedapp01.contoso.local'], []],
    ['an ignored Edge is not waited for', ['edge01'], { ignore: ['edge01.contoso.local'] }, [], []],
    ['an unmatched Edge agent: every replica that reports', ['lync01'], {}, ['fe01.contoso.local', 'edge01.contoso.local'], []],
    ['an unmatched Edge agent: less what the policy ignores', ['lync01'], { ignore: ['fe01.contoso.local'] }, ['edge01.contoso.local'], []],
    ['no Edge agents at all: every replica that reports', [], {}, ['fe01.contoso.local', 'edge01.contoso.local'], []],
    ['a required replica the status does not list', ['edge01'], { require: ['edge02.contoso.local'] }, ['edge01.contoso.local'], ['edge02.contoso.local']],
  ])('%s', (_name, edges, policy, required, missing) => {
    const s = selectReplicas(seen, edges, policy);
    expect([...s.required]).toEqual(required);
    expect(s.missing).toEqual(missing);
  });

  it('says how to name agents when an Edge agent matches no replica', () => {
    expect(selectReplicas(seen, ['lync01'], {}).notes.join(' ')).toMatch(/no replica is named after Edge agent lync01.*replication\.require/);
  });
});

describe('checkReplication', () => {
  const fe = (answers: Parameters<typeof scripted>[2]) => scripted('fe01', ['internal'], answers);
  const edge = scripted('edge01', ['edge'], [[]]);

  it('waits past a stale UpToDate=True until the Edge holds an update created after the change; a replica that never reports is shown, not required', async () => {
    const agent = fe([
      [replica('fe01.contoso.local', true, before), replica('edge01.contoso.local', true, before), replica('trustedapp01.contoso.local', false, null)],
      [replica('fe01.contoso.local', false, before), replica('edge01.contoso.local', false, before), replica('trustedapp01.contoso.local', false, null)],
      [replica('fe01.contoso.local', true, after), replica('edge01.contoso.local', true, after), replica('trustedapp01.contoso.local', false, null)],
    ]);
    const ctx = context([agent, edge]);
    const s = step('replication');
    const ok = await checkReplication(ctx, replicationSpec, s, true, undefined, new Date(T0));
    expect(ok, s.error).toBe(true);
    expect(agent.calls).toHaveLength(3);
    expect(ctx.clock.slept).toEqual([1000, 1000]);
    const rows = s.replicas as CheckedReplicaRow[];
    expect(rows.map((r) => [r.fqdn, r.required, r.current])).toEqual([
      ['fe01.contoso.local', false, true],
      ['edge01.contoso.local', true, true],
      ['trustedapp01.contoso.local', false, false],
    ]);
  });

  it('times out on a required replica still reporting the old update, and says it reports UpToDate', async () => {
    const agent = fe([[replica('edge01.contoso.local', true, before)]]);
    const ctx = context([agent, edge], { timeoutMs: 3000 });
    const s = step('replication');
    expect(await checkReplication(ctx, replicationSpec, s, true, undefined, new Date(T0))).toBe(false);
    expect(s.error).toMatch(/^replication did not complete within 3 s: not up to date: edge01\.contoso\.local \(reports UpToDate with an update created 2026-03-01T09:00:00/);
    expect(s.hints?.join(' ')).toMatch(/compare the clocks/);
  });

  it('without a change (verify), UpToDate is enough, and one read is all', async () => {
    const agent = fe([[replica('edge01.contoso.local', true, before), replica('trustedapp01.contoso.local', false, null)]]);
    const s = step('replication');
    expect(await checkReplication(context([agent, edge]), replicationSpec, s, false)).toBe(true);
    expect(agent.calls).toHaveLength(1);
  });

  it('fails at once when the policy requires a replica the status does not list', async () => {
    const agent = fe([[replica('edge01.contoso.local', true, after)]]);
    const s = step('replication');
    expect(await checkReplication(context([agent, edge], { require: ['edge02.contoso.local'] }), replicationSpec, s, true)).toBe(false);
    expect(agent.calls).toHaveLength(1);
    expect(s.error).toBe('replication.require names edge02.contoso.local, which is not in the replication status (replicas: edge01.contoso.local)');
  });

  it('copies the warnings the cmdlet wrote into the step, once however many polls wrote them', async () => {
    const { runChecks } = await import('../../src/core/run/execute.js');
    const warned = (output: Record<string, unknown>[]) => ({ warnings: ['the replica status is cached'], output });
    const agent = fe([warned([replica('edge01.contoso.local', false, before)]), warned([replica('edge01.contoso.local', true, after)])]);
    const steps: StepResult[] = [{ ...step('replication'), stepId: 'replication', status: 'pending' }];
    const plan = { steps: [], checks: [replicationSpec], refusals: [] } as unknown as Parameters<typeof runChecks>[1];
    expect(await runChecks(context([agent, edge]), plan, steps, async () => undefined, true, new Date(T0))).toBe(true);
    expect(agent.calls).toHaveLength(2);
    expect(steps[0]!.warnings).toEqual(['the replica status is cached']);
  });
});

describe('checkEdges', () => {
  const provider = { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true };
  const expected = { key: 'Identity', keyValue: 'Exchange Online', properties: { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true } };

  it('reads a local store that is behind again, a poll interval apart, before calling a mismatch', async () => {
    const edge = scripted('edge01', ['edge'], [[], [], [provider]]);
    const ctx = context([edge]);
    const s = step('edge-check');
    expect(await checkEdges(ctx, edgeSpec, s, expected, true)).toBe(true);
    expect(edge.calls).toHaveLength(3);
    expect(ctx.clock.slept).toEqual([1000, 1000]);
    expect(s.invocations).toHaveLength(1);
  });

  it(`gives up after ${EDGE_READ_ATTEMPTS} reads, and reads once without retry (verify)`, async () => {
    const edge = scripted('edge01', ['edge'], [[]]);
    const s = step('edge-check');
    expect(await checkEdges(context([edge]), edgeSpec, s, expected, true)).toBe(false);
    expect(edge.calls).toHaveLength(EDGE_READ_ATTEMPTS);
    expect(s.error).toBe('the Edge local store does not match on edge01');
    const once = scripted('edge01', ['edge'], [[]]);
    expect(await checkEdges(context([once]), edgeSpec, step('edge-check'), expected, false)).toBe(false);
    expect(once.calls).toHaveLength(1);
  });

  it('names the agent of each warning when several Edges ran the check', async () => {
    const { runChecks } = await import('../../src/core/run/execute.js');
    const a = scripted('edge01', ['edge'], [{ warnings: ['local store is 2 minutes old'], output: [provider] }]);
    const b = scripted('edge02', ['edge'], [{ warnings: ['local store is 2 minutes old'], output: [provider] }]);
    const steps: StepResult[] = [{ ...step('edge-check'), stepId: 'edge', status: 'pending' }];
    const plan = { steps: [{ stepId: 'hosting-provider', expected }], checks: [edgeSpec], refusals: [] } as unknown as Parameters<typeof runChecks>[1];
    expect(await runChecks(context([a, b]), plan, steps, async () => undefined)).toBe(true);
    expect(steps[0]!.warnings).toEqual(['edge01: local store is 2 minutes old', 'edge02: local store is 2 minutes old']);
  });
});
