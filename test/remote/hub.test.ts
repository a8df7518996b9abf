// The bot's agent hub over real HTTP on loopback: tokens, body limits, job leases, duplicate and foreign results.
import { request } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import type { AuditRecord, StepResult } from '../../src/core/records.js';
import type { Agent } from '../../src/core/types.js';
import { memoryAgentJobs } from '../../src/core/store.js';
import { agentPost, EXO_PROVIDER, memoryLog } from './support.js';

const FE_TOKEN = 'fe01-token-0123456789abcdef';
const EDGE_TOKEN = 'edge01-token-fedcba9876543210';
const WRONG_TOKEN = 'wrong-token-00000000000000000';
const logs = memoryLog();
let audits: AuditRecord[] = [];
const detail = (r: AuditRecord) => JSON.parse(r.detail ?? '{}') as Record<string, unknown>;
const refusals = () => audits.filter((a) => a.action === 'agent-refused').map((a) => ({ actor: a.actor, ...detail(a) }));

let hub: AgentHub | undefined;
let server: AgentHubServer | undefined;
afterEach(async () => {
  await hub?.close();
  await server?.close();
  hub = undefined;
  server = undefined;
  audits = [];
});

afterAll(() => {
  // every line any test logged: no token, whole or in part, ever reaches a log
  const all = logs.lines.join('\n');
  expect(logs.lines.length).toBeGreaterThan(10);
  for (const t of [FE_TOKEN, EDGE_TOKEN, WRONG_TOKEN]) {
    expect(all).not.toContain(t);
    expect(all).not.toContain(t.slice(0, 12));
  }
});

async function start(over: Partial<Parameters<typeof createAgentHub>[0]> = {}) {
  hub = createAgentHub({
    agents: [
      { name: 'fe01', roles: ['internal'], token: FE_TOKEN },
      { name: 'edge01', roles: ['edge'], token: EDGE_TOKEN },
    ],
    log: logs.log,
    audit: (r) => void audits.push(r),
    leaseMs: 400,
    claimWaitMs: 150,
    ...over,
  });
  server = await startAgentHubServer({ hub, port: 0, host: '127.0.0.1' });
  return { hub, url: server.url };
}

const fe = { name: 'fe01', token: FE_TOKEN };
const edge = { name: 'edge01', token: EDGE_TOKEN };
const claimBody = (name: string, roles = ['internal'], session?: string) => ({ name, roles, version: 'lync-exo test', ...(session ? { session } : {}) });
const READ = { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } };

/**
 * The hub's clock for tests about leases and quiet agents: it moves only when the test moves it, so a lease runs out
 * when the test says so and never because a loaded machine was slow between two heartbeats. (The hub's timers still
 * fire in real time; they only decide by this clock.)
 */
function manualClock() {
  let t = Date.parse('2025-03-01T10:00:00.000Z');
  return { now: () => new Date(t), advance: (ms: number) => void (t += ms) };
}

/**
 * Real time for the hub's timer to have fired once and decided by the manual clock: a timer set before this one with
 * a shorter delay always fires first, however slow the machine.
 */
const pastTimer = (ms: number) => new Promise((r) => setTimeout(r, ms + 50));

/** Until `check` holds, however long that takes (the test's timeout ends a hang). */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 10));
}

interface JobReply {
  id: string;
  invocation: unknown;
  leaseMs: number;
}

