// The planner: a runbook, its input values and the state read before the change become a plan that says,
// per step, what will happen (+ create, ~ change, = no-op, -/+ replace, - remove), the exact cmdlets that will
// run, and why a plan is refused. Pure: no I/O, so the same inputs always give the same plan and fingerprint.
import { createHash } from 'node:crypto';
import type { Invocation, ParamValue, Role } from '../types.js';
import type { InputValues } from './inputs.js';
import { fillIn, substitute } from './inputs.js';
import { text } from './render.js';
import type { ChangeStep, ResourceStep, Runbook, SettingsStep, Step } from './schema.js';

export type ActionKind = 'create' | 'change' | 'no-op' | 'replace' | 'remove';
export type ObjectRecord = Record<string, unknown>;
/** What the read cmdlets returned before the change, by the runbook's `read` names. */
export type PreState = Record<string, ObjectRecord[]>;
export type Properties = Record<string, ParamValue>;

export interface PropertyChange {
  property: string;
  from: unknown;
  to: ParamValue | undefined;
}

export interface PlannedStep {
  /** unique in the plan: the runbook step's id for its own object, with a suffix for another object it touches */
  stepId: string;
  /** the runbook step it comes from (older stored plans: absent, the same as stepId) */
  step?: string;
  title: string;
  role: Role;
  /** the runbook's read that holds the object before the change */
  read: string;
  action: ActionKind;
  /** the object acted on: "Global" or the provider's Identity */
  target: string;
  changes: PropertyChange[];
  invocations: Invocation[];
  /** what the object should look like afterwards (null: it should not exist); the Edge check compares with it */
  expected: { key: string; keyValue: string; properties: Properties | null } | null;
}

export interface Plan {
  /** the runbook requested (for a rollback: the undo runbook) */
  runbook: string;
  /** the change runbook whose steps it plans (older stored plans: absent, the same as runbook) */
  procedure?: string;
  values: InputValues;
  steps: PlannedStep[];
  /** replication, Edge and read steps that follow the changes */
  checks: Step[];
  refusals: string[];
  warnings: string[];
  /** what the admin must do besides (the runbook's `note`) */
  note?: string;
  preState: PreState;
  fingerprint: string;
}

/** What one object should become: settings in place, or a keyed object with these properties (null: absent). */
export type Target =
  | { step: string; kind: 'settings'; set: Properties }
  | { step: string; kind: 'resource'; keyValue: string; set: Properties | null; id?: string };

const SWITCH_FALSE_CONFIRM: Properties = { Confirm: false };

// Lync compares identities and FQDNs without regard to case, as PowerShell's -eq does.
function sameKey(a: unknown, b: unknown): boolean {
  return typeof a === 'string' && typeof b === 'string' ? a.toLowerCase() === b.toLowerCase() : a === b;
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Lync shows an unset string as $null or "": both mean "not set"
  if ((a === null || a === undefined || a === '') && (b === null || b === undefined || b === '')) return true;
  return false;
}

/** The properties whose desired value differs; `caseless` ones (names, FQDNs) compare as Lync does. */
function diff(current: ObjectRecord | undefined, desired: Properties, skip: readonly string[] = [], caseless: readonly string[] = []): PropertyChange[] {
  return Object.entries(desired)
    .filter(([property]) => !skip.includes(property))
    .filter(([property, to]) => !(caseless.includes(property) ? sameKey(current?.[property], to) : sameValue(current?.[property], to)))
    .map(([property, to]) => ({ property, from: current?.[property], to }));
}

function resolveSet(set: Record<string, ParamValue>, values: InputValues): Properties {
  return Object.fromEntries(Object.entries(set).map(([k, v]) => [k, substitute(v, values)]));
}

/** The properties a resource step keeps before a change and restores after: `restore`, else the keys of `set`. */
export function restoredProperties(step: ResourceStep): string[] {
  return step.restore.length ? step.restore : Object.keys(step.set);
}

