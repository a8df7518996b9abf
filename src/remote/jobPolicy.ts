// What a remote agent agrees to run: only invocations that its own copy of the runbooks could produce. The bot is
// trusted to authenticate people and plan changes, but an agent on an Edge Server in a perimeter network does not
// take the bot's word for what a step is: a job naming a cmdlet, a parameter or a value that no runbook gives is
// refused, whoever sent it.
//
// Per cmdlet, the table lists each parameter (case-insensitive, as PowerShell binds it; never an abbreviation or an
// alias) with the values the runbooks allow:
//   - a literal (`LocalStore: true`, `Confirm: false`, `VerificationLevel: UseSourceVerification`): that value;
//   - a placeholder ("{identity}", "{proxyFqdn}"): any text that src/core/runbook/inputs.ts accepts from a person;
//   - a literal in a change step of a runbook that another runbook inverts (setup, inverted by rollback): rollback sets
//     the value back to what it was before, so any value of the same kind (a boolean, a single enum-like word, a
//     number, or null for a property that was unset) is allowed.
import { validateTextValue } from '../core/runbook/inputs.js';
import type { Runbook } from '../core/runbook/schema.js';
import type { Invocation, ParamValue, Role } from '../core/types.js';

export type JobCheck = { ok: true } | { ok: false; reason: string };

type ValueRule = { kind: 'literal'; value: ParamValue } | { kind: 'text' } | { kind: 'same-kind'; like: ParamValue };

interface CmdletRule {
  cmdlet: string;
  roles: Set<Role>;
  /** lowercased parameter name → its spelling in the runbooks and the values allowed */
  parameters: Map<string, { name: string; values: ValueRule[] }>;
}

export type JobPolicy = ReadonlyMap<string, CmdletRule>;

const PLACEHOLDER = /^\{[A-Za-z]+\}$/;
const ENUM_WORD = /^[A-Za-z][A-Za-z0-9]*$/;

/** The table of what the runbooks allow, per cmdlet (keys lowercased: PowerShell resolves cmdlet names that way). */
export function buildJobPolicy(runbooks: ReadonlyMap<string, Runbook>): JobPolicy {
  const table = new Map<string, CmdletRule>();
  // every change runbook can be undone: its values may come back as they were before (of the same kind)
  const inverted = new Set([...runbooks.values()].filter((rb) => rb.kind === 'change').map((rb) => rb.name));
  const rule = (cmdlet: string, role: Role): CmdletRule => {
    const key = cmdlet.toLowerCase();
    let r = table.get(key);
    if (!r) table.set(key, (r = { cmdlet, roles: new Set(), parameters: new Map() }));
    r.roles.add(role);
    return r;
  };
  const allow = (r: CmdletRule, name: string, value: ValueRule) => {
    const key = name.toLowerCase();
    let p = r.parameters.get(key);
    if (!p) r.parameters.set(key, (p = { name, values: [] }));
    p.values.push(value);
  };
  const fromRunbook = (value: ParamValue, invertible: boolean): ValueRule => {
    if (typeof value === 'string' && PLACEHOLDER.test(value)) return { kind: 'text' };
    return invertible ? { kind: 'same-kind', like: value } : { kind: 'literal', value };
  };
  for (const rb of runbooks.values()) {
    const invertible = inverted.has(rb.name);
    for (const read of Object.values(rb.read)) {
      const r = rule(read.cmdlet, read.role);
      for (const [name, value] of Object.entries(read.parameters ?? {})) allow(r, name, { kind: 'literal', value });
    }
    for (const step of rb.steps) {
      switch (step.type) {
        case 'settings': {
          const r = rule(step.cmdlet, step.role);
          for (const [name, value] of Object.entries(step.set)) if (!step.switches[name]) allow(r, name, fromRunbook(value, invertible));
          // a switch property runs as the switch named after its value (and, undone, after the value it had)
          for (const values of Object.values(step.switches)) {
            for (const [v, companions] of Object.entries(values)) {
              allow(r, v, { kind: 'literal', value: true });
              for (const c of companions) allow(r, c, { kind: 'text' });
            }
          }
          break;
        }
        case 'resource': {
          // the planner: create with every `set` value; change with the key and the changed values; remove with the
          // key and -Confirm:$false
          const create = rule(step.cmdlets.create, step.role);
          const change = rule(step.cmdlets.change, step.role);
          const remove = rule(step.cmdlets.remove, step.role);
          for (const [name, value] of Object.entries(step.set)) {
            allow(create, name, fromRunbook(value, invertible));
            allow(change, name, fromRunbook(value, invertible));
          }
          // what a rollback restores besides: any text value (an AutodiscoverUrl the runbook never set)
          for (const name of step.restore.filter((n) => !(n in step.set))) {
            for (const r of [create, change]) for (const like of ['', 0, false] as const) allow(r, name, like === '' ? { kind: 'text' } : { kind: 'same-kind', like });
          }
          for (const r of [create, change, remove]) allow(r, step.key, { kind: 'text' });
          allow(remove, 'Confirm', { kind: 'literal', value: false });
          break;
        }
        case 'replication':
          rule(step.cmdlet, step.role);
          break;
        case 'edge-check':
        case 'read': {
          const r = rule(step.cmdlet, step.role);
          for (const [name, value] of Object.entries(step.parameters)) allow(r, name, { kind: 'literal', value });
          break;
        }
      }
    }
  }
  return table;
}

