// Views as the core would emit them, built with the real planner and runbooks so the goldens track real plans.
import { loadRunbooks } from '../../src/config/runbooks.js';
import type { ApprovalRule } from '../../src/core/ports.js';
import type { RequestRecord, RunRecord, StepResult } from '../../src/core/records.js';
import { plan, type Plan, type PreState } from '../../src/core/runbook/planner.js';
import { REPLICATION_HINTS } from '../../src/core/run/execute.js';

const runbooks = loadRunbooks();
const setup = runbooks.get('setup')!;

export const preState = (over: Partial<PreState> = {}): PreState => ({
  accessEdge: [{ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDnsSrvRouting' }],
  providers: [{ Identity: 'LyncOnline', ProxyFqdn: 'sipfed.online.lync.com', Enabled: false, EnabledSharedAddressSpace: false, HostsOCSUsers: true, IsLocal: false, VerificationLevel: 'UseSourceVerification' }],
  ...over,
});

export const values = { cloud: 'worldwide', identity: 'Exchange Online', proxyFqdn: 'exap.um.outlook.com' };

export function setupPlan(state: PreState = preState()): Plan {
  return plan({ runbook: setup, values, preState: state });
}

export const rule: ApprovalRule = { required: 1, approvers: { users: ['U0ALICE', 'U0BOB'], groups: ['S0LYNC'] } };

export function request(over: Partial<RequestRecord> = {}): RequestRecord {
  return {
    id: 'r-1',
    runbook: 'setup',
    deployment: 'contoso',
    requester: 'U0ALICE',
    channel: 'C0LYNCOPS',
    values,
    plan: setupPlan(),
    status: 'pending',
    approvals: [],
    createdAt: '2025-03-01T10:00:00.000Z',
    expiresAt: '2025-03-01T11:00:00.000Z',
    ...over,
  };
}

export function finishedSteps(): StepResult[] {
  return [
    {
      stepId: 'shared-sip-address-space', title: 'Allow federated users (shared SIP address space)', role: 'internal', kind: 'change', action: 'change', status: 'succeeded', durationMs: 812,
      invocations: [{ line: 'Set-CsAccessEdgeConfiguration -AllowFederatedUsers $True', agent: 'fe01', ok: true, durationMs: 800 }],
    },
    {
      stepId: 'hosting-provider', title: 'Hosting provider for Exchange Online', role: 'internal', kind: 'change', action: 'create', status: 'succeeded', durationMs: 1250,
      invocations: [{ line: "New-CsHostingProvider -Identity 'Exchange Online' -Enabled $True -EnabledSharedAddressSpace $True -HostsOCSUsers $False -ProxyFqdn exap.um.outlook.com -IsLocal $False -VerificationLevel UseSourceVerification", agent: 'fe01', ok: true, durationMs: 1200 }],
    },
    {
      stepId: 'replication', title: 'Central Management Store replication', role: 'internal', kind: 'replication', status: 'succeeded', durationMs: 21_400,
      invocations: [{ line: 'Get-CsManagementStoreReplicationStatus', agent: 'fe01', ok: true, durationMs: 300 }],
      replicas: [
        { fqdn: 'fe01.contoso.local', upToDate: true, lastStatusReport: '2025-03-01T10:05:01Z', lastUpdateCreation: '2025-03-01T10:05:00Z', productVersion: '5.0.8308.0' },
        { fqdn: 'edge01.contoso.local', upToDate: true, lastStatusReport: '2025-03-01T10:05:20Z', lastUpdateCreation: '2025-03-01T10:05:00Z', productVersion: '5.0.8308.0' },
      ],
    },
    {
      stepId: 'edge-local-store', title: "Hosting provider in each Edge Server's local store", role: 'edge', kind: 'edge-check', status: 'succeeded', durationMs: 640,
      invocations: [{ line: 'Get-CsHostingProvider -LocalStore', agent: 'edge01', ok: true, durationMs: 600 }],
      edges: [{ agent: 'edge01', ok: true, found: true, checks: [
        { property: 'Identity', expected: 'Exchange Online', actual: 'Exchange Online', ok: true },
        { property: 'Enabled', expected: true, actual: true, ok: true },
        { property: 'ProxyFqdn', expected: 'exap.um.outlook.com', actual: 'exap.um.outlook.com', ok: true },
        { property: 'VerificationLevel', expected: 'UseSourceVerification', actual: 'UseSourceVerification', ok: true },
      ] }],
    },
  ];
}

export function run(over: Partial<RunRecord> = {}): RunRecord {
  return {
    id: 'run-1',
    requestId: 'r-1',
    runbook: 'setup',
    deployment: 'contoso',
    channel: 'C0LYNCOPS',
    requester: 'U0ALICE',
    approvers: ['U0BOB'],
    status: 'succeeded',
    startedAt: '2025-03-01T10:04:58.000Z',
    finishedAt: '2025-03-01T10:05:22.500Z',
    values,
    steps: finishedSteps(),
    summary: 'the change is in the Central Management Store and on every Edge',
    ...over,
  };
}

export function failedRun(): RunRecord {
  const steps = finishedSteps();
  steps[2] = {
    ...steps[2]!, status: 'failed', durationMs: 300_000,
    replicas: [
      { fqdn: 'fe01.contoso.local', upToDate: true, lastStatusReport: '2025-03-01T10:05:01Z', lastUpdateCreation: null, productVersion: null },
      { fqdn: 'edge01.contoso.local', upToDate: false, lastStatusReport: null, lastUpdateCreation: null, productVersion: null },
    ],
    error: 'replication did not complete within 300 s: not up to date: edge01.contoso.local',
    hints: REPLICATION_HINTS,
  };
  steps[3] = { ...steps[3]!, status: 'skipped', durationMs: undefined, invocations: [], edges: undefined };
  return run({ status: 'failed', summary: 'Central Management Store replication failed', steps });
}
