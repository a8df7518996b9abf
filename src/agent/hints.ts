// Known PowerShell failures → what an operator can do about them. A pure function over the structured error
// (message, CategoryInfo category, FullyQualifiedErrorId, exception type) and a little context; the first
// matching rule wins, so the specific rules come before the generic category ones.

export interface HintableError {
  message: string;
  category?: string | null | undefined;
  errorId?: string | null | undefined;
  exceptionType?: string | null | undefined;
}

export interface HintContext {
  /** the cmdlet that failed, when a cmdlet failed (not the session's initialization) */
  cmdlet?: string | undefined;
  /** the module the agent imports: a name (Lync, SkypeForBusiness) or a .psd1 path */
  module?: string | undefined;
  agent?: string | undefined;
}

interface Rule {
  id: string;
  matches(e: HintableError, c: HintContext): boolean;
  hint(e: HintableError, c: HintContext): string;
}

const has = (value: string | null | undefined, pattern: RegExp): boolean => value !== undefined && value !== null && pattern.test(value);

/**
 * The cmdlet behind a Lync error: the real module's ids end in the class that implements it
 * (`...,Microsoft.Rtc.Management.Internal.NewHostingProviderCmdlet` for New-CsHostingProvider).
 */
export function cmdletOfErrorId(errorId: string | null | undefined): string | undefined {
  const m = /,Microsoft\.Rtc\.Management\.[A-Za-z.]*\.(Get|Set|New|Remove|Enable|Disable|Invoke|Grant|Test)([A-Za-z]+)Cmdlet$/.exec(errorId ?? '');
  return m ? `${m[1]}-Cs${m[2]}` : undefined;
}

const isProviderCmdlet = (e: HintableError, c: HintContext): boolean => has(c.cmdlet ?? cmdletOfErrorId(e.errorId), /HostingProvider$/i);
const isLyncError = (e: HintableError): boolean => cmdletOfErrorId(e.errorId) !== undefined;

const MODULE_NAMES =
  'the module is "Lync" for Lync Server 2013 and "SkypeForBusiness" for Skype for Business Server 2015 and 2019';

export const HINT_RULES: readonly Rule[] = [
  {
    id: 'not-allowlisted',
    matches: (e) => e.errorId === 'LxCmdletNotAllowed',
    hint: (_e, c) => `${c.cmdlet ?? 'this cmdlet'} is not on the agent's allowlist: add it to the agent's configuration if a runbook needs it`,
  },
  {
    id: 'module-missing',
    matches: (e) =>
      has(e.message, /no valid module file was found/i) ||
      has(e.errorId, /^Modules_ModuleNotFound/) ||
      has(e.exceptionType, /^System\.IO\.FileNotFoundException$/),
    hint: (_e, c) =>
      `the module ${c.module ? `"${c.module}" ` : ''}cannot be imported on this host: ${MODULE_NAMES}; run the agent on a ` +
      'Front End or Standard Edition server, or a host with the Lync / Skype for Business Server administrative tools ' +
      'and Core Components installed, and set the module name (or the path of its .psd1) to match',
  },
  {
    id: 'cmdlet-not-recognized',
    matches: (e) => has(e.errorId, /^CommandNotFoundException/) || has(e.exceptionType, /CommandNotFoundException$/),
    hint: (_e, c) =>
      `${c.cmdlet ?? 'the cmdlet'} is not defined by the imported module${c.module ? ` "${c.module}"` : ''}: check that the ` +
      `agent imports the product's module (${MODULE_NAMES}) and that this product version has the cmdlet`,
  },
  {
    id: 'cms-move-in-progress',
    matches: (e) => has(e.message, /###50020/),
    hint: () =>
      'the Central Management Store is being moved to another location: no changes can be made until the move completes; ' +
      'check it with Get-CsManagementStoreReplicationStatus -CentralManagementStoreStatus and retry afterwards',
  },
  {
    id: 'proxyfqdn-owned',
    matches: (e) => has(e.message, /ProxyFqdn/i) && has(e.message, /already|in use|exists|owned|unique|another/i),
    hint: () =>
      'another hosting or public provider already uses this ProxyFqdn, and a ProxyFqdn must be unique: find it with ' +
      'Get-CsHostingProvider (compare ProxyFqdn); use that provider, or remove it before creating this one',
  },
  {
    id: 'cms-unreachable',
    matches: (e) =>
      has(e.message, /central management store|\bCMS\b|management store/i) &&
      has(e.message, /unreachable|cannot (be )?(reached|contacted|reach|contact|connect)|could not (reach|contact|connect)|unable to (reach|contact|connect)|not available|unavailable|read-only|read only/i),
    hint: () =>
      'this host cannot write to the Central Management Store (an Edge Server holds only a read-only replica): run ' +
      'configuration changes on an internal server (a Front End or an admin host that reaches the CMS) and use the ' +
      'Edge agents only for -LocalStore reads',
  },
  {
    id: 'access-denied',
    matches: (e) =>
      e.category === 'PermissionDenied' || has(e.exceptionType, /UnauthorizedAccessException$/) || has(e.message, /access (is )?denied/i),
    hint: (_e, c) =>
      `the account running agent${c.agent ? ` ${c.agent}` : ''} lacks the rights: add it to RTCUniversalServerAdmins ` +
      '(or the CsAdministrator role), then restart the agent so it gets a new logon token',
  },
  {
    id: 'non-interactive-prompt',
    matches: (e) => has(e.message, /NonInteractive mode|Read and Prompt functionality/i),
    hint: () =>
      'the cmdlet wanted to prompt (a missing mandatory parameter or a confirmation): the runbook must pass every ' +
      'mandatory parameter and -Confirm:$false',
  },
  {
    id: 'provider-exists',
    matches: (e) => e.category === 'ResourceExists' || (isLyncError(e) && has(e.message, /already exists|duplicate/i)),
    hint: (e, c) =>
      isProviderCmdlet(e, c)
        ? 'a hosting provider with this Identity already exists: compare it with `plan` (setup skips the creation when it already matches), or choose another --identity'
        : 'the object already exists: re-run `plan` to see the current state',
  },
  {
    id: 'provider-not-found',
    matches: (e) => e.category === 'ObjectNotFound' || (isLyncError(e) && has(e.message, /cannot find|not found|does not exist/i)),
    hint: (e, c) =>
      isProviderCmdlet(e, c)
        ? 'no hosting provider has this Identity: list them with Get-CsHostingProvider; on an Edge, -LocalStore shows only what has replicated so far'
        : 'the object was not found: re-run `plan` to see the current state',
  },
];

/** The operator hint for a known failure, or undefined. */
export function hintFor(error: HintableError, context: HintContext = {}): string | undefined {
  const rule = HINT_RULES.find((r) => r.matches(error, context));
  return rule?.hint(error, context);
}
