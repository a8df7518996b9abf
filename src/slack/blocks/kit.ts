// Small Block Kit builders and Slack's limits. Everything here is pure: views in, JSON out.
import type { types } from '@slack/bolt';

export type Block = types.KnownBlock;

/** Slack's limits: blocks per message, characters per section text and per header. */
export const LIMITS = { blocks: 50, section: 3000, header: 150, contextElement: 3000, fallback: 3000 } as const;

/** Text from PowerShell or a user, made safe for mrkdwn: Slack reads only &, < and > as markup. */
export function esc(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export const user = (id: string): string => `<@${id}>`;

/** A timestamp each reader sees in their own time zone; the ISO text is the fallback. */
export function slackDate(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) return esc(iso);
  return `<!date^${Math.floor(ms / 1000)}^{date_short_pretty} {time}|${iso}>`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

const cutNote = (n: number): string => `_… ${n} more line${n === 1 ? '' : 's'} cut; see history_`;

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
  return { type: 'section', text: { type: 'mrkdwn', text: clip(text) } };
}

export function header(text: string): Block {
  const t = text.length > LIMITS.header ? `${text.slice(0, LIMITS.header - 1)}…` : text;
  return { type: 'header', text: { type: 'plain_text', text: t, emoji: true } };
}

export function context(...texts: string[]): Block {
  return { type: 'context', elements: texts.slice(0, 10).map((t) => ({ type: 'mrkdwn' as const, text: clip(t, LIMITS.contextElement) })) };
}

export const divider: Block = { type: 'divider' };

/** Lines in a fenced code block (escaped: cmdlet values may hold &, < or >). */
export function code(lines: string[]): string {
  return lines.length ? `\`\`\`\n${lines.map(esc).join('\n')}\n\`\`\`` : '';
}

/** A monospace table: columns padded to the widest cell. */
export function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/**
 * A message of at most 50 blocks: the head and the tail (actions, verdict) are always kept; body blocks beyond the
 * room left are replaced by one note that says how many were cut.
 */
export function assemble(head: Block[], body: Block[], tail: Block[], what = 'sections'): Block[] {
  const room = LIMITS.blocks - head.length - tail.length;
  if (body.length <= room) return [...head, ...body, ...tail];
  const keep = Math.max(0, room - 1);
  return [...head, ...body.slice(0, keep), context(`_… ${body.length - keep} more ${what} cut; see history_`), ...tail];
}
