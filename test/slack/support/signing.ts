// Signed requests as Slack sends them: v0=HMAC-SHA256(secret, "v0:{timestamp}:{raw body}").
import { createHmac } from 'node:crypto';

export const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

export function signature(secret: string, timestamp: number, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
}

export interface SendOptions {
  /** seconds since the epoch; default now */
  timestamp?: number;
  secret?: string;
  /** false: no signature header at all */
  signed?: boolean;
  headers?: Record<string, string>;
}

/** POSTs a form body to the receiver, signed unless told otherwise. */
export async function send(url: string, body: string, options: SendOptions = {}): Promise<{ status: number; text: string }> {
  const timestamp = options.timestamp ?? Math.floor(Date.now() / 1000);
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-slack-request-timestamp': String(timestamp),
    ...options.headers,
  };
  if (options.signed !== false) headers['x-slack-signature'] = signature(options.secret ?? SIGNING_SECRET, timestamp, body);
  const res = await fetch(url, { method: 'POST', headers, body });
  return { status: res.status, text: await res.text() };
}
