// PowerShellAgent against a real PowerShell and the LyncSim module: results, structured errors with hints,
// refusals before PowerShell, start-up failures that never crash, and a hung cmdlet that is killed and replaced.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { descendants, isAlive } from '../../src/agent/killTree.js';
import { PROJECTIONS } from '../../src/agent/outputs.js';
import { DEFAULT_PRELUDE, PowerShellAgent, type PowerShellAgentOptions } from '../../src/agent/session.js';
import { encodeImportPrelude, encodeInitialize, encodeInvocation, encodeSessionKey, parseAnswer } from '../../src/agent/wire.js';
import { createSimState, readSimState, simEnv } from '../support/simState.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const LYNCSIM = path.join(root, 'powershell', 'LyncSim', 'LyncSim.psd1');
const ALLOWLIST = [
  'Get-CsAccessEdgeConfiguration',
  'Set-CsAccessEdgeConfiguration',
  'Get-CsHostingProvider',
  'New-CsHostingProvider',
  'Remove-CsHostingProvider',
  'Get-CsManagementStoreReplicationStatus',
  // allowlisted, but LyncSim does not define it
  'Get-CsUser',
];
const HOST = 'fe01.contoso.local';
const EXO = {
  Identity: 'Exchange Online',
  Enabled: true,
  EnabledSharedAddressSpace: true,
  HostsOCSUsers: false,
  ProxyFqdn: 'exap.um.outlook.com',
  IsLocal: false,
  VerificationLevel: 'UseSourceVerification',
};

const dirs: string[] = [];
const agents: PowerShellAgent[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lx-session-'));
  dirs.push(dir);
  return dir;
}
function makeAgent(options: Partial<PowerShellAgentOptions> & { statePath?: string } = {}): PowerShellAgent {
  const { statePath, ...rest } = options;
  const agent = new PowerShellAgent({
    name: 'fe01',
    roles: ['internal'],
    executable: pwshExecutable() ?? 'pwsh',
    module: LYNCSIM,
    allowlist: ALLOWLIST,
    env: statePath ? simEnv(statePath, HOST) : {},
    logger: pino({ level: 'silent' }),
    ...rest,
  });
  agents.push(agent);
  return agent;
}

afterAll(async () => {
  await Promise.all(agents.map((a) => a.close()));
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('PowerShellAgent without PowerShell', () => {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on('unhandledRejection', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
  });

  it('reports a missing executable as an agent failure, with no unhandled rejection', async () => {
    const missing = path.join(tempDir(), 'no-such-pwsh');
    const agent = makeAgent({ executable: missing });
    const result = await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
    expect(result).toMatchObject({ ok: false, agent: 'fe01', error: { kind: 'agent', message: `Get-CsHostingProvider: powershell executable not found: ${missing}` } });
    // a second call fails the same way; closing an agent that never started is fine
    expect((await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} })).ok).toBe(false);
    await agent.close();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(unhandled).toEqual([]);
  });

  it('refuses a cmdlet that is not on the allowlist before starting PowerShell', async () => {
    const agent = makeAgent({ executable: path.join(tempDir(), 'no-such-pwsh') });
    const result = await agent.invoke({ cmdlet: 'Remove-Item', parameters: { Path: '/' } });
    expect(result).toMatchObject({ ok: false, error: { kind: 'refused', message: "Remove-Item: not on this agent's allowlist" } });
  });
});

