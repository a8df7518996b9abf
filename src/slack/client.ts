// The options every Slack WebClient here gets.
import type { webApi } from '@slack/bolt';

/** Every Web API call has a bound; a hung Slack costs this long, not the WebClient's default of none. */
export const WEB_API_TIMEOUT_MS = 10_000;

/**
 * The options every WebClient here gets: a request timeout, no retries of its own (the outbox retries, off the
 * run's path; the WebClient's default is about 30 minutes of retries), and a 429 thrown at once with its
 * Retry-After, so the outbox can honour it instead of the call sleeping inside a run.
 */
export function boundedClientOptions(clientOptions: webApi.WebClientOptions = {}): webApi.WebClientOptions {
  return { timeout: WEB_API_TIMEOUT_MS, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true, ...clientOptions };
}
