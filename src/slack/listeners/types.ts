import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Reply } from '../../core/ports.js';
import type { LyncExoService } from '../../core/service.js';
import type { HomeSource } from '../../home.js';
import type { SlackLanguages } from '../language.js';
import type { ReplyTarget, ResponseUrlBudget } from '../reply.js';
import type { FirstDelivery } from './deliveries.js';

/** The calls the Slack adapter makes into the core. */
export type SlackService = Pick<LyncExoService, 'command' | 'approve' | 'deny' | 'mayDeny'>;

export interface ListenerDeps {
  service: SlackService;
  log: Logger;
  /** the slash command registered, e.g. /lync-exo */
  command: string;
  /** response_url uses, shared by every listener */
  budget: ResponseUrlBudget;
  /** each person's language (users.info locale), the policy's for channels */
  languages: SlackLanguages;
  /** what the App Home tab shows a person; without it the tab is left as Slack draws it */
  home?: HomeSource;
  /** whether a delivery was taken already, by any instance (a Slack retry) */
  firstDelivery: FirstDelivery;
  /** tests: the fetch the response_url answers go through */
  fetch?: typeof fetch;
  /** told of every Web API call a listener makes that fails */
  onApiError?: ApiErrorHook;
}

/** A failed Web API call, by method (metrics count them by Slack's error code). */
export type ApiErrorHook = (method: string, err: unknown) => void;

export type ReplyFor = (client: webApi.WebClient, target: ReplyTarget) => Reply;