/** The targets a runbook's change steps aim at, from its input values, in the runbook's order. */
export function targetsFromRunbook(runbook: Runbook, values: InputValues): Target[] {
  const targets: Target[] = [];
  for (const step of changeSteps(runbook)) {
    const set = resolveSet(step.set, values);
    if (step.type === 'settings') targets.push({ step: step.id, kind: 'settings', set });
    else targets.push({ step: step.id, kind: 'resource', keyValue: text(set[step.key]), set });
  }
  return targets;
}

/**
 * The parameters that set `changes`: a switch property becomes the switch named after its value, with the
 * properties that go with that switch (from the target, else as read).
 */
function settingsParameters(step: SettingsStep, changes: PropertyChange[], target: Properties, current: ObjectRecord | undefined): Properties {
  const parameters: Properties = {};
  for (const c of changes) {
    const values = step.switches[c.property];
    if (!values) {
      parameters[c.property] = c.to as ParamValue;
      continue;
    }
    parameters[text(c.to)] = true;
    for (const companion of values[text(c.to)] ?? []) {
      const value = companion in target ? target[companion] : (current?.[companion] as ParamValue | undefined);
      if (value !== undefined && value !== null) parameters[companion] = value;
    }
  }
  return parameters;
}

/** The state as the plan goes: each planned step's effect applied, so a later step sees what an earlier one did. */
type Working = PreState;

function planSettings(step: SettingsStep, target: Properties, state: Working, refusals: string[]): PlannedStep {
  const current = state[step.read]?.[0];
  for (const req of step.require) {
    const actual = current?.[req.property];
    if (!sameValue(actual, req.equals)) refusals.push(`${step.title}: ${req.reason.replace('{value}', text(actual))}`);
  }
  const changes = diff(current, target);
  for (const c of changes) {
    const values = step.switches[c.property];
    if (values && !(text(c.to) in values)) refusals.push(`${step.title}: ${c.property} ${text(c.to)} cannot be set: the cmdlet takes ${Object.keys(values).map((v) => `-${v}`).join(' or ')}`);
  }
  if (current) state[step.read] = [{ ...current, ...target }, ...(state[step.read] ?? []).slice(1)];
  const identity = current ? text(current.Identity) : 'Global';
  return {
    stepId: step.id,
    step: step.id,
    title: step.title,
    role: step.role,
    read: step.read,
    action: changes.length ? 'change' : 'no-op',
    target: identity,
    changes,
    invocations: changes.length ? [{ cmdlet: step.cmdlet, parameters: settingsParameters(step, changes, target, current) }] : [],
    expected: { key: 'Identity', keyValue: identity, properties: target },
  };
}

/** The input whose value names the object (`--identity`), to say how to plan for another one. */
function keyOption(runbook: Runbook, step: ResourceStep): string | undefined {
  const m = /^\{([A-Za-z]+)\}$/.exec(text(step.set[step.key]));
  return m && m[1]! in runbook.inputs ? `--${m[1]}` : undefined;
}

interface ResourceContext {
  runbook: Runbook;
  state: Working;
  refusals: string[];
  /** objects removed so far, for the warnings */
  removed: { read: string; object: ObjectRecord }[];
  id: string;
}

/** Drops and adds objects of a read in the working state. */
function putObject(state: Working, read: string, key: string, keyValue: string, object: ObjectRecord | null): void {
  const rest = (state[read] ?? []).filter((o) => !sameKey(o[key], keyValue));
  state[read] = object ? [...rest, object] : rest;
}

/** Parameters to create an object: the desired ones without unset values (the cmdlet's defaults stand). */
function createParameters(desired: Properties): Properties {
  return Object.fromEntries(Object.entries(desired).filter(([, v]) => v !== null && v !== ''));
}