describeWithPwsh('PowerShellAgent with LyncSim', () => {
  let statePath = '';
  let agent: PowerShellAgent;
  beforeAll(() => {
    statePath = createSimState(tempDir());
    agent = makeAgent({ statePath });
  });

  it('returns the Access Edge configuration as a parsed object', async () => {
    const result = await agent.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.output).toHaveLength(1);
    expect(result.output[0]).toMatchObject({ Identity: 'Global', AllowFederatedUsers: false, RoutingMethod: 'UseDnsSrvRouting' });
    expect(result.agent).toBe('fe01');
    expect(result.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('creates a provider and reads it back with VerificationLevel as a name', async () => {
    const created = await agent.invoke({ cmdlet: 'New-CsHostingProvider', parameters: EXO });
    expect(created).toMatchObject({ ok: true, output: [] });
    const read = await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'Exchange Online' } });
    expect(read.ok).toBe(true);
    if (!read.ok) return;
    expect(read.output).toEqual([expect.objectContaining(EXO)]);
    expect(typeof read.output[0]?.VerificationLevel).toBe('string');
    expect(JSON.stringify(readSimState(statePath))).toContain('exap.um.outlook.com');
  });

  it('returns a cmdlet error structured, with a hint', async () => {
    const again = await agent.invoke({ cmdlet: 'New-CsHostingProvider', parameters: EXO });
    expect(again.ok).toBe(false);
    if (again.ok) return;
    expect(again.error).toMatchObject({ kind: 'powershell', category: 'ResourceExists' });
    expect(again.error.message).toMatch(/^New-CsHostingProvider: /);
    expect(again.error.errorId).toBeTruthy();
    expect(again.error.exceptionType).toBeTruthy();
    expect(again.error.hint).toContain('already exists');
  });

  it('reports an allowlisted cmdlet the module does not define as CommandNotFound, with a hint', async () => {
    const result = await agent.invoke({ cmdlet: 'Get-CsUser', parameters: { Identity: 'sip:ken@contoso.com' } });
    expect(result).toMatchObject({
      ok: false,
      error: { kind: 'powershell', category: 'ObjectNotFound', errorId: 'CommandNotFoundException', hint: expect.stringContaining('not defined by the imported module') as string },
    });
  });

  it('refuses a cmdlet that is not on the allowlist, and the session keeps working', async () => {
    const refused = await agent.invoke({ cmdlet: 'Invoke-Expression', parameters: { Command: 'whoami' } });
    expect(refused).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect((await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} })).ok).toBe(true);
  });

  it('runs concurrent invocations one at a time, each with its own result', async () => {
    const results = await Promise.all([
      agent.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} }),
      agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'Exchange Online' } }),
      agent.invoke({ cmdlet: 'Get-CsManagementStoreReplicationStatus', parameters: {} }),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, true]);
    expect(results[0]?.ok && results[0].output[0]?.Identity).toBe('Global');
    expect(results[1]?.ok && results[1].output[0]?.Identity).toBe('Exchange Online');
  });
});

describeWithPwsh("PowerShellAgent maps LyncSim's known failures to hints", () => {
  it('names the ProxyFqdn owner, a missing provider, and an Edge that cannot reach the CMS', { timeout: 120_000 }, async () => {
    const statePath = createSimState(tempDir(), { providers: [{ Identity: 'Old Exchange', ProxyFqdn: 'exap.um.outlook.com' }] });
    const fe = makeAgent({ statePath });
    const taken = await fe.invoke({ cmdlet: 'New-CsHostingProvider', parameters: EXO });
    expect(taken.ok || taken.error).toMatchObject({ kind: 'powershell', hint: expect.stringContaining('already uses this ProxyFqdn') as string });
    const missing = await fe.invoke({ cmdlet: 'Remove-CsHostingProvider', parameters: { Identity: 'Nope', Confirm: false } });
    expect(missing.ok || missing.error).toMatchObject({ kind: 'powershell', category: 'ObjectNotFound', hint: expect.stringContaining('no hosting provider has this Identity') as string });
    const edge = makeAgent({ name: 'edge01', roles: ['edge'], env: simEnv(statePath, 'edge01.contoso.local') });
    const write = await edge.invoke({ cmdlet: 'New-CsHostingProvider', parameters: { ...EXO, ProxyFqdn: 'exap.um.office365.us' } });
    expect(write.ok || write.error).toMatchObject({ kind: 'powershell', hint: expect.stringContaining('run configuration changes on an internal server') as string });
    const local = await edge.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } });
    expect(local.ok && local.output.map((p) => p.Identity)).toEqual(['Old Exchange']);
  });
});

