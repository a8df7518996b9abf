// Small Block Kit builders and Slack's limits. Everything here is pure: views in, JSON out.
import type { types } from '@slack/bolt';
import type { RunStatus } from '../../core/records.js';
import { createWords, DEFAULT_LOCALE, displayWidth, padDisplay, type Locale, type Marks, type Words } from '../../i18n/index.js';

export type Block = types.KnownBlock;

/**
 * Slack's limits: blocks per message, characters per section text and per header, and the undocumented cumulative
 * one: a message whose blocks carry more than about 12,000 characters of text in all is refused with
 * `msg_blocks_too_long` (bolt-js issues 2509 and 2867 measured it lower than 12,000 once block containers are
 * counted). Messages here keep their text plus `blockAllowance` per block under `messageText`, with room to spare.
 */
/** A run's state at a glance, the same in the report, the plan's decision line and the App Home. */
export const RUN_EMOJI: Record<RunStatus, string> = {
  running: ':arrows_counterclockwise:',
  succeeded: ':white_check_mark:',
  failed: ':x:',
  refused: ':no_entry:',
  interrupted: ':warning:',
  stopped: ':octagonal_sign:',
};

export const LIMITS = { blocks: 50, section: 3000, header: 150, contextElement: 3000, fallback: 3000, messageText: 11_000, blockAllowance: 50 } as const;

