// Every View the core emits, as terminal text: the same content as the Slack messages (src/slack/blocks), with
// box-drawing tables where Slack has code-block tables. Pure: a view in, lines out.
import { withDirectory } from '../core/identity.js';
import type { RunOutcome } from '../core/notices.js';
import type { ApprovalRule, View, VerifyItem, WindowNote } from '../core/ports.js';
import type { EdgeRow, ReplicaRow, RequestRecord, RunRecord, RunStatus, StepResult, StepStatus } from '../core/records.js';
import { replicaVerdict } from '../core/records.js';
import type { Plan, PlannedStep } from '../core/runbook/planner.js';
import { renderInvocation, renderValueForPeople } from '../core/runbook/render.js';
import { createWords, DEFAULT_LOCALE, type Locale, type Marks, type MessageKey, type Words } from '../i18n/index.js';
import { actionWord, approversText, noticeText, replicaWord, requestStatusWord, runStatusInline, runStatusWord, runSummary, stepErrorText, stepStatusWord } from '../labels.js';
import { windowText } from '../slack/blocks/plan.js';
import { agentRows, driftRows } from '../slack/blocks/report.js';
import { box, duration, plain, style, type Style } from './text.js';

/** How the console shows people, channels and code: as they would be typed. */
export const CONSOLE_MARKS: Marks = {
  user: (id) => `@${id}`,
  channel: (id) => `#${id}`,
  group: (id) => `@${id}`,
  code: (t) => `\`${t}\``,
  strong: (t) => t,
  text: (t) => t,
  done: (t) => t,
  date: (_ms, shown) => shown,
};

/** Words for the terminal: plain text, dates in the policy's time zone. */
export const consoleWords = (locale: Locale = DEFAULT_LOCALE, timeZone = 'UTC'): Words => createWords(locale, CONSOLE_MARKS, timeZone);
const ENGLISH = consoleWords();

