// Decisions on a pending request: approve, deny, cancel, expire. Each is a compare-and-set in the store, so a double
// click, two approvers at once or a Slack retry decides once; only the approval that completes a request starts its
// run (runs.ts). A decision counts only in the channel where the request was posted.
import type { Actor, Conversation } from './conversation.js';
import type { Result } from './errors.js';
import { directoryFields } from './identity.js';
import type { Notice } from './notices.js';
import { checkApprover } from './policy.js';
import type { RequestRecord } from './records.js';
import { startRun } from './runs.js';

/** A click from another channel (a forwarded or copied message, a forged payload) is refused. */
function elsewhere(actor: Actor, request: RequestRecord): Notice | undefined {
  return actor.channel === request.channel ? undefined : { code: 'decide-elsewhere', requestId: request.id, channel: request.channel };
}

/** Whether `actor` may deny the request: the Deny form opens only for them. */
export async function mayDeny(c: Conversation, actor: Actor, requestId: string): Promise<Result> {
  const request = await c.deps.store.getRequest(requestId);
  if (!request) return { ok: false, error: { code: 'no-request', requestId } };
  const where = elsewhere(actor, request);
  if (where) return { ok: false, error: where };
  if (request.status !== 'pending') return { ok: false, error: { code: 'not-pending', requestId, status: request.status } };
  return checkApprover(c.deps.policy, actor.user, request.requester, c.deps.directory, 'deny');
}

export async function approve(c: Conversation, actor: Actor, requestId: string): Promise<void> {
  const request = await c.deps.store.getRequest(requestId);
  if (!request) return c.tell(actor, { code: 'no-request', requestId });
  const where = elsewhere(actor, request);
  if (where) {
    await c.audit(actor.user, 'approval-refused', { channel: actor.channel, requestId, detail: `clicked in ${actor.channel}, posted in ${request.channel}` });
    return c.tell(actor, where);
  }
  const allowed = await checkApprover(c.deps.policy, actor.user, request.requester, c.deps.directory);
  const who = await c.identify(actor.user);
  const change = request.change;
  if (!allowed.ok) {
    await c.audit(actor.user, 'approval-refused', { channel: actor.channel, requestId, detail: allowed.error.code, who, change });
    return c.tell(actor, allowed.error);
  }
  // the approval keeps who approved in directory terms, as the directory says now
  const result = await c.deps.store.approve(requestId, actor.user, c.deps.policy.required, c.now(), directoryFields(who));
  if (!result) return c.tell(actor, { code: 'no-request', requestId });
  const more = c.deps.policy.required - result.request.approvals.length;
  switch (result.outcome) {
    case 'not-pending':
      return c.tell(actor, { code: 'not-pending', requestId, status: result.request.status });
    case 'expired':
      await c.audit('expiry', 'expired', { requestId });
      await c.refreshPlanMessage(result.request);
      return c.tell(actor, { code: 'expired', requestId, expiresAt: result.request.expiresAt, runbook: result.request.runbook, command: c.commandName });
    case 'already-approved-by-you':
      return c.tell(actor, { code: 'already-approved', requestId, more });
    case 'recorded':
      await c.audit(actor.user, 'approved', { channel: actor.channel, requestId, fingerprint: result.request.plan.fingerprint, who, change });
      await c.refreshPlanMessage(result.request);
      return c.tell(actor, { code: 'approval-recorded', requestId, more });
    case 'completed':
      // the store's approval is the run's schedule (an approved request without a run); it starts now, and after a
      // restart if this process dies first. The plan message follows from the outbox.
      c.deps.scheduler.run(`run for ${requestId}`, () => startRun(c, result.request));
      await c.audit(actor.user, 'approved', { channel: actor.channel, requestId, fingerprint: result.request.plan.fingerprint, detail: 'approval complete', who, change });
      await c.refreshPlanMessage(result.request);
  }
}

export async function deny(c: Conversation, actor: Actor, requestId: string, reason: string): Promise<void> {
  const may = await mayDeny(c, actor, requestId);
  if (!may.ok) return c.tell(actor, may.error);
  if (!reason.trim()) return c.tell(actor, { code: 'reason-needed' });
  const result = await c.deps.store.close(requestId, 'denied', actor.user, reason.trim(), c.now());
  if (result?.outcome !== 'closed') return c.tell(actor, { code: 'not-pending', requestId, status: result?.request.status ?? 'gone' });
  await c.audit(actor.user, 'denied', { channel: actor.channel, requestId, detail: reason.trim(), who: await c.identify(actor.user), change: result.request.change });
  await c.refreshPlanMessage(result.request);
}

export async function cancel(c: Conversation, actor: Actor, requestId: string): Promise<void> {
  const request = await c.deps.store.getRequest(requestId);
  if (!request) return c.tell(actor, { code: 'no-request', requestId });
  if (request.requester !== actor.user) {
    const approver = await checkApprover(c.deps.policy, actor.user, request.requester, c.deps.directory, 'cancel');
    if (!approver.ok) return c.tell(actor, approver.error.code === 'not-an-approver' ? { ...approver.error, requester: request.requester, requestId } : approver.error);
  }
  // an approved change waiting for its window can be withdrawn until its run starts (claimRun then finds it cancelled)
  const waiting = request.status === 'approved' && !request.runId;
  const result = waiting ? await c.deps.store.cancelWaiting(requestId, actor.user, c.now()) : await c.deps.store.close(requestId, 'cancelled', actor.user, undefined, c.now());
  if (result?.outcome !== 'closed') return c.tell(actor, { code: 'not-pending', requestId, status: result?.request.status ?? 'gone' });
  await c.audit(actor.user, 'cancelled', { channel: actor.channel, requestId, who: await c.identify(actor.user), change: request.change, ...(waiting ? { detail: `waiting for its change window${request.startsAt ? ` (${request.startsAt})` : ''}` } : {}) });
  await c.refreshPlanMessage(result.request);
  return c.tell(actor, waiting ? { code: 'cancelled-waiting', requestId, startsAt: request.startsAt ?? '' } : { code: 'cancelled', requestId });
}

/** Closes pending requests past their expiry and updates their messages; returns how many. */
export async function expireDue(c: Conversation): Promise<number> {
  const due = await c.deps.store.listExpired(c.now());
  let closed = 0;
  for (const r of due) {
    const result = await c.deps.store.close(r.id, 'expired', 'expiry', undefined, c.now());
    if (result?.outcome !== 'closed') continue;
    closed++;
    await c.audit('expiry', 'expired', { requestId: r.id, channel: r.channel });
    await c.refreshPlanMessage(result.request);
  }
  return closed;
}
