// Terminal text building blocks: colours that switch off cleanly, box-drawing tables measured without their colour
// codes, and Slack markup in text a front end passes on (<@U…>, <#C…>, <!subteam^S…>) made readable; the core's
// own words come as notices, in src/labels.ts.

import { displayWidth } from '../i18n/index.js';

export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const sgr = (open: number, close: number) => (s: string) => `\u001b[${open}m${s}\u001b[${close}m`;
const same = (s: string) => s;

export function style(color: boolean): Style {
  if (!color) return { bold: same, dim: same, red: same, green: same, yellow: same, cyan: same };
  return { bold: sgr(1, 22), dim: sgr(2, 22), red: sgr(31, 39), green: sgr(32, 39), yellow: sgr(33, 39), cyan: sgr(36, 39) };
}

/** Colour only on a terminal, and never when NO_COLOR is set to anything but the empty string (no-color.org). */
export function wantsColor(out: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  return out.isTTY === true && !env.NO_COLOR;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Columns on a terminal: colour codes take none, a Chinese character two. */
export const width = (s: string): number => displayWidth(stripAnsi(s));

const pad = (s: string, n: number): string => s + ' '.repeat(Math.max(0, n - width(s)));

/** A box-drawing table; the first row is the header. Cells may carry colour: widths ignore the codes. */
export function box(rows: string[][], st: Style = style(false)): string[] {
  if (rows.length === 0) return [];
  const cols = Math.max(...rows.map((r) => r.length));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(...rows.map((r) => width(r[i] ?? ''))));
  const rule = (l: string, m: string, r: string) => st.dim(l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r);
  const line = (row: string[], head: boolean) =>
    st.dim('│') + widths.map((w, i) => ` ${head ? st.bold(pad(row[i] ?? '', w)) : pad(row[i] ?? '', w)} `).join(st.dim('│')) + st.dim('│');
  const [head, ...body] = rows;
  return [rule('┌', '┬', '┐'), line(head!, true), rule('├', '┼', '┤'), ...body.map((r) => line(r, false)), rule('└', '┴', '┘')];
}

/** Slack markup in a text view, as people read it in a terminal. */
export function plain(text: string): string {
  return text
    .replace(/<@([^>|]+)(?:\|[^>]*)?>/g, '@$1')
    .replace(/<#([^>|]+)(?:\|([^>]*))?>/g, (_, id: string, name?: string) => `#${name || id}`)
    .replace(/<!subteam\^([^>|]+)(?:\|([^>]*))?>/g, (_, id: string, name?: string) => `@${name || id}`);
}

/** `2025-01-31 12:00:03 UTC` */
export function when(iso: string | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function duration(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/** Indents every line after the first so a multi-line reply stays under its label. */
export function hang(label: string, text: string): string {
  const lines = text.split('\n');
  const indent = ' '.repeat(width(label) + 1);
  return [`${label} ${lines[0] ?? ''}`, ...lines.slice(1).map((l) => indent + l)].join('\n');
}
