// Every listener runs inside this: an error becomes a log line with an id and a short reply that quotes the id
// (through the response_url, so it reaches the person wherever they clicked), so the person knows and the
// operator can find it. Never swallowed silently.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Reply } from '../../core/ports.js';
import { slackErrorText } from '../notifier.js';

export interface Who {
  user: string;
  channel: string | undefined;
}

export async function guard(logger: Logger | (() => Logger), reply: Reply, who: Who, what: string, work: () => Promise<void>): Promise<void> {
  try {
    await work();
  } catch (err) {
    const log = typeof logger === 'function' ? logger() : logger;
    const errorId = `e-${randomBytes(3).toString('hex')}`;
    log.error({ err, errorId, user: who.user, channel: who.channel }, `${what}: ${slackErrorText(err)}`);
    try {
      await reply({
        kind: 'text',
        text: `:warning: lync-exo could not finish ${what} (error id \`${errorId}\`); nothing more happens until someone looks. Share the id with the lync-exo operators.`,
      });
    } catch (again) {
      log.error({ err: again, errorId, user: who.user, channel: who.channel }, `${what}: telling the user about error ${errorId}: ${slackErrorText(again)}`);
    }
  }
}
