// The strict Slack stand-in: one local HTTP server that plays Slack's Web API and response_urls for every
// transcript, receiver and process test, and refuses what Slack refuses:
//   - blocks: at most 50; a section's text 1-3,000 characters; a header's 1-150; a context at most 10 elements of
//     at most 3,000; a malformed block is `invalid_blocks`; all the text of a message's blocks, plus a container
//     allowance per block, over 12,000 characters is `msg_blocks_too_long` (bolt-js issues 2509, 2867);
//   - chat.postMessage / chat.postEphemeral where the bot is not a member: `not_in_channel` (a public channel it
//     was not invited to, a DM), `channel_not_found` (a private channel it was not added to), `is_archived`;
//   - chat.update of a deleted or unknown ts: `message_not_found`;
//   - `ratelimited` as HTTP 429 with Retry-After, when a test asks for it;
//   - outages: HTTP 500s, connections reset, or calls that hang until Slack is "back";
//   - a response_url works at most 5 times within 30 minutes of its first use (the stand-in's clock);
//   - views.publish: a user_id (`invalid_arguments` without), a view of type home (`invalid_arguments`), at most
//     100 blocks each valid as in a message (`invalid_blocks`), private_metadata at most 3,000 characters;
//   - users.info answers `locale` only when asked with include_locale, as Slack does.
// Every call is recorded: method, the decoded body (`blocks` parsed), the answer.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ApiCall {
  method: string;
  body: Record<string, unknown>;
  /** what the stand-in answered (undefined when the connection was reset or hung) */
  response?: Record<string, unknown>;
  status?: number;
  at: number;
}

export type Outage = false | 'http500' | 'reset' | 'hang';

export interface StandInOptions {
  /** channels the bot is a member of (default C0LYNCOPS) */
  members?: string[];
  /** private channels (not_in_channel becomes channel_not_found) */
  privateChannels?: string[];
  archived?: string[];
  /** a Socket Mode URL for apps.connections.open */
  socketUrl?: string;
  /** usergroup id → members */
  groups?: Record<string, string[]>;
  /** user id → display name (users.info) */
  names?: Record<string, string>;
  /** user id → Slack locale (users.info with include_locale); default en-US */
  locales?: Record<string, string>;
  /** user id → profile email (users.info gives it to an app with users:read.email; none otherwise) */
  emails?: Record<string, string>;
}

export interface SlackStandIn {
  /** the Web API base URL (slackApiUrl) */
  url: string;
  calls: ApiCall[];
  of(method: string): ApiCall[];
  /** a fresh response_url served by the stand-in */
  responseUrl(kind?: 'commands' | 'actions'): string;
  invite(channel: string): void;
  remove(channel: string): void;
  /** deletes a message, as a person would in Slack */
  deleteMessage(ts: string): void;
  /** the next call of `method` answers { ok: false, error } */
  failNext(method: string, error: string): void;
  /** the next `times` calls of `method` get 429 with Retry-After: `seconds` */
  rateLimitNext(method: string, seconds: number, times?: number): void;
  /** Slack away (500s, resets, hangs) or back (false; hung calls then fail as resets) */
  setOutage(outage: Outage): void;
  /** the stand-in's clock for response_url expiry */
  advance(ms: number): void;
  socketUrl: string | undefined;
  /** messages as they stand now, by ts */
  messages: Map<string, { channel: string; text: string; blocks: unknown[]; threadTs?: string }>;
  close(): Promise<void>;
}

export const BLOCKS_TEXT_LIMIT = 12_000;
/** what each block's container costs against the cumulative limit */
export const BLOCK_ALLOWANCE = 50;

function decode(raw: string, contentType: string | undefined): Record<string, unknown> {
  let fields: Record<string, unknown>;
  if (contentType?.includes('json')) fields = JSON.parse(raw || '{}') as Record<string, unknown>;
  else fields = Object.fromEntries(new URLSearchParams(raw));
  for (const key of ['blocks', 'view', 'attachments']) {
    if (typeof fields[key] === 'string') {
      try {
        fields[key] = JSON.parse(fields[key]);
      } catch {
        fields[key] = { unparsable: fields[key] };
      }
    }
  }
  return fields;
}

/** Sums every `text` string in a block tree (text objects, elements). */
export function blocksText(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + blocksText(v), 0);
  if (!value || typeof value !== 'object') return 0;
  let n = 0;
  for (const [k, v] of Object.entries(value)) {
    if (k === 'text' && typeof v === 'string') n += v.length;
    else n += blocksText(v);
  }
  return n;
}

const textOf = (t: unknown): string | undefined => (t && typeof t === 'object' && typeof (t as { text?: unknown }).text === 'string' ? (t as { text: string }).text : undefined);

