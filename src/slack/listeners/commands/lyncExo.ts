// The slash command: ack at once (Slack waits 3 seconds at most), then hand the text to the core.
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { esc } from '../../blocks/kit.js';
import { guard } from '../guard.js';
import type { ListenerDeps } from '../types.js';

export function lyncExoCommand(deps: ListenerDeps) {
  return async ({ ack, command, client }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const log = deps.log.child({ surface: 'command', user: command.user_id, channel: command.channel_id, text: command.text });
    const actor = { user: command.user_id, channel: command.channel_id };
    await guard(log, client, actor, `\`${esc(`${deps.command} ${command.text}`.slice(0, 200))}\``, () => deps.service.command(actor, command.text));
  };
}
