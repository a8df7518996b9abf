// History: the last requests and runs, with who (approvers with their directory identity), when and the outcome. People are named, not mentioned (a
// listing of fifty requests must not ping fifty people). It pages: each page is one message within Slack's limits,
// at most `MAX_PAGES` of them (a response_url takes five answers).
import { withDirectory } from '../../core/identity.js';
import type { RequestRecord, RunRecord } from '../../core/records.js';
import type { Words } from '../../i18n/index.js';
import { requestStatusWord, runStatusInline } from '../../labels.js';
import { type Block, clip, context, ENGLISH, escText, esc, header, LIMITS, messageSize, named, section } from './kit.js';

export const MAX_PAGES = 4;
const REASON_CHARS = 160;

const short = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

function requestLine(r: RequestRecord, names: Record<string, string>, w: Words): string {
  const who = r.status === 'approved' ? ` ${w.raw('history.by', { who: w.list(r.approvals.map((a) => withDirectory(named(a.user, names), a, esc))) })}` : r.decidedBy ? ` ${w.raw('history.by', { who: named(r.decidedBy, names) })}` : '';
  const line = w.raw('history.request', { id: esc(r.id), runbook: esc(r.runbook), requester: named(r.requester, names), at: w.date(r.createdAt), status: requestStatusWord(r.status, w) });
  return `• ${line}${who}${r.reason ? `: ${esc(short(r.reason, REASON_CHARS))}` : ''}${r.runId ? ` → \`${esc(r.runId)}\`` : ''}`;
}

function runLine(r: RunRecord, names: Record<string, string>, w: Words): string {
  const failed = r.steps.find((s) => s.status === 'failed' && s.error);
  const error = failed ? `\n    ↳ ${esc(failed.title)}: ${escText(short(failed.error!.split('\n')[0]!, REASON_CHARS))}` : '';
  const line = w.raw('history.run', { id: esc(r.id), runbook: esc(r.runbook), requester: named(r.requester, names), at: w.date(r.startedAt), status: runStatusInline(r.status, w) });
  return `• ${line}${r.summary ? `: ${escText(short(r.summary, REASON_CHARS))}` : ''}${error}`;
}

/** One section per 10 lines keeps each under Slack's 3,000 characters. */
function chunks(title: string, lines: string[], w: Words): Block[] {
  if (lines.length === 0) return [section(`*${title}*\n_${w.t('none')}_`)];
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i += 10) blocks.push(section(clip(`${i === 0 ? `*${title}*\n` : ''}${lines.slice(i, i + 10).join('\n')}`, LIMITS.section)));
  return blocks;
}

export function renderHistoryPages(requests: RequestRecord[], runs: RunRecord[], names: Record<string, string> = {}, w: Words = ENGLISH): { text: string; blocks: Block[] }[] {
  const body = [...chunks(w.t('history.requests'), requests.map((r) => requestLine(r, names, w)), w), ...chunks(w.t('history.runs'), runs.map((r) => runLine(r, names, w)), w)];
  const pages: Block[][] = [[]];
  const room = LIMITS.messageText - messageSize([header(w.t('history.title.page', { n: 10, of: 10 })), context(`${w.t('history.newest')} · page 10 of 10 · …`)]) - 200;
  for (const b of body) {
    const page = pages.at(-1)!;
    if (page.length && (messageSize([...page, b]) > room || page.length + 3 > LIMITS.blocks)) pages.push([b]);
    else page.push(b);
  }
  const shown = pages.slice(0, MAX_PAGES);
  const summary = w.t('history.fallback', { requests: requests.length, runs: runs.length });
  return shown.map((blocks, i) => {
    const paged = shown.length > 1;
    const title = paged ? w.t('history.title.page', { n: i + 1, of: shown.length }) : w.t('history.title');
    const left = pages.length - shown.length;
    const more = i === shown.length - 1 && left > 0 ? ` · ${w.t('history.more', { n: left, ask: 'history 20' })}` : '';
    return { text: paged ? w.t('history.fallback.page', { summary, n: i + 1, of: shown.length }) : summary, blocks: [header(title), ...blocks, context(`${w.t('history.newest')}${more}`)] };
  });
}

export function renderHistory(requests: RequestRecord[], runs: RunRecord[], names: Record<string, string> = {}, w: Words = ENGLISH): { text: string; blocks: Block[] } {
  return renderHistoryPages(requests, runs, names, w)[0]!;
}
