// Run orchestration: an approved request becomes a run under the deployment's lock, re-planned first (the plan
// must be the approved one, by fingerprint), executed step by step with its message kept current, finished with
// its report and details in the thread; and at start-up, what a dead process left is recovered.
import type { Conversation, Log } from './conversation.js';
import { messageKey } from './conversation.js';
import { replan } from './planning.js';
import type { RunOutcome } from './notices.js';
import type { View, WaitingChange } from './ports.js';
import { windowState } from './schedule.js';
import { withDirectory, type Identity } from './identity.js';
import type { RequestRecord, RunRecord } from './records.js';
import { executePlan, newRunSteps, skipRest } from './run/execute.js';

/** an error longer than this is shown whole in the thread, besides its first lines in the run message */
const DETAIL_AFTER_CHARS = 600;
/** one detail message at most: under the smallest per-message limit of the front ends (Slack's ~12,000 in all) */
const DETAIL_CHARS = 8000;

/** runs started by this process and not finished, per conversation: shutdown waits for them */
const active = new WeakMap<Conversation, Map<string, RunRecord>>();
export function activeRuns(c: Conversation): Map<string, RunRecord> {
  let runs = active.get(c);
  if (!runs) active.set(c, (runs = new Map<string, RunRecord>()));
  return runs;
}

/**
 * Outside every change window an approved request waits: its start time is kept on it (so `status` lists it and a
 * restart keeps it) and the sweep (startDue) starts it when the window opens. True when it must wait.
 */
async function waitsForWindow(c: Conversation, request: RequestRecord, now: Date): Promise<boolean> {
  const windows = c.deps.policy.windows;
  if (!windows) return false;
  const state = windowState(windows, now);
  if (state.open) return false;
  const startsAt = state.opensAt.toISOString();
  if (request.startsAt === startsAt) return true;
  await c.deps.store.setRequestStart(request.id, startsAt);
  await c.audit('lync-exo', 'run-waiting', { requestId: request.id, fingerprint: request.plan.fingerprint, change: request.change, detail: `outside the change windows (${windows.timeZone}); starts at ${startsAt}` });
  await c.refreshPlanMessage({ ...request, startsAt });
  return true;
}

/** Approved changes whose change window has opened start now (their fingerprint is checked then, as every run's); returns their ids. */
export async function startDue(c: Conversation): Promise<string[]> {
  const now = c.now().getTime();
  const due = (await c.deps.store.listUnstarted()).filter((r) => r.startsAt !== undefined && Date.parse(r.startsAt) <= now);
  for (const r of due) c.deps.scheduler.run(`run for ${r.id}`, () => startRun(c, r));
  return due.map((r) => r.id);
}

/** Approved changes waiting for their change window, soonest first. */
export async function waitingChanges(c: Conversation): Promise<WaitingChange[]> {
  return (await c.deps.store.listUnstarted())
    .filter((r): r is RequestRecord & { startsAt: string } => r.startsAt !== undefined)
    .sort((a, b) => a.startsAt.localeCompare(b.startsAt))
    .map((r) => ({ requestId: r.id, runbook: r.runbook, requester: r.requester, startsAt: r.startsAt, ...(r.change ? { change: r.change } : {}) }));
}