/** Text from PowerShell or a user, made safe for mrkdwn: Slack reads only &, < and > as markup. */
export function esc(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Slack's markup made by the marks (mentions, dates) survives escaping the text around it: the marks are written
// with two control characters (that no typed text can hold: the parser shows them escaped) and turned into < > by
// the block builders below, once the text is whole.
const OPEN = '\u0001';
const CLOSE = '\u0002';
const live = (text: string): string => text.replaceAll(OPEN, '<').replaceAll(CLOSE, '>');

export const SLACK_MARKS: Marks = {
  // a Slack user id is a mention; anything else (lync-exo itself, for the drift watch) is named as it is
  user: (id) => (/^[UW][A-Z0-9]+$/.test(id) ? `${OPEN}@${id}${CLOSE}` : `*${esc(id)}*`),
  channel: (id) => `${OPEN}#${id}${CLOSE}`,
  group: (id) => `${OPEN}!subteam^${id}${CLOSE}`,
  code: (t) => `\`${t}\``,
  strong: (t) => `*${t}*`,
  text: esc,
  done: live,
  // each reader's client shows the token in their own time zone; the fallback is in the policy's
  date: (ms, shown) => `${OPEN}!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${esc(shown)}${CLOSE}`,
};

/** Words for a Slack reader: mrkdwn, values escaped, mentions and dates live. */
export const slackWords = (locale: Locale = DEFAULT_LOCALE, timeZone = 'UTC'): Words => createWords(locale, SLACK_MARKS, timeZone);

export const ENGLISH = slackWords();

export const user = (id: string): string => SLACK_MARKS.user(id);

/** A person named without a mention (no notification): their name when known, else their id. */
export const named = (id: string, names: Readonly<Record<string, string>> = {}): string => (names[id] ? `*${esc(names[id])}*` : `\`${esc(id)}\``);

/** Text from the core (summaries, refusals) made safe for mrkdwn, with its <@U…> and <#C…> mentions kept as mentions. */
export function escText(value: string): string {
  return esc(value).replace(/&lt;([@#][UWCG][A-Z0-9]+)&gt;/g, '<$1>');
}

/** Sums every `text` string in a block tree: what Slack counts against the cumulative limit. */
export function textSize(value: unknown): number {
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + textSize(v), 0);
  if (!value || typeof value !== 'object') return 0;
  let n = 0;
  for (const [k, v] of Object.entries(value)) n += k === 'text' && typeof v === 'string' ? v.length : textSize(v);
  return n;
}

/** What a message costs against the cumulative limit. */
export const messageSize = (blocks: readonly Block[]): number => textSize(blocks) + LIMITS.blockAllowance * blocks.length;


export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const cutNote = (n: number): string => `_… ${n} more line${n === 1 ? '' : 's'} cut; the full text is in the thread_`;

/**
 * Cuts text to `limit` characters on line boundaries, closing a code fence left open and saying how many lines
 * were cut. A single line longer than the limit is cut inside the line.
 */
export function clip(text: string, limit: number = LIMITS.section): string {
  if (text.length <= limit) return text;
  const lines = text.split('\n');
  const kept: string[] = [];
  let size = 0;
  let fenceOpen = false;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const opens: boolean = line.startsWith('```') ? !fenceOpen : fenceOpen;
    const tail = (opens ? 4 : 0) + 1 + cutNote(lines.length - i - 1).length + 1;
    if (size + line.length + 1 + tail > limit) {
      if (kept.length === 0) {
        // one very long first line: keep what fits of it
        const room = limit - tail - cutNote(lines.length - 1).length - 1;
        kept.push(`${line.slice(0, Math.max(0, room))}…`);
        if (opens) kept.push('```');
        kept.push(cutNote(lines.length - 1));
        return kept.join('\n').slice(0, limit);
      }
      if (fenceOpen) kept.push('```');
      kept.push(cutNote(lines.length - i));
      return kept.join('\n');
    }
    kept.push(line);
    size += line.length + 1;
    fenceOpen = opens;
  }
  return kept.join('\n');
}

export function section(text: string): Block {
  return { type: 'section', text: { type: 'mrkdwn', text: clip(live(text)) } };
}

/** A header is plain text: what came escaped for mrkdwn is shown as typed. */
export function header(text: string): Block {
  const plain = live(text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const t = plain.length > LIMITS.header ? `${plain.slice(0, LIMITS.header - 1)}…` : plain;
  return { type: 'header', text: { type: 'plain_text', text: t, emoji: true } };
}

export function context(...texts: string[]): Block {
  return { type: 'context', elements: texts.slice(0, 10).map((t) => ({ type: 'mrkdwn' as const, text: clip(live(t), LIMITS.contextElement) })) };
}

/** A message's fallback text (notifications, screen readers): mrkdwn like a section. */
export const fallback = (text: string): string => clip(live(text), LIMITS.fallback);

export const divider: Block = { type: 'divider' };

/** Lines in a fenced code block (escaped: cmdlet values may hold &, < or >). */
export function code(lines: string[]): string {
  return lines.length ? `\`\`\`\n${lines.map(esc).join('\n')}\n\`\`\`` : '';
}

/** A monospace table: columns padded to the widest cell (a Chinese character is two columns wide). */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell))));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : padDisplay(cell, widths[i]!))).join('  '));
}

/**
 * A message within Slack's limits: at most 50 blocks and at most `messageText` in all. The head and the tail
 * (actions, verdict) are always kept; body blocks beyond the room left are replaced by one note that says how many
 * were cut and where the rest is (`where`: the thread, or a narrower question).
 */
export function assemble(head: Block[], body: Block[], tail: Block[], w: Words, what: 'steps' | 'sections' = 'sections', where?: string): Block[] {
  const fixed = messageSize([...head, ...tail]);
  const note = (n: number) => context(w.raw('cut.note', { n, what: w.t(`cut.${what}`), where: where ?? w.t('cut.where.thread') }));
  const noteSize = messageSize([note(body.length)]);
  const room = LIMITS.blocks - head.length - tail.length;
  if (body.length <= room && fixed + messageSize(body) <= LIMITS.messageText) return [...head, ...body, ...tail];
  const kept: Block[] = [];
  let size = fixed + noteSize;
  for (const b of body) {
    const cost = messageSize([b]);
    if (kept.length + 1 > room - 1 || size + cost > LIMITS.messageText) break;
    kept.push(b);
    size += cost;
  }
  return [...head, ...kept, note(body.length - kept.length), ...tail];
}
