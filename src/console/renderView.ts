// Every View the core emits, as terminal text: the same content as the Slack messages (src/slack/blocks), with
// box-drawing tables where Slack has code-block tables. Pure: a view in, lines out.
import type { RunOutcome } from '../core/notices.js';
import type { ApprovalRule, View, VerifyItem } from '../core/ports.js';
import type { EdgeRow, ReplicaRow, RequestRecord, RunRecord, RunStatus, StepResult, StepStatus } from '../core/records.js';
import { replicaVerdict } from '../core/records.js';
import type { Plan, PlannedStep } from '../core/runbook/planner.js';
import { renderInvocation, renderValueForPeople } from '../core/runbook/render.js';
import { ACTION_WORDS, approversText, noticeText, RUN_STATUS_WORDS, runSummary, type Marks } from '../labels.js';
import { box, duration, plain, style, type Style, when } from './text.js';

/** How the console shows people, channels and code: as they would be typed. */
export const CONSOLE_MARKS: Marks = { user: (id) => `@${id}`, channel: (id) => `#${id}`, group: (id) => `@${id}`, code: (t) => `\`${t}\`` };

export interface TextOptions {
  /** the slash command as people type it */
  command: string;
  style?: Style;
}

const STEP_MARK: Record<StepStatus, string> = { pending: '·', running: '↻', succeeded: '✓', failed: '✗', skipped: '»', 'no-op': '=' };

export function stepMark(status: StepStatus, st: Style): string {
  const m = STEP_MARK[status];
  if (status === 'succeeded') return st.green(m);
  if (status === 'failed') return st.red(m);
  if (status === 'running') return st.yellow(m);
  return st.dim(m);
}

const VERDICT_MARK: Record<RunStatus, string> = { running: '↻', succeeded: '✓', failed: '✗', refused: '⛔', interrupted: '⚠', stopped: '■' };

function verdict(status: RunStatus, st: Style): string {
  const v = st.bold(`${VERDICT_MARK[status]} ${RUN_STATUS_WORDS[status]}`);
  return status === 'succeeded' ? st.green(v) : status === 'running' ? st.yellow(v) : st.red(v);
}

const title = (text: string, st: Style) => st.bold(st.cyan(text));
const mention = (user: string) => CONSOLE_MARKS.user(user);
const shown = (v: unknown) => renderValueForPeople(v);

export function targetFields(deployment: string | undefined, values: Record<string, string>): string {
  const parts = deployment ? [`deployment ${deployment}`] : [];
  for (const [k, v] of Object.entries(values)) parts.push(`${k} ${v}`);
  return parts.join(' · ');
}

/** The plan's changes as one table: action, step, target, property, now, after. */
function planTable(p: Plan, st: Style): string[] {
  const rows: string[][] = [['', 'step', 'target', 'property', 'now', 'after']];
  for (const s of p.steps) {
    const action = ACTION_WORDS[s.action] ?? s.action;
    const first = [s.action === 'no-op' ? st.dim(action) : st.bold(action), s.title, s.target];
    if (s.action === 'no-op') rows.push([...first, '', 'already as desired', '']);
    else if (s.action === 'remove') rows.push([...first, '', 'exists', 'removed']);
    else if (s.changes.length === 0) rows.push([...first, '', '', '']);
    s.changes.forEach((c, i) => {
      const lead = i === 0 ? first : ['', '', ''];
      rows.push([...lead, c.property, s.action === 'create' ? '(absent)' : shown(c.from), shown(c.to)]);
    });
  }
  return box(rows, st);
}

function cmdletLines(steps: PlannedStep[], st: Style): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    if (s.invocations.length === 0) continue;
    lines.push(`  ${s.title} · runs on role ${s.role}${s.action === 'replace' ? ' · cannot be changed in place: removed, then created again' : ''}`);
    for (const inv of s.invocations) lines.push(`    ${st.dim('PS>')} ${renderInvocation(inv)}`);
  }
  return lines.length ? ['The cmdlets that will run:', ...lines] : [];
}

