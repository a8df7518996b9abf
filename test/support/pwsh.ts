import { describe, inject } from 'vitest';

/** The PowerShell found by the global setup, or undefined when the tests must skip. */
export function pwshExecutable(): string | undefined {
  const found = inject('pwsh');
  return 'executable' in found ? found.executable : undefined;
}

const ci = process.env.CI === 'true' || process.env.CI === '1';

/**
 * `describe` for tests that need a real PowerShell. Off CI, on a machine without one, they skip (the global setup
 * says so loudly); under CI=true they always run, so a missing PowerShell fails them instead of skipping them.
 */
export const describeWithPwsh: typeof describe.skip = ci || pwshExecutable() ? describe : describe.skip;
