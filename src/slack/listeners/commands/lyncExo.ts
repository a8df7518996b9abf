// The slash command: ack at once (Slack waits 3 seconds at most), then hand the decoded text to the core, with a
// reply that goes through the command's response_url (it works in any channel or DM).
import type { AllMiddlewareArgs, SlackCommandMiddlewareArgs } from '@slack/bolt';
import { esc } from '../../blocks/kit.js';
import { decodeSlackText } from '../../decode.js';
import { guard } from '../guard.js';
import { replyFor } from '../reply.js';
import type { ListenerDeps } from '../types.js';

export function lyncExoCommand(deps: ListenerDeps) {
  return async ({ ack, command, client, context }: SlackCommandMiddlewareArgs & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const text = decodeSlackText(command.text ?? '');
    // the child logger is made only when a line is written (a retry, an error): not on every command
    let child: typeof deps.log | undefined;
    const log = () => (child ??= deps.log.child({ surface: 'command', user: command.user_id, channel: command.channel_id, text }));
    // A retry (x-slack-retry-num over HTTP, retry_attempt in Socket Mode) of a delivery an instance already took
    // would plan and post a second request; it is dropped. A retry whose first delivery never arrived still runs.
    const trigger = command.trigger_id;
    if (trigger && !(await deps.firstDelivery('command', trigger)) && context.retryNum) {
      log().info({ retryNum: context.retryNum, retryReason: context.retryReason }, 'slash command: ignored a retried delivery already taken');
      return;
    }
    const reply = replyFor(deps, client, { user: command.user_id, channel: command.channel_id, responseUrl: command.response_url });
    const actor = { user: command.user_id, channel: command.channel_id, reply };
    const typed = `${deps.command} ${text}`.slice(0, 200);
    await guard(log, reply, actor, { log: `\`${esc(typed)}\``, key: 'doing.command', values: { typed } }, deps.languages, () => deps.service.command(actor, text));
  };
}
