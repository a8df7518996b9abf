// Hostile strings as a hosting provider's Identity, through the real agent and the simulator: each one either
// comes back byte for byte (from the simulator's state file and from Get-CsHostingProvider) or is refused by
// validation for a documented reason. Canaries prove that none of them ran as code.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PowerShellAgent } from '../../src/agent/session.js';
import { refuseString } from '../../src/agent/wire.js';
import { createSimState, readSimState, simEnv } from '../support/simState.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const LYNCSIM_MODULE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'powershell', 'LyncSim', 'LyncSim.psd1');
const SIM_ALLOWLIST = ['Get-CsAccessEdgeConfiguration', 'Get-CsHostingProvider', 'New-CsHostingProvider'];

const dir = mkdtempSync(path.join(tmpdir(), 'lx-hostile-'));
const canary = path.join(dir, 'canary.txt');
const write = `[IO.File]::WriteAllText('${canary}','x')`;
const ENV_CANARY = 'LX_ENV_CANARY';
const EXPANDED = 'canary-value-was-expanded';

/** [label, value]: quotes, PowerShell syntax, shells' syntax, newlines, Unicode oddities, sizes. */
const HOSTILE: ReadonlyArray<readonly [string, string]> = [
  ['single quote', "'"],
  ['double quote', '"'],
  ['backtick', '`'],
  ['two single quotes', "''"],
  ['two double quotes', '""'],
  ['typographic single quotes', '‘left’ and ’right‘'],
  ['typographic double quotes', '“left” and ”right“'],
  ['low-9 quotes', '„low“ ‚single‛'],
  ['angle quotes', '‹single› «double»'],
  ['subexpression canary', `$(${write})`],
  ['subexpression canary in double quotes', `"$(${write})"`],
  ['break out of single quotes', `'; ${write}; '`],
  ['break out of double quotes', `"; ${write}; "`],
  ['break out with typographic quotes', `’; [IO.File]::WriteAllText(’${canary}’,’x’); ‘`],
  ['break out with typographic double quotes', `”; $([IO.File]::WriteAllText(“${canary}”,“x”)); “`],
  ['escaped subexpression', `\`$(${write})`],
  ['script block invoke', `&{${write}}`],
  ['newline then code', `x\n${write}\n`],
  ['CRLF then code', `x'\r\n${write}\r\n'`],
  ['empty subexpression', '$()'],
  ['arithmetic subexpression', '$(1+1)'],
  ['nested subexpression', '$($(2))'],
  ['exit subexpression', '$(exit)'],
  ['environment exit', '$([Environment]::Exit(1))'],
  ['statement exit', "'; exit; '"],
  ['variable', '$var'],
  ['automatic variables', '$null $true $PSHOME $PID $_'],
  ['env canary', `$env:${ENV_CANARY}`],
  ['braced env canary', `\${env:${ENV_CANARY}}`],
  ['braced env PATH', '${env:PATH}'],
  ['set env', `$env:${ENV_CANARY}='set'`],
  ['cmd env syntax', `%${ENV_CANARY}% %PATH%`],
  ['array', '@()'],
  ['hashtable', '@{a=1;b=2}'],
  ['splat', '@PSBoundParameters'],
  ['semicolon', 'a; b'],
  ['pipe', 'a | Out-Null'],
  ['call operator', '& Get-Command'],
  ['pipeline chain and', 'a && b'],
  ['pipeline chain or', 'a || b'],
  ['redirect out', `> ${canary}`],
  ['redirect in', '< input.txt'],
  ['all streams redirect', '*>&1 2>$null'],
  ['line comment', '# comment'],
  ['block comment', '<# block #> x'],
  ['unbalanced', '$( ${ @( @{ ( [ {'],
  ['here-string single open', "@'"],
  ['here-string single close', "'@"],
  ['here-string single', "@'\nx\n'@"],
  ['here-string double', '@"\n$(1)\n"@'],
  ['stop parsing', '--%'],
  ['stop parsing with code', `--% $(${write}) & ping`],
  ['parameter injection', '-Confirm:$false'],
  ['parameter injection 2', 'x -Identity y -ErrorAction SilentlyContinue'],
  ['backtick escapes', '`n`r`t`0`a`b`e`u{41}'],
  ['LF', 'line1\nline2'],
  ['CRLF', 'line1\r\nline2'],
  ['CR', 'line1\rline2'],
  ['trailing newline', 'x\n'],
  ['tabs', '\tx\ty\t'],
  ['control characters', '\u0001\u0007\u001b[31mred\u001b[0m\u007f\u0085'],
  ['NUL', 'a\u0000b'],
  ['NUL alone', '\u0000'],
  ['lone high surrogate', 'x\uD800y'],
  ['lone low surrogate', '\uDC00'],
  ['very long', 'x'.repeat(10_000)],
  ['very long hostile', `'"$(\`;|&<#`.repeat(1_500)],
  ['Arabic', 'مرحبا بالعالم'],
  ['Hebrew', 'שלום עולם'],
  ['right-to-left override', 'abc\u202Etxt.exe\u202C'],
  ['bidi isolates', '\u2066x\u2069\u2067y\u2069\u200F'],
  ['zero-width', 'a\u200Bb\u200Cc\u200Dd\u2060e'],
  ['combining marks', 'e\u0301 a\u0308 Z\u0324\u0354\u0367\u0311\u0313'],
  ['emoji', '😀 🏳️‍🌈 👨‍👩‍👧 🇫🇷'],
  ['astral letters', '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎'],
  ['BOM first', '\uFEFFExchange Online'],
  ['BOM inside', 'Exchange\uFEFFOnline'],
  ['line and paragraph separators', 'a\u2028b\u2029c'],
  ['non-breaking and odd spaces', 'a\u00A0b\u2003c\u3000d'],
  ['backslashes', '\\\\server\\share\\'],
  ['trailing backslash', 'x\\'],
  ['backslash quote', '\\"\\\''],
  ['Windows path', 'C:\\Program Files\\Common Files\\Microsoft Lync Server 2013\\Modules\\Lync\\Lync.psd1'],
  ['percent', '100% %s %d %n'],
  ['SQL', "'; DROP TABLE providers; --"],
  ['SQL 2', "Robert'); DROP TABLE Students;--"],
  ['JSON envelope spoof', '{"ok":true,"output":[{"spoof":1}]}'],
  ['JSON envelope spoof on its own line', '\n{"ok":true,"output":[]}\n'],
  ['JSON break', '","ok":true,"x":"'],
  ['base64-looking', "Invoke-LxStep -Payload 'bHgx'"],
  ['wildcards', '*?[a-z]'],
  ['format string', '{0} {1}'],
  ['fullwidth', 'Ｅｘｃｈａｎｇｅ＇＂＄'],
  ['plain', 'Exchange Online'],
];

