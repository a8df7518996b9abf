// Every listener runs inside this: an error becomes a log line with an id and a short reply that quotes the id
// (through the response_url, so it reaches the person wherever they clicked), so the person knows and the
// operator can find it. Never swallowed silently.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Reply } from '../../core/ports.js';
import type { MessageKey, Words } from '../../i18n/index.js';
import type { SlackLanguages } from '../language.js';
import { slackErrorText } from '../notifier.js';

/** What the listener was doing: for the log (English), and for the person (a message of the catalogue). */
export interface Doing {
  log: string;
  key: MessageKey;
  values?: Record<string, string>;
}

export interface Who {
  user: string;
  channel: string | undefined;
}

export async function guard(logger: Logger | (() => Logger), reply: Reply, who: Who, what: Doing, languages: SlackLanguages, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const log = typeof logger === 'function' ? logger() : logger;
    const errorId = `e-${randomBytes(3).toString('hex')}`;
    log.error({ err, errorId, user: who.user, channel: who.channel }, `${what.log}: ${slackErrorText(err)}`);
    try {
      const w: Words = await languages.forUser(who.user);
      await reply({ kind: 'text', text: w.raw('error.listener', { what: w.t(what.key, what.values), errorId }) });
    } catch (again) {
      log.error({ err: again, errorId, user: who.user, channel: who.channel }, `${what.log}: telling the user about error ${errorId}: ${slackErrorText(again)}`);
    }
  }
}
