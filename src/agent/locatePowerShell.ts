// Finds a PowerShell to drive, and on a machine without one installs PowerShell 7 into the project's
// ignored .tools/ folder. The tests and the demo both come through here, so they run the same shell.
//
// Order: LYNC_EXO_PWSH (an explicit path) → `pwsh` on PATH (`powershell` on Windows) → a copy installed
// earlier under .tools/ → `dotnet tool install PowerShell` → the PowerShell 7 engine from NuGet in the
// small console host under test/pwsh-host (for registries that serve System.Management.Automation but
// not the PowerShell tool).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface LocatedPowerShell {
  executable: string;
  /** e.g. "7.6.9 Core" or "5.1.19041.1 Desktop" */
  version: string;
  /** how it was found, for the test banner */
  source: string;
}

export class PowerShellNotFoundError extends Error {
  readonly code = 'powershell_not_found';
  constructor(readonly attempts: string[]) {
    super(`no PowerShell found or installable: ${attempts.join('; ')}`);
  }
}

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const isWindows = process.platform === 'win32';
const exe = (name: string) => (isWindows ? `${name}.exe` : name);

/** Asks a candidate for its version; undefined when it cannot run. */
export function probePowerShell(executable: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const result = spawnSync(
    executable,
    ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', "$PSVersionTable.PSVersion.ToString() + ' ' + $PSVersionTable.PSEdition"],
    { encoding: 'utf8', timeout: 60_000, env },
  );
  if (result.status !== 0 || !result.stdout) return undefined;
  const version = result.stdout.trim().split(/\r?\n/).pop();
  return version && /^\d+\.\d+/.test(version) ? version : undefined;
}

function onPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(path.delimiter);
  for (const dir of dirs) {
    const candidate = path.join(dir, exe(name));
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface LocateOptions {
  /** install into .tools/ when nothing is found (needs the .NET SDK) */
  install?: boolean;
  log?: (line: string) => void;
}

export function locatePowerShell(options: LocateOptions = {}): LocatedPowerShell {
  const log = options.log ?? (() => undefined);
  const attempts: string[] = [];
  const tools = path.join(projectRoot, '.tools');
  const toolPwsh = path.join(tools, 'pwsh', exe('pwsh'));
  const hostPwsh = path.join(tools, 'pwsh-host', exe('pwsh-host'));

  const candidates: Array<[string, string | undefined]> = [
    ['LYNC_EXO_PWSH', process.env.LYNC_EXO_PWSH],
    ['PATH', onPath(isWindows ? 'pwsh' : 'pwsh') ?? (isWindows ? onPath('powershell') : undefined)],
    ['.tools/pwsh (dotnet tool)', existsSync(toolPwsh) ? toolPwsh : undefined],
    ['.tools/pwsh-host (PowerShell engine from NuGet)', existsSync(hostPwsh) ? hostPwsh : undefined],
  ];
  for (const [source, candidate] of candidates) {
    if (!candidate) continue;
    const version = probePowerShell(candidate);
    if (version) return { executable: candidate, version, source };
    attempts.push(`${source}: ${candidate} did not run`);
  }
  if (!options.install) throw new PowerShellNotFoundError([...attempts, 'installation not requested']);
  if (!onPath('dotnet')) throw new PowerShellNotFoundError([...attempts, 'no pwsh on PATH and no .NET SDK to install one']);

  log('lync-exo: no PowerShell found; trying `dotnet tool install PowerShell` into .tools/pwsh');
  try {
    execFileSync('dotnet', ['tool', 'install', 'PowerShell', '--tool-path', path.join(tools, 'pwsh')], { stdio: 'pipe', encoding: 'utf8' });
    const version = probePowerShell(toolPwsh);
    if (version) return { executable: toolPwsh, version, source: '.tools/pwsh (dotnet tool, just installed)' };
    attempts.push('dotnet tool install PowerShell: installed but did not run');
  } catch (err) {
    attempts.push(`dotnet tool install PowerShell: ${firstLine(err)}`);
  }

  log('lync-exo: building the PowerShell 7 engine host (test/pwsh-host) into .tools/pwsh-host');
  try {
    execFileSync('dotnet', ['publish', path.join(projectRoot, 'test', 'pwsh-host', 'PwshHost.csproj'), '-c', 'Release', '-o', path.join(tools, 'pwsh-host'), '--nologo'], {
      stdio: 'pipe',
      encoding: 'utf8',
      env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
    });
    const version = probePowerShell(hostPwsh);
    if (version) return { executable: hostPwsh, version, source: '.tools/pwsh-host (PowerShell engine from NuGet, just built)' };
    attempts.push('pwsh-host: built but did not run');
  } catch (err) {
    attempts.push(`pwsh-host build: ${firstLine(err)}`);
  }
  throw new PowerShellNotFoundError(attempts);
}

function firstLine(err: unknown): string {
  const e = err as { stdout?: string; stderr?: string; message?: string };
  const text = [e.stderr, e.stdout, e.message].find((t) => t && t.trim()) ?? String(err);
  const lines = text.trim().split(/\r?\n/).filter((l) => /error|not found|failed/i.test(l));
  return (lines[0] ?? text.trim().split(/\r?\n/)[0] ?? '').trim();
}
