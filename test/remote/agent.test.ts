// The agent loop in process, against a real hub on loopback, with a stand-in for PowerShell.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { loadRunbooks } from '../../src/config/runbooks.js';
import type { Agent, Invocation, InvocationResult } from '../../src/core/types.js';
import { backoffDelay, readAgentEnv, runAgent } from '../../src/remote/agent.js';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import { createTestCa, writePem, type Pem } from '../support/tls.js';
import { EXO_PROVIDER, memoryLog } from './support.js';

const TOKEN = 'edge01-agent-token-abcdef0123';
const base = { LYNC_EXO_BOT_URL: 'https://lync-exo.contoso.com', LYNC_EXO_AGENT_NAME: 'edge01', LYNC_EXO_AGENT_ROLES: 'edge', LYNC_EXO_AGENT_TOKEN: TOKEN };

describe('readAgentEnv', () => {
  it('reads a complete environment', () => {
    const s = readAgentEnv({ ...base, LYNC_EXO_AGENT_ROLES: 'internal, edge', LYNC_EXO_MODULE: 'SkypeForBusiness', LYNC_EXO_PWSH: 'C:\\Windows\\powershell.exe' });
    expect(s).toMatchObject({ name: 'edge01', roles: ['internal', 'edge'], module: 'SkypeForBusiness', executable: 'C:\\Windows\\powershell.exe', invocationTimeoutMs: 120_000 });
    expect(s.botUrl.href).toBe('https://lync-exo.contoso.com/');
  });

  it.each([
    ['http://lync-exo.contoso.com', false, /LYNC_EXO_BOT_URL: must be https:\/\/.*host lync-exo\.contoso\.com/],
    ['http://10.0.0.5:3000', false, /LYNC_EXO_BOT_URL: must be https/],
    ['http://127.0.0.1.nip.io', false, /LYNC_EXO_BOT_URL: must be https/],
    ['ftp://lync-exo.contoso.com', false, /LYNC_EXO_BOT_URL: must be https/],
    ['https://user:pw@lync-exo.contoso.com', false, /LYNC_EXO_BOT_URL: must not carry a user name or password/],
    ['not a url', false, /LYNC_EXO_BOT_URL: not a URL/],
  ])('refuses the bot URL %s', (url, _allow, message) => {
    expect(() => readAgentEnv({ ...base, LYNC_EXO_BOT_URL: url })).toThrow(message);
  });

  it.each(['http://127.0.0.1:3000', 'http://127.8.9.10', 'http://localhost:3000', 'http://[::1]:3000'])('allows plain http to the loopback host %s', (url) => {
    expect(readAgentEnv({ ...base, LYNC_EXO_BOT_URL: url }).botUrl.protocol).toBe('http:');
  });

  it('takes several bot instances, comma-separated, and names a bad one by its place', () => {
    const s = readAgentEnv({ ...base, LYNC_EXO_BOT_URL: 'https://bot1.contoso.com:8443, https://bot2.contoso.com:8443' });
    expect(s.botUrls.map((u) => u.host)).toEqual(['bot1.contoso.com:8443', 'bot2.contoso.com:8443']);
    expect(s.botUrl.host).toBe('bot1.contoso.com:8443');
    expect(() => readAgentEnv({ ...base, LYNC_EXO_BOT_URL: 'https://bot1.contoso.com,http://bot2.contoso.com' })).toThrow(/LYNC_EXO_BOT_URL \(URL 2\): must be https:\/\//);
  });

  it('allows plain http elsewhere only with LYNC_EXO_ALLOW_HTTP=1', () => {
    expect(readAgentEnv({ ...base, LYNC_EXO_BOT_URL: 'http://lync-exo.test:3000', LYNC_EXO_ALLOW_HTTP: '1' }).botUrl.host).toBe('lync-exo.test:3000');
  });

  it('names every missing or bad variable and never repeats the token', () => {
    let message = '';
    try {
      readAgentEnv({ LYNC_EXO_AGENT_ROLES: 'edge,dba', LYNC_EXO_AGENT_TOKEN: 'tiny-tok', LYNC_EXO_MODULE: 'Evil' });
    } catch (err) {
      message = (err as Error).message;
    }
    for (const v of ['LYNC_EXO_BOT_URL: required', 'LYNC_EXO_AGENT_NAME: required', 'LYNC_EXO_AGENT_ROLES: item 2 is not a role', 'LYNC_EXO_AGENT_TOKEN: shorter than 16', 'LYNC_EXO_MODULE:']) {
      expect(message).toContain(v);
    }
    expect(message).not.toContain('tiny-tok');
    expect(message).not.toContain('dba');
    // a token pasted as a role is not repeated, not even its first characters
    expect(() => readAgentEnv({ ...base, LYNC_EXO_AGENT_ROLES: `edge,${TOKEN}` })).toThrow(/^agent environment: LYNC_EXO_AGENT_ROLES: item 2 is not a role \(internal, edge\)$/);
    expect(() => readAgentEnv({ ...base, LYNC_EXO_CA_FILE: '/nonexistent/ca.pem' })).toThrow(/LYNC_EXO_CA_FILE: cannot read \/nonexistent\/ca.pem: ENOENT/);
    const pasted = `${TOKEN}x`;
    expect(() => readAgentEnv({ ...base, LYNC_EXO_BOT_URL: pasted })).toThrow(/LYNC_EXO_BOT_URL: not a URL/);
    try {
      readAgentEnv({ ...base, LYNC_EXO_BOT_URL: pasted });
    } catch (err) {
      expect((err as Error).message).not.toContain(TOKEN);
    }
  });
});

describe('backoffDelay', () => {
  it('grows from 0.5 s to 30 s, with jitter between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => backoffDelay(n, () => 1))).toEqual([500, 1000, 2000, 4000]);
    expect(backoffDelay(1, () => 0)).toBe(250);
    expect(backoffDelay(20, () => 1)).toBe(30_000);
    expect(backoffDelay(20, () => 0)).toBe(15_000);
  });
});

