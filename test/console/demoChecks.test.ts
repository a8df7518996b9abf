// The demo's checks are honest: a `[demo] ✓` holds only when what it names held. Broken on purpose (a LyncSim fault
// injected through its state file once the sessions are up), the demo exits 1 with the reason; and each check,
// fed records that look fine at a glance but are not, says why.
import { renameSync, writeFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { agentsProblem, edgeProblem, replicasProblem, runDemo, runProblem, statusProblem } from '../../src/demo.js';
import type { ReplicaRow, RunRecord, StepResult } from '../../src/core/records.js';
import { readSimState } from '../../src/simulator.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

/** Plays the demo with LyncSim's `faults.fail` set before the first line; its exit code and what it printed. */
async function demoWithFault(fail: Record<string, string>): Promise<{ code: number; text: string }> {
  const out = new PassThrough();
  let text = '';
  out.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  const code = await runDemo({
    out,
    executable: pwshExecutable()!,
    env: { LOG_LEVEL: 'silent', NO_COLOR: '1' },
    lagSeconds: 1,
    beforeFirstLine: (app) => {
      // nothing else writes between lines; the rename keeps LyncSim from reading half a file
      const state = readSimState(app.sim.statePath);
      state.faults.fail = fail;
      writeFileSync(`${app.sim.statePath}.tmp`, JSON.stringify(state));
      renameSync(`${app.sim.statePath}.tmp`, app.sim.statePath);
    },
  });
  return { code, text };
}

const failure = (text: string): string => text.match(/^demo: FAILED (.*)$/m)?.[1] ?? `(no failure line in:\n${text})`;

// a demo took over 3 min with two suites at once on two shared cores (load 33); the bound only ends a hang
describeWithPwsh('the demo fails when what it checks did not hold', { timeout: 480_000 }, () => {
  it('every status read failing: exit 1, the first status check names the failed step and its error', async () => {
    const { code, text } = await demoWithFault({ 'Get-CsManagementStoreReplicationStatus': 'the replica status is not available' });
    expect(code).toBe(1);
    expect(failure(text)).toMatch(
      /^after "alice> status": expected status was reported, and every read it makes succeeded, but step "Central Management Store replication" failed: Get-CsManagementStoreReplicationStatus: agent fe01: .*the replica status is not available/,
    );
    expect(text).not.toContain('[demo] ✓');
    expect(text).not.toContain('every expectation held');
  });

  it("the Edge's read failing: the status check names that step, not the one that worked", async () => {
    const { code, text } = await demoWithFault({ 'Get-CsAccessEdgeConfiguration': 'the local store is offline' });
    expect(code).toBe(1);
    expect(failure(text)).toMatch(/but step "Access Edge configuration in each Edge Server's local store" failed: Get-CsAccessEdgeConfiguration: agent edge01: .*the local store is offline/);
    expect(failure(text)).not.toContain('Central Management Store replication');
  });

  it('a change step failing: the checks before it hold, then the run check says which step failed and why', async () => {
    const { code, text } = await demoWithFault({ 'New-CsHostingProvider': 'the CMS is read-only right now' });
    expect(code).toBe(1);
    expect(text).toContain('[demo] ✓ alice may not approve her own request');
    expect(failure(text)).toMatch(/^after "bob> approve r-1": expected bob's approval ran the setup and every step succeeded, but run run-1 failed: .*step "Hosting provider for Exchange Online" failed: New-CsHostingProvider: agent fe01: .*the CMS is read-only right now/);
    expect(text).not.toContain("[demo] ✓ bob's approval");
  });
});

const replica = (fqdn: string, over: Partial<ReplicaRow> = {}): ReplicaRow => ({ fqdn, upToDate: true, lastStatusReport: '2025-03-01T10:05:20Z', lastUpdateCreation: '2025-03-01T10:05:00Z', productVersion: '5.0.8308.0', ...over });
const step = (over: Partial<StepResult>): StepResult => ({ stepId: 's', title: 'Step', role: 'internal', kind: 'read', status: 'succeeded', invocations: [], ...over });
const HOSTS = ['fe01.contoso.local', 'edge01.contoso.local'];

describe('each check, on records that are not what its sentence says', () => {
  it('status: a report whose steps all failed is not "every read succeeded"; a missing step is not either', () => {
    const failed = [step({ title: 'A', status: 'failed', error: 'agent fe01: boom' }), step({ title: 'B', status: 'failed' }), step({ title: 'C', status: 'skipped' })];
    expect(statusProblem({ kind: 'report', title: 'status', requester: 'alice', steps: failed }, 3)).toBe('step "A" failed: agent fe01: boom; step "B" failed; step "C" skipped');
    expect(statusProblem({ kind: 'report', title: 'status', requester: 'alice', steps: [step({})] }, 3)).toBe("the report has 1 steps, not the status runbook's 3");
    expect(statusProblem({ kind: 'report', title: 'verify', requester: 'alice', steps: [] }, 3)).toBe('no status report was shown');
    expect(statusProblem({ kind: 'report', title: 'status', requester: 'alice', steps: [step({}), step({}), step({})] }, 3)).toBeUndefined();
  });

  it('agents: an offline or missing agent', () => {
    const report = { kind: 'report' as const, title: 'status', requester: 'alice', steps: [], agents: [{ name: 'fe01', roles: ['internal' as const], online: true }, { name: 'edge01', roles: ['edge' as const], online: false }] };
    expect(agentsProblem(report, ['fe01', 'edge01'])).toBe('agent edge01 is offline');
    expect(agentsProblem(report, ['fe02'])).toBe('the report lists no agent fe02');
    expect(agentsProblem(report, ['fe01'])).toBeUndefined();
  });

  it('replication: up to date with an update older than the run is the old state; a missing or lagging host; a failed step', () => {
    const ok = step({ kind: 'replication', replicas: HOSTS.map((h) => replica(h)) });
    expect(replicasProblem(ok, HOSTS, '2025-03-01T10:04:58.000Z')).toBeUndefined();
    expect(replicasProblem(ok, HOSTS, '2025-03-01T10:05:10.000Z')).toBe('fe01.contoso.local holds an update created 2025-03-01T10:05:00Z, before the run started at 2025-03-01T10:05:10.000Z');
    expect(replicasProblem({ ...ok, replicas: [replica(HOSTS[0]!), replica(HOSTS[1]!, { lastUpdateCreation: null })] }, HOSTS, '2025-03-01T10:04:58.000Z')).toMatch(/^edge01\.contoso\.local holds an update created \(never\)/);
    expect(replicasProblem({ ...ok, replicas: [replica(HOSTS[0]!)] }, HOSTS)).toBe('no replica edge01.contoso.local was reported (replicas: fe01.contoso.local)');
    expect(replicasProblem({ ...ok, replicas: [replica(HOSTS[0]!), replica(HOSTS[1]!, { upToDate: false })] }, HOSTS)).toBe('edge01.contoso.local is not up to date');
    expect(replicasProblem({ ...ok, status: 'failed', error: 'not up to date: edge01.contoso.local' }, HOSTS)).toBe('step "Step" failed: not up to date: edge01.contoso.local');
    // a replica that never reports, besides the hosts that matter, is shown and not required
    expect(replicasProblem({ ...ok, replicas: [...ok.replicas!, replica('pool.contoso.local', { upToDate: false })] }, HOSTS)).toBeUndefined();
    expect(replicasProblem(undefined, HOSTS)).toBe('there is no replication step');
  });

  it('Edge: a row marked ok whose value differs, a property the plan set that was not compared, a provider still there', () => {
    const expected = { key: 'Identity', keyValue: 'Exchange Online', properties: { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com', Enabled: true } };
    const checks = [
      { property: 'Identity', expected: 'Exchange Online', actual: 'Exchange Online', ok: true },
      { property: 'ProxyFqdn', expected: 'exap.um.outlook.com', actual: 'EXAP.um.outlook.com', ok: true },
      { property: 'Enabled', expected: true, actual: 'True', ok: true },
    ];
    const edge = (over: object = {}) => step({ kind: 'edge-check', role: 'edge', edges: [{ agent: 'edge01', ok: true, found: true, checks, ...over }] });
    expect(edgeProblem(edge(), 'edge01', expected)).toBeUndefined();
    expect(edgeProblem(edge({ checks: checks.map((c) => (c.property === 'ProxyFqdn' ? { ...c, actual: 'exap.um.office365.us' } : c)) }), 'edge01', expected)).toBe('ProxyFqdn on edge01 is exap.um.office365.us, expected exap.um.outlook.com');
    expect(edgeProblem(edge({ checks: checks.slice(0, 2) }), 'edge01', expected)).toBe('Enabled was not compared on edge01');
    expect(edgeProblem(edge(), 'edge02', expected)).toBe('the Edge edge02 was not compared');
    expect(edgeProblem(edge({ error: 'agent offline: this Edge was not checked' }), 'edge01', expected)).toBe('edge01: agent offline: this Edge was not checked');
    expect(edgeProblem(edge(), 'edge01', { ...expected, properties: null })).toBe('edge01 still holds Exchange Online');
    expect(edgeProblem(edge({ found: false }), 'edge01', { ...expected, properties: null })).toBeUndefined();
    expect(edgeProblem({ ...edge(), status: 'failed', error: 'the Edge local store does not match on edge01' }, 'edge01', expected)).toBe('step "Step" failed: the Edge local store does not match on edge01');
  });

  it('run: succeeded is not enough when a step did not, and it must be the run of this request, approved by this approver', () => {
    const base: RunRecord = { id: 'run-1', requestId: 'r-1', runbook: 'setup', deployment: 'contoso', channel: 'console', requester: 'alice', approvers: ['bob'], status: 'succeeded', startedAt: '2025-03-01T10:04:58.000Z', values: {}, steps: [step({ title: 'A' })] };
    expect(runProblem(base, 'setup', 'r-1', 'bob')).toBeUndefined();
    expect(runProblem({ ...base, steps: [step({ title: 'A', status: 'skipped' })] }, 'setup', 'r-1', 'bob')).toBe('step "A" skipped');
    expect(runProblem({ ...base, status: 'failed', summary: 'A failed', steps: [step({ title: 'A', status: 'failed', error: 'boom' })] }, 'setup', 'r-1', 'bob')).toBe('run run-1 failed: A failed (step "A" failed: boom)');
    expect(runProblem(base, 'setup', 'r-2', 'bob')).toBe('run run-1 is for request r-1, not r-2');
    expect(runProblem(base, 'setup', 'r-1', 'carol')).toBe('run run-1 was approved by bob, not carol');
    expect(runProblem(base, 'rollback', 'r-1', 'bob')).toBe('the run is a setup run, not rollback');
    expect(runProblem(undefined, 'setup', 'r-1', 'bob')).toBe('no run was shown');
  });
});