export interface TextOptions {
  /** the slash command as people type it */
  command: string;
  style?: Style;
  /** the reader's words (--locale); default English, dates in UTC */
  words?: Words;
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

function verdict(status: RunStatus, st: Style, w: Words): string {
  const v = st.bold(`${VERDICT_MARK[status]} ${runStatusWord(status, w)}`);
  return status === 'succeeded' ? st.green(v) : status === 'running' ? st.yellow(v) : st.red(v);
}

const title = (text: string, st: Style) => st.bold(st.cyan(text));
const mention = (user: string) => CONSOLE_MARKS.user(user);
const shown = (v: unknown) => renderValueForPeople(v);
const wordsOf = (opts: TextOptions): Words => opts.words ?? ENGLISH;
const col = (w: Words, ...keys: MessageKey[]) => keys.map((k) => w.t(k));

export function targetFields(deployment: string | undefined, values: Record<string, string>, w: Words = ENGLISH): string {
  const parts = deployment ? [w.t('target.deployment', { deployment })] : [];
  for (const [k, v] of Object.entries(values)) parts.push(`${k} ${v}`);
  return parts.join(' · ');
}

/** The plan's changes as one table: action, step, target, property, now, after. */
function planTable(p: Plan, st: Style, w: Words): string[] {
  const rows: string[][] = [['', ...col(w, 'console.col.step', 'console.col.target', 'col.property', 'console.col.now', 'console.col.after')]];
  for (const s of p.steps) {
    const action = actionWord(s.action, w);
    const first = [s.action === 'no-op' ? st.dim(action) : st.bold(action), s.title, s.target];
    if (s.action === 'no-op') rows.push([...first, '', w.t('step.status.no-op'), '']);
    else if (s.action === 'remove') rows.push([...first, '', w.t('console.exists'), w.t('console.removed')]);
    else if (s.changes.length === 0) rows.push([...first, '', '', '']);
    s.changes.forEach((c, i) => {
      const lead = i === 0 ? first : ['', '', ''];
      rows.push([...lead, c.property, s.action === 'create' ? w.t('console.absent') : shown(c.from), shown(c.to)]);
    });
  }
  return box(rows, st);
}

function cmdletLines(steps: PlannedStep[], st: Style, w: Words): string[] {
  const lines: string[] = [];
  for (const s of steps) {
    if (s.invocations.length === 0) continue;
    lines.push(`  ${w.t(s.action === 'replace' ? 'console.cmdlets.step.replace' : 'console.cmdlets.step', { title: s.title, role: s.role })}`);
    for (const inv of s.invocations) lines.push(`    ${st.dim('PS>')} ${renderInvocation(inv)}`);
  }
  return lines.length ? [w.t('console.cmdlets'), ...lines] : [];
}

function decision(r: RequestRecord, command: string, st: Style, w: Words): string {
  const approvals = w.list(r.approvals.map((a) => `${mention(a.user)} (${w.date(a.at)})`));
  const by = r.decidedBy ? mention(r.decidedBy) : w.t('decision.someone');
  const at = r.decidedAt ? ` (${w.date(r.decidedAt)})` : '';
  switch (r.status) {
    case 'pending':
      return st.yellow(`⏳ ${approvals ? w.t('decision.so-far', { approvals }) : w.t('decision.waiting')}`);
    case 'approved':
      return st.green(`✓ ${w.t(r.runId ? 'decision.approved.run' : 'decision.approved', { approvals, runId: r.runId ?? '' })}${!r.runId && r.startsAt ? ` ${w.t('decision.waits', { at: w.date(r.startsAt) })}` : ''}`);
    case 'denied':
      return st.red(`⛔ ${w.t('decision.denied', { by, at, reason: r.reason ?? w.t('decision.no-reason') })}`);
    case 'cancelled':
      return st.dim(`✗ ${w.t(r.reason ? 'decision.cancelled.reason' : 'decision.cancelled', { by, at, reason: r.reason ?? '' })}`);
    case 'expired':
      return st.dim(`⌛ ${w.t('decision.expired', { at: w.date(r.expiresAt), ask: `${command} ${r.runbook}` })}`);
  }
}

function planTitle(r: RequestRecord, dryRun: boolean, w: Words): string {
  if (dryRun) return w.t('plan.title.dry-run', { runbook: r.plan.runbook });
  return r.rollbackOf ? w.t('plan.title.rollback', { runId: r.rollbackOf }) : w.t('plan.title', { runbook: r.plan.runbook });
}

export function renderPlan(r: RequestRecord, rule: ApprovalRule, dryRun: boolean, opts: TextOptions, window?: WindowNote): string[] {
  const st = opts.style ?? style(false);
  const w = wordsOf(opts);
  const p = r.plan;
  const lines = [
    title(planTitle(r, dryRun, w), st),
    w.t(dryRun ? 'plan.by.dry-run' : 'plan.by', { requester: mention(r.requester), runbook: p.runbook, requestId: r.id }) + (r.change ? ` · ${w.t('change.reference', { change: r.change })}` : ''),
    targetFields(r.deployment, r.values, w),
    ...planTable(p, st, w),
    ...cmdletLines(p.steps, st, w),
  ];
  if (p.checks.length) lines.push(w.t('plan.then', { checks: p.checks.map((c) => `${c.title} (${c.role})`).join(' → ') }));
  if (p.warnings.length) lines.push(st.yellow(`⚠ ${w.t('plan.warnings')}`), ...p.warnings.map((x) => `  • ${x}`));
  if (p.note) lines.push(`ℹ ${w.t('besides')}${p.note}`);
  if (dryRun) {
    lines.push(st.dim(w.t('plan.dry-run', { fingerprint: p.fingerprint, ask: `${opts.command} ${p.runbook}` })));
    return lines;
  }
  lines.push(
    st.dim(`${w.t('fingerprint', { fingerprint: p.fingerprint })} · ${w.t('plan.expires', { at: w.date(r.expiresAt) })}`),
    w.raw('plan.needs', { required: rule.required, approvers: approversText(rule.approvers, w) || w.t('plan.no-approvers') }),
    decision(r, opts.command, st, w),
  );
  if (window && r.status === 'pending') lines.push(`🗓 ${windowText(window, w)}`);
  if (r.status === 'pending') lines.push(st.dim(`  ${w.t('console.decide', { approve: `approve ${r.id}`, deny: `deny ${r.id} REASON` })}`));
  return lines;
}

/** A plan message after a decision: its title and where the decision stands (the plan itself is unchanged). */
export function renderPlanUpdate(r: RequestRecord, opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  const w = wordsOf(opts);
  return [`${title(planTitle(r, false, w), st)} · ${w.t('console.plan.request', { requestId: r.id, requester: mention(r.requester) })}`, decision(r, opts.command, st, w)];
}

function refusedOrNoop(kind: 'refused-plan' | 'nothing-to-change', runbook: string, requester: string, p: Plan, opts: TextOptions, verify?: string): string[] {
  const st = opts.style ?? style(false);
  const w = wordsOf(opts);
  const lines = [title(w.t(kind === 'refused-plan' ? 'refused.title' : 'noop.title', { runbook }), st), w.raw('noop.by', { requester: mention(requester), target: targetFields(undefined, p.values, w) })];
  if (kind === 'refused-plan') lines.push(st.red(`⛔ ${w.t('refused.because')}`), ...p.refusals.map((r) => `  • ${r}`));
  else lines.push(`= ${w.t('noop.nothing')}${verify ? ` ${w.t('noop.check', { verify: `${opts.command} ${verify}` })}` : ''}`);
  lines.push(...planTable(p, st, w), st.dim(w.t('fingerprint', { fingerprint: p.fingerprint })));
  return lines;
}

export function replicaTable(replicas: ReplicaRow[], st: Style, w: Words = ENGLISH): string[] {
  return box(
    [col(w, 'col.replica', 'col.up-to-date', 'col.last-report'), ...replicas.map((r) => {
      const verdict = replicaVerdict(r);
      const label = replicaWord(verdict.label, w);
      return [r.fqdn, verdict.ok ? st.green(label) : st.red(label), w.date(r.lastStatusReport ?? undefined) || w.t('never')];
    })],
    st,
  );
}

export function edgeTable(edges: EdgeRow[], st: Style, w: Words = ENGLISH): string[] {
  const mark = (ok: boolean) => (ok ? st.green('✓') : st.red('✗'));
  const rows: string[][] = [[...col(w, 'col.agent', 'col.property', 'col.expected', 'col.actual'), '']];
  for (const e of edges) {
    if (e.error && e.checks.length === 0) rows.push([e.agent, w.t('edge.not-read'), '', stepErrorText(e, w) ?? e.error, mark(false)]);
    for (const c of e.checks) rows.push([e.agent, c.property, shown(c.expected), shown(c.actual), mark(c.ok)]);
  }
  return box(rows, st);
}

/** Objects read (status): one column per object, one row per property. */
function objectTables(objects: NonNullable<StepResult['objects']>, st: Style, w: Words): string[] {
  const lines: string[] = [];
  for (const o of objects) {
    lines.push(w.t('objects.count', { agent: o.agent, n: o.items.length }));
    if (o.items.length === 0) continue;
    const keys = [...new Set(o.items.flatMap((i) => Object.keys(i)))].filter((k) => k !== 'Identity');
    const rows = [[w.t('col.property'), ...o.items.map((i) => (i.Identity === undefined ? '' : shown(i.Identity)))], ...keys.map((k) => [k, ...o.items.map((i) => shown(i[k]))])];
    lines.push(...box(rows, st));
  }
  return lines;
}

/** The steps as one table: mark, step, action, role and agents, status, duration. */
export function stepTable(steps: StepResult[], st: Style, w: Words = ENGLISH): string[] {
  const rows = [['', ...col(w, 'console.col.step', 'console.col.action', 'console.col.runs-on', 'col.state', 'console.col.took')]];
  for (const s of steps) {
    const agents = [...new Set(s.invocations.map((i) => i.agent).filter((a): a is string => !!a))];
    rows.push([stepMark(s.status, st), s.title, s.action ? actionWord(s.action, w) : s.kind, `${s.role}${agents.length ? `: ${agents.join(', ')}` : ''}`, stepStatusWord(s.status, w), duration(s.durationMs)]);
  }
  return box(rows, st);
}

/** What a step ran and found: cmdlet lines, replicas, Edge comparison, objects, error, what to check, warnings. */
export function stepDetails(s: StepResult, st: Style, w: Words = ENGLISH): string[] {
  const lines: string[] = [];
  for (const i of s.invocations) {
    const how = [i.agent, i.ok === undefined ? '' : i.ok ? 'ok' : w.t('step.status.failed'), duration(i.durationMs)].filter(Boolean).join(', ');
    lines.push(`  ${st.dim('PS>')} ${i.line}${how ? st.dim(`   (${how})`) : ''}`);
  }
  if (s.replicas?.length) lines.push(...replicaTable(s.replicas, st, w).map((l) => `  ${l}`));
  if (s.edges?.length) lines.push(...edgeTable(s.edges, st, w).map((l) => `  ${l}`));
  if (s.objects?.length) lines.push(...objectTables(s.objects, st, w).map((l) => `  ${l}`));
  const error = stepErrorText(s, w);
  if (error) lines.push(st.red(`  ⚠ ${error}`));
  if (s.hints?.length) lines.push(`  ${w.t('step.hints')}`, ...s.hints.map((h) => `    • ${h}`));
  // a terminal has room for every warning; each stays on its line, under its step
  if (s.warnings?.length) lines.push(`  ${w.t('step.warnings', { n: s.warnings.length })}`, ...s.warnings.map((x) => st.yellow(`    ⚠ ${x.replace(/\s*\r?\n\s*/g, ' ').trim()}`)));
  if (lines.length === 0) return [];
  return [`${stepMark(s.status, st)} ${st.bold(s.title)}`, ...lines];
}

export function renderRun(run: RunRecord, opts: TextOptions, about: { outcome?: RunOutcome; note?: string } = {}): string[] {
  const st = opts.style ?? style(false);
  const w = wordsOf(opts);
  const took = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : undefined;
  const summary = runSummary({ ...run, ...about }, w);
  const approvers = run.approvers.length ? w.list(run.approvers.map(mention)) : w.t('run.nobody');
  return [
    title(w.t('run.title', { runId: run.id, runbook: run.runbook, status: runStatusInline(run.status, w) }), st),
    w.t('run.by', { requester: mention(run.requester), approvers, requestId: run.requestId }),
    targetFields(run.deployment, run.values, w),
    ...stepTable(run.steps, st, w),
    ...run.steps.flatMap((s) => stepDetails(s, st, w)),
    `${verdict(run.status, st, w)}${summary ? `: ${summary}` : ''}`,
    ...(about.note && run.status === 'succeeded' ? [`ℹ ${w.t('besides')}${about.note}`] : []),
    st.dim(`${w.t('run.id', { runId: run.id })} · ${run.finishedAt ? w.t('run.started-finished', { started: w.date(run.startedAt), finished: w.date(run.finishedAt), took: duration(took) }) : w.t('run.started', { started: w.date(run.startedAt) })}`),
  ];
}

function itemTable(items: VerifyItem[], st: Style, w: Words): string[] {
  return box([[...col(w, 'col.item', 'col.expected', 'col.actual'), ''], ...items.map((i) => [i.item, i.expected, i.actual, i.ok ? st.green(`✓ ${w.t('verdict.pass')}`) : st.red(`✗ ${w.t('verdict.fail')}`)])], st);
}

export function renderReport(view: Extract<View, { kind: 'report' }>, opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  const w = wordsOf(opts);
  const verdictWord = view.verdict ? (view.verdict === 'pass' ? st.green(st.bold(`✓ ${w.t('verdict.pass')}`)) : st.red(st.bold(`✗ ${w.t('verdict.fail')}`))) : '';
  const lines = [title(w.t('report.title', { title: `${view.title}${view.runbook ? ` ${view.runbook}` : ''}` }), st), w.raw(verdictWord ? 'report.by.verdict' : 'report.by', { requester: mention(view.requester), verdict: verdictWord })];
  if (view.note) lines.push(`ℹ ${w.t('besides')}${view.note}`);
  if (view.drift) {
    const d = view.drift;
    lines.push(st.red(`⚠ ${w.t('drift.title', { n: d.changed.length })}`), d.previous ? w.t(`drift.since.${d.previous.verdict}`, { since: w.date(d.previous.since), checkedAt: w.date(d.previous.checkedAt) }) : w.t('drift.first'), ...box(driftRows(d, w), st));
    if (d.fix) lines.push(w.t('drift.fix', { fix: `${opts.command} ${d.fix}` }));
  }
  if (view.waiting?.length) {
    lines.push(w.t('waiting.title', { n: view.waiting.length }), ...view.waiting.map((c) => `  • ${w.t('waiting.one', { requestId: c.requestId, runbook: c.runbook, requester: mention(c.requester), startsAt: w.date(c.startsAt), change: c.change ? ` · ${w.t('change.reference', { change: c.change })}` : '' })}`));
    lines.push(w.t('waiting.cancel', { cancel: 'cancel REQUEST_ID' }));
  }
  if (view.items?.length) lines.push(w.t('report.desired'), ...itemTable(view.items, st, w));
  if (view.agents?.length) lines.push(w.t('report.agents'), ...box(agentRows(view.agents, w), st));
  if (view.steps.length) lines.push(...stepTable(view.steps, st, w), ...view.steps.flatMap((s) => stepDetails(s, st, w)));
  return lines;
}

export function renderHistory(requests: RequestRecord[], runs: RunRecord[], opts: TextOptions): string[] {
  const st = opts.style ?? style(false);
  const w = wordsOf(opts);
  const lines = [title(w.t('history.title'), st), st.dim(w.t('history.newest')), w.t('history.requests')];
  if (requests.length === 0) lines.push(st.dim(`  ${w.t('none')}`));
  else {
    const by = (r: RequestRecord) => (r.status === 'approved' ? w.list(r.approvals.map((a) => withDirectory(mention(a.user), a))) : r.decidedBy ? mention(r.decidedBy) : '');
    const head = col(w, 'console.col.request', 'console.col.runbook', 'console.col.by', 'console.col.created', 'col.state', 'console.col.decided-by', 'console.col.run');
    lines.push(...box([head, ...requests.map((r) => [r.id, r.runbook, mention(r.requester), w.date(r.createdAt), requestStatusWord(r.status, w) + (r.reason ? `: ${r.reason}` : ''), by(r), r.runId ?? ''])], st));
  }
  lines.push(w.t('history.runs'));
  if (runs.length === 0) lines.push(st.dim(`  ${w.t('none')}`));
  else {
    const head = col(w, 'console.col.run', 'console.col.runbook', 'console.col.for', 'console.col.started', 'col.state', 'console.col.summary');
    lines.push(...box([head, ...runs.map((r) => [r.id, r.runbook, mention(r.requester), w.date(r.startedAt), runStatusInline(r.status, w), r.summary ?? ''])], st));
  }
  return lines;
}

export function renderViewText(view: View, opts: TextOptions): string[] {
  const w = wordsOf(opts);
  switch (view.kind) {
    case 'plan':
      return renderPlan(view.request, view.rule, view.dryRun, opts, view.window);
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
      return [title(`${view.title} · ${w.t('detail.run', { runId: view.runId })}`, opts.style ?? style(false)), ...view.lines.map((l) => `  ${l}`)];
    case 'notice':
      return noticeText(view.notice, w).split('\n');
    case 'text':
      return plain(view.text).split('\n');
  }
}
