// Payload builders for the three Slack surfaces lync-exo listens to, shaped as Slack delivers them.
import { ACTIONS, DENY_INPUT, VIEWS } from '../../../src/slack/ids.js';

export const TEAM = 'T0CONTOSO';
export const APP_ID = 'A0LYNCEXO';

export interface SlashCommand {
  user: string;
  channel: string;
  text: string;
  command?: string;
  /** where the bot answers this command (the stand-in's, in tests that read the answers) */
  responseUrl?: string;
}

export function slashCommandFields(c: SlashCommand): Record<string, string> {
  return {
    token: 'verification-token-unused',
    team_id: TEAM,
    team_domain: 'contoso',
    channel_id: c.channel,
    channel_name: 'lync-ops',
    user_id: c.user,
    user_name: c.user.toLowerCase(),
    command: c.command ?? '/lync-exo',
    text: c.text,
    api_app_id: APP_ID,
    is_enterprise_install: 'false',
    response_url: c.responseUrl ?? `https://hooks.slack.com/commands/${TEAM}/1/abc`,
    trigger_id: `trigger-${c.user}`,
  };
}

export const slashCommandBody = (c: SlashCommand): string => new URLSearchParams(slashCommandFields(c)).toString();

export interface Click {
  user: string;
  channel: string;
  requestId: string;
  messageTs?: string;
  responseUrl?: string;
}

export function blockAction(click: Click, which: keyof typeof ACTIONS): Record<string, unknown> {
  return {
    type: 'block_actions',
    team: { id: TEAM, domain: 'contoso' },
    user: { id: click.user, username: click.user.toLowerCase(), team_id: TEAM },
    api_app_id: APP_ID,
    token: 'verification-token-unused',
    container: { type: 'message', message_ts: click.messageTs ?? '1.000', channel_id: click.channel, is_ephemeral: false },
    trigger_id: `trigger-${click.user}`,
    channel: { id: click.channel, name: 'lync-ops' },
    message: { type: 'message', ts: click.messageTs ?? '1.000', text: 'plan' },
    response_url: click.responseUrl ?? `https://hooks.slack.com/actions/${TEAM}/1/abc`,
    actions: [
      {
        type: 'button',
        action_id: ACTIONS[which],
        block_id: 'decision',
        text: { type: 'plain_text', text: which === 'approve' ? 'Approve' : 'Deny' },
        value: click.requestId,
        action_ts: '1740823500.000100',
      },
    ],
  };
}

export interface DenySubmission {
  user: string;
  channel: string;
  requestId: string;
  reason: string;
}

export function viewSubmission(s: DenySubmission, privateMetadata = JSON.stringify({ requestId: s.requestId, channel: s.channel })): Record<string, unknown> {
  return {
    type: 'view_submission',
    team: { id: TEAM, domain: 'contoso' },
    user: { id: s.user, username: s.user.toLowerCase(), team_id: TEAM },
    api_app_id: APP_ID,
    token: 'verification-token-unused',
    trigger_id: `trigger-${s.user}`,
    view: {
      id: 'V0DENY',
      team_id: TEAM,
      type: 'modal',
      callback_id: VIEWS.denyReason,
      private_metadata: privateMetadata,
      hash: 'h',
      title: { type: 'plain_text', text: 'Deny the request' },
      blocks: [],
      state: { values: { [DENY_INPUT.block]: { [DENY_INPUT.action]: { type: 'plain_text_input', value: s.reason } } } },
      app_id: APP_ID,
      bot_id: 'B0LYNCEXO',
    },
    response_urls: [],
  };
}

export const interactiveBody = (payload: Record<string, unknown>): string => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