/** A PowerShell stand-in: records what it ran, answers after `delayMs`. */
class FakeShell implements Agent {
  readonly name = 'edge01';
  readonly roles = ['edge'] as const;
  readonly ran: Invocation[] = [];
  closed = false;
  constructor(private readonly delayMs = 0) {}
  async invoke(invocation: Invocation): Promise<InvocationResult> {
    this.ran.push(invocation);
    await new Promise((r) => setTimeout(r, this.delayMs));
    return { ok: true, output: [EXO_PROVIDER], durationMs: this.delayMs, agent: this.name };
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

let hub: AgentHub | undefined;
let server: AgentHubServer | undefined;
let stop: AbortController | undefined;
let running: Promise<void> | undefined;
afterEach(async () => {
  stop?.abort();
  await running;
  await hub?.close();
  await server?.close();
  hub = server = stop = running = undefined;
});

async function startAgent(shell: Agent, options: { port?: number; leaseMs?: number; clock?: { now(): Date } } = {}) {
  const logs = memoryLog();
  hub = createAgentHub({ agents: [{ name: 'edge01', roles: ['edge'], token: TOKEN }], log: logs.log, leaseMs: options.leaseMs ?? 600, claimWaitMs: 200, clock: options.clock });
  server = await startAgentHubServer({ hub, port: options.port ?? 0 });
  const agentLogs = memoryLog();
  stop = new AbortController();
  running = runAgent({ env: { ...base, LYNC_EXO_BOT_URL: server.url }, log: agentLogs.log, signal: stop.signal, runbooks: loadRunbooks(), powershell: () => shell });
  await waitFor(() => hub!.registry().some((a) => a.online));
  return { hub, logs, agentLogs };
}

/** Until `check` holds; the bound only ends a hang, so it is far beyond what a loaded machine needs. */
async function waitFor(check: () => boolean, ms = 30_000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * A cmdlet that runs 1 s on the hub's clock, which moves only here: 100 ms at a time, each step waiting for a
 * heartbeat to reach the hub (its lastSeen catches up with the clock). The lease runs out only if heartbeats stop
 * counting, never because a loaded machine delayed one.
 */
class SlowOnHubClock extends FakeShell {
  private t = Date.parse('2025-03-01T10:00:00.000Z');
  readonly clock = { now: () => new Date(this.t) };
  heartbeats = 0;
  override async invoke(invocation: Invocation): Promise<InvocationResult> {
    this.ran.push(invocation);
    for (let i = 0; i < 10; i++) {
      this.t += 100;
      const at = new Date(this.t).toISOString();
      await waitFor(() => hub!.registry().find((a) => a.name === 'edge01')?.lastSeen === at, 60_000);
      this.heartbeats++;
    }
    return { ok: true, output: [EXO_PROVIDER], durationMs: 1_000, agent: this.name };
  }
}

describe('runAgent', () => {
  it('claims a job, runs it, heartbeats past the lease, and posts the result', async () => {
    const shell = new SlowOnHubClock();
    const { hub } = await startAgent(shell, { leaseMs: 400, clock: shell.clock });
    const result = await hub.agent('edge01')!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } });
    expect(result).toMatchObject({ ok: true, output: [EXO_PROVIDER], agent: 'edge01' });
    expect(shell.ran).toHaveLength(1);
    // 1 s of a 0.4 s lease, kept alive by heartbeats
    expect(shell.heartbeats).toBe(10);
  });

  it('serves several bot instances at once: each one\'s jobs run, in turn, in the one session', async () => {
    const shell = new FakeShell(50);
    const logs = memoryLog();
    const hubs = [0, 1].map(() => createAgentHub({ agents: [{ name: 'edge01', roles: ['edge'], token: TOKEN }], log: logs.log, leaseMs: 600, claimWaitMs: 200 }));
    const servers = await Promise.all(hubs.map((h) => startAgentHubServer({ hub: h, port: 0 })));
    const halt = new AbortController();
    const loop = runAgent({ env: { ...base, LYNC_EXO_BOT_URL: servers.map((x) => x.url).join(',') }, log: memoryLog().log, signal: halt.signal, runbooks: loadRunbooks(), powershell: () => shell });
    try {
      await waitFor(() => hubs.every((h) => h.registry().some((a) => a.online)));
      const results = await Promise.all(hubs.map((h) => h.agent('edge01')!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } })));
      expect(results.map((r) => r.ok)).toEqual([true, true]);
      expect(shell.ran).toHaveLength(2);
    } finally {
      halt.abort();
      await loop;
      for (const h of hubs) await h.close();
      for (const x of servers) await x.close();
    }
    expect(shell.closed).toBe(true);
  });

  it('refuses a forged job without running it, and reports the refusal as the result', async () => {
    const shell = new FakeShell();
    const { hub, agentLogs, logs } = await startAgent(shell);
    const forged = await hub.agent('edge01')!.invoke({ cmdlet: 'Invoke-Expression', parameters: { Command: 'Remove-Item C:\\ -Recurse' } });
    expect(forged).toMatchObject({ ok: false, error: { kind: 'refused', message: 'agent edge01 refused the job: cmdlet "Invoke-Expression" is not in any runbook' } });
    const param = await hub.agent('edge01')!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { Command: 'x' } });
    expect(param).toMatchObject({ ok: false, error: { kind: 'refused', message: 'agent edge01 refused the job: parameter "Command" is not in any runbook for Get-CsHostingProvider' } });
    expect(shell.ran).toEqual([]);
    expect(agentLogs.find(/refused the job/)).toHaveLength(2);
    expect(logs.find(/agent refused a job/)).toHaveLength(2);
  });

  it('keeps retrying with backoff while the bot is away, and connects when it comes back', async () => {
    // a port that nothing listens on yet
    const probe = await startAgentHubServer({ hub: createAgentHub({ agents: [], log: memoryLog().log }), port: 0 });
    const port = Number(new URL(probe.url).port);
    await probe.close();
    const agentLogs = memoryLog();
    stop = new AbortController();
    const shell = new FakeShell();
    running = runAgent({ env: { ...base, LYNC_EXO_BOT_URL: `http://127.0.0.1:${port}` }, log: agentLogs.log, signal: stop.signal, runbooks: loadRunbooks(), powershell: () => shell });
    await waitFor(() => agentLogs.find(/bot unreachable/).length >= 2);
    const retries = agentLogs.find(/bot unreachable/).map((l) => l.retryInMs as number);
    expect(retries[0]).toBeGreaterThanOrEqual(250);
    expect(retries[0]).toBeLessThanOrEqual(500);
    expect(retries[1]).toBeGreaterThanOrEqual(500);

    hub = createAgentHub({ agents: [{ name: 'edge01', roles: ['edge'], token: TOKEN }], log: memoryLog().log, claimWaitMs: 200 });
    server = await startAgentHubServer({ hub, port });
    await waitFor(() => hub!.registry().some((a) => a.online));
    await waitFor(() => agentLogs.find(/connected to the bot again/).length === 1);
    expect(agentLogs.lines.join('\n')).not.toContain(TOKEN);
  });

  it('logs a refused token as an error naming the variable, and keeps trying', async () => {
    const logs = memoryLog();
    hub = createAgentHub({ agents: [{ name: 'edge01', roles: ['edge'], token: 'a-different-token-000000' }], log: logs.log, claimWaitMs: 200 });
    server = await startAgentHubServer({ hub, port: 0 });
    const agentLogs = memoryLog();
    stop = new AbortController();
    running = runAgent({ env: { ...base, LYNC_EXO_BOT_URL: server.url }, log: agentLogs.log, signal: stop.signal, runbooks: loadRunbooks(), powershell: () => new FakeShell() });
    await waitFor(() => agentLogs.find(/401/).length >= 2);
    expect(agentLogs.find(/401/)[0]).toMatchObject({ level: 50, msg: expect.stringContaining('LYNC_EXO_AGENT_TOKEN') as string });
    expect([...agentLogs.lines, ...logs.lines].join('\n')).not.toContain(TOKEN);
  });

  it('on stop, finishes the job in hand, posts its result, closes PowerShell and returns', async () => {
    const shell = new FakeShell(500);
    const { hub } = await startAgent(shell);
    const invoked = hub.agent('edge01')!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } });
    await waitFor(() => shell.ran.length === 1);
    stop!.abort();
    expect(await invoked).toMatchObject({ ok: true });
    await running;
    expect(shell.closed).toBe(true);
  });
});

