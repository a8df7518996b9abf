// A step result as Block Kit: status, duration, the cmdlet lines, and what the step found (replicas, Edge
// comparison, objects read), then the error, what to check and the warnings the cmdlets wrote. Shared by the run
// message and reports.
import type { EdgeRow, ReplicaRow, StepResult, StepStatus } from '../../core/records.js';
import { replicaVerdict } from '../../core/records.js';
import { renderValueForPeople } from '../../core/runbook/render.js';
import type { Words } from '../../i18n/index.js';
import { actionWord, replicaWord, stepErrorText, stepStatusWord } from '../../labels.js';
import { type Block, code, duration, ENGLISH, esc, escText, section, table } from './kit.js';

export const STEP_EMOJI: Record<StepStatus, string> = {
  pending: ':white_small_square:',
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  skipped: ':fast_forward:',
  'no-op': ':heavy_equals_sign:',
};

const mark = (ok: boolean): string => (ok ? '✓' : '✗');

/** Column headings, in the reader's words (the table is code: plain text, escaped by code()). */
const heads = (w: Words, keys: Parameters<Words['t']>[0][]) => keys.map((k) => w.raw(k));

export function replicaLines(replicas: ReplicaRow[], w: Words = ENGLISH): string[] {
  return table([heads(w, ['col.replica', 'col.up-to-date', 'col.last-report']), ...replicas.map((r) => [r.fqdn, replicaWord(replicaVerdict(r).label, w), r.lastStatusReport ?? w.raw('never')])]);
}

export function edgeLines(edges: EdgeRow[], w: Words = ENGLISH): string[] {
  const rows: string[][] = [[...heads(w, ['col.agent', 'col.property', 'col.expected', 'col.actual']), '']];
  for (const e of edges) {
    if (e.error && e.checks.length === 0) rows.push([e.agent, w.raw('edge.not-read'), '', e.problem?.code === 'edge-offline' ? w.raw('step.problem.edge-offline') : e.error, mark(false)]);
    for (const c of e.checks) rows.push([e.agent, c.property, renderValueForPeople(c.expected), renderValueForPeople(c.actual), mark(c.ok)]);
  }
  return table(rows);
}

function objectLines(objects: NonNullable<StepResult['objects']>, w: Words): string[] {
  const lines: string[] = [];
  for (const o of objects) {
    lines.push(`# ${w.raw('objects.count', { agent: o.agent, n: o.items.length })}`);
    for (const item of o.items) {
      const name = item.Identity === undefined ? '' : renderValueForPeople(item.Identity);
      lines.push(`- ${name}`);
      for (const [k, v] of Object.entries(item)) if (k !== 'Identity') lines.push(`    ${k}: ${renderValueForPeople(v)}`);
    }
  }
  return lines;
}

export function stepHeading(step: StepResult, w: Words = ENGLISH): string {
  const agents = [...new Set(step.invocations.map((i) => i.agent).filter((a): a is string => !!a))];
  const parts = [`${STEP_EMOJI[step.status]} *${esc(step.title)}*`];
  if (step.action) parts.push(`\`${actionWord(step.action, w)}\``);
  parts.push(agents.length ? w.t('step.role.on', { role: step.role, agents: agents.join(', ') }) : w.t('step.role', { role: step.role }));
  parts.push(stepStatusWord(step.status, w));
  if (step.durationMs !== undefined) parts.push(duration(step.durationMs));
  return parts.join(' · ');
}

/**
 * Warnings are bounded before clip() sees them: a module can write hundreds, and the section must keep its room
 * for the cmdlets, the findings and the error. Each is one line (a warning's own line breaks would read as markup).
 */
export const WARNINGS_SHOWN = 5;
export const WARNING_CHARS = 200;

export function warningLines(warnings: string[], w: Words = ENGLISH): string {
  const one = (x: string): string => {
    const line = x.replace(/\s*\r?\n\s*/g, ' ').trim();
    return line.length > WARNING_CHARS ? `${line.slice(0, WARNING_CHARS - 1)}…` : line;
  };
  const lines = [w.t('step.warnings', { n: warnings.length }), ...warnings.slice(0, WARNINGS_SHOWN).map((x) => `• ${esc(one(x))}`)];
  const more = warnings.length - WARNINGS_SHOWN;
  if (more > 0) lines.push(w.t('step.warnings.more', { n: more }));
  return lines.join('\n');
}

/** One section per step (Slack clips it at 3,000 characters, with a note). */
export function stepBlock(step: StepResult, w: Words = ENGLISH): Block {
  const parts = [stepHeading(step, w)];
  const lines = step.invocations.map((i) => i.line);
  if (lines.length) parts.push(code(lines));
  if (step.replicas?.length) parts.push(code(replicaLines(step.replicas, w)));
  if (step.edges?.length) parts.push(code(edgeLines(step.edges, w)));
  if (step.objects?.length) parts.push(code(objectLines(step.objects, w)));
  const error = stepErrorText(step, w);
  if (error) parts.push(`:warning: ${error}`);
  if (step.hints?.length) parts.push([w.t('step.hints'), ...step.hints.map((h) => `• ${escText(h)}`)].join('\n'));
  if (step.warnings?.length) parts.push(warningLines(step.warnings, w));
  return section(parts.join('\n'));
}
