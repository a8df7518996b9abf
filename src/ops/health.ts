// /healthz (the process answers), /readyz (it can do its job: the store answers, Slack is connected, an agent is
// online for every role the runbooks use and every expected Edge is online) and /metrics (Prometheus text). In
// HTTP mode they are routes on Slack's listener; in Socket Mode they get a listener of their own (loopback unless
// told otherwise), since Socket Mode has no inbound port.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Runbooks } from '../config/runbooks.js';
import type { AgentPool } from '../core/ports.js';
import type { Store } from '../core/store.js';
import type { Role } from '../core/types.js';
import type { Metrics } from './metrics.js';

export interface ReadyCheck {
  name: 'store' | 'slack' | `agents:${Role}` | 'expected-edges';
  ok: boolean;
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: ReadyCheck[];
}

export interface ReadinessSources {
  store: Pick<Store, 'listPending'>;
  /** Socket Mode: the WebSocket is open; HTTP mode: the listener is up */
  slackConnected: () => boolean;
  agents: AgentPool;
  /** the roles the loaded runbooks run steps or reads on */
  roles: readonly Role[];
}

/** Every role a loaded runbook reads from or runs a step on. */
export function rolesNeeded(runbooks: Runbooks): Role[] {
  const roles = new Set<Role>();
  for (const rb of runbooks.values()) {
    for (const spec of Object.values(rb.read)) roles.add(spec.role);
    for (const step of rb.steps) roles.add(step.role);
  }
  return [...roles].sort();
}

export async function readiness(src: ReadinessSources): Promise<Readiness> {
  const checks: ReadyCheck[] = [];
  try {
    await src.store.listPending();
    checks.push({ name: 'store', ok: true, detail: 'the store answers' });
  } catch (err) {
    checks.push({ name: 'store', ok: false, detail: `the store does not answer: ${(err as Error).message}` });
  }
  const slack = src.slackConnected();
  checks.push({ name: 'slack', ok: slack, detail: slack ? 'connected' : 'not connected' });
  for (const role of src.roles) {
    const online = src.agents.forRole(role).map((a) => a.name);
    checks.push({ name: `agents:${role}`, ok: online.length > 0, detail: online.length ? `online: ${online.join(', ')}` : `no agent online serves the ${role} role` });
  }
  const expected = src.agents.expected('edge');
  if (expected.length) {
    const online = new Set(src.agents.forRole('edge').map((a) => a.name));
    const missing = expected.filter((n) => !online.has(n));
    checks.push({ name: 'expected-edges', ok: missing.length === 0, detail: missing.length ? `offline: ${missing.join(', ')}` : `online: ${expected.join(', ')}` });
  }
  return { ready: checks.every((c) => c.ok), checks };
}

export interface OpsRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

function send(res: ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  res.end(body);
}

/** The three routes, in the shape of Bolt's customRoutes. */
export function opsRoutes(options: { metrics: Metrics; ready: () => Promise<Readiness> }): OpsRoute[] {
  const fail = (res: ServerResponse, err: unknown) => send(res, 500, 'text/plain; charset=utf-8', `error: ${(err as Error).message}\n`);
  return [
    { path: '/healthz', method: ['GET'], handler: (_req, res) => send(res, 200, 'application/json', '{"status":"alive"}\n') },
    {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        options
          .ready()
          .then((r) => send(res, r.ready ? 200 : 503, 'application/json', `${JSON.stringify({ status: r.ready ? 'ready' : 'not ready', checks: r.checks })}\n`))
          .catch((err: unknown) => fail(res, err));
      },
    },
    {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        options.metrics.registry
          .metrics()
          .then((text) => send(res, 200, options.metrics.registry.contentType, text))
          .catch((err: unknown) => fail(res, err));
      },
    },
  ];
}

export interface OpsServer {
  url: string;
  close(): Promise<void>;
}

/** A listener for the routes alone (Socket Mode). */
export async function startOpsServer(routes: OpsRoute[], listen: { port: number; host: string }): Promise<OpsServer> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = routes.find((r) => r.path === url.pathname);
    if (!route) return send(res, 404, 'text/plain; charset=utf-8', 'not found: /healthz, /readyz and /metrics are served here\n');
    if (!route.method.includes(req.method ?? '')) return send(res, 405, 'text/plain; charset=utf-8', `${req.method ?? ''} is not allowed here; use ${route.method.join(', ')}\n`);
    route.handler(req, res);
  });
  // a scrape that stalls must not hold a socket for ever
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
