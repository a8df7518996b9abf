// History: the last requests and runs, with who, when and the outcome. People are named, not mentioned (a
// listing of fifty requests must not ping fifty people). It pages: each page is one message within Slack's limits,
// at most `MAX_PAGES` of them (a response_url takes five answers).
import type { RequestRecord, RunRecord } from '../../core/records.js';
import { type Block, clip, context, escText, esc, header, LIMITS, messageSize, named, section, slackDate } from './kit.js';

export const MAX_PAGES = 4;
const REASON_CHARS = 160;

const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function requestLine(r: RequestRecord, names: Record<string, string>): string {
  const who = r.status === 'approved' ? ` by ${r.approvals.map((a) => named(a.user, names)).join(', ')}` : r.decidedBy ? ` by ${named(r.decidedBy, names)}` : '';
  return `• \`${esc(r.id)}\` ${esc(r.runbook)} requested by ${named(r.requester, names)} ${slackDate(r.createdAt)} · *${r.status}*${who}${r.reason ? `: ${esc(short(r.reason, REASON_CHARS))}` : ''}${r.runId ? ` → \`${esc(r.runId)}\`` : ''}`;
}

function runLine(r: RunRecord, names: Record<string, string>): string {
  const failed = r.steps.find((s) => s.status === 'failed' && s.error);
  const error = failed ? `\n    ↳ ${esc(failed.title)}: ${escText(short(failed.error!.split('\n')[0]!, REASON_CHARS))}` : '';
  return `• \`${esc(r.id)}\` ${esc(r.runbook)} for ${named(r.requester, names)} ${slackDate(r.startedAt)} · *${r.status}*${r.summary ? `: ${escText(short(r.summary, REASON_CHARS))}` : ''}${error}`;
}

/** One section per 10 lines keeps each under Slack's 3,000 characters. */
function chunks(title: string, lines: string[]): Block[] {
  if (lines.length === 0) return [section(`*${title}*\n_none_`)];
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(clip(`${i === 0 ? `*${title}*\n` : ''}${lines.slice(i, i + 10).join('\n')}`, LIMITS.section)));
  return blocks;
}

export function renderHistoryPages(requests: RequestRecord[], runs: RunRecord[], names: Record<string, string> = {}): { text: string; blocks: Block[] }[] {
  const body = [...chunks('Requests', requests.map((r) => requestLine(r, names))), ...chunks('Runs', runs.map((r) => runLine(r, names)))];
  const pages: Block[][] = [[]];
  const room = LIMITS.messageText - messageSize([header('History (page 10 of 10)'), context('Newest first · page 10 of 10 · …')]) - 200;
  for (const b of body) {
    const page = pages.at(-1)!;
    if (page.length && (messageSize([...page, b]) > room || page.length + 3 > LIMITS.blocks)) pages.push([b]);
    else page.push(b);
  }
  const shown = pages.slice(0, MAX_PAGES);
  const summary = `History: ${requests.length} request${requests.length === 1 ? '' : 's'}, ${runs.length} run${runs.length === 1 ? '' : 's'}`;
  return shown.map((blocks, i) => {
    const n = shown.length > 1 ? ` (page ${i + 1} of ${shown.length})` : '';
    const more = i === shown.length - 1 && pages.length > shown.length ? ` · ${pages.length - shown.length} more page${pages.length - shown.length === 1 ? '' : 's'} not shown: ask for fewer, such as \`history 20\`` : '';
    return { text: `${summary}${n}`, blocks: [header(`History${n}`), ...blocks, context(`Newest first${more}`)] };
  });
}

export function renderHistory(requests: RequestRecord[], runs: RunRecord[], names: Record<string, string> = {}): { text: string; blocks: Block[] } {
  return renderHistoryPages(requests, runs, names)[0]!;
}
