// The plan message: what will change, the exact cmdlets, who may approve, and (while pending) the buttons.
import type { ApprovalRule } from '../../core/ports.js';
import type { RequestRecord, RunStatus } from '../../core/records.js';
import type { PlannedStep } from '../../core/runbook/planner.js';
import { renderInvocation, renderValueForPeople } from '../../core/runbook/render.js';
import { ACTIONS } from '../ids.js';
import { assemble, type Block, code, context, esc, escText, header, section, slackDate, user, words } from './kit.js';
import { ACTION_WORDS, approversText, RUN_STATUS_WORDS } from '../../labels.js';

export interface RenderOptions {
  /** the slash command as people type it */
  command: string;
}

export function plannedStepText(step: PlannedStep): string {
  const lines = [`*\`${ACTION_WORDS[step.action] ?? step.action}\`* *${esc(step.title)}*: \`${esc(step.target)}\` · runs on role *${step.role}*`];
  if (step.action === 'create') lines.push(...step.changes.map((c) => `• ${esc(c.property)}: ${esc(renderValueForPeople(c.to))}`));
  else if (step.action === 'no-op') lines.push('_already as desired; nothing runs_');
  else if (step.action === 'remove') lines.push('_removed_');
  else lines.push(...step.changes.map((c) => `• ${esc(c.property)}: ${esc(renderValueForPeople(c.from))} → ${esc(renderValueForPeople(c.to))}`));
  if (step.action === 'replace') lines.push('_cannot be changed in place: removed, then created again_');
  if (step.invocations.length) lines.push(code(step.invocations.map(renderInvocation)));
  return lines.join('\n');
}

export function targetFields(deployment: string | undefined, values: Record<string, string>): string {
  const parts = deployment ? [`deployment *${esc(deployment)}*`] : [];
  for (const [k, v] of Object.entries(values)) parts.push(`${esc(k)} *${esc(v)}*`);
  return parts.join(' · ');
}

const RUN_EMOJI: Record<RunStatus, string> = {
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  refused: ':no_entry:',
  interrupted: ':warning:',
  stopped: ':octagonal_sign:',
};
const runWords = (status: RunStatus) => `${RUN_EMOJI[status]} ${RUN_STATUS_WORDS[status].toLowerCase()}`;

function decision(r: RequestRecord, command: string, run?: PlanRun): string {
  const approvals = r.approvals.map((a) => `${user(a.user)} (${slackDate(a.at)})`).join(', ');
  switch (r.status) {
    case 'pending':
      return approvals ? `:hourglass_flowing_sand: Approved so far by ${approvals}` : ':hourglass_flowing_sand: Waiting for approval';
    case 'approved':
      return `:white_check_mark: *Approved* by ${approvals}${r.runId ? ` → run \`${esc(r.runId)}\`` : ''}${run ? ` ${runWords(run.status)}${run.status === 'running' ? '; progress in the thread' : '; the report is in the thread'}` : ''}`;
    case 'denied':
      return `:no_entry: *Denied* by ${r.decidedBy ? user(r.decidedBy) : 'someone'}${r.decidedAt ? ` (${slackDate(r.decidedAt)})` : ''}: ${esc(r.reason ?? '(no reason)')}`;
    case 'cancelled':
      return `:heavy_multiplication_x: *Cancelled* by ${r.decidedBy ? user(r.decidedBy) : 'someone'}${r.decidedAt ? ` (${slackDate(r.decidedAt)})` : ''}${r.reason ? `: ${esc(r.reason)}` : ''}`;
    case 'expired':
      return `:hourglass: *Expired* ${slackDate(r.expiresAt)} with no decision; ask for a new plan with \`${command} ${r.runbook}\``;
  }
}

type PlanRun = { id: string; status: RunStatus; summary?: string };

export function renderPlan(r: RequestRecord, rule: ApprovalRule, dryRun: boolean, opts: RenderOptions, run?: PlanRun): { text: string; blocks: Block[] } {
  const p = r.plan;
  const title = dryRun ? `Dry run: ${p.runbook}` : r.rollbackOf ? `Plan: rollback of ${r.rollbackOf}` : `Plan: ${p.runbook}`;
  const head: Block[] = [
    header(title),
    section(`Requested by ${user(r.requester)} · runbook *${esc(p.runbook)}*${dryRun ? '' : ` · request \`${esc(r.id)}\``}\n${targetFields(r.deployment, r.values)}`),
  ];
  const body: Block[] = p.steps.map((s) => section(plannedStepText(s)));
  if (p.checks.length) body.push(context(`Then: ${p.checks.map((c) => `${esc(c.title)} (${c.role})`).join(' → ')}`));
  const tail: Block[] = [];
  if (p.warnings.length) tail.push(section([':warning: *Warnings*', ...p.warnings.map((w) => `• ${escText(w)}`)].join('\n')));
  if (p.note) tail.push(section(`:information_source: *Besides*: ${escText(p.note)}`));
  if (dryRun) {
    tail.push(context(`Fingerprint \`${p.fingerprint}\` · a dry run: nothing will run. Request it with \`${opts.command} ${p.runbook}\`.`));
  } else {
    tail.push(
      context(
        `Fingerprint \`${p.fingerprint}\``,
        `Needs *${rule.required}* approval${rule.required === 1 ? '' : 's'} from ${words((m) => approversText(rule.approvers, m)) || '(no approvers configured)'}; the requester cannot approve`,
        `Expires ${slackDate(r.expiresAt)}`,
      ),
      section(decision(r, opts.command, run)),
    );
    if (r.status === 'pending') tail.push(actionsBlock(r));
  }
  const changes = p.steps.filter((s) => s.action !== 'no-op').length;
  const text = dryRun
    ? `Dry run of ${p.runbook} by <@${r.requester}>: ${changes} change${changes === 1 ? '' : 's'}`
    : `Plan ${r.id} (${p.runbook}) by <@${r.requester}>: ${changes} change${changes === 1 ? '' : 's'}, ${r.status === 'pending' ? 'waiting for approval' : r.status}${run ? `, run ${run.id} ${run.status}` : ''}`;
  return { text, blocks: assemble(head, body, tail, 'steps') };
}

function actionsBlock(r: RequestRecord): Block {
  const lines = r.plan.steps.reduce((n, s) => n + s.invocations.length, 0);
  return {
    type: 'actions',
    block_id: 'decision',
    elements: [
      {
        type: 'button',
        action_id: ACTIONS.approve,
        text: { type: 'plain_text', text: 'Approve', emoji: true },
        style: 'primary',
        value: r.id,
        confirm: {
          title: { type: 'plain_text', text: 'Approve this change?' },
          text: { type: 'mrkdwn', text: `${lines} cmdlet line${lines === 1 ? '' : 's'} will run on *${esc(r.deployment)}* once approved (fingerprint \`${r.plan.fingerprint}\`).` },
          confirm: { type: 'plain_text', text: 'Approve' },
          deny: { type: 'plain_text', text: 'Not yet' },
        },
      },
      {
        type: 'button',
        action_id: ACTIONS.deny,
        text: { type: 'plain_text', text: 'Deny', emoji: true },
        value: r.id,
      },
    ],
  };
}
