// Which deliveries from Slack were taken already, so a retry is dropped wherever it lands. Its own module, apart
// from the store's flow: a front end records deliveries itself (src/slack/listeners/deliveries.ts), while only the
// service may touch requests and runs.

/** Which deliveries from Slack were taken already (a retry that reaches another instance is recognised). */
export interface DeliveryStore {
  /**
   * Records `key` (a digest, never a raw value) as taken at `nowMs` and returns true, unless it was taken within
   * `windowMs` before (false). Older records are forgotten.
   */
  deliveryTake(key: string, nowMs: number, windowMs: number): Promise<boolean>;
}

/** Deliveries in memory, for one process. */
export function memoryDeliveries(): DeliveryStore {
  /** key → when taken, oldest first */
  const taken = new Map<string, number>();
  return {
    async deliveryTake(key, nowMs, windowMs) {
      for (const [k, at] of taken) {
        if (nowMs - at < windowMs) break;
        taken.delete(k);
      }
      const at = taken.get(key);
      if (at !== undefined && nowMs - at < windowMs) return false;
      taken.delete(key);
      taken.set(key, nowMs);
      return true;
    },
  };
}
