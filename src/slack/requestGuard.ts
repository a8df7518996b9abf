// In front of Bolt's HTTPReceiver: every request to the Slack endpoint is read, its signature and timestamp
// checked, and its body checked to be a payload lync-exo can handle, before Bolt sees it. Bolt 5.1 reads
// `body.ssl_check` outside any handler, so a signed body whose payload is JSON `null` ends the process; and it
// refuses stale timestamps but not ones in the future. Here:
//   - no signature, a bad one, or a timestamp more than 5 minutes from now (either way): 401;
//   - a body that is not a well-formed payload (null, an array, a string, a number, missing fields): 400;
//   - what passes goes to Bolt with the body already read (Bolt's own signature check is off: this one is it).
// The check is pure (`checkSlackRequest` takes the clock), so tests need no real time.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { parse as parseQuery } from 'node:querystring';

/** Slack's own limit on how far a request's timestamp may be from now. */
export const MAX_SKEW_SECONDS = 5 * 60;
const BODY_LIMIT = 4 * 1024 * 1024;

export type RequestCheck = { ok: true; body: Record<string, unknown> } | { ok: false; status: 400 | 401 | 413; reason: string };

export interface SlackRequest {
  rawBody: string;
  contentType: string | undefined;
  signature: string | undefined;
  timestamp: string | undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** The shape each surface must have for lync-exo's listeners (and Bolt's own routing) to read it safely. */
export function checkPayload(body: unknown): string | undefined {
  if (!isObject(body)) return `the payload is ${body === null ? 'null' : Array.isArray(body) ? 'an array' : `a ${typeof body}`}, not an object`;
  if (str(body.command)) {
    for (const f of ['user_id', 'channel_id', 'team_id']) if (!str(body[f])) return `a slash command without ${f}`;
    if (body.text !== undefined && typeof body.text !== 'string') return 'a slash command whose text is not a string';
    return undefined;
  }
  if (!str(body.type)) return 'a payload without a type';
  switch (body.type) {
    case 'block_actions':
      if (!isObject(body.user) || !str(body.user.id)) return 'block_actions without a user';
      if (!Array.isArray(body.actions) || body.actions.length === 0 || !body.actions.every((a) => isObject(a) && str(a.action_id))) return 'block_actions without actions';
      if (body.team !== undefined && body.team !== null && !isObject(body.team)) return 'block_actions with a malformed team';
      return undefined;
    case 'view_submission':
    case 'view_closed':
      if (!isObject(body.user) || !str(body.user.id)) return `${body.type} without a user`;
      if (!isObject(body.view) || !str(body.view.callback_id) || typeof body.view.private_metadata !== 'string') return `${body.type} without a view`;
      if (!isObject(body.view.state) || !isObject(body.view.state.values)) return `${body.type} without state`;
      return undefined;
    case 'url_verification':
      return str(body.challenge) ? undefined : 'url_verification without a challenge';
    case 'event_callback':
      return isObject(body.event) && str(body.event.type) ? undefined : 'event_callback without an event';
    default:
      return `a payload of type ${body.type.slice(0, 40)}, which lync-exo does not handle`;
  }
}

/** Signature, timestamp (stale or future), then the body: what Slack sent, or why it is refused. */
export function checkSlackRequest(req: SlackRequest, signingSecret: string, nowMs: number): RequestCheck {
  // Slack's SSL check comes unsigned and carries nothing; Bolt answers it (and strips anything else)
  // (the substring test first: parsing every form twice showed in the ack's profile)
  if (req.rawBody.includes('ssl_check=') && req.contentType?.startsWith('application/x-www-form-urlencoded') && parseQuery(req.rawBody).ssl_check === '1') return { ok: true, body: { ssl_check: '1' } };
  if (!req.signature || !req.timestamp) return { ok: false, status: 401, reason: 'no signature' };
  if (!/^\d{1,12}$/.test(req.timestamp)) return { ok: false, status: 401, reason: 'a malformed timestamp' };
  const skew = Math.floor(nowMs / 1000) - Number(req.timestamp);
  if (skew > MAX_SKEW_SECONDS) return { ok: false, status: 401, reason: `a stale timestamp (${skew} s old)` };
  if (skew < -MAX_SKEW_SECONDS) return { ok: false, status: 401, reason: `a timestamp ${-skew} s in the future` };
  const expected = Buffer.from(`v0=${createHmac('sha256', signingSecret).update(`v0:${req.timestamp}:${req.rawBody}`).digest('hex')}`);
  const given = Buffer.from(req.signature);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, status: 401, reason: 'a bad signature' };
  let body: unknown;
  try {
    if (req.contentType?.split(';')[0]?.trim() === 'application/x-www-form-urlencoded') {
      const form = parseQuery(req.rawBody);
      body = typeof form.payload === 'string' ? JSON.parse(form.payload) : Array.isArray(form.payload) ? form.payload : form;
    } else body = JSON.parse(req.rawBody);
  } catch {
    return { ok: false, status: 400, reason: 'a body that is not JSON or a form' };
  }
  const wrong = checkPayload(body);
  return wrong ? { ok: false, status: 400, reason: wrong } : { ok: true, body: body as Record<string, unknown> };
}

export interface GuardOptions {
  signingSecret: string;
  endpoints: string[];
  now?: () => number;
  /** a refused request, for the log: no body, no headers (they are unauthenticated) */
  onRefused?: (status: number, reason: string) => void;
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > BODY_LIMIT) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Wraps a receiver's request listener (HTTPReceiver.requestListener) with the checks above. */
export function guardRequests(listener: RequestListener, options: GuardOptions): RequestListener {
  const now = options.now ?? Date.now;
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    options.onRefused?.(status, reason);
    if (!res.headersSent) res.writeHead(status);
    res.end();
  };
  return (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (req.method !== 'POST' || !options.endpoints.includes(path)) return listener(req, res);
    void (async () => {
      const raw = await readBody(req);
      if (!raw) return refuse(res, 413, 'a body over 4 MB');
      const header = (name: string) => {
        const v = req.headers[name];
        return typeof v === 'string' ? v : undefined;
      };
      const checked = checkSlackRequest({ rawBody: raw.toString('utf8'), contentType: header('content-type'), signature: header('x-slack-signature'), timestamp: header('x-slack-request-timestamp') }, options.signingSecret, now());
      if (!checked.ok) return refuse(res, checked.status, checked.reason);
      // Bolt reads a body already read from `rawBody` (BufferedIncomingMessage)
      (req as IncomingMessage & { rawBody?: Buffer }).rawBody = raw;
      listener(req, res);
    })().catch((err: unknown) => {
      options.onRefused?.(400, `reading the request: ${(err as Error).message}`);
      if (!res.headersSent) res.writeHead(400);
      res.end();
    });
  };
}
