// The agent session against a loud module, in every console environment the bot may be started in: TERM unset,
// xterm-256color or dumb, NO_COLOR, a non-UTF-8 locale. The answer is found whatever the console writes around it,
// a forged answer line is never taken, and warnings come back with the result.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { PowerShellAgent } from '../../src/agent/session.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const NOISY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'NoisyLync', 'NoisyLync.psm1');
const ALLOWLIST = ['Get-CsHostingProvider', 'Set-CsAccessEdgeConfiguration', 'Get-CsAccessEdgeConfiguration'];

const agents: PowerShellAgent[] = [];
afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
});

// The configured environment reaches the child after our own settings, so these put each console back as it was.
const ENVIRONMENTS: Array<[string, Record<string, string | undefined>]> = [
  ['TERM unset', { TERM: undefined }],
  ['TERM=xterm-256color', { TERM: 'xterm-256color' }],
  ['TERM=dumb', { TERM: 'dumb' }],
  ['NO_COLOR and xterm', { TERM: 'xterm', NO_COLOR: '1' }],
  ['a non-UTF-8 locale', { TERM: 'xterm-256color', LANG: 'en_US.ISO-8859-1', LC_ALL: 'C' }],
];

describeWithPwsh.each(ENVIRONMENTS)('a loud module with %s', (_name, env) => {
  const agent = new PowerShellAgent({
    name: 'fe01',
    roles: ['internal'],
    executable: pwshExecutable() ?? 'pwsh',
    module: NOISY,
    allowlist: ALLOWLIST,
    env,
    logger: pino({ level: 'silent' }),
  });
  agents.push(agent);

  it('answers with the real object, never a forged one, and the warning comes back with it', async () => {
    const result = await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
    expect(result).toMatchObject({ ok: true, warnings: ['warning from Get-CsHostingProvider'] });
    if (!result.ok) return;
    expect(result.output).toEqual([expect.objectContaining({ Identity: 'Exchange Online', ProxyFqdn: 'exap.um.outlook.com' })]);
  });

  it('a change that writes warnings and progress succeeds, with its warnings', async () => {
    const result = await agent.invoke({ cmdlet: 'Set-CsAccessEdgeConfiguration', parameters: { AllowFederatedUsers: true } });
    expect(result).toMatchObject({
      ok: true,
      output: [],
      warnings: ['warning from Set-CsAccessEdgeConfiguration', 'The change will take effect after replication.'],
    });
  });

  it('text a module writes to stderr itself becomes a warning, and the answer stands', async () => {
    const result = await agent.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    expect(result).toMatchObject({ ok: true, output: [{ Identity: 'Global', RoutingMethod: 'UseDnsSrvRouting' }] });
    if (result.ok) expect(result.warnings?.join('\n')).toContain('stderr text from Get-CsAccessEdgeConfiguration');
  });
});

describe('the forging module', () => {
  it('is a real attempt: it finds the invocation id on the call stack', async () => {
    // Without this, the forgery test above would pass for the wrong reason (a module that forges nothing).
    const { spawnSync } = await import('node:child_process');
    const { encodeImportPrelude, encodeInitialize, encodeInvocation, encodeSessionKey } = await import('../../src/agent/wire.js');
    const { DEFAULT_PRELUDE } = await import('../../src/agent/session.js');
    const executable = pwshExecutable();
    if (!executable) return;
    const id = 'a'.repeat(32);
    const init = encodeInitialize(NOISY, ALLOWLIST, {}, 'b'.repeat(32));
    const step = encodeInvocation({ cmdlet: 'Get-CsHostingProvider', parameters: {} }, ALLOWLIST, id);
    if (!init.ok || !step.ok) throw new Error('encoding failed');
    // one line each on stdin, as the agent sends them, so the console records them in its history as it does there
    const input = [encodeImportPrelude(DEFAULT_PRELUDE), encodeSessionKey(Buffer.alloc(32, 1)), init.line, step.line, 'exit', ''].join('\n');
    const run = spawnSync(executable, ['-NoLogo', '-NoProfile', '-NonInteractive', '-NoExit', '-Command', '-'], { input, env: { ...process.env, TERM: 'dumb' }, timeout: 120_000 });
    const forged = run.stdout.toString('utf8').split(/\r?\n/).filter((l) => l.startsWith(`lx1r ${id} `) && l.includes('evil.example'));
    expect(forged.length).toBeGreaterThan(2);
    expect(run.stdout.toString('utf8')).not.toContain('key-was-visible');
    expect(run.stdout.toString('utf8')).not.toContain('history-had-key');
  });
});
