// Plans that ask for nothing: refused (the change cannot work as the deployment stands) or already as desired.
import type { Plan } from '../../core/runbook/planner.js';
import { assemble, type Block, context, esc, escText, header, section, user } from './kit.js';
import { plannedStepText, targetFields } from './plan.js';

export function renderRefusedPlan(runbook: string, requester: string, plan: Plan): { text: string; blocks: Block[] } {
  const head: Block[] = [
    header(`Plan refused: ${runbook}`),
    section(`Requested by ${user(requester)} · runbook *${esc(runbook)}*\n${targetFields(undefined, plan.values)}`),
    section([':no_entry: *Nothing was requested, because:*', ...plan.refusals.map((r) => `• ${escText(r)}`)].join('\n')),
  ];
  const body = plan.steps.map((s) => section(plannedStepText(s)));
  return {
    text: `Plan for ${runbook} by <@${requester}> refused: ${plan.refusals.join('; ')}`,
    blocks: assemble(head, body, [context(`Fingerprint \`${plan.fingerprint}\``)], 'steps'),
  };
}

export function renderNothingToChange(runbook: string, requester: string, plan: Plan, command: string, verify?: string): { text: string; blocks: Block[] } {
  const head: Block[] = [
    header(`Nothing to change: ${runbook}`),
    section(
      `Requested by ${user(requester)} · ${targetFields(undefined, plan.values)}\n` +
        `:heavy_equals_sign: Every step is already as desired, so there is nothing to approve.` +
        (verify ? ` To check replication and the Edge Servers, run \`${command} ${verify}\`.` : ''),
    ),
  ];
  const body = plan.steps.map((s) => section(plannedStepText(s)));
  return {
    text: `Nothing to change for ${runbook}: already as desired.${verify ? ` Check with ${command} ${verify}` : ''}`,
    blocks: assemble(head, body, [context(`Fingerprint \`${plan.fingerprint}\``)], 'steps'),
  };
}
