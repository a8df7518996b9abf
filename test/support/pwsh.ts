import { describe, inject } from 'vitest';

/** The PowerShell found by the global setup, or undefined when the tests must skip. */
export function pwshExecutable(): string | undefined {
  const found = inject('pwsh');
  return 'executable' in found ? found.executable : undefined;
}

/** `describe` for tests that need a real PowerShell: skips (loudly, in the global setup) only off CI. */
export const describeWithPwsh: typeof describe.skip = pwshExecutable() ? describe : describe.skip;
