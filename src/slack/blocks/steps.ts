// A step result as Block Kit: status, duration, the cmdlet lines, and what the step found (replicas, Edge
// comparison, objects read), then the error, what to check and the warnings the cmdlets wrote. Shared by the run
// message and reports.
import type { EdgeRow, ReplicaRow, StepResult, StepStatus } from '../../core/records.js';
import { replicaVerdict } from '../../core/records.js';
import { renderValueForPeople } from '../../core/runbook/render.js';
import { ACTION_WORDS } from '../../labels.js';
import { type Block, code, duration, esc, escText, section, table } from './kit.js';

export const STEP_EMOJI: Record<StepStatus, string> = {
  pending: ':white_small_square:',
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  skipped: ':fast_forward:',
  'no-op': ':heavy_equals_sign:',
};

export { ACTION_WORDS };

const mark = (ok: boolean): string => (ok ? '✓' : '✗');

export function replicaLines(replicas: ReplicaRow[]): string[] {
  return table([['replica', 'up to date', 'last report'], ...replicas.map((r) => [r.fqdn, replicaVerdict(r).label, r.lastStatusReport ?? '(never)'])]);
}

export function edgeLines(edges: EdgeRow[]): string[] {
  const rows: string[][] = [['agent', 'property', 'expected', 'actual', '']];
  for (const e of edges) {
    if (e.error && e.checks.length === 0) rows.push([e.agent, '(not read)', '', e.error, mark(false)]);
    for (const c of e.checks) rows.push([e.agent, c.property, renderValueForPeople(c.expected), renderValueForPeople(c.actual), mark(c.ok)]);
  }
  return table(rows);
}

function objectLines(objects: NonNullable<StepResult['objects']>): string[] {
  const lines: string[] = [];
  for (const o of objects) {
    lines.push(`# ${o.agent}: ${o.items.length} object${o.items.length === 1 ? '' : 's'}`);
    for (const item of o.items) {
      const name = item.Identity === undefined ? '' : renderValueForPeople(item.Identity);
      lines.push(`- ${name}`);
      for (const [k, v] of Object.entries(item)) if (k !== 'Identity') lines.push(`    ${k}: ${renderValueForPeople(v)}`);
    }
  }
  return lines;
}

export function stepHeading(step: StepResult): string {
  const agents = [...new Set(step.invocations.map((i) => i.agent).filter((a): a is string => !!a))];
  const parts = [`${STEP_EMOJI[step.status]} *${esc(step.title)}*`];
  if (step.action) parts.push(`\`${ACTION_WORDS[step.action] ?? step.action}\``);
  parts.push(`role ${step.role}${agents.length ? ` on ${agents.join(', ')}` : ''}`);
  parts.push(step.status === 'no-op' ? 'already as desired' : step.status);
  if (step.durationMs !== undefined) parts.push(duration(step.durationMs));
  return parts.join(' · ');
}

/**
 * Warnings are bounded before clip() sees them: a module can write hundreds, and the section must keep its room
 * for the cmdlets, the findings and the error. Each is one line (a warning's own line breaks would read as markup).
 */
export const WARNINGS_SHOWN = 5;
export const WARNING_CHARS = 200;

export function warningLines(warnings: string[]): string {
  const one = (w: string): string => {
    const line = w.replace(/\s*\r?\n\s*/g, ' ').trim();
    return line.length > WARNING_CHARS ? `${line.slice(0, WARNING_CHARS - 1)}…` : line;
  };
  const lines = [`*Warnings the cmdlets wrote (${warnings.length}):*`, ...warnings.slice(0, WARNINGS_SHOWN).map((w) => `• ${esc(one(w))}`)];
  const more = warnings.length - WARNINGS_SHOWN;
  if (more > 0) lines.push(`_… ${more} more warning${more === 1 ? '' : 's'} not shown_`);
  return lines.join('\n');
}

/** One section per step (Slack clips it at 3,000 characters, with a note). */
export function stepBlock(step: StepResult): Block {
  const parts = [stepHeading(step)];
  const lines = step.invocations.map((i) => i.line);
  if (lines.length) parts.push(code(lines));
  if (step.replicas?.length) parts.push(code(replicaLines(step.replicas)));
  if (step.edges?.length) parts.push(code(edgeLines(step.edges)));
  if (step.objects?.length) parts.push(code(objectLines(step.objects)));
  if (step.error) parts.push(`:warning: ${escText(step.error)}`);
  if (step.hints?.length) parts.push(['*What to check:*', ...step.hints.map((h) => `• ${escText(h)}`)].join('\n'));
  if (step.warnings?.length) parts.push(warningLines(step.warnings));
  return section(parts.join('\n'));
}
