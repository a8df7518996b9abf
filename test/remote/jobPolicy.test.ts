// What a remote agent agrees to run: the invocations the runbooks produce, and nothing else.
import { describe, expect, it } from 'vitest';
import { loadRunbooks } from '../../src/config/runbooks.js';
import { resolveInputs } from '../../src/core/runbook/inputs.js';
import { inverseTargets, plan } from '../../src/core/runbook/planner.js';
import type { Invocation, Role } from '../../src/core/types.js';
import { validateJob } from '../../src/remote/jobPolicy.js';

const runbooks = loadRunbooks();
const setup = runbooks.get('setup')!;

const accepted: [string, Invocation, Role[]][] = [
  ['the Access Edge read', { cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} }, ['internal']],
  ['the provider read', { cmdlet: 'Get-CsHostingProvider', parameters: {} }, ['internal']],
  ['the voicemail policy read (rollback)', { cmdlet: 'Get-CsHostedVoicemailPolicy', parameters: {} }, ['internal']],
  ['step 1, shared SIP address space', { cmdlet: 'Set-CsAccessEdgeConfiguration', parameters: { AllowFederatedUsers: true } }, ['internal']],
  [
    'step 2, the hosting provider as Microsoft documents it',
    {
      cmdlet: 'New-CsHostingProvider',
      parameters: {
        Identity: 'Exchange Online',
        Enabled: true,
        EnabledSharedAddressSpace: true,
        HostsOCSUsers: false,
        ProxyFqdn: 'exap.um.outlook.com',
        IsLocal: false,
        VerificationLevel: 'UseSourceVerification',
      },
    },
    ['internal'],
  ],
  ['step 3, replication', { cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: {} }, ['internal']],
  ['step 4, the Edge local store', { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } }, ['edge']],
  ['status: Access Edge in the local store', { cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: { LocalStore: true } }, ['edge']],
  ['a change in place', { cmdlet: 'Set-CsHostingProvider', parameters: { Identity: 'Exchange Online', ProxyFqdn: 'exap.um.office365.us' } }, ['internal']],
  ['a removal', { cmdlet: 'Remove-CsHostingProvider', parameters: { Identity: 'Exchange Online', Confirm: false } }, ['internal']],
  ['rollback: Access Edge back to False', { cmdlet: 'Set-CsAccessEdgeConfiguration', parameters: { AllowFederatedUsers: false } }, ['internal']],
  ['rollback: a provider back to its old verification level', { cmdlet: 'Set-CsHostingProvider', parameters: { Identity: 'Exchange Online', VerificationLevel: 'AlwaysVerifiable' } }, ['internal']],
  ['parameter names in another case', { cmdlet: 'get-cshostingprovider', parameters: { localstore: true } }, ['edge']],
  ['an agent with both roles', { cmdlet: 'New-CsHostingProvider', parameters: { Identity: '社内 Exchange Online', ProxyFqdn: 'exap.um.partner.outlook.cn' } }, ['internal', 'edge']],
];

