// A byte-identical delivery of an interaction (Slack retrying a click it thinks went unanswered, or a replay)
// repeated within 5 minutes, on this instance or another, is acked and dropped: it acts once. Keyed on a digest of
// the whole payload, which includes the click's action_ts and trigger_id, so two real clicks never look alike.
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { Logger } from 'pino';
import type { FirstDelivery } from './deliveries.js';

export function oncePerDelivery(log: Logger, first: FirstDelivery): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const body = args.body as { type?: unknown };
    if (body.type !== 'block_actions' && body.type !== 'view_submission') return args.next();
    if (!(await first('interaction', JSON.stringify(body)))) {
      log.info({ type: body.type, retryNum: args.context.retryNum }, 'interaction: dropped a repeated delivery already taken');
      if ('ack' in args && typeof args.ack === 'function') await (args.ack)();
      return;
    }
    return args.next();
  };
}
