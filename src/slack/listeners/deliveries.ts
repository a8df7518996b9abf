// Slack delivers an event again when it thinks the first went unanswered (x-slack-retry-num over HTTP, retry_attempt
// in Socket Mode), and with several instances the retry may reach another one. Whether a delivery was taken already
// is one record in the store, so every instance recognises it for 5 minutes. Only a digest is kept, never the
// payload or the id it came with. Both the slash command (by its trigger_id) and the interactions (by the whole
// payload) ask here.
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import { memoryDeliveries, type DeliveryStore } from '../../core/deliveries.js';

/** How long a delivery is remembered: Slack's retries come within minutes. */
export const REPEAT_WINDOW_MS = 5 * 60_000;

export type DeliveryKind = 'command' | 'interaction';

/** true: the first time this delivery is taken (recorded now); false: an instance took it already. */
export type FirstDelivery = (kind: DeliveryKind, identity: string) => Promise<boolean>;

export function firstDelivery(store: DeliveryStore = memoryDeliveries(), log?: Logger, now: () => number = Date.now): FirstDelivery {
  return async (kind, identity) => {
    const key = `${kind}:${createHash('sha256').update(identity).digest('hex')}`;
    try {
      return await store.deliveryTake(key, now(), REPEAT_WINDOW_MS);
    } catch (err) {
      // the store is away: a possible repeat is the lesser harm (decisions are compare-and-set anyway) than a
      // command or click dropped without a word
      log?.warn({ err: (err as Error)?.message, kind }, 'slack: could not check whether a delivery was taken already; taking it');
      return true;
    }
  };
}
