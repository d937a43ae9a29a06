import { longestGapSeconds } from '../../../src/config/quartz-cron';

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Seconds between two UTC dates, as the calendar (not this module) counts them. */
const secondsBetween = (from: Date, to: Date): number => (to.getTime() - from.getTime()) / 1000;

describe('longestGapSeconds', () => {
  it.each([
    ['hourly, Airbyte’s default', '0 0 * * * ?', HOUR],
    ['every 15 minutes', '0 */15 * * * ?', 15 * MINUTE],
    ['every 15 minutes from 0', '0 0/15 * * * ?', 15 * MINUTE],
    ['every 10 seconds', '*/10 * * * * ?', 10],
    ['every second', '* * * * * ?', 1],
    ['once a minute', '30 * * * * ?', MINUTE],
    ['daily at 02:00', '0 0 2 * * ?', DAY],
    ['daily, with a year field of *', '0 0 2 * * ? *', DAY],
    ['weekly on Sunday', '0 0 12 ? * SUN', 7 * DAY],
    ['weekly, by number (1 is Sunday)', '0 0 12 ? * 1', 7 * DAY],
  ])('%s: %s', (_title, expression, seconds) => {
    expect(longestGapSeconds(expression)).toEqual({ seconds });
  });

  it('waits over the weekend for a working-hours schedule: Friday 17:00 to Monday 09:00', () => {
    const gap = secondsBetween(new Date('2026-01-02T17:00:00Z'), new Date('2026-01-05T09:00:00Z'));
    expect(gap).toBe(64 * HOUR);
    expect(longestGapSeconds('0 0 9-17 ? * MON-FRI')).toEqual({ seconds: gap });
    // The same days by number (2 Monday to 6 Friday), and in lower case as Quartz accepts it.
    expect(longestGapSeconds('0 0 9-17 ? * 2-6')).toEqual({ seconds: gap });
    expect(longestGapSeconds('0 0 9-17 ? * mon-fri')).toEqual({ seconds: gap });
  });

  it('takes the longest month for a monthly schedule: 31 days', () => {
    expect(longestGapSeconds('0 0 0 1 * ?')).toEqual({ seconds: 31 * DAY });
  });

  it('skips the months without a 31st: from 31 May to 31 July is the longest, 61 days', () => {
    const gap = secondsBetween(new Date('2026-05-31T00:00:00Z'), new Date('2026-07-31T00:00:00Z'));
    expect(gap).toBe(61 * DAY);
    expect(longestGapSeconds('0 0 0 31 * ?')).toEqual({ seconds: gap });
  });

  it('counts the century rule for 29 February: 2096 to 2104, since 2100 is no leap year', () => {
    const gap = secondsBetween(new Date('2096-02-29T00:00:00Z'), new Date('2104-02-29T00:00:00Z'));
    expect(gap).toBeGreaterThan(8 * 365 * DAY);
    expect(longestGapSeconds('0 0 0 29 2 ?')).toEqual({ seconds: gap });
    expect(longestGapSeconds('0 0 0 29 FEB ? *')).toEqual({ seconds: gap });
  });

  it('reads lists of hours: the longest of the gaps between them and over midnight', () => {
    expect(longestGapSeconds('0 0 6,18 * * ?')).toEqual({ seconds: 12 * HOUR });
    expect(longestGapSeconds('0 0 1,2,23 * * ?')).toEqual({ seconds: 21 * HOUR });
    expect(longestGapSeconds('0 0,30 8 * * ?')).toEqual({ seconds: DAY - 30 * MINUTE });
  });

  it('reads steps from a start and within a range', () => {
    // 50/20: only :50 lies within the hour.
    expect(longestGapSeconds('0 50/20 * * * ?')).toEqual({ seconds: HOUR });
    // 10, 25, 40: from :40 to :10 of the next hour.
    expect(longestGapSeconds('0 10-40/15 * * * ?')).toEqual({ seconds: 30 * MINUTE });
    // Hours 0, 6, 12, 18 on odd days of the month, never more than two days apart (the 29th
    // of a 30-day month to the 1st too): from 18:00 to 00:00 two days later.
    expect(longestGapSeconds('0 0 */6 1/2 * ?')).toEqual({ seconds: DAY + 6 * HOUR });
  });

  it('reads month lists and names: 1 July to 1 January is the longer half, 184 days', () => {
    const gap = secondsBetween(new Date('2026-07-01T00:00:00Z'), new Date('2027-01-01T00:00:00Z'));
    expect(gap).toBe(184 * DAY);
    expect(longestGapSeconds('0 0 0 1 JAN,JUL ?')).toEqual({ seconds: gap });
    expect(longestGapSeconds('0 0 0 1 1,7 ?')).toEqual({ seconds: gap });
  });

  it('combines the gaps within a day and between days', () => {
    // Monday at 00:00 and 12:00: 12 hours within the day, then Monday 12:00 to the next Monday.
    expect(longestGapSeconds('0 0 0,12 ? * MON')).toEqual({ seconds: 6 * DAY + 12 * HOUR });
  });

  it('wraps ranges past the maximum, as Quartz does', () => {
    // 22, 23, 0, 1, 2: from 02:00 to 22:00.
    expect(longestGapSeconds('0 0 22-2 * * ?')).toEqual({ seconds: 20 * HOUR });
    // Friday to Monday: from Monday to Friday.
    expect(longestGapSeconds('0 0 0 ? * FRI-MON')).toEqual({ seconds: 4 * DAY });
    // November to February, on the 1st: 1 February to 1 November, the longest in a leap year.
    const gap = secondsBetween(new Date('2028-02-01T00:00:00Z'), new Date('2028-11-01T00:00:00Z'));
    expect(gap).toBe(274 * DAY);
    expect(longestGapSeconds('0 0 0 1 NOV-FEB ?')).toEqual({ seconds: gap });
  });

  it.each([
    ['last day of the month', '0 0 0 L * ?', /day-of-month field "L" uses L, W or #/],
    ['last weekday', '0 0 0 LW * ?', /uses L, W or #/],
    ['nearest weekday', '0 0 0 15W * ?', /uses L, W or #/],
    ['last Friday', '0 0 0 ? * 6L', /day-of-week field "6L" uses L, W or #/],
    ['second Monday', '0 0 0 ? * MON#2', /uses L, W or #/],
    ['a restricted year', '0 0 0 1 1 ? 2030', /year field "2030" restricts the years/],
  ])(
    'does not derive %s (%s), valid as it is: unsupported, with the reason',
    (_title, expression, reason) => {
      expect(longestGapSeconds(expression)).toEqual({ unsupported: expect.stringMatching(reason) });
    },
  );

  it.each([
    [
      'an hour out of range',
      '0 0 25 * * ?',
      /hours field "25": hours 25 is out of range \(0 to 23\)/,
    ],
    ['a minute out of range', '0 60 * * * ?', /minutes field "60": minutes 60 is out of range/],
    ['day-of-week 0 (Quartz counts 1 to 7)', '0 0 0 ? * 0', /day-of-week 0 is out of range/],
    ['an unknown month name', '0 0 0 1 FOO ?', /"FOO" is not a month value/],
    ['a day name in the month field', '0 0 0 1 MON ?', /"MON" is not a month value/],
    ['a step of 0', '0 */0 * * * ?', /step 0 of "\*\/0" is out of range/],
    ['a step beyond the field', '0 0 */24 * * ?', /step 24 .* out of range \(1 to 23\)/],
    ['both day fields given', '0 0 0 * * *', /exactly one of day-of-month and day-of-week/],
    ['neither day field given', '0 0 0 ? * ?', /exactly one of day-of-month and day-of-week/],
    ['? outside the day fields', '0 0 ? * * ?', /"\?" is only for day-of-month or day-of-week/],
    ['a date that never comes', '0 0 0 30 2 ?', /never fires/],
    ['five fields (Unix cron)', '0 * * * *', /5 fields, not 6 or 7/],
    ['a malformed range', '0 0 1-2-3 * * ?', /cannot read "1-2-3"/],
    ['a malformed step', '0 0 1/x * * ?', /cannot read the step of "1\/x"/],
    // A typo elsewhere is still a typo next to what the derivation does not read.
    ['an hour out of range beside L', '0 0 25 L * ?', /hours field "25"/],
    ['an hour out of range beside a year', '0 0 25 1 1 ? 2030', /hours field "25"/],
    ['a minute out of range beside #', '0 60 0 ? * MON#2', /minutes field "60"/],
  ])('refuses %s (%s) as invalid, with the reason', (_title, expression, reason) => {
    expect(longestGapSeconds(expression)).toEqual({ invalid: expect.stringMatching(reason) });
  });

  it('does not mistake the day name WED for a W', () => {
    expect(longestGapSeconds('0 0 0 ? * WED')).toEqual({ seconds: 7 * DAY });
  });
});
