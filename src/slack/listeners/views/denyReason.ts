// The denial form submitted: an empty reason is answered in the form itself; otherwise ack and let the core decide.
import type { AllMiddlewareArgs, SlackViewMiddlewareArgs, ViewSubmitAction } from '@slack/bolt';
import { readDenyMetadata } from '../../blocks/denyModal.js';
import { DENY_INPUT } from '../../ids.js';
import { guard } from '../guard.js';
import { replyFor } from '../reply.js';
import type { ListenerDeps } from '../types.js';

export function denyReasonView(deps: ListenerDeps) {
  return async ({ ack, body, view, client }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs): Promise<void> => {
    const reason = view.state.values[DENY_INPUT.block]?.[DENY_INPUT.action]?.value?.trim() ?? '';
    const meta = readDenyMetadata(view.private_metadata);
    if (!reason) {
      // the form must be answered within 3 seconds: a cached locale, or the policy's language
      await ack({ response_action: 'errors', errors: { [DENY_INPUT.block]: (await deps.languages.forUser(body.user.id)).t('deny.say-why') } });
      return;
    }
    await ack();
    const log = deps.log.child({ surface: 'deny-reason', user: body.user.id, channel: meta?.channel, requestId: meta?.requestId });
    const reply = replyFor(deps, client, { user: body.user.id, channel: meta?.channel, ...(meta?.responseUrl ? { responseUrl: meta.responseUrl } : {}) });
    await guard(log, reply, { user: body.user.id, channel: meta?.channel }, { log: `the denial of ${meta?.requestId ?? 'a request'}`, key: 'doing.deny', values: { requestId: meta?.requestId ?? '?' } }, deps.languages, async () => {
      if (!meta) throw new Error(`deny form: private_metadata is not ours: ${view.private_metadata.slice(0, 80)}`);
      await deps.service.deny({ user: body.user.id, channel: meta.channel, reply }, meta.requestId, reason);
    });
  };
}