function planResource(step: ResourceStep, target: Extract<Target, { kind: 'resource' }>, ctx: ResourceContext): PlannedStep[] {
  const { state } = ctx;
  const objects = state[step.read] ?? [];
  const current = objects.find((o) => sameKey(o[step.key], target.keyValue));
  const keyValue = current ? text(current[step.key]) : target.keyValue;
  const removal = (of: string): Invocation => ({ cmdlet: step.cmdlets.remove, parameters: { [step.key]: of, ...SWITCH_FALSE_CONFIRM } });
  const base = { stepId: ctx.id, step: step.id, title: step.title, role: step.role, read: step.read, target: target.keyValue };
  const expected = { key: step.key, keyValue: target.keyValue, properties: target.set };

  if (target.set === null) {
    if (!current) return [{ ...base, action: 'no-op', changes: [], invocations: [], expected }];
    ctx.removed.push({ read: step.read, object: current });
    putObject(state, step.read, step.key, keyValue, null);
    return [{ ...base, action: 'remove', changes: [], invocations: [removal(keyValue)], expected }];
  }
  const desired = target.set;
  const before: PlannedStep[] = [];
  for (const property of step.unique) {
    const owner = (state[step.read] ?? []).find((o) => !sameKey(o[step.key], target.keyValue) && sameKey(o[property], desired[property]));
    if (!owner) continue;
    const ownerKey = text(owner[step.key]);
    if (step.taken === 'remove') {
      // Microsoft's procedure: the provider that owns the value goes first; rollback creates it again
      ctx.removed.push({ read: step.read, object: owner });
      putObject(state, step.read, step.key, ownerKey, null);
      before.push({ ...base, stepId: `${ctx.id}-removes-${before.length + 1}`, target: ownerKey, action: 'remove', changes: [], invocations: [removal(ownerKey)], expected: { key: step.key, keyValue: ownerKey, properties: null } });
      continue;
    }
    const option = keyOption(ctx.runbook, step);
    ctx.refusals.push(
      `${step.title}: ${property} ${text(desired[property])} is already used by "${ownerKey}"; ` +
        `${property} must be unique, so either remove that one first${option ? ` or run with ${option} "${ownerKey}"` : ''}`,
    );
  }
  const create: Invocation = { cmdlet: step.cmdlets.create, parameters: createParameters(desired) };
  const after = { ...(current ?? {}), ...desired };
  if (!current) {
    putObject(state, step.read, step.key, keyValue, after);
    return [...before, { ...base, action: 'create', changes: diff(undefined, createParameters(desired)), invocations: [create], expected }];
  }
  const changes = diff(current, desired, [step.key], step.unique);
  if (changes.length === 0) return [...before, { ...base, action: 'no-op', changes, invocations: [], expected }];
  putObject(state, step.read, step.key, keyValue, after);
  if (changes.some((c) => step.immutable.includes(c.property))) {
    // ProxyFqdn cannot be changed in place: remove the provider, then create it again
    ctx.removed.push({ read: step.read, object: current });
    return [...before, { ...base, action: 'replace', changes, invocations: [removal(keyValue), create], expected }];
  }
  const parameters: Properties = { [step.key]: keyValue, ...Object.fromEntries(changes.map((c) => [c.property, c.to as ParamValue])) };
  return [...before, { ...base, action: 'change', changes, invocations: [{ cmdlet: step.cmdlets.change, parameters }], expected }];
}

function changeSteps(runbook: Runbook): ChangeStep[] {
  return runbook.steps.filter((s): s is ChangeStep => s.type === 'settings' || s.type === 'resource');
}

/** The runbook's checks: what follows its changes (replication, Edge, reads). */
export function checkSteps(runbook: Runbook): Step[] {
  return runbook.steps.filter((s) => s.type !== 'settings' && s.type !== 'resource');
}

export interface PlanRequest {
  /** the change runbook whose steps are planned (for a rollback: the undone run's runbook, with inverted targets) */
  runbook: Runbook;
  /** the runbook the request was made with, when another (the undo runbook): the plan carries its name */
  requested?: Runbook;
  values: InputValues;
  preState: PreState;
  /** what each object should become (rollback); default: the runbook's own targets from the values */
  targets?: Target[];
}

