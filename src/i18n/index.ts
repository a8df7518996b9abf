// The words of lync-exo in each language it speaks: message catalogues (en.json, zh-TW.json beside this file) in
// ICU MessageFormat, formatted by @formatjs/intl (plural rules and dates from the runtime's Intl, per locale).
// A front end asks for a Words for one reader: their locale, the policy's time zone, and its own marks (how a person,
// a channel, code or emphasis is written in Slack mrkdwn or in a terminal). Keys are checked by the compiler against
// the English catalogue; test/i18n/catalogue.test.ts checks that every other catalogue has each key with the same
// arguments.
import { createIntl, createIntlCache, type IntlShape } from '@formatjs/intl';
import en from './en.json' with { type: 'json' };
import zhTW from './zh-TW.json' with { type: 'json' };

export const LOCALES = ['en', 'zh-TW'] as const;
export type Locale = (typeof LOCALES)[number];
export const DEFAULT_LOCALE: Locale = 'en';

/** Every message's id: the English catalogue's keys (its `_glossary` entries are notes, not messages). */
export type MessageKey = Exclude<keyof typeof en, `_${string}`>;

export const CATALOGUES: Record<Locale, Record<string, string>> = { en, 'zh-TW': zhTW };

export function isLocale(value: unknown): value is Locale {
  return typeof value === 'string' && (LOCALES as readonly string[]).includes(value);
}

/**
 * A Slack locale (users.info: `en-US`, `zh-TW`, `ja-JP` …) as one of ours, or undefined when we do not speak it.
 * Traditional Chinese covers zh-TW, zh-HK and zh-Hant; simplified Chinese (zh-CN) is not Traditional: undefined.
 */
export function localeOf(tag: string | undefined): Locale | undefined {
  if (!tag) return undefined;
  const t = tag.replace('_', '-').toLowerCase();
  if (t === 'zh-tw' || t === 'zh-hk' || t === 'zh-mo' || t.startsWith('zh-hant')) return 'zh-TW';
  if (t === 'en' || t.startsWith('en-')) return 'en';
  return undefined;
}

/** How a front end writes what is not plain words. */
export interface Marks {
  user(id: string): string;
  channel(id: string): string;
  group(id: string): string;
  /** inline code: a command to type, an id */
  code(text: string): string;
  /** emphasis: `<b>…</b>` in a message */
  strong(text: string): string;
  /** what came from people or PowerShell, made safe where it lands (Slack: &, < and > escaped) */
  text(value: string): string;
  /** a moment, given as formatted for the reader (Slack: a date token each client shows in its own zone) */
  date(ms: number, shown: string): string;
  /** a formatted message made final (Slack: the marks' placeholders turned into live markup) */
  done(text: string): string;
}

export type Value = string | number | Date;

export interface Words {
  readonly locale: Locale;
  readonly timeZone: string;
  readonly marks: Marks;
  /** the message `key` with `values`; strings are passed through marks.text (callers mark ids themselves) */
  t(key: MessageKey, values?: Record<string, Value>): string;
  /** the same with values already made safe (another message's words): not passed through marks.text again */
  raw(key: MessageKey, values?: Record<string, Value>): string;
  /** a date and time in the reader's language and the policy's time zone: `Dec 1, 2026, 23:24:14 UTC` */
  date(iso: string | undefined): string;
  /** items joined: as a plain series (`a, b, c` / `a、b、c`, the default), or with `or` as the language says it */
  list(items: string[], type?: 'series' | 'disjunction'): string;
}

const cache = createIntlCache();
const intls = new Map<string, IntlShape<string>>();

function intlFor(locale: Locale, timeZone: string): IntlShape<string> {
  const key = `${locale}|${timeZone}`;
  let intl = intls.get(key);
  if (!intl) {
    intl = createIntl(
      {
        locale,
        timeZone,
        defaultLocale: DEFAULT_LOCALE,
        messages: CATALOGUES[locale],
        // a missing message is a bug the catalogue test catches; at run time the English one is shown, not the key
        onError: () => undefined,
      },
      cache,
    );
    intls.set(key, intl);
  }
  return intl;
}

/** A time zone Intl knows, or the reason it does not (for the config's error message). */
export function checkTimeZone(timeZone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en', { timeZone });
    return undefined;
  } catch {
    return `${timeZone} is not a time zone name such as UTC, Asia/Taipei or Europe/London`;
  }
}

export function createWords(locale: Locale, marks: Marks, timeZone = 'UTC'): Words {
  const intl = intlFor(locale, timeZone);
  const fallback = locale === DEFAULT_LOCALE ? intl : intlFor(DEFAULT_LOCALE, timeZone);
  const tags = { b: (chunks: string[]) => marks.strong(chunks.join('')), code: (chunks: string[]) => marks.code(chunks.join('')) };
  const format = (key: MessageKey, values: Record<string, Value>): string => {
    const use = CATALOGUES[locale][key] === undefined ? fallback : intl;
    const out = use.formatMessage({ id: key, defaultMessage: en[key] }, { ...values, ...tags } as never) as unknown;
    return marks.done(Array.isArray(out) ? out.join('') : String(out));
  };
  return {
    locale,
    timeZone,
    marks,
    raw: (key, values = {}) => format(key, values),
    t: (key, values = {}) => format(key, Object.fromEntries(Object.entries(values).map(([k, v]) => [k, typeof v === 'string' ? marks.text(v) : v]))),
    date(iso) {
      if (!iso) return '';
      const ms = Date.parse(iso);
      if (Number.isNaN(ms)) return marks.text(iso);
      return marks.date(ms, intl.formatDate(ms, DATE_FORMAT));
    },
    // Intl's unit lists join Chinese with spaces; the catalogue's separator is the enumeration comma
    list: (items, type = 'series') => (type === 'series' ? items.join(format('list.separator', {})) : intl.formatList(items, { type })),
  };
}

/** `Dec 1, 2026, 23:24:14 UTC` / `2026年12月2日 07:24:14 [GMT+8]`: the zone is the policy's (formatDate adds it) */
const DATE_FORMAT: Intl.DateTimeFormatOptions = { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23', timeZoneName: 'short' };

// East Asian wide and fullwidth characters take two columns in a monospace font (Slack's code blocks, terminals):
// CJK ideographs, kana, Hangul, fullwidth forms and CJK punctuation (、，：（）「」).
const WIDE = /[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u;

/** How many monospace columns `text` takes: tables line up in every language. */
export function displayWidth(text: string): number {
  let n = 0;
  for (const ch of text) n += WIDE.test(ch) ? 2 : 1;
  return n;
}

/** `text` padded with spaces to `columns` display columns. */
export const padDisplay = (text: string, columns: number): string => text + ' '.repeat(Math.max(0, columns - displayWidth(text)));