function decision(r: RequestRecord, command: string, st: Style): string {
  const approvals = r.approvals.map((a) => `${mention(a.user)} (${when(a.at)})`).join(', ');
  switch (r.status) {
    case 'pending':
      return st.yellow(approvals ? `⏳ Approved so far by ${approvals}` : '⏳ Waiting for approval');
    case 'approved':
      return st.green(`✓ Approved by ${approvals}${r.runId ? ` → run ${r.runId}` : ''}`);
    case 'denied':
      return st.red(`⛔ Denied by ${r.decidedBy ? mention(r.decidedBy) : 'someone'}${r.decidedAt ? ` (${when(r.decidedAt)})` : ''}: ${r.reason ?? '(no reason)'}`);
    case 'cancelled':
      return st.dim(`✗ Cancelled by ${r.decidedBy ? mention(r.decidedBy) : 'someone'}${r.decidedAt ? ` (${when(r.decidedAt)})` : ''}${r.reason ? `: ${r.reason}` : ''}`);
    case 'expired':
      return st.dim(`⌛ Expired ${when(r.expiresAt)} with no decision; ask for a new plan with ${command} ${r.runbook}`);
  }
}

function planTitle(r: RequestRecord, dryRun: boolean): string {
  return dryRun ? `Dry run: ${r.plan.runbook}` : r.rollbackOf ? `Plan: rollback of ${r.rollbackOf}` : `Plan: ${r.plan.runbook}`;
}

export function renderPlan(r: RequestRecord, rule: ApprovalRule, dryRun: boolean, opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  const p = r.plan;
  const lines = [
    title(planTitle(r, dryRun), st),
    `Requested by ${mention(r.requester)} · runbook ${p.runbook}${dryRun ? '' : ` · request ${st.bold(r.id)}`}`,
    targetFields(r.deployment, r.values),
    ...planTable(p, st),
    ...cmdletLines(p.steps, st),
  ];
  if (p.checks.length) lines.push(`Then: ${p.checks.map((c) => `${c.title} (${c.role})`).join(' → ')}`);
  if (p.warnings.length) lines.push(st.yellow('⚠ Warnings'), ...p.warnings.map((w) => `  • ${w}`));
  if (p.note) lines.push(`ℹ Besides: ${p.note}`);
  if (dryRun) {
    lines.push(st.dim(`Fingerprint ${p.fingerprint} · a dry run: nothing will run. Request it with ${opts.command} ${p.runbook}.`));
    return lines;
  }
  lines.push(
    st.dim(`Fingerprint ${p.fingerprint} · expires ${when(r.expiresAt)}`),
    `Needs ${rule.required} approval${rule.required === 1 ? '' : 's'} from ${approversText(rule.approvers, CONSOLE_MARKS) || '(no approvers configured)'}; the requester cannot approve`,
    decision(r, opts.command, st),
  );
  if (r.status === 'pending') lines.push(st.dim(`  approve: approve ${r.id}   ·   deny: deny ${r.id} REASON`));
  return lines;
}

/** A plan message after a decision: its title and where the decision stands (the plan itself is unchanged). */
export function renderPlanUpdate(r: RequestRecord, opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  return [`${title(planTitle(r, false), st)} · request ${r.id} by ${mention(r.requester)}`, decision(r, opts.command, st)];
}

function refusedOrNoop(kind: 'refused-plan' | 'nothing-to-change', runbook: string, requester: string, p: Plan, opts: TextOptions, verify?: string): string[] {
  const st = opts.style ?? style(false);
  const lines = [title(kind === 'refused-plan' ? `Plan refused: ${runbook}` : `Nothing to change: ${runbook}`, st), `Requested by ${mention(requester)} · ${targetFields(undefined, p.values)}`];
  if (kind === 'refused-plan') lines.push(st.red('⛔ Nothing was requested, because:'), ...p.refusals.map((r) => `  • ${r}`));
  else lines.push(`= Every step is already as desired, so there is nothing to approve.${verify ? ` To check replication and the Edge Servers, run ${opts.command} ${verify}.` : ''}`);
  lines.push(...planTable(p, st), st.dim(`Fingerprint ${p.fingerprint}`));
  return lines;
}

export function replicaTable(replicas: ReplicaRow[], st: Style): string[] {
  return box(
    [['replica', 'up to date', 'last report'], ...replicas.map((r) => {
      const verdict = replicaVerdict(r);
      return [r.fqdn, verdict.ok ? st.green(verdict.label) : st.red(verdict.label), when(r.lastStatusReport ?? undefined) || '(never)'];
    })],
    st,
  );
}

