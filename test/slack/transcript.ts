// Transcripts: whole conversations through the real Slack adapter and the real core (PowerShell agents on
// LyncSim). People act by signed HTTP requests to the receiver; every Web API call and response_url answer the bot
// makes goes to the strict Slack stand-in (support/slackApi.ts); the calls, normalised (message ts, dates, durations, fingerprints, error ids), are the transcript that a
// test compares with a fixture under test/slack/transcripts/.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import nock from 'nock';
import { pino } from 'pino';
import { webApi } from '@slack/bolt';
import { createSlackApp, type SlackApp } from '../../src/slack/app.js';
import { boundedClientOptions } from '../../src/slack/client.js';
import type { Block } from '../../src/slack/blocks/kit.js';
import { SlackDirectory } from '../../src/slack/directory.js';
import { homeSource } from '../../src/home.js';
import { SlackLanguages, type LanguagePolicy } from '../../src/slack/language.js';
import { SlackPeople } from '../../src/slack/people.js';
import { SlackNotifier } from '../../src/slack/notifier.js';
import type { SlackService } from '../../src/slack/listeners/index.js';
import { ACTIONS } from '../../src/slack/ids.js';
import { CHANNEL, createWorld, testPolicy, type World, type WorldOptions } from '../support/world.js';
import { blockAction, interactiveBody, slashCommandBody, viewSubmission } from './support/payloads.js';
import { send, signature, SIGNING_SECRET } from './support/signing.js';
import { startSlackStandIn, type ApiCall, type SlackStandIn, type StandInOptions } from './support/slackApi.js';

export { CHANNEL };

/** One line of the conversation: something a person did, or a Web API call the bot made. */
export type Entry = { kind: 'person'; line: string } | { kind: 'api'; call: ApiCall; collapsed: number };

export interface Harness {
  world: World;
  api: SlackStandIn;
  /** `/lync-exo <text>` typed by `user` (in the lync-ops channel unless told) */
  say(user: string, text: string, channel?: string): Promise<void>;
  click(user: string, button: keyof typeof ACTIONS, requestId: string, channel?: string): Promise<void>;
  submitDenial(user: string, requestId: string, reason: string): Promise<void>;
  /** `user` opens the app's Home tab (an app_home_opened event, JSON as Slack sends events) */
  openHome(user: string): Promise<void>;
  /** what `user` was answered (response_url answers and ephemerals): each answer's text */
  answersTo(user: string): string[];
  /** waits for the work in flight and the outbox (returns when the outbox is paused: Slack away) */
  settle(): Promise<void>;
  /** the request id on the newest message that has buttons */
  pendingRequestId(): string;
  entries(): Entry[];
  /** the normalised transcript text */
  transcript(): string;
  close(): Promise<void>;
}

