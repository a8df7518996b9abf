// Slash-command text → a command, or a sentence for the user. Never throws: every input gets one or the other.
// Values are kept as typed; the runbook decides whether a --cloud or --identity value is acceptable.
import { findSubcommand, OPTIONS, SUBCOMMANDS, usageLine, type OptionName, type Subcommand } from './vocabulary.js';

export type Command =
  | { name: 'setup' | 'plan' | 'verify'; options: Record<string, string> }
  | { name: 'status' }
  | { name: 'help' }
  | { name: 'rollback'; runId?: string }
  | { name: 'history'; limit: number }
  | { name: 'cancel'; requestId: string };

export type ParseResult = { ok: true; command: Command } | { ok: false; message: string };

/** Longer text is refused before any work: no subcommand needs more, and it bounds the parser's cost. */
export const MAX_COMMAND_LENGTH = 4000;
export const DEFAULT_HISTORY = 10;
export const MAX_HISTORY = 100;
const ID = /^[A-Za-z0-9_-]{1,40}$/;

interface Token {
  text: string;
  /** starts with an unquoted `--` (or a dash that autocorrect made of it): an option, not a value */
  option: boolean;
  /** some of it was quoted: `--identity=""` has an empty value, `--identity=` has none */
  quoted: boolean;
}

// Slack and phones turn quotes into typographic ones. Any double quote closes any double quote; `'` and `‘` open a
// single-quoted value, but a lone `’` is an apostrophe (Slack writes O'Brien as O’Brien) and stays text.
const DOUBLE = '"“”„‟';
const SINGLE_CLOSERS = "'’‘";
function closersOf(ch: string): string | undefined {
  if (DOUBLE.includes(ch)) return DOUBLE;
  if (ch === "'" || ch === '‘') return SINGLE_CLOSERS;
  return undefined;
}
// macOS and iOS replace `--` with an em dash (and sometimes an en dash) as you type.
const AUTOCORRECTED_DASHES = '—–';

type Tokens = { ok: true; tokens: Token[] } | { ok: false; message: string };

function tokenize(text: string): Tokens {
  const tokens: Token[] = [];
  let buf = '';
  let inToken = false;
  let unquotedHead = -1; // characters before the first quote of the token; -1: no quote yet
  let quote: { char: string; closers: string; after: number } | undefined;
  const end = () => {
    if (!inToken) return;
    const head = unquotedHead === -1 ? buf.length : unquotedHead;
    let option = head >= 2 && buf.startsWith('--');
    if (!option && head >= 1 && AUTOCORRECTED_DASHES.includes(buf[0]!)) {
      buf = `--${buf.slice(1)}`;
      option = true;
    }
    tokens.push({ text: buf, option, quoted: unquotedHead !== -1 });
    buf = '';
    inToken = false;
    unquotedHead = -1;
  };
  let offset = 0;
  for (const ch of text) {
    offset += ch.length;
    if (quote) {
      if (quote.closers.includes(ch)) quote = undefined;
      else buf += ch;
      continue;
    }
    if (/\s/u.test(ch)) {
      end();
      continue;
    }
    inToken = true;
    const closers = closersOf(ch);
    if (closers) {
      if (unquotedHead === -1) unquotedHead = buf.length;
      quote = { char: ch, closers, after: offset };
      continue;
    }
    buf += ch;
  }
  if (quote) {
    const rest = text.slice(quote.after, quote.after + 200).trim();
    return { ok: false, message: rest ? `the quote ${quote.char} before ${show(rest)} is never closed` : `the quote ${quote.char} at the end is never closed` };
  }
  end();
  return { ok: true, tokens };
}

/** A token as shown in a message: quoted, control characters escaped, long ones cut. */
export function show(token: string, max = 40): string {
  let out = '';
  let n = 0;
  for (const ch of token) {
    if (n++ === max) return `${JSON.stringify(out).slice(0, -1)}…"`;
    out += ch;
  }
  return JSON.stringify(out);
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours cost 1. */
export function editDistance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}

/** The candidate nearest to `word` (case-insensitive) within `maxDistance` edits; the first one on a tie. */
export function closestName(word: string, candidates: readonly string[], maxDistance = 2): string | undefined {
  const lower = word.toLowerCase();
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    if (Math.abs(name.length - lower.length) > maxDistance) continue;
    const d = editDistance(lower, name.toLowerCase());
    if (d <= maxDistance && (!best || d < best.d)) best = { name, d };
  }
  return best?.name;
}

const fail = (message: string): ParseResult => ({ ok: false, message });
const ok = (command: Command): ParseResult => ({ ok: true, command });
const plural = (n: number, word: string) => (n === 1 ? word : `${word}s`);
const list = (tokens: Token[]) => tokens.map((t) => show(t.text)).join(', ');

