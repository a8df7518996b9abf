// One error vocabulary, in the manner of Bolt's coded errors: every error lync-exo throws is a LyncExoError with a
// code, so a caller decides by the code, never by the text. And one result type for everything that may refuse:
// `{ ok: true, value }` or `{ ok: false, error }` with the notice that says why.
import type { Notice } from './notices.js';

export type ErrorCode =
  /** a config file or runbook that cannot be used (names the file and field): ConfigError */
  | 'config_invalid'
  /** a message could not be delivered (NotifierError says what the delivery problem was) */
  | 'delivery_failed'
  /** a database that cannot be opened or used (StoreError, src/store/) */
  | 'store_is_directory'
  | 'store_unwritable'
  | 'store_not_a_database'
  | 'store_corrupt'
  | 'store_schema_newer'
  | 'store_open_failed'
  /** another lync-exo holds the store's instance lock */
  | 'store_in_use'
  /** another instance took this one's run over (its heartbeats were missed for the lease): it records no more of it */
  | 'store_run_taken_over'
  /** something the code relies on does not hold (a runbook a request names is not loaded) */
  | 'internal';

export class LyncExoError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'LyncExoError';
  }
}

export function isLyncExoError(err: unknown, code?: ErrorCode): err is LyncExoError {
  return err instanceof LyncExoError && (code === undefined || err.code === code);
}

/** What may refuse: the value (none for a plain yes), or the notice that says why not. */
export type Result<T = undefined> = ([T] extends [undefined] ? { ok: true; value?: undefined } : { ok: true; value: T }) | { ok: false; error: Notice };

export const refusal = (error: Notice): { ok: false; error: Notice } => ({ ok: false, error });
