// Loads commands/*.yml at start-up. A bad runbook stops the bot with a message that names the file and field.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { z } from 'zod';
import { LyncExoError } from '../core/errors.js';
import { RunbookSchema, type Runbook } from '../core/runbook/schema.js';

export const DEFAULT_RUNBOOK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'commands');

/** A config file or runbook that cannot be used; the message names the file and the field. */
export class ConfigError extends LyncExoError {
  declare readonly code: 'config_invalid';
  constructor(message: string, options?: { cause?: unknown }) {
    super('config_invalid', message, options);
    this.name = 'ConfigError';
  }
}

export type Runbooks = ReadonlyMap<string, Runbook>;

/** "steps[1].cmdlets.create: a cmdlet name such as ..." for each issue. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)), '');
    return `${where || '(top level)'}: ${issue.message}`;
  });
}

export function parseRunbook(text: string, file: string): Runbook {
  let data: unknown;
  try {
    data = parse(text);
  } catch (err) {
    throw new ConfigError(`${file}: not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  const result = RunbookSchema.safeParse(data);
  if (!result.success) throw new ConfigError(`${file}: ${describeIssues(result.error).join('; ')}`);
  const expectedName = path.basename(file, path.extname(file));
  if (result.data.name !== expectedName) throw new ConfigError(`${file}: name: "${result.data.name}" should match the file name "${expectedName}"`);
  return result.data;
}

/** Subcommands that are not runbooks: a runbook may not take their names. */
export const RESERVED_NAMES = ['plan', 'history', 'cancel', 'help'] as const;

/** Checks what one file cannot: an edge check's `expect`, one default change runbook, one undo and one compare at most. */
export function validateRunbookSet(runbooks: Runbooks): void {
  const all = [...runbooks.values()];
  for (const rb of all) {
    const file = `commands/${rb.name}.yml`;
    if ((RESERVED_NAMES as readonly string[]).includes(rb.name)) throw new ConfigError(`${file}: name: "${rb.name}" is a subcommand of its own (${RESERVED_NAMES.join(', ')})`);
    rb.steps.forEach((step, i) => {
      if (step.type !== 'edge-check') return;
      const target = rb.steps.find((s) => s.id === step.expect);
      if (!target || target.type !== 'resource') throw new ConfigError(`${file}: steps[${i}].expect: "${step.expect}" is not a resource step of ${rb.name}`);
    });
  }
  const changes = all.filter((rb) => rb.kind === 'change');
  const defaults = changes.filter((rb) => rb.default);
  if (changes.length > 1 && defaults.length !== 1) {
    throw new ConfigError(`commands/: ${defaults.length ? `${defaults.map((d) => d.name).join(' and ')} both say` : 'none of ' + changes.map((c) => c.name).join(', ') + ' says'} default: true; exactly one change runbook is the one plan and verify take when none is named`);
  }
  for (const kind of ['undo', 'compare'] as const) {
    const of = all.filter((rb) => rb.kind === kind);
    if (of.length > 1) throw new ConfigError(`commands/: ${of.map((r) => r.name).join(' and ')} are both kind: ${kind}; one at most`);
  }
}

export function loadRunbooks(dir: string = DEFAULT_RUNBOOK_DIR): Runbooks {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml') || f.endsWith('.yaml'));
  if (files.length === 0) throw new ConfigError(`${dir}: no runbooks (*.yml)`);
  const runbooks = new Map<string, Runbook>();
  for (const f of files.sort()) {
    const rb = parseRunbook(readFileSync(path.join(dir, f), 'utf8'), `commands/${f}`);
    runbooks.set(rb.name, rb);
  }
  validateRunbookSet(runbooks);
  return runbooks;
}

/**
 * The runbooks with each step titled in `locale` where the runbook gives a title in it (`titles:`), the default
 * `title` otherwise. A translation into a language lync-exo does not speak is a mistake in the file: refused.
 */
export function inLanguage(runbooks: Runbooks, locale: string | undefined, known: readonly string[]): Runbooks {
  for (const rb of runbooks.values()) {
    for (const s of rb.steps) {
      const unknown = Object.keys(s.titles ?? {}).filter((l) => !known.includes(l));
      if (unknown.length) throw new ConfigError(`commands/${rb.name}.yml: step ${s.id}: titles in ${unknown.join(', ')}: lync-exo speaks ${known.join(' and ')}`);
    }
  }
  if (!locale) return runbooks;
  return new Map([...runbooks].map(([name, rb]) => [name, { ...rb, steps: rb.steps.map((s) => ({ ...s, title: s.titles?.[locale] ?? s.title })) }]));
}

/** Every cmdlet some runbook names: the agents run these and nothing else. */
export function cmdletAllowlist(runbooks: Runbooks): string[] {
  const names = new Set<string>();
  for (const rb of runbooks.values()) {
    for (const r of Object.values(rb.read)) names.add(r.cmdlet);
    for (const s of rb.steps) {
      if (s.type === 'resource') Object.values(s.cmdlets).forEach((c) => names.add(c));
      else names.add(s.cmdlet);
    }
  }
  return [...names].sort();
}
