// The bot and two agent processes on loopback: `fe01` (internal) and `edge01` (edge), each a real `lync-exo agent`
// (src/remote/cli.ts) driving real PowerShell with LyncSim, sharing one simulated deployment whose replicas lag 2 s.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { compose } from '../../src/compose.js';
import { loadRunbooks } from '../../src/config/runbooks.js';
import type { AgentPool } from '../../src/core/ports.js';
import type { Agent, Invocation, InvocationResult } from '../../src/core/types.js';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import { describeWithPwsh, pwshExecutable } from '../support/pwsh.js';
import { RecordingNotifier } from '../support/recordingNotifier.js';
import { createSimState, readSimState, SIM_EDGE, SIM_FRONT_END, type SimOverrides } from '../support/simState.js';
import { CHANNEL, LYNCSIM_MODULE, testPolicy, USERS } from '../support/world.js';
import { createTestCa, writePem } from '../support/tls.js';
import { memoryLog } from './support.js';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const CLI = path.join(ROOT, 'src', 'remote', 'cli.ts');
const LEASE_MS = 4_000;
const TOKENS = { fe01: 'fe01-e2e-token-0123456789', edge01: 'edge01-e2e-token-9876543210' };
const alice = { user: USERS.alice, channel: CHANNEL };
const bob = { user: USERS.bob, channel: CHANNEL };

interface AgentProcess {
  name: string;
  child: ChildProcess;
  output: string[];
}

/** Wraps each agent the pool hands out, so a test can act before and after an invocation (kill an agent, probe). */
type Hook = (agent: string, inv: Invocation, result?: InvocationResult) => Promise<void> | void;
function hookedPool(inner: AgentPool, before: Hook, after: Hook): AgentPool {
  const wrap = (a: Agent): Agent => ({
    name: a.name,
    roles: a.roles,
    close: () => a.close(),
    async invoke(inv) {
      await before(a.name, inv);
      const result = await a.invoke(inv);
      await after(a.name, inv, result);
      return result;
    },
  });
  return { forRole: (role) => inner.forRole(role).map(wrap), expected: (role) => inner.expected(role), describe: () => inner.describe() };
}

let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await c();
  cleanup = [];
});

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One throwaway CA for the file: the bot's certificate (valid or expired) and a CA the agents do not trust. */
const ca = createTestCa();
const otherCa = createTestCa('some other CA');

interface BotOptions {
  sim?: SimOverrides;
  /** serve HTTPS with a certificate from `ca` (expired: one that ran out yesterday) */
  tls?: 'valid' | 'expired';
}

