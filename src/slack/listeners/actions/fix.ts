// A drift report's button: plans the change that puts the deployment right, as if the person had typed it (the
// policy's checks apply: who may request, where, with which change reference). The plan is posted for approval.
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { guard } from '../guard.js';
import { replyFor } from '../reply.js';
import type { ListenerDeps } from '../types.js';

export function fixAction(deps: ListenerDeps) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const line = action.value ?? '';
    const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
    const log = deps.log.child({ surface: 'fix', user: body.user.id, channel, line });
    const reply = replyFor(deps, client, { user: body.user.id, channel, responseUrl: body.response_url });
    const typed = `${deps.command} ${line}`.slice(0, 200);
    await guard(log, reply, { user: body.user.id, channel }, { log: `the fix \`${typed}\``, key: 'doing.command', values: { typed } }, deps.languages, async () => {
      if (!channel) throw new Error(`fix ${line}: the click came without a channel`);
      await deps.service.command({ user: body.user.id, channel, reply }, line);
    });
  };
}
