// Secrets from the Windows Credential Manager, for a service that should not keep them in its environment. With
// LYNC_EXO_SECRETS=credential-manager, each secret the process needs and does not find in its environment is read
// at start from the generic credential `lync-exo/<NAME>` of the account the service runs as. The admin stores it
// once, as that account: `runas /user:CONTOSO\svc-lyncexo "cmdkey /generic:lync-exo/SLACK_BOT_TOKEN /user:lync-exo
// /pass"` (cmdkey asks for the value, so it is not in any history). A group managed service account cannot log on
// interactively: use the service's environment for it.
//
// Windows PowerShell 5.1 reads them through CredRead (advapi32); the names go to it on stdin as JSON data, never
// as code, and the values come back on stdout only. No value is ever logged or put in an error.
import { spawn } from 'node:child_process';
import { ConfigError } from '../config/runbooks.js';

export const CREDENTIAL_PREFIX = 'lync-exo/';
export const SECRETS_SETTING = 'LYNC_EXO_SECRETS';

/** Reads the named credentials: names in, {name: value} out (a name with no credential is left out). */
export type CredentialReader = (targets: string[]) => Promise<Record<string, string>>;

export const CREDENTIAL_SCRIPT = String.raw`
$ErrorActionPreference = 'Stop'
$targets = @([Console]::In.ReadToEnd() | ConvertFrom-Json)
Add-Type -TypeDefinition @'
using System;
using System.Runtime.InteropServices;
using System.Runtime.InteropServices.ComTypes;
public static class LxCredential {
  [StructLayout(LayoutKind.Sequential, CharSet = CharSet.Unicode)]
  private struct CREDENTIAL {
    public int Flags; public int Type; public string TargetName; public string Comment; public FILETIME LastWritten;
    public int CredentialBlobSize; public IntPtr CredentialBlob; public int Persist; public int AttributeCount;
    public IntPtr Attributes; public string TargetAlias; public string UserName;
  }
  [DllImport("advapi32.dll", CharSet = CharSet.Unicode, SetLastError = true)]
  private static extern bool CredReadW(string target, int type, int flags, out IntPtr credential);
  [DllImport("advapi32.dll")]
  private static extern void CredFree(IntPtr credential);
  public static string Read(string target) {
    IntPtr p;
    if (!CredReadW(target, 1, 0, out p)) {
      int e = Marshal.GetLastWin32Error();
      if (e == 1168) { return null; }
      throw new System.ComponentModel.Win32Exception(e);
    }
    try {
      CREDENTIAL c = (CREDENTIAL)Marshal.PtrToStructure(p, typeof(CREDENTIAL));
      if (c.CredentialBlobSize == 0) { return ""; }
      return Marshal.PtrToStringUni(c.CredentialBlob, c.CredentialBlobSize / 2);
    } finally { CredFree(p); }
  }
}
'@
$found = @{}
try {
  foreach ($t in $targets) {
    $v = [LxCredential]::Read([string]$t)
    if ($null -ne $v) { $found[[string]$t] = $v }
  }
} catch {
  [Console]::Error.WriteLine('the Windows Credential Manager could not be read: ' + $_.Exception.GetBaseException().Message)
  exit 3
}
[Console]::Out.Write((New-Object PSObject -Property $found | ConvertTo-Json -Compress))
`;

/** The reader that runs CREDENTIAL_SCRIPT in Windows PowerShell (or `executable`). */
export function powershellCredentialReader(executable = 'powershell.exe'): CredentialReader {
  return (targets) =>
    new Promise((resolve, reject) => {
      const encoded = Buffer.from(CREDENTIAL_SCRIPT, 'utf16le').toString('base64');
      const child = spawn(executable, ['-NoLogo', '-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', encoded], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, TERM: 'dumb', NO_COLOR: '1' },
        windowsHide: true,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.stderr.on('data', (c: Buffer) => err.push(c));
      child.on('error', (e) => reject(new ConfigError(`${SECRETS_SETTING}=credential-manager: cannot start ${executable}: ${e.message}`)));
      child.on('close', (code) => {
        if (code !== 0) {
          // stderr carries only the script's own sentence (names and Windows' error text), never a value
          const why = Buffer.concat(err).toString('utf8').split(/\r?\n/).find((l) => l.trim()) ?? `exit code ${code}`;
          reject(new ConfigError(`${SECRETS_SETTING}=credential-manager: ${why.trim()}`));
          return;
        }
        try {
          const text = Buffer.concat(out).toString('utf8').trim();
          const parsed: unknown = text ? JSON.parse(text) : {};
          if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
          resolve(Object.fromEntries(Object.entries(parsed).filter((e): e is [string, string] => typeof e[1] === 'string')));
        } catch {
          // the text may hold secrets: not quoted
          reject(new ConfigError(`${SECRETS_SETTING}=credential-manager: ${executable} answered something other than the credentials' JSON`));
        }
      });
      child.stdin.end(JSON.stringify(targets));
    });
}

/**
 * Fills `env` with the named secrets it lacks, from the credential store, when LYNC_EXO_SECRETS asks for it.
 * Returns the names filled (for the log: names only). A value already in the environment wins.
 */
export async function fillSecretsFromCredentialStore(env: NodeJS.ProcessEnv, names: readonly string[], reader?: CredentialReader): Promise<string[]> {
  const setting = env[SECRETS_SETTING]?.trim();
  if (!setting || setting === 'environment') return [];
  if (setting !== 'credential-manager') throw new ConfigError(`${SECRETS_SETTING}: "${setting.slice(0, 40)}" is not a secret source; use environment (the default) or credential-manager`);
  const wanted = [...new Set(names)].filter((n) => env[n] === undefined || env[n] === '');
  if (!wanted.length) return [];
  const read = reader ?? powershellCredentialReader(env.LYNC_EXO_CREDENTIAL_POWERSHELL?.trim() || 'powershell.exe');
  const found = await read(wanted.map((n) => CREDENTIAL_PREFIX + n));
  const filled: string[] = [];
  for (const n of wanted) {
    const value = found[CREDENTIAL_PREFIX + n];
    if (value === undefined) continue;
    env[n] = value;
    filled.push(n);
  }
  return filled;
}