export async function startRun(c: Conversation, request: RequestRecord): Promise<void> {
  const now = c.now();
  if (await waitsForWindow(c, request, now)) return;
  const runId = c.newId('run');
  const log = c.deps.log.child({ requestId: request.id, runId, runbook: request.runbook, requester: request.requester });
  const run: RunRecord = {
    id: runId,
    requestId: request.id,
    // a rollback's run is the undo runbook's; the change runbooks' runs are theirs
    runbook: request.runbook,
    deployment: request.deployment,
    channel: request.channel,
    requester: request.requester,
    approvers: request.approvals.map((a) => a.user),
    approvedBy: request.approvals.map((a) => ({ user: a.user, ...(a.email ? { email: a.email } : {}), ...(a.account ? { account: a.account } : {}) })),
    ...(request.change ? { change: request.change } : {}),
    status: 'running',
    startedAt: now.toISOString(),
    values: request.values,
    steps: newRunSteps(request.plan),
  };
  if (!(await c.deps.store.claimRun(request.id, run))) {
    log.info({}, 'run: the request was already started by another call; nothing to do');
    return;
  }
  const lock = await c.deps.store.acquireLock({ deployment: request.deployment, runId, requestId: request.id, requester: request.requester, since: now.toISOString() });
  if (!lock.ok) {
    run.status = 'refused';
    const outcome: RunOutcome = { code: 'lock-held', holder: lock.holder };
    run.summary = `not started: run ${lock.holder.runId} (request ${lock.holder.requestId}) holds the lock on ${lock.holder.deployment}; ask for a new plan when it finishes`;
    await finish(c, run, log, outcome);
    return;
  }
  activeRuns(c).set(runId, run);
  // why the run ended, when the core decided it (the front ends say it in their words)
  let outcome: RunOutcome | undefined;
  try {
    await c.refreshPlanMessage(request, run);
    await c.showRun(run);
    await c.audit('lync-exo', 'run-started', { requestId: request.id, runId, fingerprint: request.plan.fingerprint, change: request.change, detail: approvedByText(run) });
    const fresh = await replan(c, request);
    if (!fresh.ok) {
      run.status = 'failed';
      const error = fresh.error.code === 'read-failed' ? fresh.error.error : fresh.error.code;
      outcome = { code: 'reread-failed', error };
      run.summary = `could not re-read the state before running: ${error}`;
    } else if (fresh.value.fingerprint !== request.plan.fingerprint) {
      run.status = 'refused';
      outcome = { code: 'changed-since-approval', approved: request.plan.fingerprint, now: fresh.value.fingerprint, runbook: request.runbook, command: c.commandName };
      run.summary = `the deployment changed after the plan was approved (fingerprint ${request.plan.fingerprint} → ${fresh.value.fingerprint}); nothing ran`;
    } else {
      run.preState = fresh.value.preState;
      await executePlan({ ...c.runContext, progress: (r) => progress(c, r), stopping: () => !c.accepting }, run, fresh.value);
    }
  } catch (err) {
    log.error({ err }, 'run: internal error');
    run.status = 'failed';
    outcome = { code: 'internal-error', runId, error: (err as Error).message };
    run.summary = `internal error during run ${runId}: ${(err as Error).message}`;
  } finally {
    await c.deps.store.releaseLock(request.deployment, runId);
    activeRuns(c).delete(runId);
    await finish(c, run, log, outcome);
  }
}

/** "approved by U0BOB (bob@contoso.com, CONTOSO\\bob)": the run's approvers in directory terms, for its audit record. */
function approvedByText(run: RunRecord): string {
  const who = (run.approvedBy ?? run.approvers.map((user): Identity => ({ user }))).map((a) => withDirectory(a.user, a));
  return `approved by ${who.join(', ')}`;
}

/** Progress: saved, and the run's message queued (coalesced by the courier). Slack is never awaited here. */
async function progress(c: Conversation, run: RunRecord): Promise<void> {
  await c.deps.store.saveRun(run);
  await c.showRun(run);
}

/**
 * What a run message can only summarise goes whole into the thread: a long error (with its hints) and the
 * per-Edge comparison. Split into parts of DETAIL_CHARS, the most one message of any front end shows.
 */
async function showDetails(c: Conversation, run: RunRecord): Promise<void> {
  const details: { title: string; lines: string[] }[] = [];
  for (const step of run.steps) {
    if (step.error && step.error.length > DETAIL_AFTER_CHARS) details.push({ title: `${step.title}: the whole error`, lines: [...step.error.split('\n'), ...(step.hints ?? []).map((h) => `hint: ${h}`)] });
    if (step.edges?.length) {
      const lines: string[] = [];
      for (const e of step.edges) {
        lines.push(`${e.agent}: ${e.ok ? 'as expected' : e.found ? 'differs' : 'provider absent'}${e.error ? ` (${e.error})` : ''}`);
        for (const ch of e.checks) lines.push(`  ${ch.ok ? '✓' : '✗'} ${ch.property}: expected ${JSON.stringify(ch.expected)}, actual ${JSON.stringify(ch.actual)}`);
      }
      details.push({ title: `${step.title}: per Edge`, lines });
    }
  }
  let n = 0;
  for (const d of details) {
    const parts: string[][] = [[]];
    let size = 0;
    for (const line of d.lines) {
      if (size + line.length > DETAIL_CHARS && parts.at(-1)!.length) {
        parts.push([]);
        size = 0;
      }
      parts.at(-1)!.push(line);
      size += line.length + 1;
    }
    for (const [i, lines] of parts.entries()) {
      const view: View = { kind: 'detail', runId: run.id, title: d.title, lines, ...(parts.length > 1 ? { part: { n: i + 1, of: parts.length } } : {}) };
      await c.show(messageKey.detail(run.id, ++n), run.channel, view, messageKey.request(run.requestId));
    }
  }
}

