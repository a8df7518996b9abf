// A byte-identical delivery of an interaction (Slack retrying a click it thinks went unanswered, or a replay)
// repeated within 5 minutes is acked and dropped: it acts once. Keyed on a digest of the whole payload, which
// includes the click's action_ts and trigger_id, so two real clicks never look alike.
import { createHash } from 'node:crypto';
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from 'pino';

export const REPEAT_WINDOW_MS = 5 * 60_000;

export function oncePerDelivery(log: Logger, now: () => number = Date.now): Middleware<AnyMiddlewareArgs> {
  const seen = new Map<string, number>();
  return async (args) => {
    const body = args.body as { type?: unknown };
    if (body.type !== 'block_actions' && body.type !== 'view_submission') return args.next();
    const t = now();
    for (const [k, at] of seen) {
      if (t - at < REPEAT_WINDOW_MS) break;
      seen.delete(k);
    }
    const key = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    if (seen.has(key)) {
      log.info({ type: body.type, retryNum: args.context.retryNum }, 'interaction: dropped a repeated delivery already taken');
      if ('ack' in args && typeof args.ack === 'function') await (args.ack)();
      return;
    }
    seen.set(key, t);
    return args.next();
  };
}
