// Change windows and cron schedules in a time zone, as pure functions of an instant (no clock, no timers).
import { describe, expect, it } from 'vitest';
import { accountFor } from '../../src/core/identity.js';
import { checkWindows, nextTime, windowState, type ChangeWindows } from '../../src/core/schedule.js';

const at = (iso: string) => new Date(iso);
const iso = (d: Date) => d.toISOString();

describe('change windows', () => {
  // Saturday 22:00 to Sunday 02:00, London wall clock
  const london: ChangeWindows = { timeZone: 'Europe/London', open: [{ days: ['sat'], from: '22:00', to: '02:00' }] };

  it('is closed before a window and says when the next opens; open inside it until it closes', () => {
    expect(windowState(london, at('2026-12-02T10:00:00Z'))).toEqual({ open: false, opensAt: at('2026-12-05T22:00:00Z') });
    expect(windowState(london, at('2026-12-05T22:00:00Z'))).toEqual({ open: true, closesAt: at('2026-12-06T02:00:00Z') });
    // across midnight, still Saturday's window
    expect(windowState(london, at('2026-12-06T01:59:59Z'))).toEqual({ open: true, closesAt: at('2026-12-06T02:00:00Z') });
    // the end is not in the window
    expect(windowState(london, at('2026-12-06T02:00:00Z'))).toEqual({ open: false, opensAt: at('2026-12-12T22:00:00Z') });
  });

  it('reads hours in the zone: London summer time is UTC+1, Taipei is UTC+8', () => {
    expect(windowState(london, at('2026-07-01T12:00:00Z'))).toEqual({ open: false, opensAt: at('2026-07-04T21:00:00Z') });
    const taipei: ChangeWindows = { timeZone: 'Asia/Taipei', open: [{ days: ['mon', 'wed'], from: '09:00', to: '10:30' }] };
    // Tuesday 2026-12-01 in Taipei: the next window is Wednesday 09:00 Taipei = 01:00 UTC
    expect(windowState(taipei, at('2026-12-01T05:00:00Z'))).toEqual({ open: false, opensAt: at('2026-12-02T01:00:00Z') });
    expect(windowState(taipei, at('2026-12-02T02:29:00Z'))).toEqual({ open: true, closesAt: at('2026-12-02T02:30:00Z') });
  });

  it('opens at the wall-clock time on the day after a DST change (London, 29 March 2026)', () => {
    const sunday: ChangeWindows = { timeZone: 'Europe/London', open: [{ days: ['sun'], from: '09:00', to: '10:00' }] };
    // 22 March 09:00 GMT = 09:00Z; 29 March 09:00 BST = 08:00Z
    expect(windowState(sunday, at('2026-03-22T10:00:00Z'))).toEqual({ open: false, opensAt: at('2026-03-29T08:00:00Z') });
  });

  it('several windows: the soonest opens next; overlapping ones close at the later end; a whole day when to equals from', () => {
    const w: ChangeWindows = {
      timeZone: 'UTC',
      open: [
        { days: ['mon'], from: '20:00', to: '22:00' },
        { days: ['mon'], from: '21:00', to: '23:00' },
        { days: ['fri'], from: '00:00', to: '00:00' },
      ],
    };
    expect(windowState(w, at('2026-11-30T21:30:00Z'))).toEqual({ open: true, closesAt: at('2026-11-30T23:00:00Z') });
    expect(windowState(w, at('2026-12-01T00:00:00Z'))).toEqual({ open: false, opensAt: at('2026-12-04T00:00:00Z') });
    expect(windowState(w, at('2026-12-04T23:59:00Z'))).toEqual({ open: true, closesAt: at('2026-12-05T00:00:00Z') });
  });

  it('refuses a time that is not HH:MM, or an unknown zone', () => {
    expect(() => checkWindows({ timeZone: 'UTC', open: [{ days: ['sat'], from: '7pm', to: '22:00' }] })).toThrow(/"7pm" is not a time of day HH:MM/);
    expect(() => checkWindows({ timeZone: 'Mars/Base', open: [{ days: ['sat'], from: '19:00', to: '22:00' }] })).toThrow(/Mars\/Base/);
  });
});

describe('cron schedules', () => {
  it('the next time after an instant, in a zone', () => {
    expect(iso(nextTime('0 * * * *', at('2026-12-02T10:00:00Z'))!)).toBe('2026-12-02T11:00:00.000Z');
    expect(iso(nextTime('30 6 * * 1-5', at('2026-12-05T00:00:00Z'), 'Asia/Taipei')!)).toBe('2026-12-06T22:30:00.000Z');
    expect(() => nextTime('every hour', new Date())).toThrow();
  });
});

describe('AD accounts from directory emails', () => {
  it('the table first, then the rule for its domains; nothing for other domains or no email', () => {
    const mapping = { rule: 'CONTOSO\\{local}', domains: ['contoso.com'], table: { 'alice@contoso.com': 'CONTOSO\\asmith' } };
    expect(accountFor(mapping, 'Alice@Contoso.com')).toBe('CONTOSO\\asmith');
    expect(accountFor(mapping, 'bob@contoso.com')).toBe('CONTOSO\\bob');
    expect(accountFor(mapping, 'eve@fabrikam.com')).toBeUndefined();
    expect(accountFor(mapping, undefined)).toBeUndefined();
    expect(accountFor(undefined, 'bob@contoso.com')).toBeUndefined();
    expect(accountFor({ rule: '{local}@{domain}.ad' }, 'bob@fabrikam.com')).toBe('bob@fabrikam.com.ad');
  });
});
