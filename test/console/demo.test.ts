// `npm run demo` end to end, as a newcomer runs it: a real process, its real output and exit code.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');

/** `tsx src/main.ts demo` once the lead has wired the mode into main.ts; until then the demo's own entry. */
function demoArgs(): string[] {
  const main = path.join(root, 'src', 'main.ts');
  return existsSync(main) && /\brunDemo\b/.test(readFileSync(main, 'utf8')) ? [main, 'demo'] : [path.join(root, 'src', 'demo.ts')];
}

describeWithPwsh('npm run demo', () => {
  it('plays the scripted conversation and exits 0 with every expectation held', { timeout: 300_000 }, () => {
    const result = spawnSync(tsx, demoArgs(), {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, LYNC_EXO_PWSH: pwshExecutable(), LOG_LEVEL: 'silent', NO_COLOR: '1' },
      // minutes on a loaded machine; the bound only ends a hang
      timeout: 280_000,
    });
    const out = result.stdout;
    expect(result.status, `${out}\n${result.stderr}`).toBe(0);
    expect(out).toMatch(/^PowerShell \d+\.\d+\.\d+ /m);
    for (const line of [
      'alice> status',
      'alice> setup',
      '(only you) you made this request, so someone else must approve it',
      '[demo] ✓ alice may not approve her own request',
      'bob> approve r-1',
      'Run run-1: setup — succeeded',
      "[demo] ✓ the Edge's local store matches every property the plan set",
      'alice> verify',
      'Asked by @alice · verdict ✓ pass',
      'alice> rollback',
      'Plan: rollback of run-1',
      'Run run-2: rollback — succeeded',
      '[demo] ✓ LyncSim is back where it started: no provider, federated users not allowed',
    ]) {
      expect(out).toContain(line);
    }
    expect(out).toMatch(/│ edge01\.contoso\.local\s+│ yes/);
    expect(out).toMatch(/demo: every expectation held \(\d+ checks\)/);
    expect(out).not.toContain('FAILED');
  });
});
