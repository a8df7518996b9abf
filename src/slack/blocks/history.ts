// History: the last requests and runs, with who, when and the outcome.
import type { RequestRecord, RunRecord } from '../../core/records.js';
import { assemble, type Block, context, esc, header, section, slackDate, user } from './kit.js';

function requestLine(r: RequestRecord): string {
  const who = r.status === 'approved' ? ` by ${r.approvals.map((a) => user(a.user)).join(', ')}` : r.decidedBy ? ` by ${user(r.decidedBy)}` : '';
  return `• \`${esc(r.id)}\` ${esc(r.runbook)} requested by ${user(r.requester)} ${slackDate(r.createdAt)} · *${r.status}*${who}${r.reason ? `: ${esc(r.reason)}` : ''}${r.runId ? ` → \`${esc(r.runId)}\`` : ''}`;
}

function runLine(r: RunRecord): string {
  return `• \`${esc(r.id)}\` ${esc(r.runbook)} for ${user(r.requester)} ${slackDate(r.startedAt)} · *${r.status}*${r.summary ? `: ${esc(r.summary)}` : ''}`;
}

/** One section per 10 lines keeps each under Slack's 3,000 characters. */
function chunks(title: string, lines: string[]): Block[] {
  if (lines.length === 0) return [section(`*${title}*\n_none_`)];
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(`${i === 0 ? `*${title}*\n` : ''}${lines.slice(i, i + 10).join('\n')}`));
  return blocks;
}

export function renderHistory(requests: RequestRecord[], runs: RunRecord[]): { text: string; blocks: Block[] } {
  const body = [...chunks('Requests', requests.map(requestLine)), ...chunks('Runs', runs.map(runLine))];
  return {
    text: `History: ${requests.length} request${requests.length === 1 ? '' : 's'}, ${runs.length} run${runs.length === 1 ? '' : 's'}`,
    blocks: assemble([header('History')], body, [context('Newest first')], 'sections'),
  };
}