describe('authentication', () => {
  it('answers a good token: a claim with no work waits claimWaitMs, then 204, and the agent is in the registry', async () => {
    // online for a minute after its claim: a loaded machine's delay between the 204 and the check does not matter
    const { url, hub } = await start({ offlineAfterMs: 60_000 });
    const started = Date.now();
    const r = await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    expect(r.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(hub.registry()).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'fe01', roles: ['internal'], version: 'lync-exo test', online: true, lastSeen: expect.any(String) as string })]),
    );
    expect(hub.registry().find((a) => a.name === 'edge01')).toMatchObject({ online: false });
  });

  it.each<[string, { name?: string; token?: string }, string]>([
    ['a wrong token', { name: 'fe01', token: WRONG_TOKEN }, 'unknown token'],
    ['no token', { name: 'fe01' }, 'missing token'],
    ['a token and no name', { token: WRONG_TOKEN }, 'unknown token'],
  ])('refuses %s with 401, and logs a hash of the name claimed and the address, never the token or the name', async (_label, who, reason) => {
    const { url } = await start();
    for (const route of ['claim', 'jobs/00000000-0000-0000-0000-000000000000/result']) {
      const r = await agentPost(url, route, { ...who, body: claimBody(who.name ?? 'x') });
      expect(r).toEqual({ status: 401, body: { error: 'unauthorized' } });
    }
    const line = logs.find(/unauthorized/).at(-1)!;
    expect(line).toMatchObject({ reason, remoteAddress: '127.0.0.1', level: 40 });
    expect(line.agent).toBeUndefined();
    expect(line.claimedName).toEqual(who.name ? expect.stringMatching(/^sha256:[0-9a-f]{12}$/) : undefined);
    expect(refusals().at(-1)).toMatchObject({ actor: 'agent:(unauthenticated)', agent: null, address: '127.0.0.1', reason, status: 401 });
  });

  it("refuses a name that is not its token's with 403: another agent's token, or its own token under another name", async () => {
    const { url } = await start();
    // the token is edge01's: whoever sends it is edge01, and edge01 may not call itself fe01
    const r = await agentPost(url, 'claim', { name: 'fe01', token: EDGE_TOKEN, body: claimBody('fe01') });
    expect(r).toEqual({ status: 403, body: { error: 'the agent name does not match its token' } });
    const body = await agentPost(url, 'claim', { ...edge, body: claimBody('fe01', ['edge']) });
    expect(body.status).toBe(403);
    expect(refusals()).toEqual([
      expect.objectContaining({ actor: 'agent:edge01', agent: 'edge01', address: '127.0.0.1', reason: 'name-mismatch', status: 403, claimedName: expect.stringMatching(/^sha256:/) as string }),
      expect.objectContaining({ actor: 'agent:edge01', reason: 'name-mismatch', status: 403 }),
    ]);
    expect(hub!.registry().find((a) => a.name === 'fe01')).toMatchObject({ online: false });
  });

  it('refuses a claim for a role the configuration does not give the agent (403), and hands it nothing', async () => {
    const { url, hub } = await start({ claimWaitMs: 300 });
    const invoked = hub.agent('edge01')!.invoke({ cmdlet: 'New-CsHostingProvider', parameters: { Identity: 'Exchange Online' } });
    for (const roles of [['internal'], ['internal', 'edge']]) {
      const r = await agentPost(url, 'claim', { ...edge, body: claimBody('edge01', roles) });
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ error: 'agent edge01 is configured for edge; it may not serve internal' });
    }
    expect(refusals()).toEqual([
      expect.objectContaining({ actor: 'agent:edge01', reason: 'role', status: 403, announced: ['internal'], configured: ['edge'] }),
      expect.objectContaining({ reason: 'role', announced: ['internal', 'edge'] }),
    ]);
    expect(audits.filter((a) => a.action === 'agent-claim')).toEqual([]);
    // edge01 had never connected, so the job failed at once, and was never handed out
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: expect.stringMatching(/agent edge01 offline: it has never connected/) as string } });
    expect(hub.pool([], []).forRole('internal')).toEqual([]);
  });

  it('refuses a revoked token, and drops the claim that was waiting', async () => {
    const { url, hub } = await start({ claimWaitMs: 5_000 });
    const waiting = agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    // the claim is waiting for work (that is when the hub counts fe01 online), then the token goes
    await until(() => hub.registry().find((a) => a.name === 'fe01')?.online === true);
    hub.revoke('fe01');
    expect((await waiting).status).toBe(401);
    expect((await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') })).status).toBe(401);
    expect(logs.find(/unauthorized/).at(-1)).toMatchObject({ reason: 'revoked token' });
    expect(() => hub.setTokens([{ name: 'rogue01', token: 'rogue01-token-0000000000' }])).toThrow(/^agent hub: token 1 is for an agent that is not configured/);
    // rotation: a new token works, the old one does not
    hub.setTokens([{ name: 'fe01', token: 'fe01-rotated-token-0000000' }]);
    expect((await agentPost(url, 'claim', { name: 'fe01', token: 'fe01-rotated-token-0000000', body: claimBody('fe01') })).status).toBe(204);
    expect((await agentPost(url, 'claim', { ...edge, body: claimBody('edge01', ['edge']) })).status).toBe(401);
  });

  it('does not log a token pasted into the agent name header', async () => {
    const { url } = await start();
    const r = await agentPost(url, 'claim', { name: `${WRONG_TOKEN} with spaces`, token: WRONG_TOKEN });
    expect(r.status).toBe(401);
    const line = logs.lines.at(-1)!;
    expect(JSON.parse(line)).toMatchObject({ msg: 'agent request refused: unauthorized', claimedName: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) as string });
    expect(line).not.toContain('with spaces');
  });
});

