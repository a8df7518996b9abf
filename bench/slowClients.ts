// Slow clients, as an attacker with no secret at all would open them: half send their headers a line at a time and
// never finish them, half send whole headers announcing a body and then trickle it a byte at a time. Used by the
// slow-connection test and by `npm run bench`.
import { connect, type Socket } from 'node:net';

export interface SlowClient {
  kind: 'headers' | 'body';
  openedAt: number;
  /** when the server closed it (performance.now()); undefined while open */
  closedAt?: number;
}

export interface SlowFlood {
  clients: SlowClient[];
  /** resolves when every client is connected */
  connected: Promise<void>;
  /** resolves when every client has been closed by the server, or after `ms` */
  closed(ms: number): Promise<void>;
  /** closes whatever is still open (the end of a test) */
  destroy(): void;
}

export function slowFlood(options: { port: number; host?: string; path: string; count: number; trickleMs?: number }): SlowFlood {
  const host = options.host ?? '127.0.0.1';
  const trickle = options.trickleMs ?? 500;
  const sockets: Socket[] = [];
  const clients: SlowClient[] = [];
  const connections: Promise<void>[] = [];
  for (let i = 0; i < options.count; i++) {
    const client: SlowClient = { kind: i % 2 === 0 ? 'headers' : 'body', openedAt: performance.now() };
    clients.push(client);
    const socket = connect(options.port, host);
    sockets.push(socket);
    let timer: NodeJS.Timeout | undefined;
    connections.push(
      new Promise<void>((resolve) => {
        socket.once('connect', () => {
          client.openedAt = performance.now();
          if (client.kind === 'headers') {
            socket.write(`POST ${options.path} HTTP/1.1\r\nHost: ${host}\r\n`);
            timer = setInterval(() => socket.writable && socket.write(`x-slow-${Math.floor(Math.random() * 1e6)}: 1\r\n`), trickle);
          } else {
            socket.write(`POST ${options.path} HTTP/1.1\r\nHost: ${host}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: 100000\r\n\r\n`);
            timer = setInterval(() => socket.writable && socket.write('a'), trickle);
          }
          resolve();
        });
        socket.once('error', () => resolve());
      }),
    );
    socket.on('error', () => undefined);
    socket.resume();
    socket.once('close', () => {
      clearInterval(timer);
      client.closedAt ??= performance.now();
    });
  }
  return {
    clients,
    connected: Promise.all(connections).then(() => undefined),
    async closed(ms) {
      const until = performance.now() + ms;
      while (clients.some((c) => c.closedAt === undefined) && performance.now() < until) await new Promise((r) => setTimeout(r, 50));
    },
    destroy() {
      for (const s of sockets) s.destroy();
    },
  };
}

/** How long each client stayed open, in ms, sorted; open ones are left out. */
export function openFor(flood: SlowFlood): number[] {
  return flood.clients
    .filter((c) => c.closedAt !== undefined)
    .map((c) => c.closedAt! - c.openedAt)
    .sort((a, b) => a - b);
}