/** Slack's answer to a blocks array, or undefined when it takes it. A message takes 50 blocks, a view 100. */
export function checkBlocks(blocks: unknown, surface: 'message' | 'view' = 'message'): string | undefined {
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks)) return 'invalid_blocks_format';
  if (blocks.length > (surface === 'view' ? 100 : 50)) return 'invalid_blocks';
  for (const b of blocks as Record<string, unknown>[]) {
    if (!b || typeof b !== 'object' || typeof b.type !== 'string') return 'invalid_blocks';
    switch (b.type) {
      case 'section': {
        const t = textOf(b.text);
        if (t === undefined ? !Array.isArray(b.fields) : t.length === 0 || t.length > 3000) return 'invalid_blocks';
        break;
      }
      case 'header': {
        const t = textOf(b.text);
        if (t === undefined || t.length === 0 || t.length > 150 || (b.text as { type?: string }).type !== 'plain_text') return 'invalid_blocks';
        break;
      }
      case 'context': {
        const els = b.elements;
        if (!Array.isArray(els) || els.length === 0 || els.length > 10) return 'invalid_blocks';
        for (const e of els) {
          const t = textOf(e);
          if (t === undefined || t.length === 0 || t.length > 3000) return 'invalid_blocks';
        }
        break;
      }
      case 'actions':
        if (!Array.isArray(b.elements) || b.elements.length === 0 || b.elements.length > 25) return 'invalid_blocks';
        break;
      case 'divider':
        break;
      default:
        return 'invalid_blocks';
    }
  }
  if (surface === 'message' && blocksText(blocks) + BLOCK_ALLOWANCE * blocks.length > BLOCKS_TEXT_LIMIT) return 'msg_blocks_too_long';
  return undefined;
}

/** Slack's answer to views.publish, or undefined when it takes it. */
export function checkPublish(body: Record<string, unknown>): string | undefined {
  if (typeof body.user_id !== 'string' || !/^[UW][A-Z0-9]+$/.test(body.user_id)) return 'invalid_arguments';
  const view = body.view as Record<string, unknown> | undefined;
  if (!view || typeof view !== 'object' || view.type !== 'home') return 'invalid_arguments';
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000) return 'invalid_arguments';
  return checkBlocks(view.blocks ?? [], 'view');
}

