// Health and metrics on the bot as a real process, in both Slack modes: HTTP mode serves them on Slack's
// listener, Socket Mode on a loopback listener of its own. After a conversation (status, a refused request, a
// refused self-approval, a setup approved and run) /metrics shows exactly those counts.
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { describeWithPwsh } from '../support/pwsh.js';
import { slashCommandFields } from '../slack/support/payloads.js';
import { CHANNEL, createHarness, freePort, messageTs, requestSetup, runs, said, USERS, waitFor, type Harness } from './bot.js';

let harness: Harness | undefined;
let wss: WebSocketServer | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
  if (wss) {
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss!.close(r));
    wss = undefined;
  }
});

const get = async (url: string) => {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
};

/** The value of one sample in Prometheus text, or undefined when it is absent. */
function sample(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

describeWithPwsh('health and metrics of the bot process', () => {
  it('HTTP mode: on Slack\'s listener; the metrics after a conversation are the counts that happened', async () => {
    const h = (harness = await createHarness());
    const bot = await h.start();
    const base = `http://127.0.0.1:${bot.port}`;

    const health = await get(`${base}/healthz`);
    expect(health).toMatchObject({ status: 200, text: '{"status":"alive"}\n' });
    const ready = await get(`${base}/readyz`);
    expect(ready.status, ready.text).toBe(200);
    expect(JSON.parse(ready.text)).toMatchObject({ status: 'ready', checks: [{ name: 'store', ok: true }, { name: 'slack', ok: true }, { name: 'agents:edge', ok: true }, { name: 'agents:internal', ok: true }] });

    // status: at once "reading the deployment…" to alice, then the report in its place (the same response_url,
    // replace_original); the agent's session was started at boot
    expect((await h.command(USERS.alice, 'status')).status).toBe(200);
    const report = await waitFor(() => h.slack.of('respond').find((c) => said(c).includes('Report: status')), 90_000, 'the status report', () => h.logs());
    const placeholder = h.slack.of('respond').find((c) => said(c).includes('reading the deployment for `status`…'));
    expect(placeholder, JSON.stringify(h.slack.calls.map((c) => c.method))).toBeDefined();
    expect(placeholder!.body).toMatchObject({ response_type: 'ephemeral', replace_original: false });
    expect(report.body).toMatchObject({ response_type: 'ephemeral', replace_original: true, response_url_id: placeholder!.body.response_url_id });
    expect(h.slack.calls.indexOf(placeholder!)).toBeLessThan(h.slack.calls.indexOf(report));
    expect(h.slack.of('chat.postMessage').filter((c) => said(c).includes('status'))).toEqual([]);
    expect(said(report)).toMatch(/started at boot in \d+\.\d s/);
    // dave may approve but not ask: refused
    expect((await h.command(USERS.dave, 'setup')).status).toBe(200);
    await waitFor(() => h.slack.of('respond').some((c) => said(c).includes('may request changes')), 30_000, "dave's refusal", () => h.logs());
    // alice asks, alice may not approve her own request, bob does, and the run goes through
    const request = await requestSetup(h);
    // bob clicks Deny, and Slack refuses the modal (its trigger expired): counted as a Slack error
    h.slack.failNext('views.open', 'expired_trigger_id');
    await h.click(USERS.bob, 'deny', request.id, messageTs(request));
    await waitFor(() => h.slack.of('views.open').length > 0 && h.slack.of('respond').some((c) => said(c).includes('could not finish opening the denial form')), 30_000, "bob's failed denial form", () => h.logs());
    await h.approve(USERS.alice, request.id, messageTs(request));
    await waitFor(() => h.slack.of('respond').some((c) => said(c).includes('someone else must approve')), 30_000, "alice's refusal", () => h.logs());
    await h.approve(USERS.bob, request.id, messageTs(request));
    const run = await waitFor(() => runs(h).find((r) => r.status !== 'running'), 90_000, 'the run to finish', () => h.logs());
    expect(run.status, run.summary ?? '').toBe('succeeded');
    // the one agent runs on the bot's host and serves the edge role too: the report does not claim an Edge
    expect(run.summary).toMatch(/^the change is in the Central Management Store; no Edge Server was checked: lync01 read the local store of \S+, not an Edge's\./);
    // the approval is recorded with the approver's directory identity, as users.info gave it (users:read.email)
    expect(h.query<{ actor: string; email: string | null }>("SELECT actor, email FROM audit WHERE action = 'approved'")).toEqual([{ actor: USERS.bob, email: 'bob@contoso.com' }]);

    // the run's last messages leave the outbox after its coalescing interval: then the depth reads 0
    const m = await waitFor(async () => {
      const got = await get(`${base}/metrics`);
      return sample(got.text, 'lync_exo_outbox_depth') === 0 ? got : undefined;
    }, 60_000, 'the outbox to drain', () => h.logs());
    expect(m.status).toBe(200);
    expect(m.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const t = m.text;
    expect(sample(t, 'lync_exo_commands_total{subcommand="status",outcome="ok"}')).toBe(1);
    expect(sample(t, 'lync_exo_commands_total{subcommand="setup",outcome="refused"}')).toBe(1);
    expect(sample(t, 'lync_exo_commands_total{subcommand="setup",outcome="ok"}')).toBe(1);
    expect(sample(t, 'lync_exo_approval_decisions_total{decision="refused"}')).toBe(1);
    expect(sample(t, 'lync_exo_approval_decisions_total{decision="approved"}')).toBe(1);
    expect(sample(t, 'lync_exo_runs_total{runbook="setup",outcome="succeeded"}')).toBe(1);
    expect(sample(t, 'lync_exo_cmdlet_duration_seconds_count{cmdlet="New-CsHostingProvider",outcome="ok"}')).toBe(1);
    expect(sample(t, 'lync_exo_cmdlet_duration_seconds_count{cmdlet="Set-CsAccessEdgeConfiguration",outcome="ok"}')).toBe(1);
    expect(sample(t, 'lync_exo_replication_wait_seconds_count{runbook="setup"}')).toBe(1);
    expect(sample(t, 'lync_exo_replication_wait_seconds_sum{runbook="setup"}')).toBeGreaterThan(0);
    expect(sample(t, 'lync_exo_agents_online{role="edge"}')).toBe(1);
    expect(sample(t, 'lync_exo_pending_approvals')).toBe(0);
    expect(sample(t, 'lync_exo_slack_api_errors_total{method="views.open",code="expired_trigger_id"}')).toBe(1);
    expect(t.match(/^lync_exo_slack_api_errors_total\{/gm)).toHaveLength(1);
    expect(t).not.toContain('xoxb-');
  });

  it('Socket Mode: on a loopback port of its own; unready once the connection to Slack drops', async () => {
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss!.once('listening', resolve));
    const sockets: WebSocket[] = [];
    const acks: Record<string, unknown>[] = [];
    wss.on('connection', (ws) => {
      sockets.push(ws);
      ws.on('message', (d) => acks.push(JSON.parse((d as Buffer).toString('utf8')) as Record<string, unknown>));
      ws.send(JSON.stringify({ type: 'hello', num_connections: 1, connection_info: { app_id: 'A0LYNCEXO' }, debug_info: { host: 'local' } }));
    });
    const h = (harness = await createHarness());
    h.slack.socketUrl = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/link`;
    const metricsPort = await freePort();
    const bot = await h.start({ listening: false, env: { LYNC_EXO_SLACK_MODE: 'socket', SLACK_APP_TOKEN: 'xapp-1-process-test', LYNC_EXO_METRICS_PORT: String(metricsPort) } });
    await waitFor(() => bot.output.join('').includes('slack: connected over Socket Mode'), 60_000, 'the Socket Mode connection', () => h.logs());
    expect(bot.output.join('')).toContain(`"url":"http://127.0.0.1:${metricsPort}"`);
    const base = `http://127.0.0.1:${metricsPort}`;

    expect(await get(`${base}/healthz`)).toMatchObject({ status: 200 });
    const ready = await get(`${base}/readyz`);
    expect(ready.status, ready.text).toBe(200);
    // Slack's own listener is not open in Socket Mode: nothing answers on PORT
    await expect(fetch(`http://127.0.0.1:${bot.port}/healthz`)).rejects.toThrow();

    // a slash command over the socket is acked and counted
    sockets[0]!.send(JSON.stringify({ envelope_id: 'env-1', type: 'slash_commands', payload: slashCommandFields({ user: USERS.alice, channel: CHANNEL, text: 'help', responseUrl: h.slack.responseUrl() }), accepts_response_payload: true }));
    await waitFor(() => acks.some((a) => a.envelope_id === 'env-1'), 30_000, 'the ack', () => h.logs());
    await waitFor(() => h.slack.of('respond').some((c) => said(c).includes('setup')), 30_000, 'the help reply', () => h.logs());
    const m = await get(`${base}/metrics`);
    expect(sample(m.text, 'lync_exo_commands_total{subcommand="help",outcome="ok"}')).toBe(1);

    // Slack goes away: the socket closes and nothing answers a reconnect
    for (const c of wss.clients) c.terminate();
    await new Promise((r) => wss!.close(r));
    wss = undefined;
    let last = { status: 0, text: '' };
    for (let tries = 0; tries < 300 && last.status !== 503; tries++) {
      if (tries) await new Promise((res) => setTimeout(res, 100));
      last = await get(`${base}/readyz`);
    }
    expect(last.status, last.text).toBe(503);
    expect(JSON.parse(last.text)).toMatchObject({ status: 'not ready', checks: expect.arrayContaining([{ name: 'slack', ok: false, detail: 'not connected' }]) as unknown });
    expect((await get(`${base}/healthz`)).status).toBe(200);
  });
});
