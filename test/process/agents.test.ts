// The agent channel as an attacker with one valid token would try it, against the bot as a real process (HTTP mode,
// the agents' routes on Slack's listener) and real `lync-exo agent` processes driving real PowerShell on LyncSim:
// a token without a config entry, an Edge agent claiming internal work, forged and replayed results. Every secret
// carries a unique marker; at the end every log line, every Slack message and every stored row is searched for them.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SIM_EDGE, SIM_FRONT_END } from '../../src/simulator.js';
import { describeWithPwsh } from '../support/pwsh.js';
import { createHarness, messageTs, requestSetup, runs, said, USERS, waitFor, type Harness } from './bot.js';

const mark = (label: string) => `MARK${label}${randomBytes(8).toString('hex')}`;
const SECRETS = {
  botToken: `xoxb-${mark('BOT')}`,
  signingSecret: mark('SIGN'),
  fe01: mark('FE01TOKEN'),
  edge01: mark('EDGE01TOKEN'),
  rogue: mark('ROGUETOKEN'),
  wrong: mark('WRONGTOKEN'),
};
/** the random part of each secret: found even if only a piece of a secret were printed */
const MARKERS = Object.values(SECRETS).flatMap((s) => [s, s.slice(-16)]);

const BOT_ENV = { LYNC_EXO_TOKEN_FE01: SECRETS.fe01, LYNC_EXO_TOKEN_EDGE01: SECRETS.edge01 };
/** what start-up refusals printed (the processes are gone by the end) */
const startupOutput: string[] = [];

interface AuditRow {
  actor: string;
  action: string;
  detail: string | null;
}

let h: Harness;
beforeAll(async () => {
  h = await createHarness({
    agents: {
      remote: [
        { name: 'fe01', roles: ['internal'], tokenEnv: 'LYNC_EXO_TOKEN_FE01' },
        { name: 'edge01', roles: ['edge'], tokenEnv: 'LYNC_EXO_TOKEN_EDGE01' },
      ],
      // the bot's own agent reads one Edge; fe01 does all internal work
      embeddedRoles: ['edge'],
      expectedEdges: ['lync01', 'edge01'],
    },
    secrets: { botToken: SECRETS.botToken, signingSecret: SECRETS.signingSecret },
  });
});
afterAll(async () => {
  await h?.close();
});

const audit = (action?: string): (AuditRow & { d: Record<string, unknown> })[] =>
  h.query<AuditRow>(`SELECT actor, action, detail FROM audit ${action ? 'WHERE action = ?' : ''} ORDER BY seq`, ...(action ? [action] : [])).map((r) => ({ ...r, d: JSON.parse(r.detail ?? '{}') as Record<string, unknown> }));

