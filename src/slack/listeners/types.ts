import type { Logger } from 'pino';
import type { LyncExoService } from '../../core/service.js';

/** The three calls the Slack adapter makes into the core. */
export type SlackService = Pick<LyncExoService, 'command' | 'approve' | 'deny'>;

export interface ListenerDeps {
  service: SlackService;
  log: Logger;
  /** the slash command registered, e.g. /lync-exo */
  command: string;
}
