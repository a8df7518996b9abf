// Plans that ask for nothing: refused (the change cannot work as the deployment stands) or already as desired.
import type { Plan } from '../../core/runbook/planner.js';
import type { Words } from '../../i18n/index.js';
import { assemble, type Block, context, ENGLISH, escText, header, section, user } from './kit.js';
import { plannedStepText, targetFields } from './plan.js';

export function renderRefusedPlan(runbook: string, requester: string, plan: Plan, w: Words = ENGLISH): { text: string; blocks: Block[] } {
  const head: Block[] = [
    header(w.t('refused.title', { runbook })),
    section(`${w.t('refused.by', { requester: user(requester), runbook })}\n${targetFields(undefined, plan.values, w)}`),
    section([`:no_entry: ${w.t('refused.because')}`, ...plan.refusals.map((r) => `• ${escText(r)}`)].join('\n')),
  ];
  const body = plan.steps.map((s) => section(plannedStepText(s, w)));
  return {
    text: w.t('refused.fallback', { runbook, requester: user(requester), reasons: plan.refusals.join('; ') }),
    blocks: assemble(head, body, [context(w.t('fingerprint', { fingerprint: plan.fingerprint }))], w, 'steps'),
  };
}

export function renderNothingToChange(runbook: string, requester: string, plan: Plan, command: string, verify: string | undefined, w: Words = ENGLISH): { text: string; blocks: Block[] } {
  const check = verify ? ` ${w.t('noop.check', { verify: `${command} ${verify}` })}` : '';
  const head: Block[] = [
    header(w.t('noop.title', { runbook })),
    section(`${w.raw('noop.by', { requester: user(requester), target: targetFields(undefined, plan.values, w) })}\n:heavy_equals_sign: ${w.t('noop.nothing')}${check}`),
  ];
  const body = plan.steps.map((s) => section(plannedStepText(s, w)));
  return {
    text: `${w.t('noop.fallback', { runbook })}${verify ? ` ${w.t('noop.fallback.check', { verify: `${command} ${verify}` })}` : ''}`,
    blocks: assemble(head, body, [context(w.t('fingerprint', { fingerprint: plan.fingerprint }))], w, 'steps'),
  };
}
