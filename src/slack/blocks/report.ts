// Read-only reports (status, verify): items compared pass/fail, then the checks that ran.
import type { StepResult } from '../../core/records.js';
import type { AgentRow, Drift, VerifyItem, WaitingChange } from '../../core/ports.js';
import type { Words } from '../../i18n/index.js';
import { ACTIONS } from '../ids.js';
import { assemble, type Block, code, context, ENGLISH, esc, escText, header, section, table, user } from './kit.js';
import { stepBlock } from './steps.js';

type ReportView = { title: string; runbook?: string; requester: string; steps: StepResult[]; verdict?: 'pass' | 'fail'; items?: VerifyItem[]; agents?: AgentRow[]; note?: string; waiting?: WaitingChange[]; drift?: Drift };

/** The agents as a table: name, host, roles, state, last seen, session (the columns that say something). */
export function agentRows(agents: AgentRow[], w: Words): string[][] {
  const withSession = agents.some((a) => a.session);
  const withHost = agents.some((a) => a.host);
  return [
    [w.raw('col.agent'), ...(withHost ? [w.raw('col.host')] : []), w.raw('col.roles'), w.raw('col.state'), w.raw('col.last-seen'), ...(withSession ? [w.raw('col.session')] : [])],
    ...agents.map((a) => [a.name, ...(withHost ? [a.host ?? ''] : []), a.roles.join(', '), w.raw(a.online ? 'agent.online' : 'agent.offline'), a.lastSeen ?? w.raw('agent.embedded'), ...(withSession ? [a.session ?? ''] : [])]),
  ];
}

export function itemRows(items: VerifyItem[], w: Words): string[][] {
  return [[w.raw('col.item'), w.raw('col.expected'), w.raw('col.actual'), ''], ...items.map((i) => [i.item, i.expected, i.actual, i.ok ? `✓ ${w.raw('verdict.pass')}` : `✗ ${w.raw('verdict.fail')}`])];
}

/** What changed since the last watch: each item before → now, as a table. */
export function driftRows(drift: Drift, w: Words): string[][] {
  return [[w.raw('col.item'), w.raw('col.expected'), w.raw('drift.col.before'), w.raw('drift.col.now'), ''], ...drift.changed.map((c) => [c.item, c.expected, c.before ?? '?', c.now, c.ok ? '✓' : '✗'])];
}

function driftBlocks(drift: Drift, w: Words, command: string): Block[] {
  const since = drift.previous ? w.t(`drift.since.${drift.previous.verdict}`, { since: w.date(drift.previous.since), checkedAt: w.date(drift.previous.checkedAt) }) : w.t('drift.first');
  const blocks: Block[] = [section(`:rotating_light: ${w.t('drift.title', { n: drift.changed.length })}\n${since}\n${code(table(driftRows(drift, w)))}`)];
  if (drift.fix) {
    blocks.push({
      type: 'actions',
      block_id: 'drift',
      elements: [{ type: 'button', action_id: ACTIONS.fix, text: { type: 'plain_text', text: w.t('button.fix'), emoji: true }, style: 'primary', value: drift.fix }],
    });
    blocks.push(context(w.t('drift.fix', { fix: `${command} ${drift.fix}` })));
  }
  return blocks;
}

export function renderReport(view: ReportView, w: Words = ENGLISH, command = '/lync-exo'): { text: string; blocks: Block[] } {
  const verdict = view.verdict ? (view.verdict === 'pass' ? `:white_check_mark: *${w.t('verdict.pass')}*` : `:x: *${w.t('verdict.fail')}*`) : '';
  const title = `${view.title}${view.runbook ? ` ${view.runbook}` : ''}`;
  const head: Block[] = [header(w.t('report.title', { title })), section(w.raw(verdict ? 'report.by.verdict' : 'report.by', { requester: user(view.requester), verdict }))];
  if (view.note) head.push(section(`:information_source: ${w.t('besides')}${escText(view.note)}`));
  if (view.drift) head.push(...driftBlocks(view.drift, w, command));
  const body: Block[] = [];
  if (view.items?.length) body.push(section(`${w.t('report.desired')}\n${code(table(itemRows(view.items, w)))}`));
  if (view.agents?.length) body.push(section(`${w.t('report.agents')}\n${code(table(agentRows(view.agents, w)))}`));
  if (view.waiting?.length) {
    const lines = view.waiting.map((c) => `• ${w.raw('waiting.one', { requestId: esc(c.requestId), runbook: esc(c.runbook), requester: user(c.requester), startsAt: w.date(c.startsAt), change: c.change ? ` · ${w.t('change.reference', { change: c.change })}` : '' })}`);
    body.push(section([w.t('waiting.title', { n: view.waiting.length }), ...lines, w.t('waiting.cancel', { cancel: `${command} cancel REQUEST_ID` })].join('\n')));
  }
  body.push(...view.steps.map((s) => stepBlock(s, w)));
  const failed = view.items?.filter((i) => !i.ok).length ?? 0;
  const text = w.raw('report.fallback', { title: w.marks.text(title), requester: user(view.requester), hasVerdict: view.verdict ? 'yes' : 'no', verdict: view.verdict ? w.raw(`verdict.${view.verdict}`) : '', failed });
  return { text, blocks: assemble(head, body, [], w, 'sections') };
}
