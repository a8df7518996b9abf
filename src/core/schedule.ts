// Time rules from the policy: change windows (an approved change outside them waits for the next one) and the drift
// watch's cron schedule. Both are read with croner: it evaluates cron patterns in an IANA time zone (through Intl,
// no zone data of its own, no dependencies) and is well kept; one library serves both rules, and the core asks it
// only "what is the next time after T", so every decision follows the injected clock and no timer lives here.
import { Cron } from 'croner';

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** A window opens on each of `days` at `from` (HH:MM, the zone's wall clock) and lasts until `to`, the next day when `to` is not after `from`. */
export interface WindowSlot {
  days: Weekday[];
  from: string;
  to: string;
}

export interface ChangeWindows {
  /** IANA zone the hours are in, e.g. Europe/London */
  timeZone: string;
  open: WindowSlot[];
}

export type WindowState = { open: true; closesAt: Date } | { open: false; opensAt: Date };

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;
const minutesOf = (hhmm: string): number => {
  const m = HHMM.exec(hhmm);
  if (!m) throw new Error(`"${hhmm}" is not a time of day HH:MM`);
  return Number(m[1]) * 60 + Number(m[2]);
};

/** The slot as a cron start and a length: a window opening at 22:00 Saturday is `0 22 * * 6`, lasting to - from. */
function compile(slot: WindowSlot, timeZone: string): { starts: Cron; lengthMs: number } {
  const from = minutesOf(slot.from);
  const to = minutesOf(slot.to);
  const days = slot.days.map((d) => WEEKDAYS.indexOf(d)).join(',');
  const lengthMinutes = (to - from + 1440) % 1440 || 1440;
  return { starts: new Cron(`${from % 60} ${Math.floor(from / 60)} * * ${days}`, { timezone: timeZone }), lengthMs: lengthMinutes * 60_000 };
}

/** Throws a sentence naming what is wrong (a bad time, an unknown zone); the config parser reports it. */
export function checkWindows(w: ChangeWindows): void {
  for (const slot of w.open) compile(slot, w.timeZone).starts.nextRun(new Date(0));
}

/**
 * Is a window open at `now`? Open: when it closes. Closed: when the next one opens. A window that opened at s is
 * open on [s, s + length): it is open now exactly when the first start after now - length is not after now.
 * (The length is elapsed time: a window across a DST change ends an hour early or late by the wall clock.)
 */
export function windowState(w: ChangeWindows, now: Date): WindowState {
  let closesAt: number | undefined;
  let opensAt: number | undefined;
  for (const slot of w.open) {
    const { starts, lengthMs } = compile(slot, w.timeZone);
    const started = starts.nextRun(new Date(now.getTime() - lengthMs));
    if (started && started.getTime() <= now.getTime()) closesAt = Math.max(closesAt ?? 0, started.getTime() + lengthMs);
    const next = starts.nextRun(now);
    if (next) opensAt = Math.min(opensAt ?? Infinity, next.getTime());
  }
  if (closesAt !== undefined) return { open: true, closesAt: new Date(closesAt) };
  if (opensAt === undefined) throw new Error('no change window ever opens');
  return { open: false, opensAt: new Date(opensAt) };
}

/** A cron schedule (the drift watch): the first time after `after`. Throws on a bad pattern or zone. */
export function nextTime(pattern: string, after: Date, timeZone?: string): Date | undefined {
  return new Cron(pattern, timeZone ? { timezone: timeZone } : {}).nextRun(after) ?? undefined;
}