/** The table is built once per runbook set. */
const policies = new WeakMap<ReadonlyMap<string, Runbook>, JobPolicy>();

const show = (v: ParamValue): string => (typeof v === 'string' ? JSON.stringify(v) : String(v));

function sameKind(like: ParamValue, value: ParamValue): boolean {
  if (value === null) return typeof like === 'string';
  if (typeof like === 'boolean') return typeof value === 'boolean';
  if (typeof like === 'number') return typeof value === 'number' && Number.isSafeInteger(value);
  if (typeof like === 'string') return typeof value === 'string' && (ENUM_WORD.test(like) ? ENUM_WORD.test(value) : validateTextValue('value', value) === undefined);
  return false;
}

function matches(rule: ValueRule, value: ParamValue): boolean {
  switch (rule.kind) {
    case 'literal':
      return typeof rule.value === 'string' && typeof value === 'string' ? rule.value.toLowerCase() === value.toLowerCase() : rule.value === value;
    case 'text':
      return typeof value === 'string' && validateTextValue('value', value) === undefined;
    case 'same-kind':
      return sameKind(rule.like, value);
  }
}

function describeRules(rules: ValueRule[]): string {
  const words = rules.map((r) =>
    r.kind === 'literal' ? show(r.value) : r.kind === 'text' ? 'text' : typeof r.like === 'string' && ENUM_WORD.test(r.like) ? 'a single word' : `a ${typeof r.like}`,
  );
  return [...new Set(words)].join(' or ');
}

/**
 * Whether a job is one the runbooks define. `roles`: the roles this agent serves; a cmdlet that only other roles'
 * steps use is refused too (an Edge agent never creates a hosting provider).
 */
export function validateJob(runbooks: ReadonlyMap<string, Runbook>, invocation: unknown, roles?: readonly Role[]): JobCheck {
  let table = policies.get(runbooks);
  if (!table) policies.set(runbooks, (table = buildJobPolicy(runbooks)));
  if (typeof invocation !== 'object' || invocation === null) return { ok: false, reason: 'the job has no invocation' };
  const { cmdlet, parameters } = invocation as Partial<Invocation>;
  if (typeof cmdlet !== 'string' || cmdlet.length === 0) return { ok: false, reason: 'the job names no cmdlet' };
  const rule = table.get(cmdlet.toLowerCase());
  if (!rule) return { ok: false, reason: `cmdlet ${JSON.stringify(cmdlet.slice(0, 100))} is not in any runbook` };
  if (roles && !roles.some((r) => rule.roles.has(r))) {
    return { ok: false, reason: `${rule.cmdlet} runs only on ${[...rule.roles].join(' or ')} agents; this agent serves ${roles.join(', ')}` };
  }
  if (typeof parameters !== 'object' || parameters === null || Array.isArray(parameters)) return { ok: false, reason: `${rule.cmdlet}: parameters must be an object` };
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(parameters)) {
    const key = name.toLowerCase();
    const allowed = rule.parameters.get(key);
    if (!allowed) return { ok: false, reason: `parameter ${JSON.stringify(name.slice(0, 100))} is not in any runbook for ${rule.cmdlet}` };
    if (seen.has(key)) return { ok: false, reason: `parameter "${allowed.name}" of ${rule.cmdlet} is given twice` };
    seen.add(key);
    const v = value as unknown;
    if (v !== null && typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      return { ok: false, reason: `parameter "${allowed.name}" of ${rule.cmdlet}: values of type ${Array.isArray(v) ? 'array' : typeof v} are not allowed` };
    }
    if (!allowed.values.some((r) => matches(r, v))) {
      const shown = typeof v === 'string' ? JSON.stringify(v.slice(0, 100)) : String(v);
      const textProblem = typeof v === 'string' && allowed.values.some((r) => r.kind === 'text') ? validateTextValue(allowed.name, v)?.replace(/^--\S+\s*/, '') : undefined;
      return {
        ok: false,
        reason: textProblem
          ? `parameter "${allowed.name}" of ${rule.cmdlet}: the value ${textProblem}`
          : `parameter "${allowed.name}" of ${rule.cmdlet} must be ${describeRules(allowed.values)}, not ${shown}`,
      };
    }
  }
  return { ok: true };
}