describe('TLS', () => {
  const ca = createTestCa();
  const other = createTestCa('some other CA');
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-tls-'));
  const caFile = writePem(dir, 'ca.pem', ca.cert);
  const otherFile = writePem(dir, 'other.pem', other.cert);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function startTls(cert: Pem, agentCa: string) {
    hub = createAgentHub({ agents: [{ name: 'edge01', roles: ['edge'], token: TOKEN }], log: memoryLog().log, claimWaitMs: 200 });
    server = await startAgentHubServer({ hub, port: 0, tls: cert });
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const agentLogs = memoryLog();
    stop = new AbortController();
    const shell = new FakeShell();
    running = runAgent({ env: { ...base, LYNC_EXO_BOT_URL: server.url, LYNC_EXO_CA_FILE: agentCa }, log: agentLogs.log, signal: stop.signal, runbooks: loadRunbooks(), powershell: () => shell });
    return { agentLogs, shell };
  }

  it('runs a job over HTTPS when the bot\'s certificate chains to LYNC_EXO_CA_FILE', async () => {
    const { shell } = await startTls(ca.server(), caFile);
    await waitFor(() => hub!.registry().some((a) => a.online), 10_000);
    expect(await hub!.agent('edge01')!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } })).toMatchObject({ ok: true });
    expect(shell.ran).toHaveLength(1);
  });

  it.each([
    ['signed by a CA it does not trust', () => ca.server(), otherFile, /claim: TLS: the bot's certificate .*CA this agent does not trust: set LYNC_EXO_CA_FILE to that CA \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\)/],
    ['expired', () => ca.server({ expired: true }), caFile, /claim: TLS: the bot's certificate has expired \(CERT_HAS_EXPIRED\)/],
  ])('refuses a bot whose certificate is %s, says so as an error, and never sends its token', async (_what, cert, agentCa, message) => {
    const seen: string[] = [];
    const { agentLogs } = await startTls(cert(), agentCa);
    server!.server.on('request', (req: { headers: Record<string, unknown> }) => seen.push(String(req.headers.authorization)));
    await waitFor(() => agentLogs.find(/TLS/).length >= 2, 10_000);
    const line = agentLogs.find(/TLS/)[0]!;
    expect(line).toMatchObject({ level: 50 });
    expect(line.msg).toMatch(message);
    expect(hub!.registry().some((a) => a.online)).toBe(false);
    expect(seen).toEqual([]);
  });

  it('will not listen for agents over plain HTTP off loopback, unless told to, and then says so as an error', async () => {
    const h = createAgentHub({ agents: [], log: memoryLog().log });
    await expect(startAgentHubServer({ hub: h, port: 0, host: '0.0.0.0' })).rejects.toThrow(
      /^remote agents: refusing to listen on 0\.0\.0\.0 over plain HTTP: agent tokens would cross the network in clear\. Set LYNC_EXO_TLS_CERT and LYNC_EXO_TLS_KEY, or listen on a loopback address, or set LYNC_EXO_INSECURE_HTTP=1 to accept the risk$/,
    );
    const logs = memoryLog();
    const s = await startAgentHubServer({ hub: h, port: 0, host: '0.0.0.0', insecure: true, log: logs.log });
    await s.close();
    expect(logs.find(/INSECURE/)).toEqual([expect.objectContaining({ level: 50, host: '0.0.0.0' })]);
    const tls = await startAgentHubServer({ hub: h, port: 0, host: '0.0.0.0', tls: ca.server() });
    expect(tls.url).toMatch(/^https:/);
    await tls.close();
    await h.close();
  });
});

describe('agentMain', () => {
  it('exits 2 with the variables named when the environment is incomplete, and never prints the token', async () => {
    const { agentMain } = await import('../../src/remote/cli.js');
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => {
      written.push(String(s));
      return true;
    });
    try {
      expect(await agentMain([], { LYNC_EXO_AGENT_TOKEN: TOKEN, LYNC_EXO_BOT_URL: 'http://bot.contoso.com', LOG_LEVEL: 'silent' })).toBe(2);
      expect(await agentMain([TOKEN], {})).toBe(2);
    } finally {
      spy.mockRestore();
    }
    const text = written.join('');
    expect(text).toMatch(/LYNC_EXO_BOT_URL: must be https:\/\//);
    expect(text).toMatch(/LYNC_EXO_AGENT_NAME: required/);
    expect(text).not.toContain(TOKEN);
  });
});
