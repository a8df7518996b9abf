// A CPU profile of lync-exo's app acking signed slash commands (no pending work): `npx tsx --cpu-prof
// --cpu-prof-dir=DIR bench/profile-acks.ts`, then read the profile's heaviest functions. Not part of `npm run bench`.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import autocannon from 'autocannon';
import { pino } from 'pino';
import { createSlackApp } from '../src/slack/app.js';
import { SIGNING_SECRET, signature } from '../test/slack/support/signing.js';
import { slashCommandBody } from '../test/slack/support/payloads.js';

const log = pino({ level: 'info' }, { write: () => undefined });
const done = async () => undefined;
const slack = createSlackApp({
  env: { mode: 'http', botToken: 'xoxb-bench', signingSecret: SIGNING_SECRET, port: 0 },
  config: { slack: { command: '/lync-exo' } },
  service: { command: done, approve: done, deny: done, mayDeny: async () => ({ ok: true as const }) },
  log,
  bot: { botId: 'B0BENCH', botUserId: 'U0BENCH' },
  clientOptions: { retryConfig: { retries: 0 } },
});
const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;
const body = slashCommandBody({ text: 'status', user: 'U0ALICE', channel: 'C0LYNCOPS' });
const ts = Math.floor(Date.now() / 1000);
const r = await autocannon({ url, method: 'POST', connections: Number(process.argv[2] ?? 50), duration: 5, body, headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-slack-request-timestamp': String(ts), 'x-slack-signature': signature(SIGNING_SECRET, ts, body) } });
console.log(`${r.requests.average} req/s, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`);
await slack.stop();
