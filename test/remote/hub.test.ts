// The bot's agent hub over real HTTP on loopback: tokens, body limits, job leases, duplicate and foreign results.
import { request } from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import type { Agent } from '../../src/core/types.js';
import { agentPost, EXO_PROVIDER, memoryLog } from './support.js';

const FE_TOKEN = 'fe01-token-0123456789abcdef';
const EDGE_TOKEN = 'edge01-token-fedcba9876543210';
const WRONG_TOKEN = 'wrong-token-00000000000000000';
const logs = memoryLog();

let hub: AgentHub | undefined;
let server: AgentHubServer | undefined;
afterEach(async () => {
  await hub?.close();
  await server?.close();
  hub = undefined;
  server = undefined;
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
    tokens: [
      { name: 'fe01', token: FE_TOKEN },
      { name: 'edge01', token: EDGE_TOKEN },
    ],
    log: logs.log,
    leaseMs: 400,
    claimWaitMs: 150,
    ...over,
  });
  server = await startAgentHubServer({ hub, port: 0, host: '127.0.0.1' });
  return { hub, url: server.url };
}

const fe = { name: 'fe01', token: FE_TOKEN };
const edge = { name: 'edge01', token: EDGE_TOKEN };
const claimBody = (name: string, roles = ['internal']) => ({ name, roles, version: 'lync-exo test' });
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
    const { url, hub } = await start();
    const started = Date.now();
    const r = await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    expect(r.status).toBe(204);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(hub.registry()).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'fe01', roles: ['internal'], version: 'lync-exo test', online: true, lastSeen: expect.any(String) as string })]),
    );
    expect(hub.registry().find((a) => a.name === 'edge01')).toMatchObject({ online: false });
  });

  it.each([
    ['a wrong token', { name: 'fe01', token: WRONG_TOKEN }, 'wrong token'],
    ['another agent\'s token', { name: 'fe01', token: EDGE_TOKEN }, 'wrong token'],
    ['no token', { name: 'fe01' }, 'missing token'],
    ['an unknown agent', { name: 'fe99', token: FE_TOKEN }, 'unknown agent'],
  ])('refuses %s with 401, and logs the name claimed and the address, never the token', async (_label, who, reason) => {
    const { url } = await start();
    for (const route of ['claim', 'jobs/00000000-0000-0000-0000-000000000000/result']) {
      const r = await agentPost(url, route, { ...who, body: claimBody(who.name) });
      expect(r).toEqual({ status: 401, body: { error: 'unauthorized' } });
    }
    const line = logs.find(/unauthorized/).at(-1)!;
    expect(line).toMatchObject({ agent: who.name, reason, remoteAddress: '127.0.0.1', level: 40 });
  });

  it('refuses a revoked token, and drops the claim that was waiting', async () => {
    const { url, hub } = await start({ claimWaitMs: 5_000 });
    const waiting = agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    // the claim is waiting for work (that is when the hub counts fe01 online), then the token goes
    await until(() => hub.registry().find((a) => a.name === 'fe01')?.online === true);
    hub.revoke('fe01');
    expect((await waiting).status).toBe(401);
    expect((await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') })).status).toBe(401);
    expect(logs.find(/unauthorized/).at(-1)).toMatchObject({ agent: 'fe01', reason: 'revoked token' });
    // rotation: a new token works, the old one does not
    hub.setTokens([{ name: 'fe01', token: 'fe01-rotated-token-0000000' }]);
    expect((await agentPost(url, 'claim', { name: 'fe01', token: 'fe01-rotated-token-0000000', body: claimBody('fe01') })).status).toBe(204);
    expect((await agentPost(url, 'claim', { ...edge, body: claimBody('edge01', ['edge']) })).status).toBe(401);
  });

  it('does not log a token pasted into the agent name header', async () => {
    const { url } = await start();
    const r = await agentPost(url, 'claim', { name: `${WRONG_TOKEN} with spaces`, token: WRONG_TOKEN });
    expect(r.status).toBe(401);
    expect(logs.find(/unauthorized/).at(-1)).toMatchObject({ agent: '(not a name)' });
  });
});

describe('request bodies', () => {
  it('answers 413 to a body over the limit, declared or streamed, without reading it', async () => {
    const { url } = await start({ maxBodyBytes: 1024 });
    const big = JSON.stringify({ ...claimBody('fe01'), padding: 'x'.repeat(10_000) });
    expect((await agentPost(url, 'claim', { ...fe, raw: big })).status).toBe(413);

    // chunked: no content-length, so the hub counts while it reads and stops at the limit
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
    expect(status).toBe(413);
    expect(logs.find(/agent request refused: body/).length).toBeGreaterThanOrEqual(2);
  });

  it('answers 400 to a claim that is not one, and to a claim for another name', async () => {
    const { url } = await start();
    expect((await agentPost(url, 'claim', { ...fe, raw: '{not json' })).status).toBe(400);
    expect((await agentPost(url, 'claim', { ...fe, body: { name: 'fe01', roles: ['dba'] } })).status).toBe(400);
    expect((await agentPost(url, 'claim', { ...fe, body: claimBody('edge01') })).status).toBe(400);
  });

  it('leaves other routes alone: handle() returns false and the server answers 404', async () => {
    const { url, hub } = await start();
    expect(hub.handle({ url: '/slack/events' } as never, {} as never)).toBe(false);
    const r = await fetch(`${url}/slack/events`, { method: 'POST' });
    expect(r.status).toBe(404);
  });
});

