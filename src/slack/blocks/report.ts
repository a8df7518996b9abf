// Read-only reports (status, verify): items compared pass/fail, then the checks that ran.
import type { StepResult } from '../../core/records.js';
import type { AgentRow, VerifyItem } from '../../core/ports.js';
import { assemble, type Block, code, escText, header, section, table, user } from './kit.js';
import { stepBlock } from './steps.js';

export function renderReport(view: { title: string; runbook?: string; requester: string; steps: StepResult[]; verdict?: 'pass' | 'fail'; items?: VerifyItem[]; agents?: AgentRow[]; note?: string }): { text: string; blocks: Block[] } {
  const verdict = view.verdict ? (view.verdict === 'pass' ? ':white_check_mark: *pass*' : ':x: *fail*') : '';
  const head: Block[] = [header(`Report: ${view.title}${view.runbook ? ` ${view.runbook}` : ''}`), section(`Asked by ${user(view.requester)}${verdict ? ` · verdict ${verdict}` : ''}`)];
  if (view.note) head.push(section(`:information_source: *Besides*: ${escText(view.note)}`));
  const body: Block[] = [];
  if (view.items?.length) {
    const rows = [['item', 'expected', 'actual', ''], ...view.items.map((i) => [i.item, i.expected, i.actual, i.ok ? '✓ pass' : '✗ fail'])];
    body.push(section(`*Desired configuration*\n${code(table(rows))}`));
  }
  if (view.agents?.length) {
    const withSession = view.agents.some((a) => a.session);
    const withHost = view.agents.some((a) => a.host);
    const rows = [
      ['agent', ...(withHost ? ['host'] : []), 'roles', 'state', 'last seen', ...(withSession ? ['session'] : [])],
      ...view.agents.map((a) => [a.name, ...(withHost ? [a.host ?? ''] : []), a.roles.join(', '), a.online ? 'online' : 'OFFLINE', a.lastSeen ?? 'embedded', ...(withSession ? [a.session ?? ''] : [])]),
    ];
    body.push(section(`*Agents*\n${code(table(rows))}`));
  }
  body.push(...view.steps.map(stepBlock));
  const failed = view.items?.filter((i) => !i.ok).length ?? 0;
  const text = `${view.title}${view.runbook ? ` ${view.runbook}` : ''} report for <@${view.requester}>${view.verdict ? `: ${view.verdict}` : ''}${failed ? ` (${failed} item${failed === 1 ? '' : 's'} differ)` : ''}`;
  return { text, blocks: assemble(head, body, [], 'sections') };
}

