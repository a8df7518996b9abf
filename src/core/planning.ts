// Plans from runbooks: a change runbook's plan from the options typed, the undo of a run from the state captured
// before it, and the same plans again, read afresh, when an approved request starts (replan). No runbook is named
// here: what a plan reads, changes, checks and warns about comes from the runbook's YAML.
import type { Conversation } from './conversation.js';
import type { Result } from './errors.js';
import type { RequestRecord, RunRecord } from './records.js';
import type { StepResult } from './records.js';
import { newRunSteps, readState, runChecks } from './run/execute.js';
import { resolveInputs } from './runbook/inputs.js';
import { inverseTargets, plan, type Plan, type PreState } from './runbook/planner.js';
import { renderValueForPeople } from './runbook/render.js';
import type { Runbook } from './runbook/schema.js';
import type { VerifyItem } from './ports.js';

/** The state a runbook reads, or the notice that says which read failed. */
async function read(c: Conversation, runbook: Runbook, planned: boolean): Promise<Result<PreState>> {
  const state = await readState(runbook.read, c.deps.agents);
  if (state.ok || state.error.code !== 'read-failed') return state;
  return { ok: false, error: { ...state.error, planned } };
}

/** A change runbook's plan (or a compare runbook's, `as`) from the options typed. */
export async function planChange(c: Conversation, procedure: Runbook, options: Record<string, string>, as?: Runbook): Promise<Result<{ plan: Plan; state: PreState }>> {
  const inputs = resolveInputs(procedure, options);
  if (!inputs.ok) return inputs;
  const state = await read(c, procedure, !as);
  if (!state.ok) return state;
  return { ok: true, value: { plan: plan({ runbook: procedure, ...(as ? { requested: as } : {}), values: inputs.value, preState: state.value }), state: state.value } };
}

/** The plan a run had: its runbook, its values, the state read before it. */
export function planOfRun(c: Conversation, run: RunRecord): Plan | undefined {
  const procedure = c.deps.runbooks.get(run.runbook);
  if (!procedure || procedure.kind !== 'change' || !run.preState) return undefined;
  return plan({ runbook: procedure, values: run.values, preState: run.preState });
}

/** The plan that undoes `run`, against the state now. */
export async function planUndo(c: Conversation, run: RunRecord, undo: Runbook): Promise<Result<Plan>> {
  const procedure = c.runbook(run.runbook);
  const before = planOfRun(c, run);
  if (!before) return { ok: false, error: { code: 'cannot-undo', runId: run.id, runbook: run.runbook, status: run.status, undo: undo.name } };
  const state = await read(c, procedure, true);
  if (!state.ok) return state;
  return { ok: true, value: plan({ runbook: procedure, requested: undo, values: run.values, preState: state.value, targets: inverseTargets(before, procedure) }) };
}

/** Did the run change (or may it have changed) something? A change step that ran, even one that failed midway. */
export function changedSomething(run: RunRecord): boolean {
  return run.steps.some((s) => s.kind === 'change' && (s.status === 'succeeded' || s.status === 'failed' || s.status === 'running'));
}

/** The same plan as the request's, read afresh: what the run compares with the approved plan (by fingerprint). */
export async function replan(c: Conversation, request: RequestRecord): Promise<Result<Plan>> {
  if (request.rollbackOf) {
    const undone = await c.deps.store.getRun(request.rollbackOf);
    if (!undone) return { ok: false, error: { code: 'no-run', runId: request.rollbackOf } };
    return planUndo(c, undone, c.runbook(request.runbook));
  }
  const procedure = c.runbook(request.plan.procedure ?? request.runbook);
  const state = await read(c, procedure, false);
  if (!state.ok) return state;
  return { ok: true, value: plan({ runbook: procedure, values: request.values, preState: state.value }) };
}

/** Verify's per-item comparison: each property the runbook would set, as it is now. */
export function verifyItems(p: Plan, state: PreState): VerifyItem[] {
  const items: VerifyItem[] = [];
  for (const step of p.steps) {
    if (step.action === 'create') {
      items.push({ item: `${step.title}: ${step.target}`, expected: 'exists', actual: 'absent', ok: false });
      continue;
    }
    if (step.action === 'remove') {
      items.push({ item: `${step.title}: ${step.target}`, expected: 'absent', actual: 'exists', ok: false });
      continue;
    }
    const changed = new Map(step.changes.map((c) => [c.property, c]));
    const key = step.expected?.key ?? 'Identity';
    const objects = state[step.read] ?? [];
    const object = objects.find((o) => renderValueForPeople(o[key]).toLowerCase() === step.target.toLowerCase()) ?? objects[0];
    for (const [property, want] of Object.entries(step.expected?.properties ?? {})) {
      const c = changed.get(property);
      items.push({ item: `${step.title}: ${property}`, expected: renderValueForPeople(want), actual: renderValueForPeople(c ? c.from : object?.[property]), ok: !c });
    }
  }
  return items;
}

/** `verify`: the procedure's plan read now, each property compared, and its checks (replication, Edges) run. */
export async function compareNow(c: Conversation, procedure: Runbook, options: Record<string, string>, compare: Runbook): Promise<Result<{ plan: Plan; items: VerifyItem[]; steps: StepResult[]; verdict: 'pass' | 'fail' }>> {
  const planned = await planChange(c, procedure, options, compare);
  if (!planned.ok) return planned;
  const { plan: p, state } = planned.value;
  const items = verifyItems(p, state);
  const steps = newRunSteps(p).filter((s) => s.kind !== 'change');
  await runChecks({ ...c.runContext, progress: async () => undefined }, p, steps, async () => undefined, false);
  const ok = items.every((i) => i.ok) && steps.every((s) => s.status === 'succeeded');
  return { ok: true, value: { plan: p, items, steps, verdict: ok ? 'pass' : 'fail' } };
}