const refused: [string, unknown, Role[], string][] = [
  ['a forged cmdlet', { cmdlet: 'Invoke-Expression', parameters: { Command: 'whoami' } }, ['internal'], 'cmdlet "Invoke-Expression" is not in any runbook'],
  ['a cmdlet no runbook names', { cmdlet: 'Remove-CsAccessEdgeConfiguration', parameters: {} }, ['internal'], 'cmdlet "Remove-CsAccessEdgeConfiguration" is not in any runbook'],
  ['an unknown parameter', { cmdlet: 'Get-CsHostingProvider', parameters: { Command: 'whoami' } }, ['edge'], 'parameter "Command" is not in any runbook for Get-CsHostingProvider'],
  ['an abbreviated parameter', { cmdlet: 'Get-CsHostingProvider', parameters: { Local: true } }, ['edge'], 'parameter "Local" is not in any runbook for Get-CsHostingProvider'],
  ['a parameter of another cmdlet', { cmdlet: 'Remove-CsHostingProvider', parameters: { Identity: 'Exchange Online', ProxyFqdn: 'x' } }, ['internal'], 'parameter "ProxyFqdn" is not in any runbook for Remove-CsHostingProvider'],
  ['a reserved parameter', { cmdlet: 'Get-CsHostingProvider', parameters: { ErrorAction: 'SilentlyContinue' } }, ['internal'], 'parameter "ErrorAction" is not in any runbook for Get-CsHostingProvider'],
  ['a wrong literal (a removal that prompts)', { cmdlet: 'Remove-CsHostingProvider', parameters: { Identity: 'Exchange Online', Confirm: true } }, ['internal'], 'parameter "Confirm" of Remove-CsHostingProvider must be false, not true'],
  ['a wrong literal (the local store off)', { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: false } }, ['edge'], 'parameter "LocalStore" of Get-CsHostingProvider must be true, not false'],
  ['a value of the wrong kind', { cmdlet: 'Set-CsAccessEdgeConfiguration', parameters: { AllowFederatedUsers: 'yes' } }, ['internal'], 'parameter "AllowFederatedUsers" of Set-CsAccessEdgeConfiguration must be a boolean, not "yes"'],
  ['an enum that is not a word', { cmdlet: 'New-CsHostingProvider', parameters: { Identity: 'x', VerificationLevel: 'UseSourceVerification; rm -r' } }, ['internal'], 'parameter "VerificationLevel" of New-CsHostingProvider must be a single word'],
  ['a text value with a control character', { cmdlet: 'New-CsHostingProvider', parameters: { Identity: 'Exchange\nOnline' } }, ['internal'], 'parameter "Identity" of New-CsHostingProvider: the value contains the control or direction character U+000A'],
  ['an empty identity', { cmdlet: 'Remove-CsHostingProvider', parameters: { Identity: ' ', Confirm: false } }, ['internal'], 'parameter "Identity" of Remove-CsHostingProvider: the value is empty'],
  ['an object value', { cmdlet: 'New-CsHostingProvider', parameters: { Identity: { $type: 'x' } } }, ['internal'], 'values of type object are not allowed'],
  ['a parameter given twice', { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true, localstore: true } }, ['edge'], 'parameter "LocalStore" of Get-CsHostingProvider is given twice'],
  ['a change step on an Edge agent', { cmdlet: 'New-CsHostingProvider', parameters: { Identity: 'Exchange Online' } }, ['edge'], 'New-CsHostingProvider runs only on internal agents; this agent serves edge'],
  ['no cmdlet', { parameters: {} }, ['edge'], 'the job names no cmdlet'],
  ['no invocation', null, ['edge'], 'the job has no invocation'],
  ['parameters that are a list', { cmdlet: 'Get-CsHostingProvider', parameters: ['-LocalStore'] }, ['edge'], 'Get-CsHostingProvider: parameters must be an object'],
];

describe('validateJob', () => {
  it.each(accepted)('accepts %s', (_label, invocation, roles) => {
    expect(validateJob(runbooks, invocation, roles)).toEqual({ ok: true });
  });

  it.each(refused)('refuses %s', (_label, invocation, roles, reason) => {
    const check = validateJob(runbooks, invocation, roles);
    expect(check.ok).toBe(false);
    expect(!check.ok && check.reason).toContain(reason);
  });

  it('accepts every invocation the planner makes for setup, on every cloud, and for its rollback', () => {
    for (const cloud of ['worldwide', '21vianet', 'gcchigh']) {
      const values = resolveInputs(setup, { cloud, identity: 'Exchange Online (contoso)' });
      if (!values.ok) throw new Error(JSON.stringify(values.error));
      // a deployment with an older provider of the same Identity: setup replaces it, rollback puts it back
      const preState = {
        accessEdge: [{ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDnsSrvRouting' }],
        providers: [{ Identity: 'Exchange Online (contoso)', ProxyFqdn: 'old.example.com', Enabled: false, EnabledSharedAddressSpace: false, HostsOCSUsers: true, IsLocal: false, VerificationLevel: 'AlwaysVerifiable', AutodiscoverUrl: 'https://autodiscover.example.com/x' }],
      };
      const p = plan({ runbook: setup, values: values.value, preState });
      const back = plan({ runbook: setup, requested: runbooks.get('rollback')!, values: values.value, preState: { ...preState, providers: [] }, targets: inverseTargets(p, setup) });
      const invocations = [...p.steps, ...back.steps].flatMap((s) => s.invocations);
      expect(back.steps.flatMap((s) => s.invocations).some((i) => i.parameters.AutodiscoverUrl === 'https://autodiscover.example.com/x')).toBe(true);
      expect(invocations.map((i) => i.cmdlet)).toEqual(expect.arrayContaining(['Set-CsAccessEdgeConfiguration', 'Remove-CsHostingProvider', 'New-CsHostingProvider']));
      for (const inv of invocations) expect(validateJob(runbooks, inv, ['internal']), JSON.stringify(inv)).toEqual({ ok: true });
    }
  });
});
