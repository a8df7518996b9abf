// Loads commands/*.yml at start-up. A bad runbook stops the bot with a message that names the file and field.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import type { z } from 'zod';
import { RunbookSchema, type Runbook } from '../core/runbook/schema.js';

export const DEFAULT_RUNBOOK_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'commands');

export class ConfigError extends Error {
  readonly code = 'config_invalid';
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

/** Checks what one file cannot: the runbooks that `desired`, `inverse` and `expect` point at. */
export function validateRunbookSet(runbooks: Runbooks): void {
  for (const rb of runbooks.values()) {
    const file = `commands/${rb.name}.yml`;
    const related = [rb.desired, rb.inverse].filter((n): n is string => n !== undefined);
    for (const [field, name] of [['desired', rb.desired], ['inverse', rb.inverse]] as const) {
      if (name !== undefined && !runbooks.has(name)) throw new ConfigError(`${file}: ${field}: no runbook named "${name}"`);
    }
    rb.steps.forEach((step, i) => {
      if (step.type !== 'edge-check') return;
      const candidates = [rb, ...related.map((n) => runbooks.get(n)!)];
      const target = candidates.flatMap((c) => c.steps).find((s) => s.id === step.expect);
      if (!target || target.type !== 'resource') {
        throw new ConfigError(`${file}: steps[${i}].expect: "${step.expect}" is not a resource step of ${candidates.map((c) => c.name).join(' or ')}`);
      }
    });
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