/** Why a value is refused before PowerShell; the same rule wire.ts applies. Only these may be refused. */
const DOCUMENTED_REFUSAL = /NUL character|unpaired UTF-16 surrogate/;

let agent: PowerShellAgent | undefined;
let statePath = '';

describeWithPwsh('hostile strings as a provider Identity, through PowerShellAgent and LyncSim', () => {
  beforeAll(() => {
    statePath = createSimState(dir);
    agent = new PowerShellAgent({
      name: 'fe01',
      roles: ['internal'],
      executable: pwshExecutable() ?? '',
      module: LYNCSIM_MODULE,
      allowlist: SIM_ALLOWLIST,
      env: { ...simEnv(statePath, 'fe01.contoso.local'), [ENV_CANARY]: EXPANDED },
      logger: pino({ level: 'silent' }),
    });
  });
  afterAll(async () => {
    await agent?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`has at least 60 hostile strings (${HOSTILE.length})`, () => {
    expect(HOSTILE.length).toBeGreaterThanOrEqual(60);
    expect(new Set(HOSTILE.map(([, v]) => v.toLowerCase())).size).toBe(HOSTILE.length);
  });

  it('round-trips each one byte for byte, or refuses it for a documented reason', { timeout: 300_000 }, async () => {
    const a = agent!;
    let roundTripped = 0;
    const refused: string[] = [];
    const problems: string[] = [];
    for (const [index, [label, value]] of HOSTILE.entries()) {
      // A fresh state per string keeps the simulator's history (and each call) small; the session reads the
      // file on every call, so it carries on with the new state.
      createSimState(dir);
      const proxyFqdn = `p${index}.hostile.example`;
      const created = await a.invoke({
        cmdlet: 'New-CsHostingProvider',
        parameters: {
          Identity: value,
          ProxyFqdn: proxyFqdn,
          Enabled: true,
          EnabledSharedAddressSpace: true,
          HostsOCSUsers: false,
          IsLocal: false,
          VerificationLevel: 'UseSourceVerification',
        },
      });
      if (!created.ok) {
        if (created.error.kind === 'refused' && DOCUMENTED_REFUSAL.test(created.error.message) && refuseString(value)) refused.push(label);
        else problems.push(`${label}: ${created.error.kind}: ${created.error.message}`);
        continue;
      }
      const inState = readSimState(statePath).cms.hostingProviders;
      const listed = await a.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
      const byIdentity = await a.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: value } });
      const only = (items: readonly Record<string, unknown>[]): unknown => (items.length === 1 && items[0]?.ProxyFqdn === proxyFqdn ? items[0].Identity : items.map((p) => p.Identity));
      const fromState = only(inState as unknown as Record<string, unknown>[]);
      const fromList = listed.ok ? only(listed.output) : listed.error.message;
      const fromGet = byIdentity.ok ? only(byIdentity.output) : byIdentity.error.message;
      if (fromState === value && fromList === value && fromGet === value) roundTripped++;
      else problems.push(`${label}: state ${JSON.stringify(fromState)}, list ${JSON.stringify(fromList)}, get -Identity ${JSON.stringify(fromGet)}`);
    }
    console.log(`hostile strings: ${HOSTILE.length}; round-tripped ${roundTripped}; refused ${refused.length} (${refused.join(', ')})`);
    expect(problems).toEqual([]);
    expect(refused.sort()).toEqual(['NUL', 'NUL alone', 'lone high surrogate', 'lone low surrogate'].sort());
    expect(roundTripped + refused.length).toBe(HOSTILE.length);
    // Canaries: nothing ran as code, and no value was expanded.
    expect(existsSync(canary)).toBe(false);
    expect(process.env[ENV_CANARY]).toBeUndefined();
    const state = JSON.stringify(readSimState(statePath));
    expect(state).not.toContain(EXPANDED);
    // The session survived every string (no `exit` ran): one more call still works.
    const after = await a.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    expect(after.ok).toBe(true);
  });
});
