// The listeners anyone on the network can reach (Slack's HTTP endpoint, the agents' hub) with their resources bounded
// before anything is authenticated: a client that sends its headers or its body slowly is cut after a few seconds,
// a body larger than the route accepts is refused from its declared length before a byte of it is read, and
// connections that have not yet delivered a whole request are capped (the oldest is dropped first), so a crowd of
// slow clients never holds the memory, the sockets or the time that real requests need.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIPv4, type Socket } from 'node:net';
import type { Logger } from 'pino';

export interface HttpBounds {
  /** the request line and headers must arrive within this */
  headersTimeoutMs: number;
  /** the whole request, headers and body, must arrive within this (a long-poll's wait for its answer is not counted) */
  requestTimeoutMs: number;
  /** an idle keep-alive connection is closed after this */
  keepAliveTimeoutMs: number;
  /** a larger declared body gets 413 unread; a body without a declared length gets 411 */
  maxBodyBytes: number;
  /** connections that have not delivered a whole request yet; past this the oldest of them is dropped */
  maxPendingConnections: number;
  /** every connection, as a last resort */
  maxConnections: number;
  /** how often Node checks the two timeouts (its default, 30 s, would let a slow client stay that long) */
  checkIntervalMs: number;
}

export const DEFAULT_HTTP_BOUNDS: HttpBounds = {
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  maxBodyBytes: 1024 * 1024,
  maxPendingConnections: 64,
  maxConnections: 512,
  checkIntervalMs: 500,
};

export interface TlsFiles {
  key: string | Buffer;
  cert: string | Buffer;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain HTTP may listen on or reach without an explicit setting. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return isIPv4(h) && h.startsWith('127.');
}

/**
 * Whether a listener that carries bearer tokens may start: TLS, or a loopback address, or the insecure setting (which
 * is logged as an error at every start). Returns the problem in words, or undefined.
 */
export function plainHttpProblem(listener: { host: string; tls: boolean; insecure: boolean; what: string; setting: string }): string | undefined {
  if (listener.tls || isLoopbackHost(listener.host) || listener.insecure) return undefined;
  return `${listener.what}: refusing to listen on ${listener.host} over plain HTTP: agent tokens would cross the network in clear. Set LYNC_EXO_TLS_CERT and LYNC_EXO_TLS_KEY, or listen on a loopback address, or set ${listener.setting}=1 to accept the risk`;
}

const TRACKED = Symbol('lync-exo.pending');

/**
 * An HTTP (or, with `tls`, HTTPS) server with the bounds applied. `listener` sees only requests whose declared body
 * fits; it may read the body as usual.
 */
export function createBoundedServer(options: { bounds: HttpBounds; tls?: TlsFiles; log: Logger; name: string }, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const { bounds, log } = options;
  const serverOptions: ServerOptions = {
    headersTimeout: bounds.headersTimeoutMs,
    requestTimeout: Math.max(bounds.requestTimeoutMs, bounds.headersTimeoutMs),
    keepAliveTimeout: bounds.keepAliveTimeoutMs,
    connectionsCheckingInterval: bounds.checkIntervalMs,
    maxHeaderSize: 16 * 1024,
  };
  const pending = new Set<Socket>();
  let dropped = 0;
  let warnTimer: NodeJS.Timeout | undefined;
  const settle = (socket: Socket) => {
    pending.delete(socket);
  };

  const guarded = (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    // a request that has arrived whole no longer counts against the cap (its answer may take long: a long-poll)
    if (req.complete) settle(socket);
    else req.once('end', () => settle(socket));
    const declared = req.headers['content-length'];
    const length = declared === undefined ? undefined : Number(declared);
    const hasBody = req.headers['transfer-encoding'] !== undefined || (length !== undefined && length > 0);
    if (hasBody && (length === undefined || !Number.isSafeInteger(length))) {
      refuse(res, 411, 'a request body needs a content-length');
      return;
    }
    if (length !== undefined && length > bounds.maxBodyBytes) {
      refuse(res, 413, `body of ${length} bytes; at most ${bounds.maxBodyBytes}`);
      return;
    }
    listener(req, res);
  };

  const server: Server = options.tls
    ? (createHttpsServer({ ...serverOptions, key: options.tls.key, cert: options.tls.cert, handshakeTimeout: bounds.headersTimeoutMs }, guarded))
    : createHttpServer(serverOptions, guarded);
  server.maxConnections = bounds.maxConnections;

  const track = (socket: Socket) => {
    const s = socket as Socket & { [TRACKED]?: boolean };
    if (s[TRACKED]) return;
    s[TRACKED] = true;
    pending.add(socket);
    socket.once('close', () => settle(socket));
    while (pending.size > bounds.maxPendingConnections) {
      const oldest = pending.values().next().value as Socket;
      pending.delete(oldest);
      oldest.destroy();
      dropped++;
    }
    // one line per second of dropping at most, with the count: a flood must not flood the log too
    if (dropped > 0 && !warnTimer) {
      warnTimer = setTimeout(() => {
        warnTimer = undefined;
        log.warn({ listener: options.name, dropped, cap: bounds.maxPendingConnections }, 'http: too many connections without a whole request; dropped the oldest');
        dropped = 0;
      }, 1_000);
      warnTimer.unref?.();
    }
  };
  // TLS: the handshake is bounded by handshakeTimeout; the cap counts connections from the end of it
  server.on(options.tls ? 'secureConnection' : 'connection', track);
  // a client that breaks the protocol is answered 400 and closed, never logged with what it sent
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    socket.destroy();
  });
  return server;
}

function refuse(res: ServerResponse, status: number, message: string): void {
  const text = JSON.stringify({ error: message });
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)), connection: 'close' });
  // the body is never read: close once the answer is out
  res.end(text, () => res.req.socket.destroy());
}

/** Listens and resolves with the address; rejects on EADDRINUSE and the like. */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Closes the server and every connection it holds. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