export async function startSlackStandIn(options: StandInOptions = {}): Promise<SlackStandIn> {
  const calls: ApiCall[] = [];
  const members = new Set(options.members ?? ['C0LYNCOPS']);
  const privateChannels = new Set(options.privateChannels ?? []);
  const archived = new Set(options.archived ?? []);
  const failures = new Map<string, string[]>();
  const limits = new Map<string, { seconds: number; times: number }>();
  const messages: SlackStandIn['messages'] = new Map();
  const responseUses = new Map<string, { first: number; uses: number }>();
  const hung = new Set<ServerResponse>();
  const sockets = new Set<Socket>();
  let outage: Outage = false;
  let clock = Date.now();
  let seq = 0;
  let urls = 0;
  let base = '';

  const canWrite = (channel: unknown): string | undefined => {
    if (typeof channel !== 'string' || !channel) return 'channel_not_found';
    if (archived.has(channel)) return 'is_archived';
    if (members.has(channel)) return undefined;
    return privateChannels.has(channel) || channel.startsWith('G') ? 'channel_not_found' : 'not_in_channel';
  };

  const webApi = (method: string, body: Record<string, unknown>): { status: number; answer: Record<string, unknown>; headers?: Record<string, string> } => {
    const limited = limits.get(method);
    if (limited && limited.times > 0) {
      limited.times--;
      return { status: 429, answer: { ok: false, error: 'ratelimited' }, headers: { 'retry-after': String(limited.seconds) } };
    }
    const failure = failures.get(method)?.shift();
    if (failure) return { status: 200, answer: { ok: false, error: failure } };
    const ok = (extra: Record<string, unknown>) => ({ status: 200, answer: { ok: true, ...extra } });
    const err = (error: string) => ({ status: 200, answer: { ok: false, error } });
    switch (method) {
      case 'auth.test':
        return ok({ url: 'https://contoso.slack.com/', team: 'contoso', user: 'lync-exo', team_id: 'T0CONTOSO', user_id: 'U0LYNCEXO', bot_id: 'B0LYNCEXO' });
      case 'apps.connections.open':
        return options.socketUrl || stand.socketUrl ? ok({ url: stand.socketUrl ?? options.socketUrl }) : err('invalid_auth');
      case 'chat.postMessage':
      case 'chat.postEphemeral': {
        const cannot = canWrite(body.channel);
        if (cannot) return err(cannot);
        if (method === 'chat.postEphemeral' && typeof body.user !== 'string') return err('user_not_in_channel');
        const bad = checkBlocks(body.blocks);
        if (bad) return err(bad);
        if (typeof body.text === 'string' && body.text.length > 40_000) return err('msg_too_long');
        if (!body.text && !body.blocks) return err('no_text');
        if (method === 'chat.postEphemeral') return ok({ message_ts: `${1740900000 + ++seq}.000200` });
        if (typeof body.thread_ts === 'string' && !messages.has(body.thread_ts)) return err('thread_not_found');
        const ts = `${1740823000 + ++seq}.000100`;
        messages.set(ts, { channel: body.channel as string, text: (typeof body.text === 'string' ? body.text : ''), blocks: (body.blocks as unknown[]) ?? [], ...(typeof body.thread_ts === 'string' && { threadTs: body.thread_ts }) });
        return ok({ channel: body.channel, ts, message: {} });
      }
      case 'chat.update': {
        const m = typeof body.ts === 'string' ? messages.get(body.ts) : undefined;
        if (!m || m.channel !== body.channel) return err('message_not_found');
        if (archived.has(m.channel)) return err('is_archived');
        const bad = checkBlocks(body.blocks);
        if (bad) return err(bad);
        Object.assign(m, { text: (typeof body.text === 'string' ? body.text : ''), blocks: (body.blocks as unknown[]) ?? [] });
        return ok({ channel: body.channel, ts: body.ts });
      }
      case 'views.open':
        return typeof body.trigger_id === 'string' && body.view ? ok({ view: { id: 'V0DENY' } }) : err('invalid_arguments');
      case 'users.info': {
        const id = String(body.user);
        const name = options.names?.[id];
        const locale = String(body.include_locale) === 'true' ? { locale: options.locales?.[id] ?? 'en-US' } : {};
        const email = options.emails?.[id] ? { email: options.emails[id] } : {};
        return name ? ok({ user: { id, name: name.toLowerCase(), real_name: name, profile: { display_name: name, real_name: name, ...email }, ...locale } }) : err('user_not_found');
      }
      case 'views.publish': {
        const bad = checkPublish(body);
        return bad ? err(bad) : ok({ view: { id: `V0HOME${++seq}`, type: 'home' } });
      }
      case 'usergroups.users.list':
        return ok({ users: options.groups?.[String(body.usergroup)] ?? [] });
      default:
        return err('unknown_method');
    }
  };

  const respond = (id: string, body: Record<string, unknown>): { status: number; answer: Record<string, unknown>; headers?: Record<string, string> } => {
    const use = responseUses.get(id) ?? { first: clock, uses: 0 };
    responseUses.set(id, use);
    if (clock - use.first > 30 * 60_000) return { status: 404, answer: { ok: false, error: 'expired_url' } };
    if (use.uses >= 5) return { status: 404, answer: { ok: false, error: 'used_url' } };
    const bad = checkBlocks(body.blocks);
    if (bad) return { status: 400, answer: { ok: false, error: bad } };
    use.uses++;
    return { status: 200, answer: { ok: true } };
  };

  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const isRespond = path.startsWith('/respond/');
      const method = isRespond ? 'respond' : path.replace(/^\/api\//, '');
      const call: ApiCall = { method, body: decode(Buffer.concat(chunks).toString('utf8'), req.headers['content-type']), at: Date.now() };
      if (isRespond) call.body.response_url_id = path.slice('/respond/'.length);
      calls.push(call);
      if (outage === 'reset') {
        req.socket.destroy();
        return;
      }
      if (outage === 'hang') {
        hung.add(res);
        return;
      }
      if (outage === 'http500') {
        call.status = 500;
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end('internal server error');
        return;
      }
      const { status, answer, headers } = isRespond ? respond(path.slice('/respond/'.length), call.body) : webApi(method, call.body);
      call.status = status;
      call.response = answer;
      res.writeHead(status, { 'content-type': 'application/json', ...headers });
      res.end(JSON.stringify(answer));
    });
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;

  const stand: SlackStandIn = {
    url: `${base}/api/`,
    calls,
    of: (method) => calls.filter((c) => c.method === method),
    responseUrl: (kind = 'commands') => `${base}/respond/${kind}-${++urls}`,
    invite: (channel) => void members.add(channel),
    remove: (channel) => void members.delete(channel),
    deleteMessage: (ts) => void messages.delete(ts),
    failNext(method, error) {
      failures.set(method, [...(failures.get(method) ?? []), error]);
    },
    rateLimitNext(method, seconds, times = 1) {
      limits.set(method, { seconds, times });
    },
    setOutage(next) {
      outage = next;
      if (!next) {
        for (const res of hung) res.socket?.destroy();
        hung.clear();
      }
    },
    advance: (ms) => void (clock += ms),
    socketUrl: options.socketUrl,
    messages,
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hung) res.socket?.destroy();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  return stand;
}
