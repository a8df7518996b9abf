// The Windows service, as far as it can be tested off Windows: the WinSW definition lync-exo generates, read by a
// real XML parser (PowerShell's [xml]); and the install script, read by PowerShell's own parser under the rules of
// Windows PowerShell 5.1 (no PowerShell 7 syntax, only cmdlets that 5.1 has).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { serviceMain, winswDefinition } from '../../src/service/winsw.js';
import { CREDENTIAL_SCRIPT, fillSecretsFromCredentialStore, powershellCredentialReader } from '../../src/service/credentials.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const SCRIPT = path.join(ROOT, 'service', 'Install-LyncExoService.ps1');

function pwsh(script: string, input: string): string {
  const r = spawnSync(pwshExecutable()!, ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], {
    env: { ...process.env, TERM: 'dumb', NO_COLOR: '1', LX_INPUT: Buffer.from(input, 'utf8').toString('base64') },
    encoding: 'utf8',
    timeout: 120_000,
  });
  expect(r.stderr).toBe('');
  return r.stdout.slice(r.stdout.indexOf('{'), r.stdout.lastIndexOf('}') + 1);
}

/** The definition as WinSW reads it: every element WinSW acts on, through a real XML parser. */
function parsed(definition: string): Record<string, unknown> {
  const script = String.raw`
$ErrorActionPreference = 'Stop'
[xml]$x = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($env:LX_INPUT))
$s = $x.service
$o = [ordered]@{
  id = $s.id; executable = $s.executable; arguments = $s.arguments; workingdirectory = $s.workingdirectory
  startmode = $s.startmode; stoptimeout = $s.stoptimeout; resetfailure = $s.resetfailure; logpath = $s.logpath
  onfailure = @($s.onfailure | ForEach-Object { $_.action + ' ' + $_.delay })
  log = [ordered]@{ mode = $s.log.mode; sizeThreshold = $s.log.sizeThreshold; keepFiles = $s.log.keepFiles }
  env = @($s.env | ForEach-Object { $_.name + '=' + $_.value })
  account = [ordered]@{ domain = $s.serviceaccount.domain; user = $s.serviceaccount.user; allowservicelogon = $s.serviceaccount.allowservicelogon; password = @($s.serviceaccount.SelectNodes('password')).Count }
}
[Console]::Out.Write(($o | ConvertTo-Json -Depth 4 -Compress))
`;
  return JSON.parse(pwsh(script, definition)) as Record<string, unknown>;
}

it('refuses an account that is not DOMAIN\\user, and a bad id', () => {
  expect(() => winswDefinition({ kind: 'bot', account: 'svc-lyncexo', packageDir: 'C:\\x', node: 'node.exe' })).toThrow(/DOMAIN\\user/);
  expect(() => winswDefinition({ kind: 'bot', account: 'C\\u', packageDir: 'C:\\x', node: 'node.exe', id: 'a b' })).toThrow(/service id/);
  expect(serviceMain(['--kind', 'bot', '--dir', 'C:\\x'], () => undefined)).toBe(2);
});

