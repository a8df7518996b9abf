// The App Home tab, opened: publish this person's home (views.publish), in their language. Slack sends the event
// each time the tab is shown; the view is built anew each time (a few store reads), so it is never stale.
import type { AllMiddlewareArgs, SlackEventMiddlewareArgs } from '@slack/bolt';
import { renderHome } from '../../blocks/home.js';
import { callSlack } from '../../notifier.js';
import type { ListenerDeps } from '../types.js';

export function appHomeOpened(deps: ListenerDeps) {
  return async ({ event, client }: SlackEventMiddlewareArgs<'app_home_opened'> & AllMiddlewareArgs): Promise<void> => {
    // the Messages tab has its own event; only the Home tab is ours to draw
    if (event.tab !== 'home' || !deps.home) return;
    const log = deps.log.child({ surface: 'app-home', user: event.user });
    try {
      const [data, w] = await Promise.all([deps.home(event.user), deps.languages.forUser(event.user)]);
      await callSlack(log, 'views.publish', { user: event.user }, () => client.views.publish({ user_id: event.user, view: renderHome(data, w, deps.command) })).catch((err: unknown) => {
        deps.onApiError?.('views.publish', err);
        throw err;
      });
    } catch (err) {
      // nobody to answer in a tab: the log line is the trace (callSlack logged a Slack failure already)
      log.error({ err }, `app home: could not publish the home of ${event.user}: ${(err as Error).message}`);
    }
  };
}