async function startBot(options: BotOptions = {}) {
  const sim = options.sim ?? {};
  const dir = mkdtempSync(path.join(tmpdir(), 'lync-exo-remote-'));
  const caFile = writePem(dir, 'ca.pem', ca.cert);
  const otherCaFile = writePem(dir, 'other-ca.pem', otherCa.cert);
  const statePath = createSimState(dir, { replicationLagSeconds: 2, ...sim });
  const logs = memoryLog();
  const hub: AgentHub = createAgentHub({
    agents: [
      { name: 'fe01', roles: ['internal'], token: TOKENS.fe01 },
      { name: 'edge01', roles: ['edge'], token: TOKENS.edge01 },
    ],
    log: logs.log,
    leaseMs: LEASE_MS,
    claimWaitMs: 1_000,
  });
  const server: AgentHubServer = await startAgentHubServer({ hub, port: 0, host: '127.0.0.1', ...(options.tls ? { tls: ca.server({ expired: options.tls === 'expired' }) } : {}) });
  const agents: AgentProcess[] = [];
  cleanup.push(async () => {
    for (const a of agents) killGroup(a);
    await hub.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const hooks: { before: Hook[]; after: Hook[] } = { before: [], after: [] };
  const notifier = new RecordingNotifier();
  let n = 0;
  const { service, scheduler } = compose({
    policy: testPolicy(),
    agents: hookedPool(
      hub.pool([], ['edge01']),
      async (...a) => {
        for (const h of hooks.before) await h(...a);
      },
      async (...a) => {
        for (const h of hooks.after) await h(...a);
      },
    ),
    notifier,
    directory: { groupMembers: async () => [] },
    log: logs.log,
    runbooks: loadRunbooks(),
    newId: (prefix) => `${prefix}-${++n}`,
  });

  function startAgent(name: 'fe01' | 'edge01', extra: Record<string, string> = {}): AgentProcess {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI], {
      cwd: ROOT,
      // its own process group: killing the group takes its PowerShell child too, as a crashed host would
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DOTNET_ROLL_FORWARD: process.env.DOTNET_ROLL_FORWARD,
        LYNC_EXO_BOT_URL: server.url,
        LYNC_EXO_AGENT_NAME: name,
        LYNC_EXO_AGENT_ROLES: name === 'fe01' ? 'internal' : 'edge',
        LYNC_EXO_AGENT_TOKEN: TOKENS[name],
        LYNC_EXO_PWSH: pwshExecutable(),
        LYNC_EXO_MODULE: LYNCSIM_MODULE,
        LYNC_EXO_INVOCATION_TIMEOUT_SECONDS: '60',
        LYNCSIM_STATE: statePath,
        LYNCSIM_HOST: name === 'fe01' ? SIM_FRONT_END : SIM_EDGE,
        LOG_LEVEL: 'debug',
        ...(options.tls ? { LYNC_EXO_CA_FILE: caFile } : {}),
        ...extra,
      },
    });
    const agent: AgentProcess = { name, child, output: [] };
    child.stdout.on('data', (b: Buffer) => agent.output.push(b.toString('utf8')));
    child.stderr.on('data', (b: Buffer) => agent.output.push(b.toString('utf8')));
    agents.push(agent);
    return agent;
  }

  async function startAgents() {
    const started = [startAgent('fe01'), startAgent('edge01')];
    await waitFor(() => hub.registry().filter((a) => a.online).length === 2, 30_000, 'both agents online');
    return started;
  }

  async function requestAndApprove(text = 'setup') {
    await service.command(alice, text);
    const planView = notifier.views('plan').at(-1);
    expect(planView, notifier.lastEphemeral(USERS.alice)).toBeDefined();
    await service.approve(bob, planView!.request.id);
    await scheduler.idle();
    return notifier.views('run').at(-1)!.run;
  }

  return { hub, server, statePath, logs, notifier, service, scheduler, hooks, agents, startAgent, startAgents, requestAndApprove, otherCaFile };
}