/** Windows PowerShell 5.1 cmdlets the install script may use, and the checker: syntax errors, PowerShell 7 syntax, other commands. */
const allowed = [
  // Windows PowerShell 5.1 (Microsoft.PowerShell.Core, .Utility, .Management, .Security)
  'Split-Path', 'Join-Path', 'Get-Command', 'Select-Object', 'Test-Path', 'New-Item', 'Copy-Item', 'Get-Credential', 'Read-Host',
  'New-ItemProperty', 'Get-Acl', 'Set-Acl', 'New-Object', 'Start-Service', 'Get-Service', 'Format-List', 'Write-Host', 'Set-StrictMode',
  'ForEach-Object', 'Out-Null',
];
const CHECKER = String.raw`
$ErrorActionPreference = 'Stop'
$req = [System.Text.Encoding]::UTF8.GetString([System.Convert]::FromBase64String($env:LX_INPUT)) | ConvertFrom-Json
$tokens = $null; $errors = $null
$ast = [System.Management.Automation.Language.Parser]::ParseFile($req.file, [ref]$tokens, [ref]$errors)
$allowed = [System.Collections.Generic.HashSet[string]]::new([System.StringComparer]::OrdinalIgnoreCase)
foreach ($c in $req.allowed) { [void]$allowed.Add($c) }
foreach ($fn in $ast.FindAll({ param($n) $n -is [System.Management.Automation.Language.FunctionDefinitionAst] }, $true)) { [void]$allowed.Add($fn.Name) }
$out = [System.Collections.Generic.List[string]]::new()
foreach ($e in $errors) { $out.Add('' + $e.Extent.StartLineNumber + ': syntax error: ' + $e.Message) }
foreach ($n in $ast.FindAll({ $true }, $true)) {
  $t = $n.GetType().Name
  if ($t -eq 'TernaryExpressionAst' -or $t -eq 'PipelineChainAst') { $out.Add('' + $n.Extent.StartLineNumber + ': ' + $t) }
  elseif ($t -eq 'BinaryExpressionAst' -and [string]$n.Operator -eq 'QuestionQuestion') { $out.Add('' + $n.Extent.StartLineNumber + ': ??') }
  elseif ($null -ne $n.PSObject.Properties['NullConditional'] -and $n.NullConditional) { $out.Add('' + $n.Extent.StartLineNumber + ': ?.') }
  elseif ($t -eq 'CommandAst') {
$name = $n.GetCommandName()
if ($null -ne $name -and -not $allowed.Contains($name)) { $out.Add('' + $n.Extent.StartLineNumber + ': command ' + $name) }
  }
}
$requires = $ast.ScriptRequirements
[Console]::Out.Write((@{ offences = @($out); version = '' + $requires.RequiredPSVersion; admin = $requires.IsElevationRequired } | ConvertTo-Json -Compress))
`;

function check51(file: string, also: string[] = []): { offences: string[]; version: string; admin: boolean } {
  return JSON.parse(pwsh(CHECKER, JSON.stringify({ file, allowed: [...allowed, ...also] }))) as { offences: string[]; version: string; admin: boolean };
}