export function plan(req: PlanRequest): Plan {
  const requested = req.requested ?? req.runbook;
  const targets = req.targets ?? targetsFromRunbook(req.runbook, req.values);
  const refusals: string[] = [];
  const steps: PlannedStep[] = [];
  const state: Working = structuredClone(req.preState);
  const ctx = { runbook: req.runbook, state, refusals, removed: [] as ResourceContext['removed'] };
  const used = new Map<string, number>();
  for (const target of targets) {
    const step = changeSteps(req.runbook).find((s) => s.id === target.step);
    if (!step) continue;
    const n = (used.get(step.id) ?? 0) + 1;
    used.set(step.id, n);
    const id = target.kind === 'resource' && target.id ? target.id : n === 1 ? step.id : `${step.id}-${n}`;
    if (step.type === 'settings' && target.kind === 'settings') steps.push({ ...planSettings(step, target.set, state, refusals), stepId: id });
    if (step.type === 'resource' && target.kind === 'resource') steps.push(...planResource(step, target, { ...ctx, id }));
  }
  const warnings = planWarnings(req.runbook, ctx.removed, req.preState);
  const note = requested === req.runbook && req.runbook.note ? fillIn(req.runbook.note, req.values) : undefined;
  const body = { runbook: requested.name, values: req.values, steps: steps.map((s) => ({ id: s.stepId, action: s.action, invocations: s.invocations })), preState: req.preState };
  return {
    runbook: requested.name,
    procedure: req.runbook.name,
    values: req.values,
    steps,
    checks: checkSteps(req.runbook),
    refusals,
    warnings,
    ...(note ? { note } : {}),
    preState: req.preState,
    fingerprint: fingerprint(body),
  };
}

function planWarnings(runbook: Runbook, removed: ResourceContext['removed'], state: PreState): string[] {
  const warnings: string[] = [];
  for (const w of runbook.warnings) {
    for (const { object } of removed) {
      const value = object[w.equals];
      if (value === undefined || value === null || value === '') continue;
      for (const user of state[w.read] ?? []) {
        if (sameKey(user[w.property], value)) warnings.push(w.message.replace('{Identity}', text(user.Identity)).replace('{value}', text(value)));
      }
    }
  }
  return [...new Set(warnings)];
}

/** True when the plan would change nothing. */
export function isNoop(p: Plan): boolean {
  return p.steps.every((s) => s.action === 'no-op');
}

/** A stable hash of a JSON value: object keys sorted, so the same plan and state always give the same text. */
export function fingerprint(value: unknown): string {
  const canonical = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(canonical);
    if (v && typeof v === 'object') {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .map((k) => [k, canonical((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 12);
}

/**
 * The targets of a rollback, in reverse order of the run: each object a step of the run acted on, as it was before
 * (every property the step restores; absent if it did not exist). Steps the run found already as desired are left
 * alone (AllowFederatedUsers stays True if it was); steps that never ran plan as no-ops, the object being as before.
 */
export function inverseTargets(runPlan: Plan, runbook: Runbook): Target[] {
  const targets: Target[] = [];
  for (const done of [...runPlan.steps].reverse()) {
    if (done.action === 'no-op') continue;
    const step = changeSteps(runbook).find((s) => s.id === (done.step ?? done.stepId));
    if (!step) continue;
    if (step.type === 'settings') {
      const before = runPlan.preState[step.read]?.[0] ?? {};
      // what the object did not have before (a property of another routing) is left as it is
      const back = done.changes.filter((c) => before[c.property] !== undefined).map((c) => c.property);
      // the properties that go with a switch come back too (DefaultRouteFqdn with UseDefaultRouting)
      const companions = Object.entries(step.switches).flatMap(([p, values]) => (back.includes(p) ? (values[text(before[p])] ?? []) : []));
      const set = Object.fromEntries([...back, ...companions].filter((p) => before[p] !== undefined).map((p) => [p, before[p] as ParamValue]));
      targets.push({ step: step.id, kind: 'settings', set });
      continue;
    }
    const before = (runPlan.preState[step.read] ?? []).find((o) => sameKey(o[step.key], done.target));
    const set: Properties | null = before ? Object.fromEntries(restoredProperties(step).filter((k) => k in before).map((k) => [k, before[k] as ParamValue])) : null;
    targets.push({ step: step.id, kind: 'resource', keyValue: done.target, set, id: done.stepId });
  }
  return targets;
}