describe('request bodies', () => {
  it('answers 413 to a body over the limit, declared or streamed, without reading it', async () => {
    const { url } = await start({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ ...claimBody('fe01'), padding: 'x'.repeat(10_000) });
    expect((await agentPost(url, 'claim', { ...fe, raw: big })).status).toBe(413);

    // chunked: no declared length, so it is refused before a byte is read
    const status = await new Promise<number>((resolve, reject) => {
      const u = new URL(`${url}/agents/v1/claim`);
      const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { 'x-lync-exo-agent': 'fe01', authorization: `Bearer ${FE_TOKEN}`, 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => reject(err));
      req.write('x'.repeat(2048));
      // never ended: the hub must answer without waiting for the rest
    });
    expect(status).toBe(411);
  });

  it('answers 400 to a claim that is not one, and to a claim for another name', async () => {
    const { url } = await start();
    expect((await agentPost(url, 'claim', { ...fe, raw: '{not json' })).status).toBe(400);
    expect((await agentPost(url, 'claim', { ...fe, body: { name: 'fe01', roles: ['dba'] } })).status).toBe(400);
    expect((await agentPost(url, 'claim', { ...fe, body: claimBody('edge01') })).status).toBe(403);
  });

  it('leaves other routes alone: handle() returns false and the server answers 404', async () => {
    const { url, hub } = await start();
    expect(hub.handle({ url: '/slack/events' } as never, {} as never)).toBe(false);
    const r = await fetch(`${url}/slack/events`, { method: 'POST' });
    expect(r.status).toBe(404);
  });
});

/** An invocation is queued only for an agent that is online: wait until its claim has arrived. */
async function waitOnline(h: AgentHub, name: string): Promise<void> {
  for (let i = 0; i < 250 && !h.registry().find((a) => a.name === name)?.online; i++) await new Promise((r) => setTimeout(r, 20));
  expect(h.registry().find((a) => a.name === name)).toMatchObject({ online: true });
}

