// Records for store tests: complete enough that a lost field or a JSON round-trip that changes a value shows up.
import type { LockHolder, RequestRecord, RunRecord } from '../../src/core/records.js';
import type { Plan } from '../../src/core/runbook/planner.js';

export const T0 = new Date('2026-03-02T09:00:00.000Z');
export const at = (minutes: number): Date => new Date(T0.getTime() + minutes * 60_000);
export const iso = (minutes: number): string => at(minutes).toISOString();

export function plan(fingerprint = 'fp-1'): Plan {
  return {
    runbook: 'setup',
    values: { tenant: 'contoso.onmicrosoft.com' },
    steps: [],
    checks: [],
    refusals: [],
    warnings: ['the Edge pool has 2 servers; both are checked'],
    preState: { oauth: [{ Identity: 'Global', Realm: null, Enabled: true, Count: 2, Name: 'Zoë «quoted» "x"' }] },
    fingerprint,
  };
}

export function request(id: string, over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id,
    runbook: 'setup',
    deployment: 'contoso',
    requester: 'U0ALICE',
    channel: 'C0LYNCOPS',
    values: { tenant: 'contoso.onmicrosoft.com', mailbox: 'https://outlook.office365.com' },
    plan: plan(),
    status: 'pending',
    approvals: [],
    createdAt: iso(0),
    expiresAt: iso(60),
    ...over,
  };
}

export function run(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    id,
    requestId: 'req-1',
    runbook: 'setup',
    deployment: 'contoso',
    channel: 'C0LYNCOPS',
    requester: 'U0ALICE',
    approvers: ['U0BOB'],
    status: 'running',
    startedAt: iso(1),
    values: { tenant: 'contoso.onmicrosoft.com' },
    steps: [
      {
        stepId: 'oauth',
        title: 'OAuth configuration',
        role: 'internal',
        kind: 'change',
        action: 'set',
        status: 'succeeded',
        durationMs: 1234,
        invocations: [{ line: 'Set-CsOAuthConfiguration -Realm contoso.com', agent: 'fe01', ok: true, durationMs: 800 }],
      },
      { stepId: 'replicate', title: 'Replication', role: 'internal', kind: 'replication', status: 'running', invocations: [], replicas: [{ fqdn: 'fe01.contoso.com', upToDate: false, lastStatusReport: null, lastUpdateCreation: iso(1), productVersion: '5.0.8308.0' }] },
    ],
    ...over,
  };
}

export const holder = (runId: string, over: Partial<LockHolder> = {}): LockHolder => ({ deployment: 'contoso', runId, requestId: 'req-1', requester: 'U0ALICE', since: iso(1), ...over });
