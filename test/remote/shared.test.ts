// Two hubs (two bot instances) on one PostgreSQL: an agent connected to one of them runs what the other queues.
// Jobs are rows; the instance waiting for a job hears of its end through LISTEN/NOTIFY, or by its bounded poll.
import { afterEach, expect, it } from 'vitest';
import type { AgentJobStore } from '../../src/core/store.js';
import type { Agent, Invocation, InvocationResult } from '../../src/core/types.js';
import { loadRunbooks } from '../../src/config/runbooks.js';
import { runAgent } from '../../src/remote/agent.js';
import { createAgentHub, startAgentHubServer, type AgentHub, type AgentHubServer } from '../../src/remote/hub.js';
import { openPostgresStore, type PostgresStore } from '../../src/store/postgres.js';
import { describeWithPostgres, usePostgres } from '../support/postgres.js';
import { agentPost, EXO_PROVIDER, memoryLog } from './support.js';

const FE_TOKEN = 'fe01-token-0123456789abcdef';
const fe = { name: 'fe01', token: FE_TOKEN };
const READ = { cmdlet: 'Get-CsHostingProvider', parameters: { LocalStore: true } };
const claimBody = (session?: string) => ({ name: 'fe01', roles: ['internal'], version: 'lync-exo test', ...(session ? { session } : {}) });
const logs = memoryLog();

interface JobReply {
  id: string;
  invocation: unknown;
}

