// Options typed by a requester become a runbook's input values, or a refusal that names the bad option.
import type { Result } from '../errors.js';
import type { Runbook } from './schema.js';

export type InputValues = Record<string, string>;

export type InputResult = Result<InputValues>;

const badOption = (problem: string): InputResult => ({ ok: false, error: { code: 'bad-option', problem } });

const MAX_VALUE_LENGTH = 256;
// C0/C1 controls, line and paragraph separators, and bidi overrides have no place in a Lync identity and make a
// plan read differently from what runs; everything else is data and travels to PowerShell as data.
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

export function validateTextValue(name: string, value: string): string | undefined {
  if (value.trim().length === 0) return `--${name} is empty`;
  if (value !== value.trim()) return `--${name} has spaces at its start or end`;
  if (value.length > MAX_VALUE_LENGTH) return `--${name} is ${value.length} characters long; at most ${MAX_VALUE_LENGTH}`;
  const bad = FORBIDDEN.exec(value);
  if (bad) return `--${name} contains the control or direction character U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
  return undefined;
}

/** Applies defaults, checks choices and text, and adds the derived values (proxyFqdn from cloud). */
export function resolveInputs(runbook: Runbook, options: Record<string, string>): InputResult {
  const values: InputValues = {};
  for (const name of Object.keys(options)) {
    if (!(name in runbook.inputs)) {
      const known = Object.keys(runbook.inputs).map((n) => `--${n}`);
      return badOption(`${runbook.name} has no option --${name}${known.length ? ` (options: ${known.join(', ')})` : ''}`);
    }
  }
  for (const [name, spec] of Object.entries(runbook.inputs)) {
    const value = options[name] ?? spec.default;
    if (spec.choices && !spec.choices.includes(value)) {
      return badOption(`--${name} must be one of ${spec.choices.join(', ')}; got "${value}"`);
    }
    const problem = validateTextValue(name, value);
    if (problem) return badOption(problem);
    values[name] = value;
  }
  for (const [name, d] of Object.entries(runbook.derived)) {
    const from = values[d.from];
    const mapped = from === undefined ? undefined : d.map[from];
    if (mapped === undefined) return badOption(`no ${name} for ${d.from} "${from ?? ''}"`);
    values[name] = mapped;
  }
  return { ok: true, value: values };
}

/** `{name}` placeholders inside a sentence (a runbook's note), replaced by their values; an unknown one stays. */
export function fillIn(sentence: string, values: InputValues): string {
  return sentence.replace(/\{([A-Za-z]+)\}/g, (whole, name: string) => values[name] ?? whole);
}

/** Replaces a whole-value "{name}" placeholder with its input value; other values pass through. */
export function substitute<T>(value: T, values: InputValues): T | string {
  if (typeof value !== 'string') return value;
  const m = /^\{([A-Za-z]+)\}$/.exec(value);
  if (!m) return value;
  const resolved = values[m[1]!];
  if (resolved === undefined) throw new Error(`runbook placeholder {${m[1]}} has no value`);
  return resolved;
}