describe('jobs', () => {
  async function claimJob(url: string, who: { name: string; token: string }, roles = ['internal'], session?: string): Promise<JobReply> {
    const r = await agentPost(url, 'claim', { ...who, body: claimBody(who.name, roles, session) });
    expect(r.status).toBe(200);
    return r.body as JobReply;
  }

  it('gives a queued job to its agent, takes its result once, and refuses a replayed result (409, audited, not applied)', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    expect(job.invocation).toEqual(READ);
    expect(job.leaseMs).toBe(400);

    const first = await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [EXO_PROVIDER], warnings: ['w'], durationMs: 12 } });
    expect(first).toEqual({ status: 200, body: { recorded: true } });
    const second = await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: false, error: { kind: 'powershell', message: 'late' }, durationMs: 1 } });
    expect(second).toEqual({ status: 409, body: { error: 'the result was already recorded; this one is ignored', duplicate: true } });
    expect(await invoked).toEqual({ ok: true, output: [EXO_PROVIDER], warnings: ['w'], durationMs: 12, agent: 'edge01' });
    expect(audits.map((a) => [a.actor, a.action])).toEqual([
      ['agent:edge01', 'agent-online'],
      ['agent:edge01', 'agent-claim'],
      ['agent:edge01', 'agent-result'],
      ['agent:edge01', 'agent-refused'],
    ]);
    expect(detail(audits[1]!)).toEqual({ agent: 'edge01', address: '127.0.0.1', jobId: job.id, cmdlet: 'Get-CsHostingProvider' });
    expect(detail(audits[2]!)).toEqual({ agent: 'edge01', address: '127.0.0.1', jobId: job.id, cmdlet: 'Get-CsHostingProvider', ok: true, durationMs: 12 });
    expect(detail(audits[3]!)).toMatchObject({ reason: 'replayed', status: 409, jobId: job.id });
  });

  it('answers 409 to a result or heartbeat from an agent that does not hold the job, and keeps the job', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000, leaseMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...fe, body: { ok: true, output: [], durationMs: 1 } })).status).toBe(409);
    expect((await agentPost(url, `jobs/${job.id}/heartbeat`, fe)).status).toBe(409);
    expect(refusals()).toEqual([
      expect.objectContaining({ actor: 'agent:fe01', reason: 'not-holder', status: 409, jobId: job.id, holder: 'edge01', route: 'result' }),
      expect.objectContaining({ actor: 'agent:fe01', reason: 'not-holder', route: 'heartbeat' }),
    ]);
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [EXO_PROVIDER], durationMs: 1 } })).status).toBe(200);
    expect(await invoked).toMatchObject({ ok: true, output: [EXO_PROVIDER], agent: 'edge01' });
  });

  it('checks a remote agent\'s output as the embedded agent\'s is: a wrong shape fails the read, naming the field', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000, leaseMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    const forged = { ...EXO_PROVIDER, ProxyFqdn: undefined, Enabled: 'yes' };
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [forged], durationMs: 1 } })).status).toBe(200);
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'output', message: expect.stringMatching(/^agent edge01: output of Get-CsHostingProvider: item 0: field/) as string } });
  });

  it('fails a job whose lease runs out, naming the agent and the cmdlet, and ignores its late result', async () => {
    const clock = manualClock();
    const { url, hub } = await start({ claimWaitMs: 2_000, clock });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    let settled = false;
    void invoked.then(() => (settled = true));
    // a lease of 0.4 s has not run out at 0.39 s, whatever the machine's speed; at 0.41 s it has
    clock.advance(390);
    await pastTimer(400);
    expect(settled).toBe(false);
    clock.advance(20);
    const result = await invoked;
    expect(result).toMatchObject({ ok: false, agent: 'edge01', error: { kind: 'agent', message: 'Get-CsHostingProvider: agent edge01 lost: no heartbeat or result within 0.4 s' } });
    const late = await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [], durationMs: 1 } });
    expect(late.status).toBe(410);
    expect((await agentPost(url, `jobs/${job.id}/heartbeat`, edge)).status).toBe(410);
    expect(refusals()).toEqual([expect.objectContaining({ actor: 'agent:edge01', reason: 'expired', status: 410, jobId: job.id })]);
  });

  it('keeps a job alive while the agent heartbeats', async () => {
    const clock = manualClock();
    const { url, hub } = await start({ claimWaitMs: 2_000, clock });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    // 6 × 150 ms is well past the 0.4 s lease; each heartbeat comes within it
    for (let i = 0; i < 6; i++) {
      clock.advance(150);
      expect((await agentPost(url, `jobs/${job.id}/heartbeat`, edge)).status).toBe(200);
    }
    // the lease timer has looked at the clock (0.9 s on, 0 s since the last heartbeat) and kept the job
    await pastTimer(400);
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [], durationMs: 900 } })).status).toBe(200);
    expect(await invoked).toMatchObject({ ok: true });
  });

  it('fails a job at once when its agent comes back (a new session) asking for work without the result, and never gives it out again', async () => {
    const { url, hub } = await start({ claimWaitMs: 300, leaseMs: 5_000 });
    const claiming = claimJob(url, fe, ['internal'], 'aaaaaaaa');
    await waitOnline(hub, 'fe01');
    const invoked = hub.agent('fe01')!.invoke({ cmdlet: 'New-CsHostingProvider', parameters: { Identity: 'Exchange Online' } });
    await claiming;
    const again = await agentPost(url, 'claim', { ...fe, body: claimBody('fe01', ['internal'], 'bbbbbbbb') });
    expect(again.status).toBe(204);
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: expect.stringMatching(/^New-CsHostingProvider: agent fe01 lost: it came back without the result/) as string } });
  });

  it("a job whose queueing failed after the row was written is ended: the invoker is told, and no agent ever runs it", async () => {
    // the INSERT committed, its answer was lost (a dropped connection): the store throws though the row is there
    const rows = memoryAgentJobs();
    const jobs = { ...rows, instanceId: rows.instanceId, jobQueue: async (job: Parameters<typeof rows.jobQueue>[0]) => { await rows.jobQueue(job); throw new Error('Connection terminated unexpectedly'); } };
    const { url, hub } = await start({ claimWaitMs: 300, leaseMs: 5_000, jobs });
    const claiming = agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    await waitOnline(hub, 'fe01');
    const invoked = await hub.agent('fe01')!.invoke(READ);
    expect(invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: "Get-CsHostingProvider: agent fe01: the job could not be queued (the store failed; see the bot's log)" } });
    expect((await claiming).status).toBe(204);
    expect((await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') })).status).toBe(204);
    expect((await rows.jobsWaiting(['fe01']))).toEqual([]);
  });

  it('an agent that sends no session (older than sessions) keeps its job through another claim: its jobs are left to their lease', async () => {
    // with several instances such an agent claims on each; killing its jobs on every claim would fail the step it runs
    const { url, hub } = await start({ claimWaitMs: 300, leaseMs: 5_000 });
    const claiming = claimJob(url, fe);
    await waitOnline(hub, 'fe01');
    const invoked = hub.agent('fe01')!.invoke(READ);
    const job = await claiming;
    expect((await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') })).status).toBe(204);
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...fe, body: { ok: true, output: [], durationMs: 5 } })).status).toBe(200);
    expect(await invoked).toMatchObject({ ok: true });
  });

  it('fails a job for an agent that is offline within the claim timeout', async () => {
    const { hub } = await start({ claimTimeoutMs: 300 });
    // without the claim timeout this would wait for ever (and the test's timeout would say so)
    const result = await hub.agent('edge01')!.invoke(READ);
    expect(result).toMatchObject({ ok: false, agent: 'edge01', error: { kind: 'agent', message: expect.stringMatching(/^Get-CsHostingProvider: agent edge01 offline: .*never connected/) as string } });
  });

  it('waits for a busy agent that is heard from, instead of failing its queued job', async () => {
    const clock = manualClock();
    const { url, hub } = await start({ claimWaitMs: 2_000, leaseMs: 1_000, claimTimeoutMs: 300, clock });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const first = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    const second = hub.agent('edge01')!.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: { LocalStore: true } });
    // the second job stays queued 4 × 150 ms, past the 0.3 s claim timeout, because the agent is heard from
    for (let i = 0; i < 4; i++) {
      clock.advance(150);
      expect((await agentPost(url, `jobs/${job.id}/heartbeat`, edge)).status).toBe(200);
    }
    // the claim timer has looked (0.6 s queued, 0 s since the agent was heard from) and kept the job queued
    await pastTimer(300);
    await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [], durationMs: 1 } });
    expect(await first).toMatchObject({ ok: true });
    const next = await claimJob(url, edge, ['edge']);
    expect(next.invocation).toMatchObject({ cmdlet: 'Get-CsAccessEdgeConfiguration' });
    await agentPost(url, `jobs/${next.id}/result`, { ...edge, body: { ok: true, output: [], durationMs: 1 } });
    expect(await second).toMatchObject({ ok: true });
  });

  it('answers 400 to a result that is not one, and the job stays open', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000, leaseMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
    await waitOnline(hub, 'edge01');
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: false, error: { kind: 'exploded', message: 'x' } } })).status).toBe(400);
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: false, error: { kind: 'refused', message: 'agent edge01 refused the job: x' } } })).status).toBe(200);
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'refused' } });
    expect(logs.find(/agent refused a job/).length).toBeGreaterThanOrEqual(1);
  });
});

