// Every PowerShell file under powershell/ (and the test modules under test/) must run on Windows PowerShell 5.1
// (production) and on PowerShell 7 (the tests). PowerShell's own parser reads each file; the test fails on syntax
// errors, on syntax that 5.1 lacks, and on commands outside an explicit list (cmdlets both have, the Lync cmdlets,
// and functions defined in the files). Each offence is reported as file:line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from './support/pwsh.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const POWERSHELL_DIR = path.join(ROOT, 'powershell');

/**
 * Cmdlets that Windows PowerShell 5.1 and PowerShell 7 both have and that behave the same in both. Not here on
 * purpose: ConvertTo-Json / ConvertFrom-Json (5.1 writes enums as numbers and dates as \/Date()\/, and has no
 * -AsHashtable), so scripts use LxJson.ps1.
 */
export const CORE_COMMANDS = [
  // Microsoft.PowerShell.Core
  'ForEach-Object', 'Where-Object', 'Import-Module', 'Remove-Module', 'Get-Module', 'New-Module', 'Export-ModuleMember',
  'Get-Command', 'Out-Null', 'Out-Default', 'Set-StrictMode', 'Get-History', 'Clear-History',
  // Microsoft.PowerShell.Utility
  'Get-Variable', 'Set-Variable', 'New-Variable', 'Remove-Variable', 'Add-Type', 'New-Object', 'Select-Object', 'Sort-Object',
  'Get-Member', 'Get-PSCallStack', 'Get-Date', 'Start-Sleep', 'Out-String', 'Write-Host', 'Write-Output', 'Write-Warning',
  'Write-Verbose', 'Write-Debug', 'Write-Information', 'Write-Progress', 'Write-Error',
  // Microsoft.PowerShell.Management
  'Test-Path', 'Join-Path', 'Split-Path', 'Get-Item', 'Get-ChildItem', 'Get-Content', 'Set-Content',
  // aliases of the above that both define
  '%', '?', 'foreach', 'where',
];

/** The Lync / Skype for Business cmdlets that scripts may call (the real module or LyncSim provides them). */
export const LYNC_COMMANDS = [
  'Get-CsAccessEdgeConfiguration', 'Set-CsAccessEdgeConfiguration',
  'Get-CsHostingProvider', 'New-CsHostingProvider', 'Set-CsHostingProvider', 'Remove-CsHostingProvider',
  'Enable-CsHostingProvider', 'Disable-CsHostingProvider',
  'Get-CsManagementStoreReplicationStatus', 'Invoke-CsManagementStoreReplication',
  'Get-CsHostedVoicemailPolicy', 'Set-CsHostedVoicemailPolicy', 'Test-CsReplica',
];

interface Offence {
  file: string;
  line: number;
  what: string;
}

// The checker: tab-separated lines "file<TAB>line<TAB>what". Self-contained (it does not use our LxJson) so that it
// still reports when our own PowerShell is broken. It reads its input from base64 JSON, never from script text.
const CHECKER = String.raw`
$ErrorActionPreference = 'Stop'
$req = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($env:LX_COMPAT_INPUT)).Split([char]10)
$files = @($req | Where-Object { $_.StartsWith('f ') } | ForEach-Object { $_.Substring(2) })
$allowed = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
foreach ($l in $req) { if ($l.StartsWith('c ')) { [void]$allowed.Add($l.Substring(2)) } }
$asts = [System.Collections.Generic.List[object]]::new()
foreach ($f in $files) {
  $tokens = $null; $errors = $null
  $ast = [System.Management.Automation.Language.Parser]::ParseFile($f, [ref]$tokens, [ref]$errors)
  foreach ($e in $errors) { [Console]::Out.WriteLine($f + [char]9 + $e.Extent.StartLineNumber + [char]9 + 'syntax error: ' + $e.Message) }
  foreach ($fn in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) { [void]$allowed.Add($fn.Name) }
  $asts.Add(@($f, $ast))
}
foreach ($pair in $asts) {
  $f = $pair[0]
  foreach ($n in $pair[1].FindAll({ $true }, $true)) {
    $t = $n.GetType().Name
    $what = $null
    if ($t -eq 'TernaryExpressionAst') { $what = 'ternary ? : (PowerShell 7+): use if/else' }
    elseif ($t -eq 'PipelineChainAst') { $what = '&& / || pipeline chain (PowerShell 7+): use if ($?)' }
    elseif ($t -eq 'BinaryExpressionAst' -and [string]$n.Operator -eq 'QuestionQuestion') { $what = '?? (PowerShell 7+): use if ($null -eq ...)' }
    elseif ($t -eq 'AssignmentStatementAst' -and [string]$n.Operator -eq 'QuestionQuestionEquals') { $what = '??= (PowerShell 7+)' }
    elseif ($null -ne $n.PSObject.Properties['NullConditional'] -and $n.NullConditional) { $what = '?. / ?[] null-conditional access (PowerShell 7+)' }
    elseif ($t -eq 'PipelineAst' -and $null -ne $n.PSObject.Properties['Background'] -and $n.Background) { $what = '& background operator (PowerShell 7+)' }
    elseif ($t -eq 'CommandAst') {
      $name = $n.GetCommandName()
      if ($null -ne $name -and $name -notmatch '[\\/]|\.ps1$' -and -not $allowed.Contains($name)) {
        $what = "command '$name' is not allowed: Windows PowerShell 5.1 may lack it or behave differently (only the listed cmdlets, Lync cmdlets and functions defined in these files)"
      }
      elseif ($null -ne $name -and $name -eq 'ForEach-Object') {
        foreach ($el in $n.CommandElements) {
          if ($el -is [System.Management.Automation.Language.CommandParameterAst] -and 'Parallel'.StartsWith($el.ParameterName, [System.StringComparison]::OrdinalIgnoreCase) -and $el.ParameterName.Length -ge 2) {
            $what = 'ForEach-Object -Parallel (PowerShell 7+)'
          }
        }
      }
    }
    if ($null -ne $what) { [Console]::Out.WriteLine($f + [char]9 + $n.Extent.StartLineNumber + [char]9 + $what) }
  }
}
[Console]::Out.WriteLine('checked ' + $files.Count)
`;

function powershellFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.(ps1|psm1|psd1)$/i.test(e.name))
    .map((e) => path.join(e.parentPath, e.name))
    .sort();
}

function check(files: string[]): Offence[] {
  const input = [...files.map((f) => `f ${f}`), ...[...CORE_COMMANDS, ...LYNC_COMMANDS].map((c) => `c ${c}`)].join('\n');
  const r = spawnSync(pwshExecutable()!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', CHECKER], {
    env: { ...process.env, LX_COMPAT_INPUT: Buffer.from(input, 'utf8').toString('base64') },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.error, r.stderr).toBeUndefined();
  expect(r.stderr, 'the checker itself failed').toBe('');
  const lines = r.stdout.split('\n').filter((l) => l !== '');
  expect(lines.at(-1), 'the checker did not finish').toBe(`checked ${files.length}`);
  return lines.slice(0, -1).map((l) => {
    const [file, line, what] = l.split('\t');
    return { file: file!, line: Number(line), what: what! };
  });
}

const report = (offences: Offence[]) => offences.map((o) => `${path.relative(ROOT, o.file)}:${o.line}: ${o.what}`).join('\n');

describeWithPwsh('PowerShell files stay Windows PowerShell 5.1 compatible', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'ps51-compat-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the PowerShell files under powershell/', () => {
    const files = powershellFiles(POWERSHELL_DIR).map((f) => path.relative(ROOT, f));
    expect(files).toEqual(expect.arrayContaining(['powershell/LxJson.ps1', 'powershell/LyncSim/LyncSim.psd1', 'powershell/LyncSim/LyncSim.psm1']));
  });

  it('every file under powershell/ parses and uses only 5.1 syntax and allowed commands', () => {
    const offences = check([...powershellFiles(POWERSHELL_DIR), ...powershellFiles(path.join(ROOT, 'test'))]);
    expect(offences, `PowerShell 5.1 / bare-host incompatibilities (file:line: what):\n${report(offences)}\n`).toEqual([]);
  });

  it('the check catches each kind of offence, with its line', () => {
    const fixture = path.join(dir, 'bad.ps1');
    writeFileSync(
      fixture,
      [
        '$a = $null',
        '$b = $a ?? 1',
        '$c = $true ? 1 : 2',
        'Get-Module && Get-Module',
        '$d = ${a}?.Length',
        '$a ??= 2',
        '$j = "{}" | ConvertFrom-Json',
        '$e = Get-Clipboard',
        '1..2 | ForEach-Object -Parallel { $_ }',
        'function Use-Own { Use-Own }',
        'ForEach-Object { $_ } | Out-Null',
        '$f = (',
      ].join('\n'),
    );
    const offences = check([fixture]);
    const lines = (what: RegExp) => offences.filter((o) => what.test(o.what)).map((o) => o.line);
    expect(lines(/\?\? \(/)).toEqual([2]);
    expect(lines(/ternary/)).toEqual([3]);
    expect(lines(/pipeline chain/)).toEqual([4]);
    expect(lines(/null-conditional/)).toEqual([5]);
    expect(lines(/\?\?=/)).toEqual([6]);
    expect(lines(/'ConvertFrom-Json'/)).toEqual([7]);
    expect(lines(/'Get-Clipboard'/)).toEqual([8]);
    expect(lines(/-Parallel/)).toEqual([9]);
    expect(lines(/syntax error/).length).toBeGreaterThan(0);
    // own functions and the core cmdlets pass
    expect(offences.filter((o) => o.line === 10 || o.line === 11)).toEqual([]);
    expect(report(offences)).toMatch(/bad\.ps1:7: command 'ConvertFrom-Json' is not allowed/);
  });
});
