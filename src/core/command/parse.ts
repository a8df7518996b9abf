// Slash-command text → a command, or a notice that says what was wrong. Never throws: every input gets one or the
// other. Values are kept as typed; the runbook decides whether a --cloud or --identity value is acceptable.
import type { Notice } from '../notices.js';
import type { Result } from '../errors.js';
import { usageLine, type OptionUsage, type Subcommand, type Vocabulary } from './vocabulary.js';

/** `name` is the subcommand as typed (lower-cased); `runbook` the runbook it runs, where it runs one. */
export type Command =
  | { verb: 'change'; name: string; runbook: string; options: Record<string, string>; change?: string }
  | { verb: 'plan'; name: string; runbook?: string; options: Record<string, string>; change?: string }
  | { verb: 'compare'; name: string; runbook?: string; options: Record<string, string> }
  | { verb: 'report'; name: string; runbook: string }
  | { verb: 'undo'; name: string; runbook: string; runId?: string; change?: string }
  | { verb: 'history'; name: string; limit: number }
  | { verb: 'cancel'; name: string; requestId: string }
  /** `help`, `help setup`, `setup --help` */
  | { verb: 'help'; name: string; topic?: string };

export type ParseResult = Result<Command>;

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

const fail = (notice: Notice): ParseResult => ({ ok: false, error: notice });
const ok = (command: Command): ParseResult => ({ ok: true, value: command });
const usageOf = (sub: Subcommand, commandName: string): string => usageLine(sub, commandName);
const bad = (problem: string, sub: Subcommand | undefined, commandName: string): ParseResult => fail({ code: 'bad-command', problem, ...(sub ? { usage: usageOf(sub, commandName) } : {}) });
const list = (tokens: Token[]) => tokens.map((t) => show(t.text)).join(', ');

