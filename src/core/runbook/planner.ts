// The planner: a runbook, its input values and the state read before the change become a plan that says,
// per step, what will happen (+ create, ~ change, = no-op, -/+ replace, - remove), the exact cmdlets that will
// run, and why a plan is refused. Pure: no I/O, so the same inputs always give the same plan and fingerprint.
import { createHash } from 'node:crypto';
import type { Invocation, ParamValue, Role } from '../types.js';
import type { InputValues } from './inputs.js';
import { substitute } from './inputs.js';
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
  stepId: string;
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
  runbook: string;
  values: InputValues;
  steps: PlannedStep[];
  /** replication, Edge and read steps that follow the changes */
  checks: Step[];
  refusals: string[];
  warnings: string[];
  preState: PreState;
  fingerprint: string;
}

/** What a step should make true: for a resource, the object (or its absence, by key). */
export type Target = { kind: 'settings'; set: Properties } | { kind: 'resource'; key: string; keyValue: string; set: Properties | null };

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

/** The targets a runbook's change steps aim at, from its input values. */
export function targetsFromRunbook(runbook: Runbook, values: InputValues): Map<string, Target> {
  const targets = new Map<string, Target>();
  for (const step of runbook.steps) {
    if (step.type === 'settings') targets.set(step.id, { kind: 'settings', set: resolveSet(step.set, values) });
    if (step.type === 'resource') {
      const set = resolveSet(step.set, values);
      targets.set(step.id, { kind: 'resource', key: step.key, keyValue: text(set[step.key]), set });
    }
  }
  return targets;
}

function planSettings(step: SettingsStep, target: Properties, state: PreState, refusals: string[]): PlannedStep {
  const current = state[step.read]?.[0];
  for (const req of step.require) {
    const actual = current?.[req.property];
    if (!sameValue(actual, req.equals)) refusals.push(`${step.title}: ${req.reason.replace('{value}', text(actual))}`);
  }
  const changes = diff(current, target);
  const parameters = Object.fromEntries(changes.map((c) => [c.property, c.to as ParamValue]));
  return {
    stepId: step.id,
    title: step.title,
    role: step.role,
    read: step.read,
    action: changes.length ? 'change' : 'no-op',
    target: current ? text(current.Identity) : 'Global',
    changes,
    invocations: changes.length ? [{ cmdlet: step.cmdlet, parameters }] : [],
    expected: { key: 'Identity', keyValue: current ? text(current.Identity) : 'Global', properties: target },
  };
}

function planResource(step: ResourceStep, target: Extract<Target, { kind: 'resource' }>, state: PreState, refusals: string[]): PlannedStep {
  const objects = state[step.read] ?? [];
  const current = objects.find((o) => sameKey(o[step.key], target.keyValue));
  const keyValue = current ? text(current[step.key]) : target.keyValue;
  const removal: Invocation = { cmdlet: step.cmdlets.remove, parameters: { [step.key]: keyValue, ...SWITCH_FALSE_CONFIRM } };
  const base = { stepId: step.id, title: step.title, role: step.role, read: step.read, target: target.keyValue };
  const expected = { key: step.key, keyValue: target.keyValue, properties: target.set };

  if (target.set === null) {
    return current
      ? { ...base, action: 'remove', changes: [], invocations: [removal], expected }
      : { ...base, action: 'no-op', changes: [], invocations: [], expected };
  }
  const desired = target.set;
  for (const property of step.unique) {
    const owner = objects.find((o) => !sameKey(o[step.key], target.keyValue) && sameKey(o[property], desired[property]));
    if (owner) {
      refusals.push(
        `${step.title}: ${property} ${text(desired[property])} is already used by "${text(owner[step.key])}"; ` +
          `${property} must be unique, so either remove that one first or run with --identity "${text(owner[step.key])}"`,
      );
    }
  }
  const create: Invocation = { cmdlet: step.cmdlets.create, parameters: desired };
  if (!current) return { ...base, action: 'create', changes: diff(undefined, desired), invocations: [create], expected };
  const changes = diff(current, desired, [step.key], step.unique);
  if (changes.length === 0) return { ...base, action: 'no-op', changes, invocations: [], expected };
  if (changes.some((c) => step.immutable.includes(c.property))) {
    // ProxyFqdn cannot be changed in place: remove the provider, then create it again
    return { ...base, action: 'replace', changes, invocations: [removal, create], expected };
  }
  const parameters: Properties = { [step.key]: keyValue, ...Object.fromEntries(changes.map((c) => [c.property, c.to as ParamValue])) };
  return { ...base, action: 'change', changes, invocations: [{ cmdlet: step.cmdlets.change, parameters }], expected };
}

