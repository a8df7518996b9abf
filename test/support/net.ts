// A free loopback port, for servers the tests and benches start as child processes (a bot, PostgreSQL), which must
// be told their port before they listen. No vitest import: the benches use it too.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