export function parseCommand(text: string, commandName = '/lync-exo'): ParseResult {
  if (typeof text !== 'string') return ok({ name: 'help' });
  if (text.length > MAX_COMMAND_LENGTH) return fail(`the command is ${text.length} characters long; at most ${MAX_COMMAND_LENGTH}`);
  const tokenized = tokenize(text);
  if (!tokenized.ok) return tokenized;
  const [head, ...rest] = tokenized.tokens;
  if (!head) return ok({ name: 'help' });
  const sub = head.option ? undefined : findSubcommand(head.text);
  if (!sub) return unknownSubcommand(head.text, commandName);
  const usage = `usage: \`${usageLine(sub, commandName)}\``;

  if (sub.options) return parseOptions(sub, rest, usage);
  const options = rest.filter((t) => t.option);
  if (options.length > 0) return fail(`${sub.name} takes no options; got ${list(options)}; ${usage}`);

  switch (sub.name) {
    case 'status':
    case 'help':
      if (rest.length > 0) return fail(`${sub.name} takes no arguments; got ${list(rest)}`);
      return ok({ name: sub.name });
    case 'history': {
      if (rest.length > 1) return fail(`history takes one number; unexpected ${list(rest.slice(1))}; ${usage}`);
      const n = rest[0]?.text;
      if (n === undefined) return ok({ name: 'history', limit: DEFAULT_HISTORY });
      const limit = /^[0-9]{1,4}$/.test(n) ? Number(n) : NaN;
      if (!(limit >= 1 && limit <= MAX_HISTORY)) return fail(`history takes a whole number from 1 to ${MAX_HISTORY}; got ${show(n)}`);
      return ok({ name: 'history', limit });
    }
    case 'cancel': {
      const id = rest[0]?.text;
      if (id === undefined) return fail(`cancel needs the id of a pending request; ${usage}`);
      if (rest.length > 1) return fail(`cancel takes one request id; unexpected ${list(rest.slice(1))}`);
      if (!ID.test(id)) return fail(`${show(id)} is not a request id (letters, digits, - and _, at most 40)`);
      return ok({ name: 'cancel', requestId: id });
    }
    case 'rollback': {
      const id = rest[0]?.text;
      if (rest.length > 1) return fail(`rollback takes at most one run id; unexpected ${list(rest.slice(1))}; ${usage}`);
      if (id === undefined) return ok({ name: 'rollback' });
      if (!ID.test(id)) return fail(`${show(id)} is not a run id (letters, digits, - and _, at most 40)`);
      return ok({ name: 'rollback', runId: id });
    }
    default:
      return fail(`${sub.name} is not handled by the parser`);
  }
}

function unknownSubcommand(word: string, commandName: string): ParseResult {
  const guess = closestName(word, SUBCOMMANDS.map((s) => s.name));
  const known = SUBCOMMANDS.map((s) => s.name).join(', ');
  if (guess) {
    const sub = findSubcommand(guess)!;
    return fail(`unknown subcommand ${show(word)}; did you mean \`${guess}\`? usage: \`${usageLine(sub, commandName)}\``);
  }
  return fail(`unknown subcommand ${show(word)}; subcommands: ${known} (\`${commandName} help\` shows their usage)`);
}

function parseOptions(sub: Subcommand, tokens: Token[], usage: string): ParseResult {
  const valid = sub.options ?? [];
  const validList = valid.map((o) => `--${o}`).join(', ');
  const options: Record<string, string> = {};
  const extra: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.option) {
      if (token.text.startsWith('-') && token.text.length > 1 && !token.text.startsWith('--')) {
        return fail(`unknown option ${show(token.text)}: options start with two dashes (${validList})`);
      }
      extra.push(token);
      continue;
    }
    const eq = token.text.indexOf('=');
    const rawName = eq === -1 ? token.text.slice(2) : token.text.slice(2, eq);
    const name = rawName.toLowerCase();
    if (!(valid as readonly string[]).includes(name)) {
      const guess = closestName(name, valid);
      return fail(`${sub.name} has no option ${show(`--${rawName}`)}${guess ? `; did you mean --${guess}?` : ''} (options: ${validList})`);
    }
    if (name in options) return fail(`--${name} is given twice`);
    let value: string | undefined;
    if (eq !== -1) {
      value = token.text.slice(eq + 1);
      if (value === '' && !token.quoted) value = undefined;
    } else if (tokens[i + 1] && !tokens[i + 1]!.option) {
      value = tokens[++i]!.text;
    }
    if (value === undefined) return fail(`--${name} needs a value: --${name} ${OPTIONS[name as OptionName]}`);
    options[name] = value;
  }
  if (extra.length > 0) {
    return fail(`${sub.name} takes no ${plural(extra.length, 'argument')} but options; unexpected ${list(extra)}; ${usage}`);
  }
  return ok({ name: sub.name as 'setup' | 'plan' | 'verify', options });
}
