// What the App Home tab (or any dashboard of a front end) shows one person, read from the store through the core's ports: the deployment's state
// (a change running now, the latest run of each runbook), the requests waiting that this person may approve (not
// their own: the core refuses self-approval), and the latest runs.
import { checkApprover, type PolicyConfig } from './core/policy.js';
import type { Directory } from './core/ports.js';
import type { LockHolder, RequestRecord, RunRecord } from './core/records.js';
import type { Store } from './core/store.js';

export interface HomeData {
  deployment: string;
  /** the change that holds the deployment's lock now */
  running?: LockHolder;
  /** the newest run of each runbook, newest first: what the bot last knew of the deployment */
  latest: RunRecord[];
  /** pending requests this person may approve, oldest first */
  waiting: RequestRecord[];
  runs: RunRecord[];
}

export type HomeSource = (user: string) => Promise<HomeData>;

export const HOME_RUNS = 5;
/** enough history to find the latest run of each runbook without reading the whole store */
const HISTORY = 50;

export function homeSource(store: Store, policy: PolicyConfig, directory: Directory): HomeSource {
  return async (user) => {
    const [running, pending, history] = await Promise.all([store.getLock(policy.deployment), store.listPending(), store.history(HISTORY)]);
    const waiting: RequestRecord[] = [];
    for (const r of pending.sort((a, b) => a.createdAt.localeCompare(b.createdAt))) {
      if (r.requester !== user && (await checkApprover(policy, user, r.requester, directory)).ok) waiting.push(r);
    }
    const latest = new Map<string, RunRecord>();
    for (const run of history.runs) if (!latest.has(run.runbook)) latest.set(run.runbook, run);
    return { deployment: policy.deployment, ...(running ? { running } : {}), latest: [...latest.values()], waiting, runs: history.runs.slice(0, HOME_RUNS) };
  };
}
