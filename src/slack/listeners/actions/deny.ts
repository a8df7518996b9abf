// Deny opens a modal that asks why, but only for someone who may deny; the trigger_id lives 3 seconds, so the
// modal opens right after the check. The click's response_url goes with the modal, so the outcome reaches the
// person wherever they clicked.
import type { AllMiddlewareArgs, BlockButtonAction, SlackActionMiddlewareArgs } from '@slack/bolt';
import { denyModal } from '../../blocks/denyModal.js';
import { guard } from '../guard.js';
import { replyFor } from '../reply.js';
import type { ListenerDeps } from '../types.js';

export function denyAction(deps: ListenerDeps) {
  return async ({ ack, body, action, client }: SlackActionMiddlewareArgs<BlockButtonAction> & AllMiddlewareArgs): Promise<void> => {
    await ack();
    const requestId = action.value ?? '';
    const channel = body.channel?.id ?? (body.container?.channel_id as string | undefined);
    const log = deps.log.child({ surface: 'deny', user: body.user.id, channel, requestId });
    const reply = replyFor(deps, client, { user: body.user.id, channel, responseUrl: body.response_url });
    await guard(log, reply, { user: body.user.id, channel }, { log: `opening the denial form for ${requestId}`, key: 'doing.deny-form', values: { requestId } }, deps.languages, async () => {
      if (!channel) throw new Error(`deny ${requestId}: the click came without a channel`);
      const may = await deps.service.mayDeny({ user: body.user.id, channel }, requestId);
      if (!may.ok) return reply({ kind: 'notice', notice: may.error });
      await client.views.open({ trigger_id: body.trigger_id, view: denyModal({ requestId, channel, ...(body.response_url ? { responseUrl: body.response_url } : {}) }, await deps.languages.forUser(body.user.id)) }).catch((err: unknown) => {
        deps.onApiError?.('views.open', err);
        throw err;
      });
    });
  };
}