export interface HarnessOptions {
  /** PowerShell for LyncSim's agents; not needed with world.agents: 'memory' */
  executable?: string;
  names: Record<string, string>;
  /** the policy's language (messages: in lync-exo.yml); default English, UTC */
  language?: LanguagePolicy;
  world?: Partial<Omit<WorldOptions, 'executable' | 'notifier' | 'directory'>>;
  slack?: StandInOptions;
}

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  nock.disableNetConnect();
  nock.enableNetConnect('127.0.0.1');
  const api = await startSlackStandIn({ names: options.names, ...options.slack });
  const clientOptions = { slackApiUrl: api.url, retryConfig: { retries: 0 } };
  const log = pino({ level: process.env.LOG_LEVEL ?? 'silent' });
  const client = new webApi.WebClient('xoxb-test', boundedClientOptions(clientOptions));
  const slackPeople = new SlackPeople(client, log);
  const languages = new SlackLanguages(slackPeople, options.language);
  // Everyone's locale is looked up before the conversation starts: a first look-up puts one users.info round trip
  // before a person's first answer, which would make its order against the channel's updates a race. (The
  // look-ups are left out of the transcript; test/slack/language.test.ts tests them.)
  await Promise.all(Object.keys(options.names).map((u) => languages.localeOf(u)));
  const directory = new SlackDirectory(client, log, { people: slackPeople });
  const world = createWorld({ ...options.world, ...(options.language ? { locale: options.language.locale } : {}), ...(options.executable ? { executable: options.executable } : {}), notifier: new SlackNotifier(client, log, { command: '/lync-exo' }, languages), directory });

  // listeners finish after the ack: track each core call so the harness can wait for it, like scheduler.idle()
  const inFlight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p)).catch(() => undefined);
    return p;
  };
  const service: SlackService = {
    command: (actor, text) => track(world.service.command(actor, text)),
    approve: (actor, id) => track(world.service.approve(actor, id)),
    deny: (actor, id, reason) => track(world.service.deny(actor, id, reason)),
    mayDeny: (actor, id) => world.service.mayDeny(actor, id),
  };
  const slack: SlackApp = createSlackApp({
    env: { mode: 'http', botToken: 'xoxb-test', signingSecret: SIGNING_SECRET, port: 0 },
    config: { slack: { command: '/lync-exo' } },
    service,
    log,
    clientOptions,
    bot: { botId: 'B0LYNCEXO', botUserId: 'U0LYNCEXO' },
    languages,
    home: homeSource(world.store, testPolicy(options.world?.policy), directory),
  });
  // and the listeners' own Web API calls (views.open, error ephemerals): a global middleware around each event
  slack.app.use(async ({ next }) => {
    await track(next());
  });
  const server = (await slack.start({ port: 0, host: '127.0.0.1' })) as Server;
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`;

  const people: Entry[] = [];
  const order: { at: number; entry: Entry }[] = [];
  let seen = 0;
  const absorb = () => {
    for (; seen < api.calls.length; seen++) {
      const call = api.calls[seen]!;
      // who someone is (users.info: the approver's email for the audit, a name in history) is a read nobody sees
      if (call.method === 'users.info') continue;
      // a response_url answer names whom it answers, as an ephemeral does
      if (call.method === 'respond') call.body.user = replyTo.get(String(call.body.response_url_id)) ?? '?';
      order.push({ at: order.length, entry: { kind: 'api', call, collapsed: 1 } });
    }
  };
  const settle = async () => {
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (inFlight.size === 0) {
        await world.scheduler.idle();
        if (inFlight.size === 0) break;
      }
      await Promise.allSettled([...inFlight]);
    }
    absorb();
  };
  const act = async (line: string, body: string, json = false) => {
    absorb();
    const entry: Entry = { kind: 'person', line };
    people.push(entry);
    order.push({ at: order.length, entry });
    const res = json ? await sendJson(url, body) : await send(url, body);
    if (res.status !== 200) throw new Error(`${line}: the receiver answered ${res.status} ${res.text}`);
    if (res.text) order.push({ at: order.length, entry: { kind: 'person', line: `  (ack body: ${res.text})` } });
    await settle();
  };
  const name = (user: string) => options.names[user] ?? user;
  /** response_url id → who it answers */
  const replyTo = new Map<string, string>();
  const responseUrl = (user: string, kind: 'commands' | 'actions') => {
    const url = api.responseUrl(kind);
    replyTo.set(url.split('/respond/')[1]!, user);
    return url;
  };
  const where = (channel: string) => (channel === CHANNEL ? '' : ` in ${channel}`);

  return {
    world,
    api,
    settle,
    say: (user, text, channel = CHANNEL) => act(`${name(user)}${where(channel)}: /lync-exo ${text}`, slashCommandBody({ user, channel, text, responseUrl: responseUrl(user, 'commands') })),
    click: (user, button, requestId, channel = CHANNEL) =>
      act(`${name(user)} clicks ${button} on ${requestId}${where(channel)}`, interactiveBody(blockAction({ user, channel, requestId, responseUrl: responseUrl(user, 'actions') }, button))),
    answersTo: (user) =>
      api.calls
        .filter((c) => (c.method === 'respond' && replyTo.get(String(c.body.response_url_id)) === user) || (c.method === 'chat.postEphemeral' && c.body.user === user))
        .map((c) => (typeof c.body.text === 'string' ? c.body.text : JSON.stringify(c.body.blocks ?? []))),
    openHome: (user) =>
      act(
        `${name(user)} opens the Home tab`,
        JSON.stringify({ token: 'unused', team_id: 'T0CONTOSO', api_app_id: 'A0LYNCEXO', type: 'event_callback', event_id: `Ev${user}${Date.now()}`, event_time: Math.floor(Date.now() / 1000), event: { type: 'app_home_opened', user, channel: `D${user.slice(1)}`, tab: 'home', event_ts: `${Date.now() / 1000}` } }),
        true,
      ),
    submitDenial: (user, requestId, reason) =>
      act(`${name(user)} submits the denial of ${requestId}: "${reason}"`, interactiveBody(viewSubmission({ user, channel: CHANNEL, requestId, reason }))),
    pendingRequestId() {
      for (const call of [...api.calls].reverse()) {
        if (call.response?.ok !== true) continue;
        const blocks = (call.body.blocks ?? []) as Block[];
        for (const b of blocks) if (b.type === 'actions') for (const e of b.elements) if (e.type === 'button' && e.action_id === ACTIONS.approve && e.value) return e.value;
      }
      throw new Error('no message with buttons');
    },
    entries: () => collapse(order.map((o) => o.entry)),
    transcript() {
      return renderTranscript(collapse(order.map((o) => o.entry)), options.names);
    },
    async close() {
      api.setOutage(false);
      await settle();
      await slack.stop();
      await world.close();
      await api.close();
      nock.cleanAll();
      nock.enableNetConnect();
    },
  };
}

/** An Events API delivery: JSON, signed like the rest. */
async function sendJson(url: string, body: string): Promise<{ status: number; text: string }> {
  const timestamp = Math.floor(Date.now() / 1000);
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature(SIGNING_SECRET, timestamp, body) }, body });
  return { status: res.status, text: await res.text() };
}

/**
 * Between two things people do, the updates of one message become its last state, shown where the last one was
 * made: how many progress updates a run makes (and how they interleave with the plan message's) depends on
 * replication timing and coalescing; what each message ends up showing does not.
 */
export function collapse(entries: Entry[]): Entry[] {
  const out: Entry[] = [];
  let span: Entry[] = [];
  const flush = () => {
    const last = new Map<string, number>();
    const count = new Map<string, number>();
    span.forEach((e, i) => {
      if (e.kind === 'api' && e.call.method === 'chat.update' && e.call.response?.ok === true) {
        const ts = String(e.call.body.ts);
        last.set(ts, i);
        count.set(ts, (count.get(ts) ?? 0) + 1);
      }
    });
    span.forEach((e, i) => {
      if (e.kind !== 'api' || e.call.method !== 'chat.update' || e.call.response?.ok !== true) return void out.push(e);
      const ts = String(e.call.body.ts);
      if (last.get(ts) === i) out.push({ ...e, collapsed: count.get(ts)! });
    });
    span = [];
  };
  for (const e of entries) {
    if (e.kind === 'person') {
      flush();
      out.push(e);
    } else span.push(e);
  }
  flush();
  return out;
}

/** Block Kit as lines a reviewer can read in a diff. */
export function blockLines(blocks: Block[]): string[] {
  const lines: string[] = [];
  for (const b of blocks) {
    switch (b.type) {
      case 'header':
        lines.push(`[header] ${b.text.text}`);
        break;
      case 'section':
        lines.push(`[section]`, ...(b.text?.text ?? '').split('\n').map((l) => `  ${l}`));
        break;
      case 'context':
        lines.push(`[context] ${b.elements.map((e) => ('text' in e ? e.text : '')).join(' | ')}`);
        break;
      case 'actions':
        lines.push(
          `[actions] ${b.elements
            .map((e) => (e.type === 'button' ? `(${e.text.text}${e.style ? `, ${e.style}` : ''}${e.confirm ? ', confirm' : ''} → ${e.action_id ?? ''}=${e.value ?? ''})` : e.type))
            .join(' ')}`,
        );
        break;
      default:
        lines.push(`[${b.type}]`);
    }
  }
  return lines;
}

/** Everything that changes from one run to the next, replaced by a stable word. */
export function normalise(text: string, tsNames: Map<string, string>): string {
  return text
    .replace(/\d{10}\.\d{6}/g, (ts) => {
      if (!tsNames.has(ts)) tsNames.set(ts, `msg-${tsNames.size + 1}`);
      return tsNames.get(ts)!;
    })
    .replace(/<!date\^\d+\^([^|]*)\|[^>]*>/g, '<!date^…^$1|DATE>')
    .replace(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, 'DATE')
    .replace(/\b\d+ min \d+ s\b|\b\d+(?:\.\d)? s\b|\b\d+ ms\b/g, 'DURATION')
    .replace(/\b[0-9a-f]{12}\b/g, 'FINGERPRINT')
    .replace(/\be-[0-9a-f]{6}\b/g, 'e-ERRORID')
    .replace(/http:\/\/127\.0\.0\.1:\d+\/respond\/[a-z]+-\d+/g, 'RESPONSE_URL')
    .replace(/[ \t]+$/gm, '');
}

export function renderTranscript(entries: Entry[], names: Record<string, string>): string {
  const tsNames = new Map<string, string>();
  const who = (u: unknown) => (typeof u === 'string' ? (names[u] ?? u) : '');
  const out: string[] = [];
  for (const e of entries) {
    if (e.kind === 'person') {
      out.push(`> ${e.line}`);
      continue;
    }
    const { method, body } = e.call;
    const answeredTo = method === 'respond' ? `(${typeof body.response_type === 'string' ? body.response_type : 'ephemeral'}, via response_url)` : '';
    const target = [
      typeof body.channel === 'string' ? body.channel : '',
      body.user ? `to ${who(body.user)}` : body.user_id ? `to ${who(body.user_id)}` : '',
      answeredTo,
      typeof body.ts === 'string' ? `message ${body.ts}` : '',
      typeof body.thread_ts === 'string' ? `in the thread of ${body.thread_ts}` : '',
    ]
      .filter(Boolean)
      .join(' ');
    const posted = typeof e.call.response?.ts === 'string' && method === 'chat.postMessage' ? ` → message ${e.call.response.ts}` : '';
    const failed = e.call.response?.ok === false ? ` ✗ ${String(e.call.response.error)}` : e.call.status !== undefined && e.call.status >= 400 ? ` ✗ HTTP ${e.call.status}` : !e.call.response ? ' ✗ (no answer)' : '';
    out.push(`< ${method}${target ? ` ${target}` : ''}${posted}${failed}${e.collapsed > 1 ? ' (last of a series of updates)' : ''}`);
    if (typeof body.text === 'string') out.push(`  text: ${body.text}`);
    const blocks = Array.isArray(body.blocks) ? (body.blocks as Block[]) : undefined;
    const justText = blocks?.length === 1 && blocks[0]!.type === 'section' && blocks[0].text?.text === body.text;
    if (blocks && !justText) out.push(...blockLines(blocks).map((l) => `  ${l}`));
    if (body.view && typeof body.view === 'object') {
      const view = body.view as { type?: string; callback_id?: string; private_metadata?: string; blocks?: Block[] };
      const about = view.callback_id ? `${view.callback_id} metadata ${view.private_metadata ?? ''}` : (view.type ?? '');
      out.push(`  view ${about}`, ...blockLines(view.blocks ?? []).map((l) => `  ${l}`));
    }
  }
  return `${normalise(out.join('\n'), tsNames)}\n`;
}

/** Each update of one message, before collapsing: the status emoji of its step sections, in order. */
export function progressOf(api: SlackStandIn, ts: string): string[][] {
  return api.calls
    .filter((c) => c.method === 'chat.update' && c.body.ts === ts)
    .map((c) =>
      ((c.body.blocks ?? []) as Block[])
        .filter((b): b is Extract<Block, { type: 'section' }> => b.type === 'section')
        .map((b) => /^(:[a-z_]+:) \*/.exec(b.text?.text ?? '')?.[1])
        .filter((s): s is string => !!s),
    );
}
