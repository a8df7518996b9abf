// One app for the acks bench, in a process of its own so the load generator does not share its event loop (profile
// it with `node --cpu-prof --import tsx bench/ackServer.ts app none` and a load from outside):
// `tsx bench/ackServer.ts bolt|app pending|none`. Prints its URL on the first line; on each line read from stdin,
// prints the CPU time it has used (µs, user + system) as JSON; exits when stdin closes.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { createInterface } from 'node:readline';
import { App, HTTPReceiver, LogLevel } from '@slack/bolt';
import { pino } from 'pino';
import { createSlackApp } from '../src/slack/app.js';
import { SIGNING_SECRET } from '../test/slack/support/signing.js';

const WORK_MS = 2000;
const [which, pendingArg] = process.argv.slice(2);
const pending = pendingArg === 'pending';
const doWork = pending ? () => new Promise<void>((r) => setTimeout(r, WORK_MS)) : async () => undefined;

async function bareBolt(): Promise<{ server: Server; stop(): Promise<unknown> }> {
  const app = new App({
    receiver: new HTTPReceiver({ signingSecret: SIGNING_SECRET, endpoints: '/slack/events', logLevel: LogLevel.INFO }),
    token: 'xoxb-bench',
    tokenVerificationEnabled: false,
    botId: 'B0BENCH',
    botUserId: 'U0BENCH',
    logLevel: LogLevel.INFO,
  });
  app.command('/lync-exo', async ({ ack }) => {
    await ack();
    await doWork();
  });
  return { server: (await app.start({ port: 0, host: '127.0.0.1' })), stop: () => app.stop() };
}

async function lyncExoApp(): Promise<{ server: Server; stop(): Promise<unknown> }> {
  // level info, as operators run it, written nowhere: what the adapter does per request counts, not the disk
  const log = pino({ level: 'info' }, { write: () => undefined });
  const slack = createSlackApp({
    env: { mode: 'http', botToken: 'xoxb-bench', signingSecret: SIGNING_SECRET, port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service: { command: doWork, approve: doWork, deny: doWork, mayDeny: async () => ({ ok: true as const }) },
    log,
    bot: { botId: 'B0BENCH', botUserId: 'U0BENCH' },
    clientOptions: { retryConfig: { retries: 0 } },
  });
  return { server: (await slack.start({ port: 0, host: '127.0.0.1' })) as Server, stop: () => slack.stop() };
}

const running = which === 'bolt' ? await bareBolt() : await lyncExoApp();
const server = running.server;
process.stdout.write(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', () => {
  const u = process.cpuUsage();
  process.stdout.write(`${JSON.stringify({ cpuUs: u.user + u.system })}\n`);
});
lines.on('close', () => void running.stop().finally(() => process.exit(0)));