function changeSteps(runbook: Runbook): ChangeStep[] {
  return runbook.steps.filter((s): s is ChangeStep => s.type === 'settings' || s.type === 'resource');
}

export interface PlanRequest {
  /** the runbook whose change steps run (for rollback: the setup runbook, with inverted targets) */
  runbook: Runbook;
  /** the runbook the request was made with (its name, warnings and checks are the plan's) */
  requested?: Runbook;
  values: InputValues;
  preState: PreState;
  /** overrides of the targets (rollback); default: the runbook's own targets from the values */
  targets?: Map<string, Target>;
}

export function plan(req: PlanRequest): Plan {
  const requested = req.requested ?? req.runbook;
  const targets = req.targets ?? targetsFromRunbook(req.runbook, req.values);
  const refusals: string[] = [];
  const steps: PlannedStep[] = [];
  for (const step of changeSteps(req.runbook)) {
    const target = targets.get(step.id);
    if (!target) continue;
    if (step.type === 'settings' && target.kind === 'settings') steps.push(planSettings(step, target.set, req.preState, refusals));
    if (step.type === 'resource' && target.kind === 'resource') steps.push(planResource(step, target, req.preState, refusals));
  }
  const warnings = planWarnings(requested, steps, req.preState);
  const checks = requested.steps.filter((s) => s.type !== 'settings' && s.type !== 'resource');
  const body = { runbook: requested.name, values: req.values, steps: steps.map((s) => ({ id: s.stepId, action: s.action, invocations: s.invocations })), preState: req.preState };
  return { runbook: requested.name, values: req.values, steps, checks, refusals, warnings, preState: req.preState, fingerprint: fingerprint(body) };
}

function planWarnings(runbook: Runbook, steps: PlannedStep[], state: PreState): string[] {
  const warnings: string[] = [];
  for (const w of runbook.warnings) {
    for (const step of steps.filter((s) => s.action === 'remove' || s.action === 'replace')) {
      const removed = state[step.read]?.find((o) => sameKey(o.Identity, step.target));
      const proxy = removed?.ProxyFqdn;
      for (const user of state[w.read] ?? []) {
        if (proxy !== undefined && sameKey(user[w.property], proxy)) {
          warnings.push(w.message.replace('{Identity}', text(user.Identity)).replace('{value}', text(proxy)));
        }
      }
    }
  }
  return warnings;
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
 * The targets of a rollback: for each change step of the setup that did something, the object as it was before
 * the setup. Steps the setup found already as desired are left alone (AllowFederatedUsers stays True if it was).
 */
export function inverseTargets(setupPlan: Plan, setup: Runbook): Map<string, Target> {
  const targets = new Map<string, Target>();
  for (const step of changeSteps(setup)) {
    const done = setupPlan.steps.find((s) => s.stepId === step.id);
    if (!done || done.action === 'no-op') continue;
    if (step.type === 'settings') {
      const before = setupPlan.preState[step.read]?.[0] ?? {};
      const set = Object.fromEntries(done.changes.map((c) => [c.property, before[c.property] as ParamValue]));
      targets.set(step.id, { kind: 'settings', set });
    } else {
      const before = (setupPlan.preState[step.read] ?? []).find((o) => sameKey(o[step.key], done.target));
      const managed = Object.keys(step.set);
      const set: Properties | null = before ? Object.fromEntries(managed.map((k) => [k, before[k] as ParamValue])) : null;
      targets.set(step.id, { kind: 'resource', key: step.key, keyValue: done.target, set });
    }
  }
  return targets;
}