export function parseCommand(text: string, vocabulary: Vocabulary, commandName = '/lync-exo'): ParseResult {
  if (typeof text !== 'string') return ok({ verb: 'help', name: 'help' });
  if (text.length > MAX_COMMAND_LENGTH) return bad(`the command is ${text.length} characters long; at most ${MAX_COMMAND_LENGTH}`, undefined, commandName);
  const tokenized = tokenize(text);
  if (!tokenized.ok) return bad(tokenized.message, undefined, commandName);
  const [head, ...rest] = tokenized.tokens;
  if (!head) return ok({ verb: 'help', name: 'help' });
  const sub = head.option ? undefined : vocabulary.find(head.text);
  if (!sub) return unknownSubcommand(head.text, vocabulary, commandName);
  // `setup --help` (or -h): that subcommand's usage, whatever else was typed
  if (rest.some((t) => (t.option && t.text.toLowerCase() === '--help') || t.text === '-h')) return ok({ verb: 'help', name: 'help', topic: sub.name });
  // a change reference (`--change CHG0012345`) goes with anything that changes the deployment, and its plan
  const reference = sub.verb === 'change' || sub.verb === 'plan' || sub.verb === 'undo' ? takeChangeReference(rest) : { ok: true as const, rest };
  if (!reference.ok) return bad(reference.problem, sub, commandName);
  const withChange = (command: Extract<Command, { verb: 'change' | 'plan' | 'undo' }>): ParseResult => ok(reference.change === undefined ? command : { ...command, change: reference.change });
  rest.splice(0, rest.length, ...reference.rest);
  const nothingMore = (): ParseResult | undefined => (rest.length > 0 ? bad(`${sub.name} takes no arguments; got ${list(rest)}`, undefined, commandName) : undefined);
  const noOptions = rest.filter((t) => t.option);
  const withoutOptions = (): ParseResult | undefined => (noOptions.length > 0 && sub.verb !== 'change' && sub.verb !== 'plan' && sub.verb !== 'compare' ? bad(`${sub.name} takes no options; got ${list(noOptions)}`, sub, commandName) : undefined);
  const early = withoutOptions();
  if (early) return early;

  switch (sub.verb) {
    case 'change': {
      const options = parseOptions(sub, sub.options, rest, commandName);
      return options.ok ? withChange({ verb: 'change', name: sub.name, runbook: sub.runbook!, options: options.value }) : options;
    }
    case 'plan':
    case 'compare': {
      // the first word may name a change runbook: `verify hybrid --cloud dod`
      const named = rest[0] && !rest[0].option ? vocabulary.procedure(rest[0].text) : undefined;
      if (rest[0] && !rest[0].option && !named) {
        const guess = closestName(rest[0].text, vocabulary.procedures.map((p) => p.name));
        return bad(`${show(rest[0].text)} is not a change runbook${guess ? `; did you mean \`${guess}\`?` : ''} (runbooks: ${vocabulary.procedures.map((p) => p.name).join(', ')})`, sub, commandName);
      }
      const procedure = named ?? vocabulary.defaultProcedure;
      if (!procedure) return bad(`${sub.name} needs the name of a change runbook (${vocabulary.procedures.map((p) => p.name).join(', ')})`, sub, commandName);
      const procedureSub = vocabulary.find(procedure.name)!;
      const options = parseOptions(sub, procedureSub.options, named ? rest.slice(1) : rest, commandName, procedureSub);
      if (!options.ok) return options;
      const command = { name: sub.name, ...(named ? { runbook: named.name } : {}), options: options.value };
      return sub.verb === 'plan' ? withChange({ verb: 'plan', ...command }) : ok({ verb: 'compare', ...command });
    }
    case 'report':
      return nothingMore() ?? ok({ verb: 'report', name: sub.name, runbook: sub.runbook! });
    case 'help': {
      if (rest.length > 1) return bad(`help takes one subcommand; unexpected ${list(rest.slice(1))}`, sub, commandName);
      const topic = rest[0]?.text;
      if (topic === undefined) return ok({ verb: 'help', name: 'help' });
      const about = vocabulary.find(topic);
      if (!about) return unknownSubcommand(topic, vocabulary, commandName);
      return ok({ verb: 'help', name: 'help', topic: about.name });
    }
    case 'history': {
      if (rest.length > 1) return bad(`history takes one number; unexpected ${list(rest.slice(1))}`, sub, commandName);
      const n = rest[0]?.text;
      if (n === undefined) return ok({ verb: 'history', name: sub.name, limit: DEFAULT_HISTORY });
      const limit = /^[0-9]{1,4}$/.test(n) ? Number(n) : NaN;
      if (!(limit >= 1 && limit <= MAX_HISTORY)) return bad(`history takes a whole number from 1 to ${MAX_HISTORY}; got ${show(n)}`, undefined, commandName);
      return ok({ verb: 'history', name: sub.name, limit });
    }
    case 'cancel': {
      const id = rest[0]?.text;
      if (id === undefined) return bad('cancel needs the id of a pending request', sub, commandName);
      if (rest.length > 1) return bad(`cancel takes one request id; unexpected ${list(rest.slice(1))}`, undefined, commandName);
      if (!ID.test(id)) return bad(`${show(id)} is not a request id (letters, digits, - and _, at most 40)`, undefined, commandName);
      return ok({ verb: 'cancel', name: sub.name, requestId: id });
    }
    case 'undo': {
      const id = rest[0]?.text;
      if (rest.length > 1) return bad(`${sub.name} takes at most one run id; unexpected ${list(rest.slice(1))}`, sub, commandName);
      if (id === undefined) return withChange({ verb: 'undo', name: sub.name, runbook: sub.runbook! });
      if (!ID.test(id)) return bad(`${show(id)} is not a run id (letters, digits, - and _, at most 40)`, undefined, commandName);
      return withChange({ verb: 'undo', name: sub.name, runbook: sub.runbook!, runId: id });
    }
  }
}

/** `--change REF` (or `--change=REF`) taken out of the tokens: the policy decides later whether REF is acceptable. */
function takeChangeReference(tokens: Token[]): { ok: true; rest: Token[]; change?: string } | { ok: false; problem: string } {
  const rest: Token[] = [];
  let change: string | undefined;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const lower = t.text.toLowerCase();
    if (!t.option || (lower !== '--change' && !lower.startsWith('--change='))) {
      rest.push(t);
      continue;
    }
    if (change !== undefined) return { ok: false, problem: '--change is given twice' };
    let value: string | undefined = lower === '--change' ? undefined : t.text.slice('--change='.length);
    if (value === undefined && tokens[i + 1] && !tokens[i + 1]!.option) value = tokens[++i]!.text;
    if (!value) return { ok: false, problem: '--change needs the change reference: --change CHG0012345' };
    change = value;
  }
  return { ok: true, rest, ...(change !== undefined ? { change } : {}) };
}

function unknownSubcommand(word: string, vocabulary: Vocabulary, commandName: string): ParseResult {
  const names = vocabulary.subcommands.map((s) => s.name);
  const guess = closestName(word, names);
  if (guess) return fail({ code: 'unknown-subcommand', word: show(word), guess, usage: usageLine(vocabulary.find(guess)!, commandName) });
  return fail({ code: 'unknown-subcommand', word: show(word), known: names, command: commandName });
}

/** `--name value`, `--name=value`; `sub` is the subcommand typed, `of` the one whose options they are (plan hybrid: hybrid). */
function parseOptions(sub: Subcommand, valid: readonly OptionUsage[], tokens: Token[], commandName: string, of: Subcommand = sub): Result<Record<string, string>> {
  const names = valid.map((o) => o.name);
  const validList = names.length ? names.map((o) => `--${o}`).join(', ') : 'none';
  const options: Record<string, string> = {};
  const extra: Token[] = [];
  const no = (problem: string, usage = false) => ({ ok: false as const, error: { code: 'bad-command' as const, problem, ...(usage ? { usage: usageLine(of, commandName) } : {}) } });
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (!token.option) {
      if (token.text.startsWith('-') && token.text.length > 1 && !token.text.startsWith('--')) {
        return no(`unknown option ${show(token.text)}: options start with two dashes (${validList})`);
      }
      extra.push(token);
      continue;
    }
    const eq = token.text.indexOf('=');
    const rawName = eq === -1 ? token.text.slice(2) : token.text.slice(2, eq);
    const name = rawName.toLowerCase();
    const spec = valid.find((o) => o.name.toLowerCase() === name);
    if (!spec) {
      const guess = closestName(name, names);
      return no(`${of.name} has no option ${show(`--${rawName}`)}${guess ? `; did you mean --${guess}?` : ''} (options: ${validList})`);
    }
    if (spec.name in options) return no(`--${spec.name} is given twice`);
    let value: string | undefined;
    if (eq !== -1) {
      value = token.text.slice(eq + 1);
      if (value === '' && !token.quoted) value = undefined;
    } else if (tokens[i + 1] && !tokens[i + 1]!.option) {
      value = tokens[++i]!.text;
    }
    if (value === undefined) return no(`--${spec.name} needs a value: --${spec.name} ${spec.placeholder}`);
    options[spec.name] = value;
  }
  if (extra.length > 0) return no(`${sub.name} takes no ${extra.length === 1 ? 'argument' : 'arguments'} but options; unexpected ${list(extra)}`, true);
  return { ok: true, value: options };
}