export function edgeTable(edges: EdgeRow[], st: Style): string[] {
  const mark = (ok: boolean) => (ok ? st.green('✓') : st.red('✗'));
  const rows: string[][] = [['agent', 'property', 'expected', 'actual', '']];
  for (const e of edges) {
    if (e.error && e.checks.length === 0) rows.push([e.agent, '(not read)', '', e.error, mark(false)]);
    for (const c of e.checks) rows.push([e.agent, c.property, shown(c.expected), shown(c.actual), mark(c.ok)]);
  }
  return box(rows, st);
}

/** Objects read (status): one column per object, one row per property. */
function objectTables(objects: NonNullable<StepResult['objects']>, st: Style): string[] {
  const lines: string[] = [];
  for (const o of objects) {
    lines.push(`${o.agent}: ${o.items.length} object${o.items.length === 1 ? '' : 's'}`);
    if (o.items.length === 0) continue;
    const keys = [...new Set(o.items.flatMap((i) => Object.keys(i)))].filter((k) => k !== 'Identity');
    const rows = [['property', ...o.items.map((i) => (i.Identity === undefined ? '' : shown(i.Identity)))], ...keys.map((k) => [k, ...o.items.map((i) => shown(i[k]))])];
    lines.push(...box(rows, st));
  }
  return lines;
}

/** The steps as one table: mark, step, action, role and agents, status, duration. */
export function stepTable(steps: StepResult[], st: Style): string[] {
  const rows = [['', 'step', 'action', 'runs on', 'status', 'took']];
  for (const s of steps) {
    const agents = [...new Set(s.invocations.map((i) => i.agent).filter((a): a is string => !!a))];
    rows.push([
      stepMark(s.status, st),
      s.title,
      s.action ? (ACTION_WORDS[s.action] ?? s.action) : s.kind,
      `${s.role}${agents.length ? `: ${agents.join(', ')}` : ''}`,
      s.status === 'no-op' ? 'already as desired' : s.status,
      duration(s.durationMs),
    ]);
  }
  return box(rows, st);
}

/** What a step ran and found: cmdlet lines, replicas, Edge comparison, objects, error, what to check, warnings. */
export function stepDetails(s: StepResult, st: Style): string[] {
  const lines: string[] = [];
  for (const i of s.invocations) {
    const how = [i.agent, i.ok === undefined ? '' : i.ok ? 'ok' : 'failed', duration(i.durationMs)].filter(Boolean).join(', ');
    lines.push(`  ${st.dim('PS>')} ${i.line}${how ? st.dim(`   (${how})`) : ''}`);
  }
  if (s.replicas?.length) lines.push(...replicaTable(s.replicas, st).map((l) => `  ${l}`));
  if (s.edges?.length) lines.push(...edgeTable(s.edges, st).map((l) => `  ${l}`));
  if (s.objects?.length) lines.push(...objectTables(s.objects, st).map((l) => `  ${l}`));
  if (s.error) lines.push(st.red(`  ⚠ ${s.error}`));
  if (s.hints?.length) lines.push('  What to check:', ...s.hints.map((h) => `    • ${h}`));
  // a terminal has room for every warning; each stays on its line, under its step
  if (s.warnings?.length) lines.push(`  Warnings the cmdlets wrote (${s.warnings.length}):`, ...s.warnings.map((w) => st.yellow(`    ⚠ ${w.replace(/\s*\r?\n\s*/g, ' ').trim()}`)));
  if (lines.length === 0) return [];
  return [`${stepMark(s.status, st)} ${st.bold(s.title)}`, ...lines];
}