describe('the pool', () => {
  const embedded: Agent = { name: 'embedded', roles: ['internal'], invoke: () => Promise.reject(new Error('unused')), close: async () => {} };

  it('serves a role with embedded agents and the remote agents seen lately; expected Edges come from config', async () => {
    const { url, hub } = await start({ offlineAfterMs: 200 });
    const pool = hub.pool([embedded], ['edge01']);
    expect(pool.forRole('edge')).toEqual([]);
    expect(pool.expected('edge')).toEqual(['edge01']);
    expect(pool.expected('internal')).toEqual([]);
    await agentPost(url, 'claim', { ...edge, body: claimBody('edge01', ['edge']) });
    expect(pool.forRole('edge').map((a) => a.name)).toEqual(['edge01']);
    expect(pool.forRole('internal').map((a) => a.name)).toEqual(['embedded']);
    expect(pool.describe()).toEqual([
      { name: 'embedded', roles: ['internal'], online: true, version: 'embedded' },
      { name: 'fe01', roles: ['internal'], version: '', online: false },
      expect.objectContaining({ name: 'edge01', roles: ['edge'], online: true, version: 'lync-exo test' }),
    ]);
    // not heard from for offlineAfterMs after its claim was answered: offline, out of the pool, and audited
    await new Promise((r) => setTimeout(r, 150 + 200 + 400));
    expect(pool.forRole('edge')).toEqual([]);
    expect(hub.registry().find((a) => a.name === 'edge01')).toMatchObject({ online: false, lastSeen: expect.any(String) as string });
    expect(audits.map((a) => a.action)).toEqual(['agent-online', 'agent-offline']);
    expect(detail(audits[1]!)).toMatchObject({ agent: 'edge01', address: '127.0.0.1', why: expect.stringMatching(/^not heard from for/) as string });
  });

  it('takes an agent offline the moment it closes its claim (its process died), and fails its queued work at once', async () => {
    const { url, hub } = await start({ claimWaitMs: 5_000, offlineAfterMs: 60_000 });
    const controller = new AbortController();
    const claiming = fetch(`${url}/agents/v1/claim`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-lync-exo-agent': 'edge01', authorization: `Bearer ${EDGE_TOKEN}` },
      body: JSON.stringify(claimBody('edge01', ['edge'])),
      signal: controller.signal,
    }).catch(() => undefined);
    const pool = hub.pool([], ['edge01']);
    for (let i = 0; i < 50 && pool.forRole('edge').length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pool.forRole('edge').map((a) => a.name)).toEqual(['edge01']);
    controller.abort();
    await claiming;
    for (let i = 0; i < 100 && pool.forRole('edge').length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(pool.forRole('edge')).toEqual([]);
    const started = Date.now();
    expect(await hub.agent('edge01')!.invoke(READ)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/agent edge01 offline: it disconnected/) as string } });
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(audits.map((a) => a.action)).toEqual(['agent-online', 'agent-offline']);
  });

  it('a lost agent costs one bound, once: a frozen Edge is offline within offlineAfterMs, and a read of every Edge does not wait on it', async () => {
    const { url, hub } = await start({ claimWaitMs: 200, leaseMs: 1_000, offlineAfterMs: 1_000 });
    const quick: Agent = { name: 'lync01', roles: ['edge'], close: async () => {}, invoke: async () => ({ ok: true, output: [{ Identity: 'Exchange Online' }], durationMs: 1, agent: 'lync01' }) };
    // edge01 claims once and then freezes: it never claims again, never answers
    expect((await agentPost(url, 'claim', { ...edge, body: claimBody('edge01', ['edge']) })).status).toBe(204);
    const pool = hub.pool([quick], ['edge01']);
    expect(pool.forRole('edge').map((a) => a.name)).toEqual(['lync01', 'edge01']);
    const { readEverywhere } = await import('../../src/core/run/execute.js');
    const step: StepResult = { stepId: 'edge-providers', title: 'x', role: 'edge', kind: 'read', status: 'running', invocations: [] };
    const ctx = { agents: pool, clock: { now: () => new Date(), sleep: async () => {} }, replication: { pollIntervalMs: 1, timeoutMs: 1 }, progress: async () => {} };
    const started = Date.now();
    const ok = await readEverywhere(ctx, { id: 'edge-providers', title: 'x', type: 'read', role: 'edge', cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } }, step);
    const took = Date.now() - started;
    expect(ok).toBe(false);
    // one bound (offlineAfterMs, from its last claim) and a sweep; generous for a loaded machine, far below 30 s
    expect(took).toBeLessThan(1_000 + 2_000);
    expect(step.objects).toEqual([{ agent: 'lync01', items: [{ Identity: 'Exchange Online' }] }]);
    expect(step.error).toMatch(/^Get-CsHostingProvider: agent edge01: unreachable: agent edge01 offline: not heard from for \d/);
    // once: it is out of the pool now, and a direct call fails at once
    expect(pool.forRole('edge').map((a) => a.name)).toEqual(['lync01']);
    const again = Date.now();
    expect(await hub.agent('edge01')!.invoke(READ)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/offline/) as string } });
    expect(Date.now() - again).toBeLessThan(200);
    expect(audits.map((a) => a.action)).toEqual(['agent-online', 'agent-offline']);
  });

  it('fails open jobs when the hub closes', async () => {
    const { url, hub } = await start({ claimWaitMs: 5_000 });
    const claiming = agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    await waitOnline(hub, 'fe01');
    const invoked = hub.agent('fe01')!.invoke(READ);
    expect((await claiming).status).toBe(200);
    await hub.close();
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: expect.stringMatching(/shutting down/) as string } });
    expect(await hub.agent('fe01')!.invoke(READ)).toMatchObject({ ok: false });
  });
});
