// Finds the PowerShell the tests, the demo, the console and the bench drive, and on a machine without it installs
// PowerShell 7.6.9 into the project's ignored .tools/ folder. They all come through here, so they run one shell.
//
// Order: LYNC_EXO_PWSH (an explicit path) → .tools/pwsh (installed earlier) → `dotnet tool install PowerShell
// --version 7.6.9` into .tools/pwsh → `pwsh` on PATH (`powershell` on Windows), the last only as a fallback that
// the banner names. The version is pinned because the newest PowerShell tool needs a newer .NET than the SDK the
// machines here have: an unpinned install fails, and a moving version would make test results drift.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The PowerShell release the project is tested on (see above for why it is pinned). */
export const PINNED_POWERSHELL = '7.6.9';

export interface LocatedPowerShell {
  executable: string;
  /** e.g. "7.6.9 Core" or "5.1.19041.1 Desktop" */
  version: string;
  /** the host's name: "ConsoleHost" for pwsh and powershell.exe */
  host: string;
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

export interface Probe {
  version: string;
  host: string;
}

/** Asks a candidate for its version and host name; undefined when it cannot run. */
export function probePowerShell(executable: string, env: NodeJS.ProcessEnv = process.env): Probe | undefined {
  const result = spawnSync(
    executable,
    ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', "'lx-probe ' + $PSVersionTable.PSVersion.ToString() + ' ' + $PSVersionTable.PSEdition + ' ' + $Host.Name"],
    { encoding: 'utf8', timeout: 60_000, env: { ...env, TERM: 'dumb', NO_COLOR: '1' } },
  );
  if (result.status !== 0 || !result.stdout) return undefined;
  // The console may write terminal sequences around the line: look for ours, wherever it is.
  const match = /lx-probe (\d+\.\d+\S*) (\S+) (\S+)/.exec(result.stdout);
  return match ? { version: `${match[1]} ${match[2]}`, host: match[3]! } : undefined;
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

/** True for the pinned release in a real console host (pwsh), the only PowerShell CI accepts. */
export function isPinnedConsole(found: Pick<LocatedPowerShell, 'version' | 'host'>): boolean {
  return found.version.startsWith(`${PINNED_POWERSHELL} `) && found.host === 'ConsoleHost';
}

export function locatePowerShell(options: LocateOptions = {}): LocatedPowerShell {
  const log = options.log ?? (() => undefined);
  const attempts: string[] = [];
  const toolDir = path.join(projectRoot, '.tools', 'pwsh');
  const toolPwsh = path.join(toolDir, exe('pwsh'));
  const tryOne = (source: string, candidate: string | undefined): LocatedPowerShell | undefined => {
    if (!candidate) return undefined;
    const probe = probePowerShell(candidate);
    if (probe) return { executable: candidate, ...probe, source };
    attempts.push(`${source}: ${candidate} did not run`);
    return undefined;
  };

  const explicit = tryOne('LYNC_EXO_PWSH', process.env.LYNC_EXO_PWSH);
  if (explicit) return explicit;
  const installed = tryOne(`.tools/pwsh (dotnet tool PowerShell ${PINNED_POWERSHELL})`, existsSync(toolPwsh) ? toolPwsh : undefined);
  if (installed) return installed;

  if (options.install && onPath('dotnet')) {
    log(`lync-exo: installing PowerShell ${PINNED_POWERSHELL} (dotnet tool) into .tools/pwsh`);
    try {
      execFileSync('dotnet', ['tool', 'install', 'PowerShell', '--version', PINNED_POWERSHELL, '--tool-path', toolDir], {
        stdio: 'pipe',
        encoding: 'utf8',
        env: { ...process.env, DOTNET_CLI_TELEMETRY_OPTOUT: '1', DOTNET_NOLOGO: '1' },
      });
      const fresh = tryOne(`.tools/pwsh (dotnet tool PowerShell ${PINNED_POWERSHELL}, just installed)`, toolPwsh);
      if (fresh) return fresh;
    } catch (err) {
      attempts.push(`dotnet tool install PowerShell --version ${PINNED_POWERSHELL}: ${firstLine(err)}`);
    }
  } else if (options.install) {
    attempts.push('no .NET SDK to install PowerShell with');
  } else {
    attempts.push('installation not requested');
  }

  const fallback = tryOne('PATH', onPath('pwsh') ?? (isWindows ? onPath('powershell') : undefined));
  if (fallback) return fallback;
  throw new PowerShellNotFoundError(attempts);
}

function firstLine(err: unknown): string {
  const e = err as { stdout?: string; stderr?: string; message?: string };
  const text = [e.stderr, e.stdout, e.message].find((t) => t && t.trim()) ?? String(err);
  const lines = text.trim().split(/\r?\n/).filter((l) => /error|not found|failed/i.test(l));
  return (lines[0] ?? text.trim().split(/\r?\n/)[0] ?? '').trim();
}
