import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    // a bound that only ends a hang: tests with PowerShell sessions took 56-60 s at a load average of 24 on two cores
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // PowerShell sessions are processes of their own; two cores do not want more than two test files at once.
    maxWorkers: 2,
  },
});