export function renderRun(run: RunRecord, opts: TextOptions, about: { outcome?: RunOutcome; note?: string } = {}): string[] {
  const st = opts.style ?? style(false);
  const took = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined;
  const summary = runSummary({ ...run, ...about }, CONSOLE_MARKS);
  return [
    title(`Run ${run.id}: ${run.runbook} — ${run.status}`, st),
    `Requested by ${mention(run.requester)} · approved by ${run.approvers.length ? run.approvers.map(mention).join(', ') : '(nobody)'} · request ${run.requestId}`,
    targetFields(run.deployment, run.values),
    ...stepTable(run.steps, st),
    ...run.steps.flatMap((s) => stepDetails(s, st)),
    `${verdict(run.status, st)}${summary ? `: ${summary}` : ''}`,
    ...(about.note && run.status === 'succeeded' ? [`ℹ Besides: ${about.note}`] : []),
    st.dim(`Run ${run.id} · started ${when(run.startedAt)}${run.finishedAt ? ` · finished ${when(run.finishedAt)} (${duration(took)})` : ''}`),
  ];
}

function itemTable(items: VerifyItem[], st: Style): string[] {
  return box([['item', 'expected', 'actual', ''], ...items.map((i) => [i.item, i.expected, i.actual, i.ok ? st.green('✓ pass') : st.red('✗ fail')])], st);
}

export function renderReport(view: Extract<View, { kind: 'report' }>, opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  const v = view.verdict ? ` · verdict ${view.verdict === 'pass' ? st.green(st.bold('✓ pass')) : st.red(st.bold('✗ fail'))}` : '';
  const lines = [title(`Report: ${view.title}${view.runbook ? ` ${view.runbook}` : ''}`, st), `Asked by ${mention(view.requester)}${v}`];
  if (view.note) lines.push(`ℹ Besides: ${view.note}`);
  if (view.items?.length) lines.push('Desired configuration', ...itemTable(view.items, st));
  if (view.agents?.length) {
    const withSession = view.agents.some((a) => a.session);
    const withHost = view.agents.some((a) => a.host);
    const head = ['agent', ...(withHost ? ['host'] : []), 'roles', 'state', 'last seen', ...(withSession ? ['session'] : [])];
    lines.push('Agents', ...box([head, ...view.agents.map((a) => [a.name, ...(withHost ? [a.host ?? ''] : []), a.roles.join(', '), a.online ? 'online' : 'OFFLINE', a.lastSeen ?? 'embedded', ...(withSession ? [a.session ?? ''] : [])])], st));
  }
  if (view.steps.length) lines.push(...stepTable(view.steps, st), ...view.steps.flatMap((s) => stepDetails(s, st)));
  return lines;
}

export function renderHistory(requests: RequestRecord[], runs: RunRecord[], opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  const lines = [title('History', st), st.dim('Newest first'), 'Requests'];
  if (requests.length === 0) lines.push(st.dim('  none'));
  else {
    const by = (r: RequestRecord) => (r.status === 'approved' ? r.approvals.map((a) => mention(a.user)).join(', ') : r.decidedBy ? mention(r.decidedBy) : '');
    lines.push(...box([['request', 'runbook', 'by', 'created', 'status', 'decided by', 'run'], ...requests.map((r) => [r.id, r.runbook, mention(r.requester), when(r.createdAt), r.status + (r.reason ? `: ${r.reason}` : ''), by(r), r.runId ?? ''])], st));
  }
  lines.push('Runs');
  if (runs.length === 0) lines.push(st.dim('  none'));
  else lines.push(...box([['run', 'runbook', 'for', 'started', 'status', 'summary'], ...runs.map((r) => [r.id, r.runbook, mention(r.requester), when(r.startedAt), r.status, r.summary ?? ''])], st));
  return lines;
}

export function renderViewText(view: View, opts: TextOptions): string[] {
  switch (view.kind) {
    case 'plan':
      return renderPlan(view.request, view.rule, view.dryRun, opts);
    case 'refused-plan':
    case 'nothing-to-change':
      return refusedOrNoop(view.kind, view.runbook, view.requester, view.plan, opts, view.kind === 'nothing-to-change' ? view.verify : undefined);
    case 'run':
      return renderRun(view.run, opts, view);
    case 'report':
      return renderReport(view, opts);
    case 'history':
      return renderHistory(view.requests, view.runs, opts);
    case 'detail':
      return [title(`${view.title} · run ${view.runId}`, opts.style ?? style(false)), ...view.lines.map((l) => `  ${l}`)];
    case 'notice':
      return noticeText(view.notice, CONSOLE_MARKS).split('\n');
    case 'text':
      return plain(view.text).split('\n');
  }
}
