// The plan message: what will change, the exact cmdlets, who may approve, and (while pending) the buttons.
import type { ApprovalRule, WindowNote } from '../../core/ports.js';
import type { RequestRecord, RunStatus } from '../../core/records.js';
import type { PlannedStep } from '../../core/runbook/planner.js';
import { renderInvocation, renderValueForPeople } from '../../core/runbook/render.js';
import type { Words } from '../../i18n/index.js';
import { ACTIONS } from '../ids.js';
import { assemble, type Block, code, context, ENGLISH, esc, escText, header, RUN_EMOJI, section, user } from './kit.js';
import { actionWord, approversText, runStatusInline } from '../../labels.js';

export interface RenderOptions {
  /** the slash command as people type it */
  command: string;
  /** the reader's words (their language); default English, dates in UTC */
  words?: Words;
}

export const wordsOf = (opts: { words?: Words } | undefined): Words => opts?.words ?? ENGLISH;

export function plannedStepText(step: PlannedStep, w: Words): string {
  const lines = [w.t('plan.step', { action: actionWord(step.action, w), title: step.title, target: step.target, role: step.role })];
  if (step.action === 'create') lines.push(...step.changes.map((c) => `• ${esc(c.property)}: ${esc(renderValueForPeople(c.to))}`));
  else if (step.action === 'no-op') lines.push(w.t('plan.step.no-op'));
  else if (step.action === 'remove') lines.push(w.t('plan.step.removed'));
  else lines.push(...step.changes.map((c) => `• ${esc(c.property)}: ${esc(renderValueForPeople(c.from))} → ${esc(renderValueForPeople(c.to))}`));
  if (step.action === 'replace') lines.push(w.t('plan.step.replace'));
  if (step.invocations.length) lines.push(code(step.invocations.map(renderInvocation)));
  return lines.join('\n');
}

export function targetFields(deployment: string | undefined, values: Record<string, string>, w: Words): string {
  const parts = deployment ? [w.t('target.deployment', { deployment })] : [];
  for (const [k, v] of Object.entries(values)) parts.push(`${esc(k)} *${esc(v)}*`);
  return parts.join(' · ');
}


function decision(r: RequestRecord, command: string, w: Words, run?: PlanRun): string {
  const approvals = w.list(r.approvals.map((a) => `${user(a.user)} (${w.date(a.at)})`));
  const by = r.decidedBy ? user(r.decidedBy) : w.t('decision.someone');
  const at = r.decidedAt ? ` (${w.date(r.decidedAt)})` : '';
  switch (r.status) {
    case 'pending':
      return `:hourglass_flowing_sand: ${approvals ? w.t('decision.so-far', { approvals }) : w.t('decision.waiting')}`;
    case 'approved': {
      const runPart = run ? ` ${RUN_EMOJI[run.status]} ${w.t(run.status === 'running' ? 'decision.run.running' : 'decision.run.done', { status: runStatusInline(run.status, w) })}` : '';
      const waits = !r.runId && r.startsAt ? ` ${w.t('decision.waits', { at: w.date(r.startsAt) })}` : '';
      return `:white_check_mark: ${w.t(r.runId ? 'decision.approved.run' : 'decision.approved', { approvals, runId: r.runId ?? '' })}${waits}${runPart}`;
    }
    case 'denied':
      return `:no_entry: ${w.t('decision.denied', { by, at, reason: r.reason ?? w.t('decision.no-reason') })}`;
    case 'cancelled':
      return `:heavy_multiplication_x: ${w.t(r.reason ? 'decision.cancelled.reason' : 'decision.cancelled', { by, at, reason: r.reason ?? '' })}`;
    case 'expired':
      return `:hourglass: ${w.t('decision.expired', { at: w.date(r.expiresAt), ask: `${command} ${r.runbook}` })}`;
  }
}

type PlanRun = { id: string; status: RunStatus; summary?: string };

export function planTitle(r: RequestRecord, dryRun: boolean, w: Words): string {
  if (dryRun) return w.t('plan.title.dry-run', { runbook: r.plan.runbook });
  return r.rollbackOf ? w.t('plan.title.rollback', { runId: r.rollbackOf }) : w.t('plan.title', { runbook: r.plan.runbook });
}

