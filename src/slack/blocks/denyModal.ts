// The modal a Deny click opens: a required reason. private_metadata carries the request and the channel back.
import type { types } from '@slack/bolt';
import type { Words } from '../../i18n/index.js';
import { DENY_INPUT, VIEWS } from '../ids.js';
import { ENGLISH } from './kit.js';

export interface DenyMetadata {
  requestId: string;
  channel: string;
  /** the Deny click's response_url: the outcome is answered there */
  responseUrl?: string;
}

export function denyModal(meta: DenyMetadata, w: Words = ENGLISH): types.ModalView {
  return {
    type: 'modal',
    callback_id: VIEWS.denyReason,
    private_metadata: JSON.stringify(meta),
    title: { type: 'plain_text', text: w.t('deny.title') },
    submit: { type: 'plain_text', text: w.t('button.deny') },
    close: { type: 'plain_text', text: w.t('deny.cancel') },
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: w.t('deny.question', { requestId: meta.requestId }) } },
      {
        type: 'input',
        block_id: DENY_INPUT.block,
        label: { type: 'plain_text', text: w.t('deny.reason') },
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
