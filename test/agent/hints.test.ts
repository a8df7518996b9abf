import { describe, expect, it } from 'vitest';
import { cmdletOfErrorId, HINT_RULES, hintFor, type HintableError, type HintContext } from '../../src/agent/hints.js';

const provider: HintContext = { cmdlet: 'New-CsHostingProvider', module: 'Lync', agent: 'fe01' };

// [case, error, context, the rule that must answer, a phrase of its hint]
const TABLE: Array<[string, HintableError, HintContext, string | undefined, string | undefined]> = [
  [
    'Import-Module: no valid module file',
    { message: "The specified module 'Lync' was not loaded because no valid module file was found in any module directory.", category: 'ResourceUnavailable', errorId: 'Modules_ModuleNotFound,Microsoft.PowerShell.Commands.ImportModuleCommand', exceptionType: 'System.IO.FileNotFoundException' },
    { module: 'Lync' },
    'module-missing',
    '"Lync" for Lync Server 2013 and "SkypeForBusiness" for Skype for Business Server 2015 and 2019',
  ],
  ['module missing by exception type only', { message: 'x', exceptionType: 'System.IO.FileNotFoundException' }, { module: 'SkypeForBusiness' }, 'module-missing', 'administrative tools'],
  [
    'cmdlet not recognized',
    { message: "The term 'Get-CsHostingProvider' is not recognized as the name of a cmdlet", category: 'ObjectNotFound', errorId: 'CommandNotFoundException', exceptionType: 'System.Management.Automation.CommandNotFoundException' },
    { cmdlet: 'Get-CsHostingProvider', module: 'Lync' },
    'cmdlet-not-recognized',
    'Get-CsHostingProvider is not defined by the imported module "Lync"',
  ],
  ['provider exists', { message: 'A hosting provider with Identity "Exchange Online" already exists.', category: 'ResourceExists', errorId: 'ProviderIdentityExists,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet' }, provider, 'provider-exists', 'a hosting provider with this Identity already exists'],
  // the real module's category for this is not documented: the id's class and the wording decide
  [
    'provider exists, any category, cmdlet known only from the id',
    { message: 'Identity "Exchange Online" already exists.', category: 'InvalidOperation', errorId: 'Duplicate,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet' },
    {},
    'provider-exists',
    'a hosting provider with this Identity already exists',
  ],
  ['other object exists', { message: 'x exists', category: 'ResourceExists' }, { cmdlet: 'New-CsThing' }, 'provider-exists', 'the object already exists'],
  ['provider not found', { message: 'Cannot find hosting provider "Exchange Online".', category: 'ObjectNotFound', errorId: 'ProviderNotFound,Microsoft.Rtc.Management.Internal.RemoveHostingProviderCmdlet' }, { cmdlet: 'Remove-CsHostingProvider' }, 'provider-not-found', 'no hosting provider has this Identity'],
  [
    'provider not found, any category, cmdlet known only from the id',
    { message: 'Cannot find "Nope".', category: 'InvalidArgument', errorId: 'MissingItem,Microsoft.Rtc.Management.Internal.SetHostingProviderCmdlet' },
    {},
    'provider-not-found',
    'no hosting provider has this Identity',
  ],
  ['a PowerShell error that only says "not found" is not taken for a Lync one', { message: 'file not found', category: 'InvalidArgument', errorId: 'PathNotFound,Microsoft.PowerShell.Commands.GetContentCommand' }, {}, undefined, undefined],
  [
    'ProxyFqdn owned by another provider',
    { message: 'The ProxyFqdn "exap.um.outlook.com" is already used by the public provider "Messenger".', category: 'InvalidOperation', errorId: 'ProxyFqdnInUse,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet' },
    provider,
    'proxyfqdn-owned',
    'already uses this ProxyFqdn',
  ],
  [
    'CMS unreachable from an Edge',
    { message: 'Cannot write to the Central Management Store: this computer holds a read-only replica.', category: 'InvalidOperation', errorId: 'CmsUnreachable,Microsoft.Rtc.Management.Internal.SetAccessEdgeConfigurationCmdlet' },
    provider,
    'cms-unreachable',
    'run configuration changes on an internal server',
  ],
  ['CMS unavailable', { message: 'The central management store is unavailable.', category: 'ConnectionError' }, provider, 'cms-unreachable', 'internal server'],
  ['access denied', { message: 'Access is denied.', category: 'PermissionDenied', exceptionType: 'System.UnauthorizedAccessException' }, provider, 'access-denied', 'RTCUniversalServerAdmins'],
  ['access denied by text only', { message: 'access denied to the store', category: 'NotSpecified' }, provider, 'access-denied', 'agent fe01'],
  [
    'CMS move in progress (###50020)',
    { message: '###50020:XDSForceReplication: This central management store is being moved to another location. No changes can be made until this move is complete', category: 'InvalidOperation' },
    provider,
    'cms-move-in-progress',
    'being moved',
  ],
  ['not on the allowlist', { message: 'x', category: 'PermissionDenied', errorId: 'LxCmdletNotAllowed' }, provider, 'not-allowlisted', "agent's allowlist"],
  ['a prompt in NonInteractive mode', { message: 'PowerShell is in NonInteractive mode. Read and Prompt functionality is not available.', category: 'InvalidOperation' }, provider, 'non-interactive-prompt', '-Confirm:$false'],
  ['unknown failure', { message: 'Attempted to divide by zero.', category: 'NotSpecified', errorId: 'RuntimeException' }, provider, undefined, undefined],
];

describe('hintFor', () => {
  it.each(TABLE)('%s', (_name, error, context, ruleId, phrase) => {
    const rule = HINT_RULES.find((r) => r.matches(error, context));
    expect(rule?.id).toBe(ruleId);
    const hint = hintFor(error, context);
    if (phrase === undefined) expect(hint).toBeUndefined();
    else expect(hint).toContain(phrase);
  });

  it('every rule is exercised by the table', () => {
    const used = new Set(TABLE.map((row) => row[3]));
    expect(HINT_RULES.map((r) => r.id).filter((id) => !used.has(id))).toEqual([]);
  });
});

describe('cmdletOfErrorId', () => {
  it.each([
    ['ParameterBindingFailed,Microsoft.Rtc.Management.Internal.NewPartnerApplicationCmdlet', 'New-CsPartnerApplication'],
    ['ProviderIdentityExists,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet', 'New-CsHostingProvider'],
    ['X,Microsoft.Rtc.Management.Internal.GetManagementStoreReplicationStatusCmdlet', 'Get-CsManagementStoreReplicationStatus'],
    ['MissingMandatoryParameter,New-CsHostingProvider', undefined],
    ['CommandNotFoundException', undefined],
    [undefined, undefined],
  ])('%s → %s', (id, cmdlet) => {
    expect(cmdletOfErrorId(id)).toBe(cmdlet);
  });
});
