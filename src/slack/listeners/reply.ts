// The Reply a listener hands the core: the interaction's response_url, then an ephemeral message.
import type { webApi } from '@slack/bolt';
import type { Reply } from '../../core/ports.js';
import { slackReply, type ReplyTarget } from '../reply.js';
import type { ListenerDeps } from './types.js';

export function replyFor(deps: ListenerDeps, client: webApi.WebClient, target: ReplyTarget): Reply {
  return slackReply({ client, log: deps.log, budget: deps.budget, render: { command: deps.command }, languages: deps.languages, ...(deps.fetch ? { fetch: deps.fetch } : {}), ...(deps.onApiError ? { onApiError: deps.onApiError } : {}) }, target);
}
