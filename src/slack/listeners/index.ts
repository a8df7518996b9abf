// One registration per Slack surface; each handler lives in its own file.
import type { App, BlockButtonAction, ViewSubmitAction } from '@slack/bolt';
import { ACTIONS, VIEWS } from '../ids.js';
import { approveAction } from './actions/approve.js';
import { denyAction } from './actions/deny.js';
import { fixAction } from './actions/fix.js';
import { lyncExoCommand } from './commands/lyncExo.js';
import { appHomeOpened } from './events/appHome.js';
import type { ListenerDeps } from './types.js';
import { denyReasonView } from './views/denyReason.js';

export function registerListeners(app: App, deps: ListenerDeps): void {
  app.command(deps.command, lyncExoCommand(deps));
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTIONS.approve }, approveAction(deps));
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTIONS.deny }, denyAction(deps));
  app.action<BlockButtonAction>({ type: 'block_actions', action_id: ACTIONS.fix }, fixAction(deps));
  app.view<ViewSubmitAction>({ type: 'view_submission', callback_id: VIEWS.denyReason }, denyReasonView(deps));
  app.event('app_home_opened', appHomeOpened(deps));
}

export type { ListenerDeps, SlackService } from './types.js';