/** When a change under the policy's windows would run: now, if approved before the window closes, or at the next. */
export function windowText(window: WindowNote, w: Words): string {
  return window.open ? w.t('window.open', { closesAt: w.date(window.closesAt) }) : w.t('window.closed', { opensAt: w.date(window.opensAt) });
}

export function renderPlan(r: RequestRecord, rule: ApprovalRule, dryRun: boolean, opts: RenderOptions, run?: PlanRun, window?: WindowNote): { text: string; blocks: Block[] } {
  const w = wordsOf(opts);
  const p = r.plan;
  const head: Block[] = [
    header(planTitle(r, dryRun, w)),
    section(`${w.t(dryRun ? 'plan.by.dry-run' : 'plan.by', { requester: user(r.requester), runbook: p.runbook, requestId: r.id })}${r.change ? ` · ${w.t('change.reference', { change: r.change })}` : ''}\n${targetFields(r.deployment, r.values, w)}`),
  ];
  const body: Block[] = p.steps.map((s) => section(plannedStepText(s, w)));
  if (p.checks.length) body.push(context(w.t('plan.then', { checks: p.checks.map((c) => `${c.title} (${c.role})`).join(' → ') })));
  const tail: Block[] = [];
  if (p.warnings.length) tail.push(section([`:warning: ${w.t('plan.warnings')}`, ...p.warnings.map((x) => `• ${escText(x)}`)].join('\n')));
  if (p.note) tail.push(section(`:information_source: ${w.t('besides')}${escText(p.note)}`));
  if (window && !dryRun && r.status === 'pending') tail.push(section(`:calendar: ${windowText(window, w)}`));
  if (dryRun) {
    tail.push(context(w.t('plan.dry-run', { fingerprint: p.fingerprint, ask: `${opts.command} ${p.runbook}` })));
  } else {
    tail.push(
      context(
        w.t('fingerprint', { fingerprint: p.fingerprint }),
        w.raw('plan.needs', { required: rule.required, approvers: approversText(rule.approvers, w) || w.t('plan.no-approvers') }),
        w.t('plan.expires', { at: w.date(r.expiresAt) }),
      ),
      section(decision(r, opts.command, w, run)),
    );
    if (r.status === 'pending') tail.push(actionsBlock(r, w));
  }
  const changes = p.steps.filter((s) => s.action !== 'no-op').length;
  const text = dryRun
    ? w.t('plan.fallback.dry-run', { runbook: p.runbook, requester: user(r.requester), changes })
    : w.t(run ? 'plan.fallback.run' : 'plan.fallback', { requestId: r.id, runbook: p.runbook, requester: user(r.requester), changes, status: r.status === 'pending' ? w.t('plan.fallback.waiting') : w.t(`request.status.${r.status}`), runId: run?.id ?? '', runStatus: run ? runStatusInline(run.status, w) : '' });
  return { text, blocks: assemble(head, body, tail, w, 'steps') };
}

function actionsBlock(r: RequestRecord, w: Words): Block {
  const lines = r.plan.steps.reduce((n, s) => n + s.invocations.length, 0);
  return {
    type: 'actions',
    block_id: 'decision',
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.approve,
        text: { type: 'plain_text', text: w.t('button.approve'), emoji: true },
        style: 'primary',
        value: r.id,
        confirm: {
          title: { type: 'plain_text', text: w.t('button.approve.title') },
          text: { type: 'mrkdwn', text: w.t('button.approve.text', { lines, deployment: r.deployment, fingerprint: r.plan.fingerprint }) },
          confirm: { type: 'plain_text', text: w.t('button.approve') },
          deny: { type: 'plain_text', text: w.t('button.approve.not-yet') },
        },
      },
      {
        type: 'button',
        action_id: ACTIONS.deny,
        text: { type: 'plain_text', text: w.t('button.deny'), emoji: true },
        value: r.id,
      },
    ],
  };
}
