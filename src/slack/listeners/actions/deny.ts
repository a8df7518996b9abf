// Deny opens a modal that asks why; the trigger_id lives 3 seconds, so the modal opens right after the ack.
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { denyModal } from '../../blocks/denyModal.js';
import { guard } from '../guard.js';
import type { ListenerDeps } from '../types.js';

export function denyAction(deps: ListenerDeps) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const requestId = action.value ?? '';
    const channel = body.channel?.id ?? body.container?.channel_id as string | undefined;
    const log = deps.log.child({ surface: 'deny', user: body.user.id, channel, requestId });
    await guard(log, client, { user: body.user.id, channel }, `opening the denial form for ${requestId}`, async () => {
      if (!channel) throw new Error(`deny ${requestId}: the click came without a channel`);
      await client.views.open({ trigger_id: body.trigger_id, view: denyModal({ requestId, channel }) });
    });
  };
}