describe('jobs', () => {
  async function claimJob(url: string, who: { name: string; token: string }, roles = ['internal']): Promise<JobReply> {
    const r = await agentPost(url, 'claim', { ...who, body: claimBody(who.name, roles) });
    expect(r.status).toBe(200);
    return r.body as JobReply;
  }

  it('gives a queued job to its agent, takes its result once, and answers a second result {duplicate: true}', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
    await new Promise((r) => setTimeout(r, 50));
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    expect(job.invocation).toEqual(READ);
    expect(job.leaseMs).toBe(400);

    const first = await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [EXO_PROVIDER], warnings: ['w'], durationMs: 12 } });
    expect(first).toEqual({ status: 200, body: { recorded: true } });
    const second = await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: false, error: { kind: 'powershell', message: 'late' }, durationMs: 1 } });
    expect(second).toEqual({ status: 200, body: { duplicate: true } });
    expect(await invoked).toEqual({ ok: true, output: [EXO_PROVIDER], warnings: ['w'], durationMs: 12, agent: 'edge01' });
    expect(logs.find(/agent result posted again: ignored/).length).toBeGreaterThanOrEqual(1);
  });

  it('answers 409 to a result or heartbeat from an agent that does not hold the job, and keeps the job', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000, leaseMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
    const invoked = hub.agent('edge01')!.invoke(READ);
    const job = await claiming;
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...fe, body: { ok: true, output: [], durationMs: 1 } })).status).toBe(409);
    expect((await agentPost(url, `jobs/${job.id}/heartbeat`, fe)).status).toBe(409);
    expect((await agentPost(url, `jobs/${job.id}/result`, { ...edge, body: { ok: true, output: [EXO_PROVIDER], durationMs: 1 } })).status).toBe(200);
    expect(await invoked).toMatchObject({ ok: true, output: [EXO_PROVIDER], agent: 'edge01' });
  });

  it('checks a remote agent\'s output as the embedded agent\'s is: a wrong shape fails the read, naming the field', async () => {
    const { url, hub } = await start({ claimWaitMs: 2_000, leaseMs: 2_000 });
    const claiming = claimJob(url, edge, ['edge']);
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
  });

  it('keeps a job alive while the agent heartbeats', async () => {
    const clock = manualClock();
    const { url, hub } = await start({ claimWaitMs: 2_000, clock });
    const claiming = claimJob(url, edge, ['edge']);
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

  it('fails a job at once when its agent comes back asking for work without the result, and never gives it out again', async () => {
    const { url, hub } = await start({ claimWaitMs: 300, leaseMs: 5_000 });
    const claiming = claimJob(url, fe);
    const invoked = hub.agent('fe01')!.invoke({ cmdlet: 'New-CsHostingProvider', parameters: { Identity: 'Exchange Online' } });
    await claiming;
    const again = await agentPost(url, 'claim', { ...fe, body: claimBody('fe01') });
    expect(again.status).toBe(204);
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: expect.stringMatching(/^New-CsHostingProvider: agent fe01 lost: it came back without the result/) as string } });
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
    const { url, hub } = await start({ agents: [{ name: 'fe01', roles: ['internal'] }, { name: 'edge01', roles: ['edge'] }] });
    const pool = hub.pool([embedded], ['edge01']);
    expect(pool.forRole('edge')).toEqual([]);
    expect(pool.expected('edge')).toEqual(['edge01']);
    expect(pool.expected('internal')).toEqual([]);
    // edge01 announces both roles; configuration gives it only edge
    await agentPost(url, 'claim', { ...edge, body: claimBody('edge01', ['internal', 'edge']) });
    expect(pool.forRole('edge').map((a) => a.name)).toEqual(['edge01']);
    expect(pool.forRole('internal').map((a) => a.name)).toEqual(['embedded']);
    expect(pool.describe()).toEqual([
      { name: 'embedded', roles: ['internal'], online: true, version: 'embedded' },
      { name: 'fe01', roles: ['internal'], version: '', online: false },
      expect.objectContaining({ name: 'edge01', roles: ['edge'], online: true, version: 'lync-exo test' }),
    ]);
    expect(logs.find(/roles the configuration does not give it/).length).toBeGreaterThanOrEqual(1);
    // not heard from for 2 × claimWaitMs: offline, and out of the pool
    await new Promise((r) => setTimeout(r, 2 * 150 + 100));
    expect(pool.forRole('edge')).toEqual([]);
    expect(hub.registry().find((a) => a.name === 'edge01')).toMatchObject({ online: false, lastSeen: expect.any(String) as string });
  });

  it('fails open jobs when the hub closes', async () => {
    const { hub } = await start({ claimTimeoutMs: 10_000 });
    const invoked = hub.agent('fe01')!.invoke(READ);
    await hub.close();
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: expect.stringMatching(/shutting down/) as string } });
    expect(await hub.agent('fe01')!.invoke(READ)).toMatchObject({ ok: false });
  });
});
