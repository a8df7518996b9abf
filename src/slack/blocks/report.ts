// Read-only reports (status, verify): items compared pass/fail, then the checks that ran.
import type { StepResult } from '../../core/records.js';
import type { AgentRow, VerifyItem } from '../../core/ports.js';
import type { Words } from '../../i18n/index.js';
import { assemble, type Block, code, ENGLISH, escText, header, section, table, user } from './kit.js';
import { stepBlock } from './steps.js';

type ReportView = { title: string; runbook?: string; requester: string; steps: StepResult[]; verdict?: 'pass' | 'fail'; items?: VerifyItem[]; agents?: AgentRow[]; note?: string };

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

export function renderReport(view: ReportView, w: Words = ENGLISH): { text: string; blocks: Block[] } {
  const verdict = view.verdict ? (view.verdict === 'pass' ? `:white_check_mark: *${w.t('verdict.pass')}*` : `:x: *${w.t('verdict.fail')}*`) : '';
  const title = `${view.title}${view.runbook ? ` ${view.runbook}` : ''}`;
  const head: Block[] = [header(w.t('report.title', { title })), section(w.raw(verdict ? 'report.by.verdict' : 'report.by', { requester: user(view.requester), verdict }))];
  if (view.note) head.push(section(`:information_source: ${w.t('besides')}${escText(view.note)}`));
  const body: Block[] = [];
  if (view.items?.length) body.push(section(`${w.t('report.desired')}\n${code(table(itemRows(view.items, w)))}`));
  if (view.agents?.length) body.push(section(`${w.t('report.agents')}\n${code(table(agentRows(view.agents, w)))}`));
  body.push(...view.steps.map((s) => stepBlock(s, w)));
  const failed = view.items?.filter((i) => !i.ok).length ?? 0;
  const text = w.raw('report.fallback', { title: w.marks.text(title), requester: user(view.requester), hasVerdict: view.verdict ? 'yes' : 'no', verdict: view.verdict ? w.raw(`verdict.${view.verdict}`) : '', failed });
  return { text, blocks: assemble(head, body, [], w, 'sections') };
}