function killGroup(a: AgentProcess): void {
  if (a.child.exitCode !== null || a.child.signalCode !== null || a.child.pid === undefined) return;
  try {
    process.kill(-a.child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Changes the LyncSim faults between steps (nothing else writes then); rename keeps readers from a half file. */
function setFaults(statePath: string, hang: string[]): void {
  const state = readSimState(statePath);
  state.faults.hang = hang;
  writeFileSync(`${statePath}.tmp`, JSON.stringify(state));
  renameSync(`${statePath}.tmp`, statePath);
}

const LOCAL_STORE = { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } };
const names = (r: InvocationResult) => (r.ok ? r.output.map((o) => o.Identity) : r.error.message);

describeWithPwsh('remote agents over loopback, with real PowerShell and LyncSim', () => {
  it('runs the setup over TLS: change steps on the internal agent, the Edge check on the Edge agent after the lag; forged jobs are refused', async () => {
    const bot = await startBot({ tls: 'valid' });
    expect(bot.server.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    const agents = await bot.startAgents();
    // the Edge's session is warm, so the probe below takes well under the 2 s lag
    expect(names(await bot.hub.agent('edge01')!.invoke(LOCAL_STORE))).toEqual([]);

    let probe: InvocationResult | undefined;
    bot.hooks.after.push(async (agent, inv, result) => {
      if (agent === 'fe01' && inv.cmdlet === 'New-CsHostingProvider' && result?.ok) probe = await bot.hub.agent('edge01')!.invoke(LOCAL_STORE);
    });
    const run = await bot.requestAndApprove();
    expect(run.status, JSON.stringify(run.steps, null, 1)).toBe('succeeded');
    const change = run.steps.filter((s) => s.kind === 'change');
    expect(change.flatMap((s) => s.invocations.map((i) => i.agent))).toEqual(['fe01', 'fe01']);
    expect(run.steps.find((s) => s.kind === 'replication')!.invocations[0]!.agent).toBe('fe01');
    const edge = run.steps.find((s) => s.kind === 'edge-check')!;
    expect(edge.edges).toEqual([expect.objectContaining({ agent: 'edge01', ok: true, found: true })]);
    // right after the change, the Edge's local store did not have it yet
    expect(probe && names(probe)).toEqual([]);

    const sim = readSimState(bot.statePath);
    expect(sim.calls.filter((c) => c.cmdlet === 'New-CsHostingProvider')).toEqual([expect.objectContaining({ host: SIM_FRONT_END, outcome: 'ok' })]);
    expect(bot.hub.registry()).toEqual([
      expect.objectContaining({ name: 'fe01', roles: ['internal'], online: true, version: expect.stringMatching(/^lync-exo /) as string }),
      expect.objectContaining({ name: 'edge01', roles: ['edge'], online: true }),
    ]);

    // forged jobs: a cmdlet and a parameter no runbook defines, and a change step sent to an Edge
    const forged = await bot.hub.agent('edge01')!.invoke({ cmdlet: 'Invoke-Expression', parameters: { Command: 'Remove-Item -Recurse C:\\' } });
    expect(forged).toMatchObject({ ok: false, agent: 'edge01', error: { kind: 'refused', message: 'agent edge01 refused the job: cmdlet "Invoke-Expression" is not in any runbook' } });
    const param = await bot.hub.agent('fe01')!.invoke({ cmdlet: 'Get-CsHostingProvider', parameters: { Filter: '*' } });
    expect(param).toMatchObject({ ok: false, error: { kind: 'refused', message: 'agent fe01 refused the job: parameter "Filter" is not in any runbook for Get-CsHostingProvider' } });
    const misplaced = await bot.hub.agent('edge01')!.invoke({ cmdlet: 'Remove-CsHostingProvider', parameters: { Identity: 'Exchange Online', Confirm: false } });
    expect(misplaced).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect(readSimState(bot.statePath).calls).toHaveLength(sim.calls.length);
    expect(bot.logs.find(/agent refused a job/)).toHaveLength(3);
    const edgeOutput = agents[1]!.output.join('');
    expect(edgeOutput).toContain('refused the job: cmdlet \\"Invoke-Expression\\" is not in any runbook');

    // no token in any log line, the bot's or the agents'
    const everything = [...bot.logs.lines, ...agents.flatMap((a) => a.output)].join('\n');
    for (const t of Object.values(TOKENS)) expect(everything).not.toContain(t);
  });

  it('fails the run within the lease when the Edge agent dies during verification, naming the agent and the step', async () => {
    const bot = await startBot();
    const [, edgeAgent] = await bot.startAgents();
    let killedAt = 0;
    let failedAt = 0;
    let verifying = false;
    bot.hooks.after.push((agent, inv) => {
      if (agent === 'fe01' && inv.cmdlet === 'Get-CsManagementStoreReplicationStatus') verifying = true;
    });
    bot.hooks.before.push((agent, inv) => {
      if (!verifying || agent !== 'edge01' || inv.cmdlet !== 'Get-CsHostingProvider') return;
      // hold the Edge's read in PowerShell, then kill the agent while it holds the job
      setFaults(bot.statePath, ['Get-CsHostingProvider']);
      setTimeout(() => {
        killedAt = Date.now();
        killGroup(edgeAgent!);
      }, 1_000);
    });
    bot.hooks.after.push((agent) => {
      if (agent === 'edge01' && verifying) failedAt = Date.now();
    });
    const run = await bot.requestAndApprove();
    expect(run.status).toBe('failed');
    expect(killedAt).toBeGreaterThan(0);
    // the lease found the dead agent (the error below says so); how fast is the machine's business, not the test's
    expect(failedAt).toBeGreaterThanOrEqual(killedAt);
    const edge = run.steps.find((s) => s.kind === 'edge-check')!;
    expect(edge.status).toBe('failed');
    expect(edge.title).toBe("Hosting provider in each Edge Server's local store");
    expect(edge.error).toMatch(/edge01/);
    expect(edge.edges).toEqual([
      expect.objectContaining({ agent: 'edge01', ok: false, error: expect.stringMatching(/Get-CsHostingProvider: agent edge01 lost: no heartbeat or result within 4 s/) as string }),
    ]);
    expect(run.summary).toMatch(/Hosting provider in each Edge Server's local store failed/);
  });

  it('stops the run when the internal agent dies in a state-changing step, and nothing runs that step again', async () => {
    const bot = await startBot({ sim: { faults: { hang: ['New-CsHostingProvider'] } } });
    const [feAgent] = await bot.startAgents();
    let killedAt = 0;
    bot.hooks.before.push((agent, inv) => {
      if (agent !== 'fe01' || inv.cmdlet !== 'New-CsHostingProvider') return;
      setTimeout(() => {
        killedAt = Date.now();
        killGroup(feAgent!);
      }, 1_000);
    });
    const run = await bot.requestAndApprove();
    expect(run.status).toBe('failed');
    // stopped by the lease after the kill (the step's error says so), not by the hang ending
    expect(killedAt).toBeGreaterThan(0);
    expect(run.steps.map((s) => s.status)).toEqual(['succeeded', 'failed', 'skipped', 'skipped']);
    expect(run.steps[1]!.error).toMatch(/^New-CsHostingProvider: .*agent fe01 lost: no heartbeat or result within 4 s/);

    // the agent comes back; nothing is handed to it, and the step that was cut off is not repeated
    bot.startAgent('fe01');
    await waitFor(() => bot.hub.registry().find((a) => a.name === 'fe01')!.online, 30_000, 'fe01 back online');
    await new Promise((r) => setTimeout(r, 2_500));
    const calls = readSimState(bot.statePath).calls.filter((c) => c.cmdlet === 'New-CsHostingProvider');
    expect(calls).toEqual([expect.objectContaining({ host: SIM_FRONT_END, outcome: 'hang' })]);
    expect(readSimState(bot.statePath).cms.hostingProviders).toEqual([]);
    expect(bot.agents.at(-1)!.output.join('')).not.toContain('New-CsHostingProvider');
  });

  it.each([
    ['signed by a CA the agent does not trust', 'valid' as const, true, /TLS: the bot's certificate .*CA this agent does not trust: set LYNC_EXO_CA_FILE to that CA/],
    ['expired', 'expired' as const, false, /TLS: the bot's certificate has expired \(CERT_HAS_EXPIRED\)/],
  ])('an agent refuses a bot whose certificate is %s: it says why, never connects, and nothing runs', async (_what, tls, wrongCa, message) => {
    const bot = await startBot({ tls });
    const edge = bot.startAgent('edge01', wrongCa ? { LYNC_EXO_CA_FILE: bot.otherCaFile } : {});
    await waitFor(() => (edge.output.join('').match(/TLS: /g) ?? []).length >= 2, 30_000, 'two refused connections');
    const lines = edge.output.join('').split('\n').filter((l) => l.includes('TLS: ')).map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines[0]).toMatchObject({ level: 50, msg: expect.stringMatching(message) as string });
    expect(bot.hub.registry().find((a) => a.name === 'edge01')).toMatchObject({ online: false });
    expect(readSimState(bot.statePath).calls).toEqual([]);
    expect(edge.output.join('')).not.toContain(TOKENS.edge01);
  });
});
