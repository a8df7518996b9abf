// Finds (or installs) the PowerShell the integration tests drive and names its version in the output.
// Under CI=true a missing PowerShell fails the run; on a laptop without one the PowerShell tests skip, loudly.
import type { TestProject } from 'vitest/node';
import { isPinnedConsole, locatePowerShell, PINNED_POWERSHELL, PowerShellNotFoundError } from '../../src/agent/locatePowerShell.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pwsh: { executable: string; version: string; host: string; source: string } | { missing: string };
  }
}

export default function setup(project: TestProject): void {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  try {
    const found = locatePowerShell({ install: true, log: (l) => console.log(l) });
    console.log(`\nPowerShell for the tests: ${found.version}, host ${found.host} — ${found.executable} (${found.source})\n`);
    // CI proves the product on the real thing: the pinned release in its real console host, nothing else.
    if (ci && !isPinnedConsole(found)) throw new Error(`CI=true needs PowerShell ${PINNED_POWERSHELL} in a real console host; found ${found.version} (${found.host}) from ${found.source}`);
    project.provide('pwsh', found);
  } catch (err) {
    const why = err instanceof PowerShellNotFoundError ? err.message : String(err);
    if (ci) throw new Error(`CI=true and no PowerShell: ${why}`);
    console.warn(`\n${'!'.repeat(78)}\n!! NO POWERSHELL: every PowerShell integration test will SKIP.\n!! ${why}\n${'!'.repeat(78)}\n`);
    project.provide('pwsh', { missing: why });
  }
}
