// The modal a Deny click opens: a required reason. private_metadata carries the request and the channel back.
import type { types } from '@slack/bolt';
import { DENY_INPUT, VIEWS } from '../ids.js';

export interface DenyMetadata {
  requestId: string;
  channel: string;
  /** the Deny click's response_url: the outcome is answered there */
  responseUrl?: string;
}

export function denyModal(meta: DenyMetadata): types.ModalView {
  return {
    type: 'modal',
    callback_id: VIEWS.denyReason,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: 'Deny the request' },
    submit: { type: 'plain_text', text: 'Deny' },
    close: { type: 'plain_text', text: 'Cancel' },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `Deny request \`${meta.requestId}\`? The reason is posted in the channel with the plan.` } },
      {
        type: 'input',
        block_id: DENY_INPUT.block,
        label: { type: 'plain_text', text: 'Reason' },
        element: { type: 'plain_text_input', action_id: DENY_INPUT.action, multiline: true, min_length: 1, max_length: 500 },
      },
    ],
  };
}

/** The metadata back from a submission, or undefined when it is not ours. */
export function readDenyMetadata(raw: string): DenyMetadata | undefined {
  try {
    const v = JSON.parse(raw) as Partial<DenyMetadata>;
    if (typeof v.requestId !== 'string' || typeof v.channel !== 'string') return undefined;
    // private_metadata comes back only inside a request signed by Slack
    const responseUrl = typeof v.responseUrl === 'string' && /^https?:\/\//.test(v.responseUrl) ? v.responseUrl : undefined;
    return { requestId: v.requestId, channel: v.channel, ...(responseUrl ? { responseUrl } : {}) };
  } catch {
    return undefined;
  }
}
