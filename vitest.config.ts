import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/globalSetup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PowerShell sessions are processes of their own; two cores do not want more than two test files at once.
    maxWorkers: 2,
  },
});
