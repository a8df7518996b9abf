// Two bot processes on one PostgreSQL database (LYNC_EXO_DATABASE_URL), each with its embedded agent driving real
// PowerShell on one LyncSim deployment, Slack played by the strict stand-in: clicks spread over both, one of them
// killed in the middle of a change, both restarted one after the other while a request waits.
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { createSimState, okCalls, SIM_EDGE, SIM_FRONT_END } from '../../src/simulator.js';
import { describeWithPostgres, usePostgres } from '../support/postgres.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { APPROVERS, createHarness, said, USERS, waitFor, type BotProcess, type Harness } from './bot.js';

interface RequestRow {
  id: string;
  status: string;
  run_id: string | null;
  message: string | null;
}
interface RunRow {
  id: string;
  request_id: string;
  status: string;
  summary: string | null;
  steps_json: string;
  owner: string | null;
}

describeWithPostgres('two bot instances on one PostgreSQL', () => {
  const server = usePostgres();

  describeWithPwsh('active-active, with real PowerShell', () => {
    let h: Harness | undefined;
    let db: pg.Pool | undefined;
    let url = '';
    afterEach(async () => {
      await h?.close();
      await db?.end();
      h = undefined;
      db = undefined;
    });
    const sql = async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => (await db!.query<T>(text, params)).rows;
    const requests = () => sql<RequestRow>('SELECT id, status, run_id, message FROM requests ORDER BY seq');
    const runs = () => sql<RunRow>('SELECT id, request_id, status, summary, steps_json, owner FROM runs ORDER BY seq');
    /** the request's plan message ts, as its Approve button carries it */
    const tsOf = (r: RequestRow) => (r.message ? (JSON.parse(r.message) as { ts: string }).ts : undefined);

    // remote agents: fe01 does the internal work, edge01 reads one Edge (the bot's own agent the other)
    const TOKENS = { LYNC_EXO_TOKEN_FE01: 'fe01-token-0123456789abcdef', LYNC_EXO_TOKEN_EDGE01: 'edge01-token-0123456789abcdef' };
    async function setUp(withAgents = false): Promise<Harness> {
      url = await server().freshDatabase();
      db = new pg.Pool({ connectionString: url, max: 2 });
      const agents = {
        remote: [
          { name: 'fe01', roles: ['internal' as const], tokenEnv: 'LYNC_EXO_TOKEN_FE01' },
          { name: 'edge01', roles: ['edge' as const], tokenEnv: 'LYNC_EXO_TOKEN_EDGE01' },
        ],
        embeddedRoles: ['edge' as const],
        expectedEdges: ['lync01', 'edge01'],
      };
      return (h = await createHarness(withAgents ? { agents } : {}));
    }
    /** an instance on the shared database, with a short lease so failover tests do not wait 30 s */
    const startInstance = (harness: Harness) => harness.start({ env: { LYNC_EXO_DATABASE_URL: url, LYNC_EXO_LEASE_SECONDS: '6', ...TOKENS } });
    /** the harness sends to its current bot: point it at `bot` first (synchronously, so each call goes where meant) */
    const on = <T>(harness: Harness, bot: BotProcess, send: () => T): T => {
      harness.bot = bot;
      return send();
    };

    /** `/lync-exo setup` by alice on `bot`, then the pending request it created, once its plan is posted */
    async function requestSetup(harness: Harness, bot: BotProcess): Promise<RequestRow> {
      const before = (await requests()).length;
      const res = await on(harness, bot, () => harness.command(USERS.alice, 'setup'));
      if (res.status !== 200) throw new Error(`slash command: HTTP ${res.status} ${res.text}`);
      return waitFor(
        async () => {
          const all = await requests();
          const r = all.length > before ? all.at(-1) : undefined;
          return r?.message ? r : undefined;
        },
        90_000,
        'a pending request with its plan message',
        () => harness.logs(),
      );
    }

    it('50 Approve clicks spread over both instances start exactly one run, 20 times over; two agent processes serve both', async () => {
      const harness = await setUp(true);
      const a = await startInstance(harness);
      const b = await startInstance(harness);
      const bots = [a, b];
      // each agent serves both instances: whichever runs the change finds fe01 and edge01 online
      const both = `http://127.0.0.1:${a.port},http://127.0.0.1:${b.port}`;
      harness.startAgent('fe01', { LYNC_EXO_BOT_URL: both, LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: TOKENS.LYNC_EXO_TOKEN_FE01 }, SIM_FRONT_END);
      harness.startAgent('edge01', { LYNC_EXO_BOT_URL: both, LYNC_EXO_AGENT_ROLES: 'edge', LYNC_EXO_AGENT_TOKEN: TOKENS.LYNC_EXO_TOKEN_EDGE01 }, SIM_EDGE);
      await waitFor(async () => (await sql("SELECT 1 FROM audit WHERE action = 'agent-online'")).length >= 4, 120_000, 'both agents online on both instances', () => harness.logs());
      for (let rep = 0; rep < 20; rep++) {
        // a fresh deployment each time, so every setup has something to change
        createSimState(harness.dir, { replicationLagSeconds: 1 });
        const request = await requestSetup(harness, bots[rep % 2]!);
        const ts = tsOf(request);
        const replies = await Promise.all(Array.from({ length: 50 }, (_, i) => on(harness, bots[i % 2]!, () => harness.approve(APPROVERS[i % APPROVERS.length]!, request.id, ts))));
        expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
        const run = await waitFor(async () => (await runs()).find((r) => r.request_id === request.id && r.status !== 'running'), 120_000, `rep ${rep}: the run to finish`, () => harness.logs());
        expect(run.status, `rep ${rep}: ${run.summary ?? ''}`).toBe('succeeded');
        expect((await runs()).filter((r) => r.request_id === request.id), `rep ${rep}`).toHaveLength(1);
        expect(await sql("SELECT 1 FROM audit WHERE action = 'run-started' AND request_id = $1", [request.id]), `rep ${rep}`).toHaveLength(1);
        expect(await sql('SELECT approver FROM approvals WHERE request_id = $1', [request.id]), `rep ${rep}`).toHaveLength(1);
        const sim = harness.sim();
        expect(okCalls(sim, 'Set-CsAccessEdgeConfiguration'), `rep ${rep}`).toHaveLength(1);
        expect(okCalls(sim, 'New-CsHostingProvider'), `rep ${rep}`).toHaveLength(1);
        expect(await sql('SELECT * FROM locks'), `rep ${rep}`).toEqual([]);
        // one run message in Slack for it, posted once
        await waitFor(async () => harness.slack.of('chat.postMessage').some((c) => String(c.body.text).startsWith(`Run ${run.id} `)), 30_000, 'the run message', () => harness.logs());
        expect(harness.slack.of('chat.postMessage').filter((c) => String(c.body.text).startsWith(`Run ${run.id} `)), `rep ${rep}`).toHaveLength(1);
      }
      // the clicks really were spread: each instance completed some approvals and ran those runs, through the agents
      expect(new Set((await runs()).map((r) => r.owner!.split(':')[1]))).toEqual(new Set([String(a.child.pid), String(b.child.pid)]));
      const claims = await sql<{ detail: string }>("SELECT detail FROM audit WHERE action = 'agent-claim' AND actor = 'agent:fe01'");
      expect(claims.filter((c) => c.detail.includes('Set-CsAccessEdgeConfiguration'))).toHaveLength(20);
      expect(harness.slack.of('chat.postMessage').filter((c) => /^Run run-/.test(String(c.body.text)))).toHaveLength(20);
    });

    it('kill -9 of the instance running a change: the other reports it interrupted within the lease and one sweep, frees the lock, runs nothing twice; a pending approval still works', async () => {
      const harness = await setUp();
      createSimState(harness.dir, { replicationLagSeconds: 1, faults: { hang: ['New-CsHostingProvider'] } });
      const a = await startInstance(harness);
      const b = await startInstance(harness);
      // asked on a before the change, still waiting for approval when a dies
      const pending = await requestSetup(harness, a);
      const request = await requestSetup(harness, a);
      await on(harness, a, () => harness.approve(USERS.bob, request.id, tsOf(request)));
      // step 1 went through; step 2 sits in New-CsHostingProvider on the instance that claimed the run
      await waitFor(() => harness.sim().calls.some((c) => c.cmdlet === 'New-CsHostingProvider' && c.outcome === 'hang'), 90_000, 'the hang in step 2', () => harness.logs());
      const [cut] = await runs();
      expect(cut).toMatchObject({ status: 'running' });
      // the instance that took the completing click runs the change
      expect(cut!.owner?.split(':')[1]).toBe(String(a.child.pid));
      harness.setFaults([]);
      const apiCallsAtKill = harness.slack.calls.length;
      const killedAt = Date.now();
      await a.killHard();
      const callsAtKill = harness.sim().calls.length;

      const report = await waitFor(
        () => harness.slack.calls.slice(apiCallsAtKill).find((c) => (c.method === 'chat.update' || c.method === 'chat.postMessage') && /interrupted/i.test(said(c))),
        90_000,
        'the interrupted report from the survivor',
        () => harness.logs(),
      );
      console.log(`ha: the survivor reported the killed instance's run interrupted ${Date.now() - killedAt} ms after the kill (lease 6 s)`);
      expect(said(report)).toContain('Allow federated users (shared SIP address space)');
      const [after] = await runs();
      expect(after).toMatchObject({ id: cut!.id, status: 'interrupted' });
      expect(after!.summary).toMatch(/last completed step: "Allow federated users \(shared SIP address space\)"/);
      expect(await sql('SELECT * FROM locks')).toEqual([]);
      expect(await sql("SELECT action FROM audit WHERE action IN ('run-interrupted', 'lock-recovered') ORDER BY seq")).toEqual([{ action: 'run-interrupted' }, { action: 'lock-recovered' }]);

      // the request a posted still works on b: approved there, its run starts, and finds the deployment changed by
      // the cut-off run's first step, so nothing runs (the plan it was approved for is stale)
      await on(harness, b, () => harness.approve(USERS.dave, pending.id, tsOf(pending)));
      const stale = await waitFor(async () => (await runs()).find((r) => r.request_id === pending.id && r.status !== 'running'), 120_000, 'the pending request run', () => harness.logs());
      expect(stale.status, stale.summary ?? '').toBe('refused');
      expect(stale.summary).toMatch(/the deployment changed after the plan was approved/);
      expect(harness.sim().calls).toHaveLength(callsAtKill);

      // the lock is free: a new setup on the survivor, approved there, runs once
      const again = await requestSetup(harness, b);
      await on(harness, b, () => harness.approve(USERS.carol, again.id, tsOf(again)));
      const second = await waitFor(async () => (await runs()).find((r) => r.request_id === again.id && r.status !== 'running'), 120_000, 'the second run', () => harness.logs());
      // the first run's step 1 took effect, so the second plan has only what is left
      expect(second.status, second.summary ?? '').toBe('succeeded');
      const sim = harness.sim();
      expect(sim.calls.slice(0, callsAtKill).filter((c) => c.cmdlet === 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
      expect(sim.calls.filter((c) => c.cmdlet === 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
      expect(sim.calls.filter((c) => c.cmdlet === 'New-CsHostingProvider').map((c) => c.outcome)).toEqual(['hang', 'ok']);
      expect((await runs()).map((r) => r.status)).toEqual(['interrupted', 'refused', 'succeeded']);
    });

    /** until the instance's /readyz says every role and expected Edge has an agent online (as it sees them) */
    const ready = (harness: Harness, bot: BotProcess, what: string) =>
      waitFor(async () => (await fetch(`http://127.0.0.1:${bot.port}/readyz`).catch(() => undefined))?.status === 200, 120_000, what, () => harness.logs());

    it('agents connected only to B run the change approved and run on A; a slash command retried to B makes no second request', async () => {
      const harness = await setUp(true);
      createSimState(harness.dir, { replicationLagSeconds: 1 });
      const a = await startInstance(harness);
      const b = await startInstance(harness);
      const onlyB = `http://127.0.0.1:${b.port}`;
      harness.startAgent('fe01', { LYNC_EXO_BOT_URL: onlyB, LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: TOKENS.LYNC_EXO_TOKEN_FE01 }, SIM_FRONT_END);
      harness.startAgent('edge01', { LYNC_EXO_BOT_URL: onlyB, LYNC_EXO_AGENT_ROLES: 'edge', LYNC_EXO_AGENT_TOKEN: TOKENS.LYNC_EXO_TOKEN_EDGE01 }, SIM_EDGE);
      // A never hears from them; it learns from B's rows that they are online
      await ready(harness, a, 'instance A to see both agents online through B');

      // the command on A, and Slack's retry of it (same trigger_id) on B
      const triggerId = 'trigger-retried-to-b';
      expect((await on(harness, a, () => harness.command(USERS.alice, 'setup', { triggerId }))).status).toBe(200);
      const request = await waitFor(async () => (await requests()).find((r) => r.message), 90_000, 'the plan of the request', () => harness.logs());
      expect((await on(harness, b, () => harness.command(USERS.alice, 'setup', { triggerId, headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }))).status).toBe(200);
      await waitFor(() => b.output.join('').includes('slash command: ignored a retried delivery already taken'), 60_000, 'B to drop the retry', () => harness.logs());
      expect(await requests()).toHaveLength(1);
      expect(harness.slack.of('chat.postMessage').filter((c) => said(c).includes(request.id))).toHaveLength(1);

      await on(harness, a, () => harness.approve(USERS.bob, request.id, tsOf(request)));
      const run = await waitFor(async () => (await runs()).find((r) => r.status !== 'running'), 120_000, 'the run', () => harness.logs());
      expect(run.status, run.summary ?? '').toBe('succeeded');
      // A ran it; its internal steps went to fe01, which only B ever heard from
      expect(run.owner?.split(':')[1]).toBe(String(a.child.pid));
      const claims = await sql<{ detail: string }>("SELECT detail FROM audit WHERE action = 'agent-claim' AND actor = 'agent:fe01'");
      for (const cmdlet of ['Set-CsAccessEdgeConfiguration', 'New-CsHostingProvider']) expect(claims.filter((c) => c.detail.includes(cmdlet)), cmdlet).toHaveLength(1);
      expect(a.output.join('')).not.toContain('"msg":"agent online"');
      expect(b.output.join('')).toContain('"msg":"agent online"');
      expect(okCalls(harness.sim(), 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
      expect(okCalls(harness.sim(), 'New-CsHostingProvider')).toHaveLength(1);
      expect(await sql("SELECT status FROM agent_jobs WHERE status NOT IN ('done')")).toEqual([]);
    });

    it('kill -9 of the instance that queued the job an agent on B is running: the step is not run again, by anyone', async () => {
      const harness = await setUp(true);
      createSimState(harness.dir, { replicationLagSeconds: 1, faults: { hang: ['New-CsHostingProvider'] } });
      const a = await startInstance(harness);
      const b = await startInstance(harness);
      const onlyB = `http://127.0.0.1:${b.port}`;
      // a short invocation timeout: the hung step ends on the agent soon after its owner is gone
      const fe01 = harness.startAgent('fe01', { LYNC_EXO_BOT_URL: onlyB, LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: TOKENS.LYNC_EXO_TOKEN_FE01, LYNC_EXO_INVOCATION_TIMEOUT_SECONDS: '15' }, SIM_FRONT_END);
      harness.startAgent('edge01', { LYNC_EXO_BOT_URL: onlyB, LYNC_EXO_AGENT_ROLES: 'edge', LYNC_EXO_AGENT_TOKEN: TOKENS.LYNC_EXO_TOKEN_EDGE01 }, SIM_EDGE);
      await ready(harness, a, 'instance A to see both agents online through B');
      const request = await requestSetup(harness, a);
      await on(harness, a, () => harness.approve(USERS.bob, request.id, tsOf(request)));
      // step 2 is fe01's job, queued by A and claimed through B; fe01 sits in it
      await waitFor(() => harness.sim().calls.some((c) => c.cmdlet === 'New-CsHostingProvider' && c.outcome === 'hang'), 90_000, 'the hang in step 2 on fe01', () => harness.logs());
      const [job] = await sql<{ id: string; status: string; owner: string }>("SELECT id, status, owner FROM agent_jobs WHERE invocation_json LIKE '%New-CsHostingProvider%'");
      expect(job).toMatchObject({ status: 'claimed' });
      expect(job!.owner.split(':')[1]).toBe(String(a.child.pid));
      harness.setFaults([]);
      const apiCallsAtKill = harness.slack.calls.length;
      await a.killHard();

      await waitFor(
        () => harness.slack.calls.slice(apiCallsAtKill).find((c) => (c.method === 'chat.update' || c.method === 'chat.postMessage') && /interrupted/i.test(said(c))),
        90_000,
        'the interrupted report from B',
        () => harness.logs(),
      );
      expect((await runs()).map((r) => r.status)).toEqual(['interrupted']);
      // fe01 ends the hung step (its timeout) and reports to B; nobody hands the job out again
      await waitFor(async () => (await sql('SELECT 1 FROM agent_jobs WHERE id = $1 AND status = $2', [job!.id, 'done'])).length === 1, 120_000, "fe01's result for the hung job", () => harness.logs());
      expect(fe01.output.join('')).not.toContain('giving up posting the result');
      const claimed = await sql<{ detail: string }>("SELECT detail FROM audit WHERE action = 'agent-claim' AND detail LIKE '%New-CsHostingProvider%'");
      expect(claimed).toHaveLength(1);
      expect(harness.sim().calls.filter((c) => c.cmdlet === 'New-CsHostingProvider').map((c) => c.outcome)).toEqual(['hang']);

      // fe01 still serves B: a new setup there runs the rest once
      const again = await requestSetup(harness, b);
      await on(harness, b, () => harness.approve(USERS.carol, again.id, tsOf(again)));
      const second = await waitFor(async () => (await runs()).find((r) => r.request_id === again.id && r.status !== 'running'), 120_000, 'the second run', () => harness.logs());
      expect(second.status, second.summary ?? '').toBe('succeeded');
      const sim = harness.sim();
      expect(sim.calls.filter((c) => c.cmdlet === 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
      expect(sim.calls.filter((c) => c.cmdlet === 'New-CsHostingProvider').map((c) => c.outcome)).toEqual(['hang', 'ok']);
    });

    it('a request pending during a rolling restart of both instances is approved afterwards and runs once', async () => {
      const harness = await setUp();
      createSimState(harness.dir, { replicationLagSeconds: 1 });
      const a = await startInstance(harness);
      const b = await startInstance(harness);
      const request = await requestSetup(harness, a);
      // one at a time, so one instance serves throughout
      a.signal('SIGTERM');
      expect(await a.exited).toMatchObject({ code: 0 });
      const a2 = await startInstance(harness);
      b.signal('SIGTERM');
      expect(await b.exited).toMatchObject({ code: 0 });
      const b2 = await startInstance(harness);
      const replies = await Promise.all([a2, b2, a2, b2].map((bot, i) => on(harness, bot, () => harness.approve(APPROVERS[i]!, request.id, tsOf(request)))));
      expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      const run = await waitFor(async () => (await runs()).find((r) => r.status !== 'running'), 120_000, 'the run', () => harness.logs());
      expect(run.status, run.summary ?? '').toBe('succeeded');
      expect(await runs()).toHaveLength(1);
      expect(await requests()).toMatchObject([{ id: request.id, status: 'approved', run_id: run.id }]);
      expect(okCalls(harness.sim(), 'Set-CsAccessEdgeConfiguration')).toHaveLength(1);
      expect(okCalls(harness.sim(), 'New-CsHostingProvider')).toHaveLength(1);
      expect(await sql('SELECT * FROM locks')).toEqual([]);
      // four instances came and went or stay; the two that stopped cleanly left no instance row behind
      expect((await sql<{ pid: number }>('SELECT pid FROM instances ORDER BY pid')).map((r) => r.pid).sort()).toEqual([a2.child.pid, b2.child.pid].sort());
    });
  });
});