describeWithPwsh('the Windows service (WinSW)', () => {
  it('the bot: runs dist/main.js slack with plain Node as the named account, restarts on failure, rolls its logs, no secrets', () => {
    let out = '';
    const code = serviceMain(
      ['--kind', 'bot', '--account', 'CONTOSO\\svc-lyncexo', '--dir', 'C:\\lync-exo\\node_modules\\lync-exo', '--config', 'C:\\lync-exo\\lync-exo.yml', '--data', 'C:\\lync-exo\\data'],
      (s) => (out += s),
    );
    expect(code).toBe(0);
    expect(parsed(out)).toEqual({
      id: 'lync-exo',
      executable: 'C:\\Program Files\\nodejs\\node.exe',
      arguments: '"C:\\lync-exo\\node_modules\\lync-exo\\dist\\main.js" slack',
      workingdirectory: 'C:\\lync-exo\\node_modules\\lync-exo',
      startmode: 'Automatic',
      // lync-exo's own grace for a running step is 150 s: WinSW must not kill it sooner
      stoptimeout: '170 sec',
      resetfailure: '1 hour',
      logpath: 'C:\\lync-exo\\node_modules\\lync-exo\\logs',
      onfailure: ['restart 10 sec', 'restart 30 sec', 'restart 120 sec'],
      log: { mode: 'roll-by-size', sizeThreshold: '10240', keepFiles: '10' },
      env: ['LYNC_EXO_CONFIG=C:\\lync-exo\\lync-exo.yml', 'LYNC_EXO_DATA_DIR=C:\\lync-exo\\data', 'NO_COLOR=1'],
      account: { domain: 'CONTOSO', user: 'svc-lyncexo', allowservicelogon: 'true', password: 0 },
    });
    expect(out).not.toMatch(/SLACK_|TOKEN|SECRET|xox[bp]-/);
    expect(out).toContain('\r\n');
  });

  it('an agent: runs dist/main.js agent, as a group managed service account', () => {
    const p = parsed(winswDefinition({ kind: 'agent', account: 'CONTOSO\\gmsa-lyncexo$', packageDir: 'D:\\apps\\lync-exo', node: 'D:\\node\\node.exe' }));
    expect(p).toMatchObject({ id: 'lync-exo-agent', executable: 'D:\\node\\node.exe', arguments: '"D:\\apps\\lync-exo\\dist\\main.js" agent', env: ['NO_COLOR=1'], account: { domain: 'CONTOSO', user: 'gmsa-lyncexo$', password: 0 } });
  });

  it('the install script parses under the Windows PowerShell 5.1 rules and uses only cmdlets 5.1 has', () => {
    const r = check51(SCRIPT);
    expect(r.offences).toEqual([]);
    expect(r).toMatchObject({ version: '5.1', admin: true });
  });

  it('the check catches PowerShell 7 syntax and a cmdlet outside the list, with the line', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-ps51-'));
    try {
      const bad = path.join(dir, 'bad.ps1');
      writeFileSync(bad, ['#Requires -Version 7.0', '$a = $true ? 1 : 2', '$b = $null ?? 3', 'Get-Clipboard', 'Get-Service && Get-Service'].join('\n'));
      const r = check51(bad);
      expect(r.offences).toEqual(['2: TernaryExpressionAst', '3: ??', '4: command Get-Clipboard', '5: PipelineChainAst']);
      expect(r.version).toBe('7.0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithPwsh('secrets from the Windows Credential Manager', () => {
  it('the reading script parses under the Windows PowerShell 5.1 rules and uses only cmdlets 5.1 has', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-cred-'));
    try {
      const file = path.join(dir, 'read.ps1');
      writeFileSync(file, CREDENTIAL_SCRIPT);
      expect(check51(file, ['Add-Type', 'ConvertFrom-Json', 'ConvertTo-Json']).offences).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('off Windows the real PowerShell compiles it (the sentence comes from its catch around CredRead) and fails; hostile names stay data', async () => {
    const read = powershellCredentialReader(pwshExecutable());
    const hostile = ["lync-exo/X'; [Console]::Out.Write('pwned'); '", 'lync-exo/$(Write-Output pwned)', 'lync-exo/`"; exit 0; "'];
    const failure = await read(hostile).then(
      () => undefined,
      (err: unknown) => (err as Error).message,
    );
    expect(failure).toMatch(/^LYNC_EXO_SECRETS=credential-manager: the Windows Credential Manager could not be read: \S/);
    expect(failure).not.toContain('pwned');
  });
});

it('fills only the secrets the environment lacks, from lync-exo/<NAME>; nothing unless asked; a wrong source is named', async () => {
  const asked: string[][] = [];
  const reader = async (targets: string[]) => {
    asked.push(targets);
    return { 'lync-exo/SLACK_SIGNING_SECRET': 'from-the-vault', 'lync-exo/OTHER': 'not asked for' };
  };
  const env: NodeJS.ProcessEnv = { LYNC_EXO_SECRETS: 'credential-manager', SLACK_BOT_TOKEN: 'xoxb-from-env' };
  expect(await fillSecretsFromCredentialStore(env, ['SLACK_BOT_TOKEN', 'SLACK_SIGNING_SECRET', 'EDGE01_TOKEN'], reader)).toEqual(['SLACK_SIGNING_SECRET']);
  expect(asked).toEqual([['lync-exo/SLACK_SIGNING_SECRET', 'lync-exo/EDGE01_TOKEN']]);
  expect(env).toEqual({ LYNC_EXO_SECRETS: 'credential-manager', SLACK_BOT_TOKEN: 'xoxb-from-env', SLACK_SIGNING_SECRET: 'from-the-vault' });

  const plain: NodeJS.ProcessEnv = {};
  expect(await fillSecretsFromCredentialStore(plain, ['SLACK_BOT_TOKEN'], reader)).toEqual([]);
  expect(asked).toHaveLength(1);
  await expect(fillSecretsFromCredentialStore({ LYNC_EXO_SECRETS: 'keepass' }, ['SLACK_BOT_TOKEN'], reader)).rejects.toThrow(/^LYNC_EXO_SECRETS: "keepass" is not a secret source; use environment \(the default\) or credential-manager$/);
});