async function finish(c: Conversation, run: RunRecord, log: Log, outcome?: RunOutcome): Promise<void> {
  run.finishedAt = c.now().toISOString();
  skipRest(run.steps);
  await c.deps.store.saveRun(run);
  await c.audit('lync-exo', `run-${run.status}`, { runId: run.id, requestId: run.requestId, detail: run.summary, change: run.change });
  log.info({ status: run.status }, `run: ${run.status}`);
  // the report and the plan message's verdict go out from the outbox, now or when Slack is back
  await c.showRun(run, outcome);
  await showDetails(c, run);
  const request = await c.deps.store.getRequest(run.requestId);
  if (request) await c.refreshPlanMessage(request, run);
}

/**
 * Start-up recovery: runs cut off by a dead process are marked interrupted and reported in their channel (never
 * re-run), and locks they held are released; approved requests never started start now.
 */
export async function recover(c: Conversation): Promise<{ interrupted: RunRecord[]; locks: number; started: string[] }> {
  const interrupted = await c.deps.store.markInterrupted(c.now());
  for (const run of interrupted) {
    const last = run.steps.filter((s) => s.status === 'succeeded').at(-1);
    const inFlight = run.steps.filter((s) => s.status === 'running');
    const notRun = run.steps.filter((s) => s.status === 'pending');
    for (const s of inFlight) s.status = 'failed';
    for (const s of notRun) s.status = 'skipped';
    const outcome: RunOutcome = { code: 'interrupted', ...(last ? { last: last.title } : {}), cut: inFlight.map((s) => s.title), notRun: notRun.map((s) => s.title) };
    const cut = inFlight.length ? `; cut off during (may have taken effect): ${inFlight.map((s) => `"${s.title}"`).join(', ')}` : '';
    run.summary = `interrupted: lync-exo stopped during this run; last completed step: ${last ? `"${last.title}"` : 'none'}${cut}; not run: ${notRun.map((s) => `"${s.title}"`).join(', ') || 'none'}. It will not be re-run by itself: check with status, then ask again`;
    await c.deps.store.saveRun(run);
    await c.audit('lync-exo', 'run-interrupted', { runId: run.id, requestId: run.requestId, detail: run.summary });
    await c.showRun(run, outcome);
    const request = await c.deps.store.getRequest(run.requestId);
    if (request) await c.refreshPlanMessage(request, run);
  }
  const locks = await c.deps.store.recoverLocks();
  for (const l of locks) await c.audit('lync-exo', 'lock-recovered', { runId: l.runId, requestId: l.requestId, detail: `held since ${l.since}` });
  // approved before the stop, never started: their approval is their schedule. One waiting for its change window is
  // the sweep's to start (startDue), when the window opens: on PostgreSQL the leader recovers on every sweep, and
  // would otherwise log it as resumed each time.
  const unstarted = (await c.deps.store.listUnstarted()).filter((r) => r.startsAt === undefined);
  for (const r of unstarted) {
    await c.audit('lync-exo', 'run-resumed', { requestId: r.id, detail: 'approved before a restart; starting its run now' });
    c.deps.scheduler.run(`run for ${r.id}`, () => startRun(c, r));
  }
  // what the outbox still holds from before the stop goes out now
  c.courier.kick();
  return { interrupted, locks: locks.length, started: unstarted.map((r) => r.id) };
}