describeWithPostgres('agents on any instance (PostgreSQL)', () => {
  const server = usePostgres();
  let stores: PostgresStore[] = [];
  let hubs: AgentHub[] = [];
  let servers: AgentHubServer[] = [];
  afterEach(async () => {
    for (const h of hubs) await h.close();
    for (const s of servers) await s.close();
    for (const s of stores) await s.end().catch(() => undefined);
    [stores, hubs, servers] = [[], [], []];
  });
  let n = 0;

  /** instances A and B on one schema; `jobs` may stand between a hub and its store (to take notifications away) */
  async function twoInstances(over: { pollMs?: number; leaseMs?: number; wrap?: (s: PostgresStore) => AgentJobStore } = {}) {
    const schema = `hub${++n}_${process.pid}`;
    const made = [];
    for (let i = 0; i < 2; i++) {
      const store = await openPostgresStore(server().url, { schema, leaseMs: 5_000, poolSize: 4 });
      stores.push(store);
      const hub = createAgentHub({ agents: [{ name: 'fe01', roles: ['internal'], token: FE_TOKEN }], log: logs.log, leaseMs: over.leaseMs ?? 5_000, claimWaitMs: 3_000, offlineAfterMs: 5_000, jobs: over.wrap ? over.wrap(store) : store, ...(over.pollMs ? { pollMs: over.pollMs } : {}) });
      hubs.push(hub);
      const listening = await startAgentHubServer({ hub, port: 0, host: '127.0.0.1' });
      servers.push(listening);
      made.push({ store, hub, url: listening.url });
    }
    return made as [(typeof made)[0], (typeof made)[0]];
  }

  /** until `check` holds (the test's timeout ends a hang) */
  async function until(check: () => boolean | Promise<boolean>): Promise<void> {
    while (!(await check())) await new Promise((r) => setTimeout(r, 20));
  }

  const claim = async (url: string, session?: string) => {
    const r = await agentPost(url, 'claim', { ...fe, body: claimBody(session) });
    return r.status === 200 ? (r.body as JobReply) : undefined;
  };

  it("A queues, the agent claims on B and answers on B; A's invoke gets the result through LISTEN/NOTIFY alone", async () => {
    // a poll of a minute on both: only notifications can hand the job to B and its end to A within the test
    const [a, b] = await twoInstances({ pollMs: 60_000 });
    // fe01 asked A for work a moment ago (answered 204), so A knows it is online; now it waits on B
    expect(await claim(a.url, 'aaaaaaaa')).toBeUndefined();
    const claiming = claim(b.url, 'aaaaaaaa');
    await until(async () => (await a.store.agentPresence()).some((p) => p.instance === b.store.instanceId && p.waitingUntilMs > Date.now()));
    expect(a.hub.registry()[0]!.online).toBe(true);
    const invoked = a.hub.agent('fe01')!.invoke(READ);
    const job = (await claiming)!;
    expect(job.invocation).toEqual(READ);
    expect((await agentPost(b.url, `jobs/${job.id}/heartbeat`, fe)).status).toBe(200);
    expect((await agentPost(b.url, `jobs/${job.id}/result`, { ...fe, body: { ok: true, output: [EXO_PROVIDER], durationMs: 5 } })).status).toBe(200);
    expect(await invoked).toEqual({ ok: true, output: [EXO_PROVIDER], durationMs: 5, agent: 'fe01' });
    // the same result again, on either instance: refused as replayed
    for (const url of [a.url, b.url]) {
      expect(await agentPost(url, `jobs/${job.id}/result`, { ...fe, body: { ok: true, output: [], durationMs: 1 } })).toEqual({ status: 409, body: { error: 'the result was already recorded; this one is ignored', duplicate: true } });
    }
  });

  it('without notifications (a lost connection), the bounded poll finds both the job and its end', async () => {
    // the hubs see the store without watchJobs: no LISTEN at all
    const [a, b] = await twoInstances({ pollMs: 100, wrap: (s) => ({ ...s, watchJobs: undefined }) });
    const claiming = claim(b.url);
    await until(() => a.hub.registry()[0]!.online);
    const invoked = a.hub.agent('fe01')!.invoke(READ);
    const job = (await claiming)!;
    expect((await agentPost(b.url, `jobs/${job.id}/result`, { ...fe, body: { ok: false, error: { kind: 'powershell', message: 'denied' }, durationMs: 2 } })).status).toBe(200);
    expect(await invoked).toEqual({ ok: false, error: { kind: 'powershell', message: 'denied' }, durationMs: 2, agent: 'fe01' });
  });

  it("a job held past its lease fails on its owner, whichever instance the agent talks to; its late result is refused", async () => {
    const [a, b] = await twoInstances({ pollMs: 100, leaseMs: 600 });
    const claiming = claim(b.url);
    await until(() => a.hub.registry()[0]!.online);
    const invoked = a.hub.agent('fe01')!.invoke(READ);
    const job = (await claiming)!;
    expect(await invoked).toMatchObject({ ok: false, error: { kind: 'agent', message: 'Get-CsHostingProvider: agent fe01 lost: no heartbeat or result within 0.6 s' } });
    expect((await agentPost(b.url, `jobs/${job.id}/result`, { ...fe, body: { ok: true, output: [], durationMs: 1 } })).status).toBe(410);
    expect((await agentPost(a.url, `jobs/${job.id}/heartbeat`, fe)).status).toBe(410);
  });

  it('an agent process that comes back (another session) loses the job it held, on any instance; its own other claim does not', async () => {
    const [a, b] = await twoInstances({ pollMs: 100 });
    const claiming = claim(b.url, 'aaaaaaaa');
    await until(() => a.hub.registry()[0]!.online);
    const first = a.hub.agent('fe01')!.invoke(READ);
    const held = (await claiming)!;
    // the same process's claim on A (its second bot URL): the job it holds from B stays its. Jobs are looked at
    // before a claim waits, so once the claim waits on A the decision was made.
    const second = claim(a.url, 'aaaaaaaa');
    await until(async () => (await a.store.agentPresence()).some((p) => p.instance === a.store.instanceId && p.waitingUntilMs > Date.now()));
    expect((await a.store.jobsGet([held.id]))[0]).toMatchObject({ status: 'claimed', session: 'aaaaaaaa' });
    // a new process of fe01 (another session) asks A for work: the job held by the old one is lost
    const third = claim(a.url, 'bbbbbbbb');
    expect(await first).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^Get-CsHostingProvider: agent fe01 lost: it came back without the result/) as string } });
    await Promise.all([second, third]);
  });

  it('an agent given both URLs posts its result to the other instance when the one that handed the job out is gone', async () => {
    // B hears of no job (no notifications, a poll of a minute): A hands it out
    const [a, b] = await twoInstances();
    const hubB = createAgentHub({ agents: [{ name: 'fe01', roles: ['internal'], token: FE_TOKEN }], log: logs.log, leaseMs: 5_000, claimWaitMs: 3_000, offlineAfterMs: 5_000, jobs: { ...b.store, watchJobs: undefined }, pollMs: 60_000 });
    hubs.push(hubB);
    const serverB = await startAgentHubServer({ hub: hubB, port: 0, host: '127.0.0.1' });
    servers.push(serverB);
    // the step runs while A's listener goes away: the result can only reach B
    const shell: Agent = {
      name: 'fe01',
      roles: ['internal'],
      async invoke(_invocation: Invocation): Promise<InvocationResult> {
        await servers[0]!.close();
        return { ok: true, output: [], durationMs: 3, agent: 'fe01' };
      },
      close: async () => {},
    };
    const halt = new AbortController();
    const env = { LYNC_EXO_BOT_URL: `${a.url},${serverB.url}`, LYNC_EXO_AGENT_NAME: 'fe01', LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: FE_TOKEN };
    const loop = runAgent({ env, log: memoryLog().log, signal: halt.signal, runbooks: loadRunbooks(), powershell: () => shell });
    try {
      await until(() => a.hub.registry()[0]!.online);
      const result = await a.hub.agent('fe01')!.invoke({ cmdlet: 'Get-CsAccessEdgeConfiguration', parameters: {} });
      expect(result).toEqual({ ok: true, output: [], durationMs: 3, agent: 'fe01' });
    } finally {
      halt.abort();
      await loop;
    }
  });
});