async function post(route: string, name: string | undefined, token: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  if (name !== undefined) headers['x-lync-exo-agent'] = name;
  const res = await fetch(`http://127.0.0.1:${h.bot!.port}/agents/v1/${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as unknown) : undefined };
}

async function startFailing(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  const bot = await h.start({ env: { ...BOT_ENV, ...env }, listening: false });
  const exit = await Promise.race([bot.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 60_000))]);
  if (!exit) await bot.killHard();
  const output = bot.output.join('');
  startupOutput.push(output);
  return { code: exit?.code ?? null, output };
}

const online = (name: string) => () => audit('agent-online').some((r) => r.actor === `agent:${name}`);

describeWithPwsh('the agent channel against the bot process and real agent processes', () => {
  it('refuses to start with a token that no agents.remote entry claims, naming the entry and never the token', async () => {
    const rogue = await startFailing({ LYNC_EXO_AGENT_TOKENS: `rogue01:${SECRETS.rogue}` });
    expect(rogue.code, rogue.output).toBe(1);
    expect(rogue.output).toContain('lync-exo: remote agents: LYNC_EXO_AGENT_TOKENS: entry 1 has no agents.remote entry in the config file (configured: fe01, edge01); a token without one is refused');
    // the same list written token:name: the token is where the name should be, and is not printed as one
    const reversed = await startFailing({ LYNC_EXO_AGENT_TOKENS: `fe01:${SECRETS.fe01},${SECRETS.rogue}:edge01` });
    expect(reversed.output).toMatch(/LYNC_EXO_AGENT_TOKENS: entry 2: the token is shorter than 16 characters/);
    const unset = await startFailing({ LYNC_EXO_TOKEN_EDGE01: '' });
    expect(unset.output).toMatch(/agents\.remote\[1\] \(edge01\): tokenEnv: the variable LYNC_EXO_TOKEN_EDGE01 is not set/);
    const level = await startFailing({ LOG_LEVEL: SECRETS.wrong });
    expect(level).toMatchObject({ code: 2, output: expect.stringMatching(/^lync-exo: environment: LOG_LEVEL: must be one of fatal, error/) as string });
    const swapped = await startFailing({ SLACK_BOT_TOKEN: SECRETS.signingSecret });
    expect(swapped.output).toMatch(/SLACK_BOT_TOKEN: must be a bot token starting with xoxb-/);
    // agents on Slack's listener, all interfaces, no TLS: tokens would cross the network in clear
    const plain = await startFailing({ LYNC_EXO_HOST: '0.0.0.0' });
    expect(plain.code, plain.output).toBe(1);
    expect(plain.output).toMatch(/Slack and remote agents \(HTTP mode, LYNC_EXO_HOST\): refusing to listen on 0\.0\.0\.0 over plain HTTP/);
  });

  it('refuses a configured Edge agent that claims internal work (403, audited): it is never online and nothing runs on it', async () => {
    await h.start({ env: BOT_ENV });
    const fe = h.startAgent('fe01', { LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: SECRETS.fe01, LYNC_EXO_INVOCATION_TIMEOUT_SECONDS: '8' }, SIM_FRONT_END);
    const rogueEdge = h.startAgent('edge01', { LYNC_EXO_AGENT_ROLES: 'internal,edge', LYNC_EXO_AGENT_TOKEN: SECRETS.edge01 }, SIM_EDGE);
    await waitFor(online('fe01'), 60_000, 'fe01 online', () => h.logs());
    await waitFor(() => audit('agent-refused').filter((r) => r.d.reason === 'role').length >= 2, 60_000, 'two refused claims', () => h.logs());
    expect(audit('agent-refused').find((r) => r.d.reason === 'role')).toMatchObject({
      actor: 'agent:edge01',
      d: { agent: 'edge01', address: '127.0.0.1', reason: 'role', status: 403, announced: ['internal', 'edge'], configured: ['edge'] },
    });
    expect(rogueEdge.output.join('')).toMatch(/claim: the bot refused agent edge01 \(403\): agent edge01 is configured for edge; it may not serve internal/);

    // a setup now: its internal steps go to fe01 only; edge01 is never handed anything
    const request = await requestSetup(h);
    expect((await h.approve(USERS.bob, request.id, messageTs(request))).status).toBe(200);
    const run = await waitFor(() => runs(h).find((r) => r.status !== 'running'), 120_000, 'the run', () => h.logs());
    const steps = JSON.parse(run.steps_json) as { kind: string; invocations: { agent?: string }[] }[];
    expect(steps.filter((s) => s.kind === 'change').flatMap((s) => s.invocations.map((i) => i.agent))).toEqual(['fe01', 'fe01']);
    expect(steps.flatMap((s) => s.invocations.map((i) => i.agent))).not.toContain('edge01');
    expect(h.sim().calls.every((c) => c.host === SIM_FRONT_END)).toBe(true);
    expect(audit('agent-claim').map((r) => r.actor)).not.toContain('agent:edge01');
    expect(rogueEdge.output.join('')).not.toMatch(/job claimed|"jobId"/);
    await rogueEdge.kill();
    expect(fe.child.exitCode).toBeNull();
  });

  it('refuses a forged result for another agent\'s job, a replay and a late one: audited, never applied', async () => {
    const edge = h.startAgent('edge01', { LYNC_EXO_AGENT_ROLES: 'edge', LYNC_EXO_AGENT_TOKEN: SECRETS.edge01 }, SIM_EDGE);
    await waitFor(online('edge01'), 60_000, 'edge01 online', () => h.logs());
    // fe01's replication read hangs (up to its 8 s invocation timeout): it holds the job meanwhile
    h.setFaults(['Get-CsManagementStoreReplicationStatus']);
    const before = h.slack.calls.length;
    const claimsBefore = audit('agent-claim').length;
    expect((await h.command(USERS.alice, 'status')).status).toBe(200);
    const claim = await waitFor(
      () => audit('agent-claim').slice(claimsBefore).find((r) => r.actor === 'agent:fe01' && r.d.cmdlet === 'Get-CsManagementStoreReplicationStatus'),
      60_000,
      "fe01's claim",
      () => h.logs(),
    );
    const jobId = String(claim.d.jobId);
    const forged = { ok: true, output: [{ ReplicaFqdn: 'FORGED.contoso.local', UpToDate: true }], durationMs: 1 };
    // edge01, authenticated, posting for fe01's job
    expect(await post(`jobs/${jobId}/result`, 'edge01', SECRETS.edge01, forged)).toEqual({ status: 409, body: { error: 'this agent does not hold the job' } });
    // edge01's token under fe01's name
    expect((await post(`jobs/${jobId}/result`, 'fe01', SECRETS.edge01, forged)).status).toBe(403);
    // a made-up token, and a token pasted into the name header
    expect((await post(`jobs/${jobId}/result`, 'fe01', SECRETS.wrong, forged)).status).toBe(401);
    expect((await post(`jobs/${jobId}/result`, SECRETS.rogue, SECRETS.rogue, forged)).status).toBe(401);

    const result = await waitFor(() => audit('agent-result').find((r) => r.d.jobId === jobId), 60_000, "fe01's own result", () => h.logs());
    expect(result).toMatchObject({ actor: 'agent:fe01', d: { agent: 'fe01', ok: false, kind: 'timeout' } });
    h.setFaults([]);
    // fe01's result again (a replay): refused, not applied
    expect(await post(`jobs/${jobId}/result`, 'fe01', SECRETS.fe01, forged)).toMatchObject({ status: 409, body: { duplicate: true } });
    // the report is a thread reply now (issue 10); the plan message above it also names the replication step
    const report = await waitFor(() => h.slack.calls.slice(before).find((c) => said(c).includes('Central Management Store replication') && /fe01/.test(said(c))), 60_000, 'the run report', () => h.logs());
    expect(said(report)).toMatch(/fe01/);
    for (const c of h.slack.calls.slice(before)) expect(said(c)).not.toContain('FORGED');
    // the audit record of a refusal is written beside the answer, not before it: wait for both, bounded against a hang
    const refused = await waitFor(() => {
      const rows = audit('agent-refused').filter((r) => r.d.jobId === jobId);
      return rows.length >= 2 ? rows : undefined;
    }, 60_000, 'both refusals audited', () => h.logs());
    expect(refused.map((r) => [r.actor, r.d.reason, r.d.status])).toEqual([
      ['agent:edge01', 'not-holder', 409],
      ['agent:fe01', 'replayed', 409],
    ]);
    expect(audit('agent-refused').filter((r) => r.d.reason === 'name-mismatch').at(-1)).toMatchObject({ actor: 'agent:edge01', d: { claimedName: expect.stringMatching(/^sha256:[0-9a-f]{12}$/) as string } });
    expect(edge.child.exitCode).toBeNull();
  });

  it('no secret appears anywhere after failures of every kind: Slack, agents, hub refusals', async () => {
    // Slack failing: the channel message cannot be posted, updates get HTTP 500
    h.slack.failNext('chat.postMessage', 'not_in_channel');
    h.slack.rateLimitNext('chat.update', 1, 3);
    expect((await h.command(USERS.alice, 'status')).status).toBe(200);
    // an unsigned and a wrongly signed Slack request
    const { send } = await import('../slack/support/signing.js');
    expect((await send(h.bot!.url, 'command=%2Flync-exo&text=status', { secret: SECRETS.wrong })).status).toBe(401);
    expect((await send(h.bot!.url, 'command=%2Flync-exo&text=status', { signed: false })).status).toBe(401);
    // agents misconfigured: a wrong token, a token pasted as the roles, another agent's name
    const wrong = h.startAgent('fe01', { LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: SECRETS.wrong }, SIM_FRONT_END);
    const roles = h.startAgent('fe01', { LYNC_EXO_AGENT_ROLES: SECRETS.rogue, LYNC_EXO_AGENT_TOKEN: SECRETS.fe01 }, SIM_FRONT_END);
    const named = h.startAgent('fe02', { LYNC_EXO_AGENT_ROLES: 'internal', LYNC_EXO_AGENT_TOKEN: SECRETS.fe01 }, SIM_FRONT_END);
    expect((await roles.exited).code).toBe(2);
    await waitFor(() => /401/.test(wrong.output.join('')) && /403/.test(named.output.join('')), 60_000, 'the refusals', () => h.logs());
    await new Promise((r) => setTimeout(r, 2_000));
    for (const a of [wrong, named]) await a.kill();

    const places: [string, string][] = [
      ...startupOutput.map((o, i): [string, string] => [`start-up ${i + 1}`, o]),
      ['bot and agent output', h.logs()],
      // what the bot sent Slack, less the one field where the bot token belongs: Web API authentication (auth.test)
      ['Slack calls', JSON.stringify(h.slack.calls.map((c) => ({ ...c, body: { ...c.body, token: c.body.token === SECRETS.botToken ? '(the bot token, as Slack wants it)' : c.body.token } })))],
    ];
    const tables = h.query<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'");
    for (const { name } of tables) places.push([`table ${name}`, JSON.stringify(h.query(`SELECT * FROM "${name}"`))]);
    // the search found something to search: every kind of failure left its trace
    const all = places.map(([, text]) => text).join('\n');
    // Slack's failures above reach only what calls them (answers now go through the response_url); the markers are
    // searched for in every Slack call all the same
    for (const trace of ['(401)', '(403)', 'LYNC_EXO_AGENT_ROLES: item 1 is not a role', 'agent-refused', 'not-holder', 'replayed', 'unknown token', 'name-mismatch']) {
      expect(all, trace).toContain(trace);
    }
    expect(tables.length).toBeGreaterThanOrEqual(5);
    for (const [where, text] of places) for (const m of MARKERS) expect(text.includes(m), `${where} contains a secret (${m.slice(0, 10)}…)`).toBe(false);
  });
});

