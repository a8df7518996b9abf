// The drift watch: on the policy's cron schedule, `verify` runs by itself, and the channel hears of it only when the
// result changed since the last watch (a colleague in the Lync shell, a restore): what changed, since when, and the
// plan that puts it right. The last result is kept in the store, so a restart neither forgets a drift nor reports it
// twice, and a schedule missed while the bot was down runs once at the next sweep. Only the leader watches (one
// SQLite instance always is; several instances on one store decide with ServiceDeps.isLeader).
import type { Conversation } from './conversation.js';
import { compareNow } from './planning.js';
import type { Drift, VerifyItem } from './ports.js';
import type { StepResult, WatchState } from './records.js';
import type { Runbook } from './runbook/schema.js';
import { nextTime } from './schedule.js';

export type WatchOutcome =
  | { outcome: 'off' | 'not-leader' | 'not-due' }
  /** the watch ran: `posted` when the result changed (or the first watch found drift) */
  | { outcome: 'unchanged' | 'posted'; state: WatchState }
  | { outcome: 'failed'; error: string };

/** Each check step counts by its status only: its timings and texts change on every run, its outcome does not. */
function resultItems(items: VerifyItem[], steps: StepResult[]): WatchState['items'] {
  return [...items, ...steps.map((s) => ({ item: s.title, expected: 'succeeded', actual: s.status, ok: s.status === 'succeeded' }))];
}

/** The items whose result differs from the last watch's (new ones and gone ones too), before → now. */
export function changedItems(before: WatchState['items'] | undefined, now: WatchState['items']): Drift['changed'] {
  const was = new Map((before ?? []).map((i) => [i.item, i]));
  const changed: Drift['changed'] = [];
  for (const i of now) {
    const prev = was.get(i.item);
    was.delete(i.item);
    if (prev && prev.actual === i.actual && prev.ok === i.ok) continue;
    if (!prev && before === undefined && i.ok) continue; // the first watch reports only what differs
    changed.push({ item: i.item, expected: i.expected, ...(prev ? { before: prev.actual } : {}), now: i.actual, ok: i.ok });
  }
  for (const gone of was.values()) changed.push({ item: gone.item, expected: gone.expected, before: gone.actual, now: '(no longer compared)', ok: true });
  return changed;
}

/** The procedure watched and the options it is verified with: those of its last succeeded run, else its defaults. */
async function watched(c: Conversation, name: string | undefined): Promise<{ procedure: Runbook; options: Record<string, string> } | undefined> {
  const procedure = name ? c.deps.runbooks.get(name) : c.vocabulary.defaultProcedure;
  if (!procedure) return undefined;
  const last = await c.deps.store.latestRun(procedure.name, 'succeeded');
  const options = Object.fromEntries(Object.keys(procedure.inputs).flatMap((k) => (last?.values[k] !== undefined ? [[k, last.values[k]]] : [])));
  return { procedure, options };
}

/** `plan setup --cloud worldwide --identity "Exchange Online"`: the command that plans the way back. */
function fixCommand(procedure: Runbook, options: Record<string, string>, isDefault: boolean): string {
  const quoted = (v: string) => (/[\s"']/u.test(v) ? `"${v.replaceAll('"', '')}"` : v);
  return ['plan', ...(isDefault ? [] : [procedure.name]), ...Object.entries(options).map(([k, v]) => `--${k} ${quoted(v)}`)].join(' ');
}

/** Runs the watch when its schedule says it is due at `now` (or `force`); posts only a changed result. */
export async function watchDue(c: Conversation, force = false): Promise<WatchOutcome> {
  const policy = c.deps.policy.watch;
  if (!policy) return { outcome: 'off' };
  if (c.deps.isLeader && !(await c.deps.isLeader())) return { outcome: 'not-leader' };
  const target = await watched(c, policy.runbook);
  const compare = c.runbookOfKind('compare');
  if (!target || !compare) return { outcome: 'failed', error: `no ${target ? 'compare runbook' : `change runbook ${policy.runbook ?? '(default)'}`} to watch with` };
  const now = c.now();
  const last = await c.deps.store.getWatch(target.procedure.name);
  const due = last ? nextTime(policy.schedule, new Date(last.checkedAt), policy.timeZone) : now;
  if (!force && (!due || due.getTime() > now.getTime())) return { outcome: 'not-due' };

  const result = await compareNow(c, target.procedure, target.options, compare);
  if (!result.ok) {
    // a read that failed is not drift: the next scheduled watch tries again (the state is left as it was)
    const error = result.error.code === 'read-failed' ? result.error.error : result.error.code;
    c.deps.log.warn({ watch: target.procedure.name, error }, 'drift watch: could not verify');
    // the schedule moves on; a watch that never succeeded keeps no state, so its first good one is a first watch
    if (last) await c.deps.store.saveWatch({ ...last, checkedAt: now.toISOString() });
    return { outcome: 'failed', error };
  }
  const { plan: p, items, steps, verdict } = result.value;
  const seen = resultItems(items, steps);
  const changed = changedItems(last?.items, seen);
  const state: WatchState = { name: target.procedure.name, verdict, items: seen, since: changed.length || !last ? now.toISOString() : last.since, checkedAt: now.toISOString() };
  await c.deps.store.saveWatch(state);
  if (!changed.length) return { outcome: 'unchanged', state };

  const isDefault = c.vocabulary.defaultProcedure?.name === target.procedure.name;
  const drift: Drift = {
    ...(last ? { previous: { verdict: last.verdict, since: last.since, checkedAt: last.checkedAt } } : {}),
    changed,
    ...(verdict === 'fail' ? { fix: fixCommand(target.procedure, target.options, isDefault) } : {}),
  };
  await c.audit('lync-exo', 'drift-changed', { channel: policy.channel, fingerprint: p.fingerprint, detail: `${verdict}: ${changed.map((i) => `${i.item}: ${i.before ?? '?'} → ${i.now}`).join('; ')}` });
  await c.show(`watch:${state.name}:${state.checkedAt}`, policy.channel, { kind: 'report', title: compare.name, runbook: target.procedure.name, requester: 'lync-exo', steps, items, verdict, drift });
  return { outcome: 'posted', state };
}
