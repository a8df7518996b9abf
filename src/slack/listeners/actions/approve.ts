// Approve (after Slack's confirm dialog): ack, then the core's compare-and-set decides; a repeat is harmless.
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { guard } from '../guard.js';
import { replyFor } from '../reply.js';
import type { ListenerDeps } from '../types.js';

export function approveAction(deps: ListenerDeps) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const requestId = action.value ?? '';
    const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
    const log = deps.log.child({ surface: 'approve', user: body.user.id, channel, requestId });
    const reply = replyFor(deps, client, { user: body.user.id, channel, responseUrl: body.response_url });
    await guard(log, reply, { user: body.user.id, channel }, { log: `the approval of ${requestId}`, key: 'doing.approve', values: { requestId } }, deps.languages, async () => {
      if (!channel) throw new Error(`approve ${requestId}: the click came without a channel`);
      await deps.service.approve({ user: body.user.id, channel, reply }, requestId);
    });
  };
}
