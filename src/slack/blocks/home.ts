// The App Home tab: the deployment's state, the requests waiting for this person, the latest runs, in their words.
// A home view takes 100 blocks; each part here is bounded well under that (the store's lists are cut first).
import type { types } from '@slack/bolt';
import type { Words } from '../../i18n/index.js';
import { runStatusInline } from '../../labels.js';
import type { HomeData } from '../../home.js';
import { type Block, context, divider, esc, header, RUN_EMOJI, section, user } from './kit.js';

export const HOME_WAITING = 10;


function runLine(r: HomeData['runs'][number], w: Words): string {
  return `${RUN_EMOJI[r.status]} ${w.raw('home.run', { runId: esc(r.id), runbook: esc(r.runbook), status: runStatusInline(r.status, w), requester: user(r.requester), at: w.date(r.finishedAt ?? r.startedAt) })}`;
}

export function renderHome(data: HomeData, w: Words, command: string): types.HomeView {
  const state: string[] = [];
  if (data.running) state.push(`:arrows_counterclockwise: ${w.t('home.running', { runId: data.running.runId, requestId: data.running.requestId, requester: user(data.running.requester), since: w.date(data.running.since) })}`);
  else state.push(`:white_small_square: ${w.t('home.idle')}`);
  state.push(...(data.latest.length ? data.latest.map((r) => runLine(r, w)) : [w.t('home.no-runs')]));
  const waiting: Block[] = data.waiting.slice(0, HOME_WAITING).map((r) =>
    section(`• ${w.raw('home.waiting.one', { requestId: esc(r.id), runbook: esc(r.runbook), requester: user(r.requester), at: w.date(r.createdAt), expires: w.date(r.expiresAt) })}`),
  );
  if (data.waiting.length > HOME_WAITING) waiting.push(context(w.t('home.waiting.more', { n: data.waiting.length - HOME_WAITING })));
  const blocks: Block[] = [
    header(w.t('home.title', { deployment: data.deployment })),
    section(state.join('\n')),
    context(w.t('home.check', { status: `${command} status`, verify: `${command} verify` })),
    divider,
    section(w.t('home.waiting', { n: data.waiting.length })),
    ...(waiting.length ? waiting : [context(w.t('home.waiting.none'))]),
    divider,
    section(w.t('home.runs')),
    ...(data.runs.length ? [section(data.runs.map((r) => runLine(r, w)).join('\n'))] : [context(w.t('home.no-runs'))]),
  ];
  return { type: 'home', blocks };
}