describeWithPwsh('PowerShellAgent when the module is missing', () => {
  it('fails every invoke with a hint naming the module per product version, without crashing', { timeout: 120_000 }, async () => {
    const agent = makeAgent({ module: 'Lync' });
    for (let i = 0; i < 2; i++) {
      const result = await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.error.kind).toBe('agent');
      expect(result.error.message).toMatch(/^Get-CsHostingProvider: importing module Lync on agent fe01: .*no valid module file/);
      expect(result.error.hint).toContain('"Lync" for Lync Server 2013 and "SkypeForBusiness" for Skype for Business Server 2015 and 2019');
    }
  });
});

describeWithPwsh('PowerShellAgent when a cmdlet hangs', () => {
  it('times out naming the cmdlet, replaces the session, and the next invocation succeeds', { timeout: 180_000 }, async () => {
    const statePath = createSimState(tempDir(), { faults: { hang: ['Get-CsHostingProvider'] } });
    const agent = makeAgent({ statePath, invocationTimeoutMs: 10_000 });
    const before = await agent.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    expect(before.ok).toBe(true);
    const firstPid = agent.pid;
    expect(firstPid).toBeTypeOf('number');
    // the session's whole tree (the .NET tool's pwsh launcher runs dotnet as its child)
    const tree = [firstPid!, ...descendants(firstPid!)];
    const hung = await agent.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: {} });
    expect(hung).toMatchObject({ ok: false, error: { kind: 'timeout', message: 'Get-CsHostingProvider: timed out after 10 s on agent fe01' } });
    // ended by our 10 s timer, not the 120 s default: the bound is loose so a loaded machine cannot fail it
    expect(hung.durationMs).toBeLessThan(100_000);
    // the hung child is really gone, not just abandoned
    expect(agent.pid).toBeUndefined();
    const deadline = Date.now() + 30_000;
    while (tree.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(tree.filter(isAlive), 'processes of the hung session still alive').toEqual([]);
    const next = await agent.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
    expect(next.ok).toBe(true);
    expect(agent.pid).not.toBe(firstPid);
  });
});

describeWithPwsh('the wire, straight through the prelude', () => {
  it('is ASCII both ways: non-ASCII output comes back as JSON escapes (no console code page can mangle it)', () => {
    const statePath = createSimState(tempDir(), { providers: [{ Identity: 'Échange “en ligne” مرحبا 😀', ProxyFqdn: 'exap.um.outlook.com' }] });
    const key = Buffer.alloc(32, 3);
    const [initId, stepId] = ['1'.repeat(32), '2'.repeat(32)];
    const init = encodeInitialize(LYNCSIM, ALLOWLIST, PROJECTIONS, initId);
    const step = encodeInvocation({ cmdlet: 'Get-CsHostingProvider', parameters: { Identity: 'Échange “en ligne” مرحبا 😀' } }, ALLOWLIST, stepId);
    if (!init.ok || !step.ok) throw new Error('encoding failed');
    const script = [encodeImportPrelude(DEFAULT_PRELUDE), encodeSessionKey(key), init.line, step.line].join('; ');
    expect(script).toMatch(/^[\x20-\x7E]+$/);
    const run = spawnSync(pwshExecutable() ?? 'pwsh', ['-NoLogo', '-NoProfile', '-NonInteractive', '-Command', script], {
      env: { ...process.env, ...simEnv(statePath, HOST) },
      timeout: 120_000,
    });
    const stdout = run.stdout.toString('latin1');
    expect(run.stderr.toString('utf8')).toBe('');
    // latin1 maps each byte to one character: a byte above 0x7F would show up as U+0080..U+00FF
    expect(stdout).not.toMatch(/[\u0080-\u00FF]/);
    const lines = stdout.trim().split(/\r?\n/);
    expect(lines).toHaveLength(3);
    const parsed = parseAnswer(lines[2] ?? '', stepId, key);
    expect(parsed.ok && parsed.envelope.ok && parsed.envelope.output).toEqual([expect.objectContaining({ Identity: 'Échange “en ligne” مرحبا 😀' })]);
    expect(lines[2]).toContain('\\u00c9change');
  });
});
