/**
 * The longest wait between two fire times of a Quartz cron expression (what `airbyte.schedule`
 * is), exactly over the calendar: the slot watchdog's inactivity alarm is derived from it.
 *
 * Airbyte evaluates the expression in the connection's time zone. The connection body this
 * project sends (src/airbyte/bodies.ts) names none, so Airbyte uses UTC, which has no daylight
 * saving time: the result is exact. (A zone with DST would stretch one gap a year by an hour.)
 */

/**
 * The longest gap in seconds; or why the expression is not one Quartz (so Airbyte) accepts or
 * that ever fires (`invalid`: a typo to fix in the schedule); or why it is valid but beyond this
 * derivation (`unsupported`: L, W, #, a restricted year; the limit has to be given instead).
 */
export type CronGap =
  { readonly seconds: number } | { readonly unsupported: string } | { readonly invalid: string };

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** Three-letter names Quartz accepts for the values, from `min` on. */
  readonly names?: readonly string[];
}

const SECONDS: FieldSpec = { name: 'seconds', min: 0, max: 59 };
const MINUTES: FieldSpec = { name: 'minutes', min: 0, max: 59 };
const HOURS: FieldSpec = { name: 'hours', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = {
  name: 'month',
  min: 1,
  max: 12,
  names: ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'],
};
/** Quartz numbers the days of the week 1 (Sunday) to 7 (Saturday). */
const DAY_OF_WEEK: FieldSpec = {
  name: 'day-of-week',
  min: 1,
  max: 7,
  names: ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'],
};

const SECONDS_PER_DAY = 86_400;

/**
 * The Gregorian calendar repeats every 400 years: 146097 days, a whole number of weeks (20871),
 * so the dates, their weekdays and the leap days of one cycle repeat in the next. Walking one
 * cycle is exact for every day-of-month, month and weekday pattern, the century rule included
 * (29 February skips 2100, 2200 and 2300: an 8-year gap that a 28-year window would miss). It is
 * 146097 cheap steps, so there is no reason to settle for a shorter window.
 */
const CYCLE_DAYS = 146_097;
/** 1 January 2000, the start of a 400-year cycle (any day would do: the pattern is periodic). */
const CYCLE_START = Date.UTC(2000, 0, 1);

/** Month (1-12), day of the month and Quartz weekday (1 = Sunday) of each day of the cycle. */
interface CycleCalendar {
  readonly month: Uint8Array;
  readonly dayOfMonth: Uint8Array;
  readonly weekday: Uint8Array;
}

let calendarOfCycle: CycleCalendar | undefined;

/** The cycle's days, worked out once: every expression then only compares small numbers. */
function cycleCalendar(): CycleCalendar {
  if (calendarOfCycle) return calendarOfCycle;
  const calendar = {
    month: new Uint8Array(CYCLE_DAYS),
    dayOfMonth: new Uint8Array(CYCLE_DAYS),
    weekday: new Uint8Array(CYCLE_DAYS),
  };
  for (let day = 0; day < CYCLE_DAYS; day++) {
    const date = new Date(CYCLE_START + day * SECONDS_PER_DAY * 1000);
    calendar.month[day] = date.getUTCMonth() + 1;
    calendar.dayOfMonth[day] = date.getUTCDate();
    calendar.weekday[day] = date.getUTCDay() + 1;
  }
  calendarOfCycle = calendar;
  return calendar;
}

/** Thrown inside the parser, returned as `{ invalid }`. */
class Invalid extends Error {}
/** Thrown inside the parser, returned as `{ unsupported }`. */
class Unsupported extends Error {}

function valueOf(token: string, field: FieldSpec): number {
  let value: number;
  if (/^\d+$/.test(token)) value = Number(token);
  else {
    // Quartz reads names in any case.
    const index = field.names?.indexOf(token.toUpperCase()) ?? -1;
    if (index === -1) throw new Invalid(`"${token}" is not a ${field.name} value`);
    value = field.min + index;
  }
  if (value < field.min || value > field.max) {
    throw new Invalid(`${field.name} ${value} is out of range (${field.min} to ${field.max})`);
  }
  return value;
}

/**
 * The values of one list element: `*`, `a`, `a-b` (wrapping past the maximum, as Quartz does
 * for `FRI-MON` or `22-2`), each optionally `/step` (`a/n` counts from a to the maximum).
 */
function elementValues(element: string, field: FieldSpec): number[] {
  const [base, step, ...rest] = element.split('/');
  if (rest.length > 0 || base === '') throw new Invalid(`cannot read "${element}"`);
  let increment = 1;
  if (step !== undefined) {
    if (!/^\d+$/.test(step)) throw new Invalid(`cannot read the step of "${element}"`);
    increment = Number(step);
    // Quartz's own bounds: a step of 0 never advances, one above the maximum is refused.
    if (increment < 1 || increment > field.max) {
      throw new Invalid(`step ${increment} of "${element}" is out of range (1 to ${field.max})`);
    }
  }
  let start: number;
  let end: number;
  if (base === '*') [start, end] = [field.min, field.max];
  else {
    const bounds = base.split('-');
    if (bounds.length > 2) throw new Invalid(`cannot read "${element}"`);
    start = valueOf(bounds[0], field);
    end = bounds.length === 2 ? valueOf(bounds[1], field) : step === undefined ? start : field.max;
  }
  const span = field.max - field.min + 1;
  const length = ((end - start + span) % span) + 1;
  const values: number[] = [];
  for (let offset = 0; offset < length; offset += increment) {
    values.push(field.min + ((start - field.min + offset) % span));
  }
  return values;
}

/** The sorted values a field allows. */
function fieldValues(text: string, field: FieldSpec): number[] {
  const values = new Set<number>();
  for (const element of text.split(',')) {
    try {
      for (const value of elementValues(element, field)) values.add(value);
    } catch (error) {
      if (!(error instanceof Invalid)) throw error;
      // Quartz's L, W and # (last, nearest weekday, nth weekday), past the day names (WED).
      const special =
        (field === DAY_OF_MONTH || field === DAY_OF_WEEK) &&
        /L|W|#/.test(element.toUpperCase().replace(/SUN|MON|TUE|WED|THU|FRI|SAT/g, ''));
      if (special) {
        throw new Unsupported(
          `the ${field.name} field "${text}" uses L, W or #, which this derivation does not support`,
        );
      }
      throw new Invalid(`the ${field.name} field "${text}": ${error.message}`);
    }
  }
  return [...values].sort((a, b) => a - b);
}

/** A field's values as a table indexed by value (all fields' values are below 60). */
function lookupOf(values: readonly number[]): Uint8Array {
  const table = new Uint8Array(60);
  for (const value of values) table[value] = 1;
  return table;
}

function longestGapOf(expression: string): number {
  const fields = expression.trim().split(/\s+/);
  if (fields.length !== 6 && fields.length !== 7) {
    throw new Invalid(`it has ${fields.length} fields, not 6 or 7 (seconds first)`);
  }
  const [seconds, minutes, hours, dayOfMonth, month, dayOfWeek, year] = fields;
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    throw new Invalid(
      'exactly one of day-of-month and day-of-week must be "?" (Quartz refuses anything else)',
    );
  }
  for (const [text, field] of [
    [seconds, SECONDS],
    [minutes, MINUTES],
    [hours, HOURS],
    [month, MONTH],
  ] as const) {
    if (text.includes('?')) {
      throw new Invalid(`"?" is only for day-of-month or day-of-week, not ${field.name}`);
    }
  }

  const timesOfDay: number[] = [];
  const minuteValues = fieldValues(minutes, MINUTES);
  const secondValues = fieldValues(seconds, SECONDS);
  for (const hour of fieldValues(hours, HOURS)) {
    for (const minute of minuteValues) {
      for (const second of secondValues) timesOfDay.push(hour * 3600 + minute * 60 + second);
    }
  }
  timesOfDay.sort((a, b) => a - b);

  const months = lookupOf(fieldValues(month, MONTH));
  // Quartz takes the days from exactly one of the two day fields, the other being "?".
  const byWeekday = dayOfMonth === '?';
  // Every other field is valid by now: what is left to refuse is beyond the derivation, not a typo.
  const allowedDays = lookupOf(
    byWeekday ? fieldValues(dayOfWeek, DAY_OF_WEEK) : fieldValues(dayOfMonth, DAY_OF_MONTH),
  );
  if (year !== undefined && year !== '*') {
    throw new Unsupported(`the year field "${year}" restricts the years, which is not supported`);
  }
  const calendar = cycleCalendar();
  const dayValues = byWeekday ? calendar.weekday : calendar.dayOfMonth;
  // The widest distance between two matching days, the cycle's last wrapping to the next first.
  let first = -1;
  let previous = -1;
  let widestDays = 0;
  for (let day = 0; day < CYCLE_DAYS; day++) {
    if (!months[calendar.month[day]] || !allowedDays[dayValues[day]]) continue;
    if (first === -1) first = day;
    else widestDays = Math.max(widestDays, day - previous);
    previous = day;
  }
  if (first === -1) throw new Invalid('it never fires (no such date)');
  widestDays = Math.max(widestDays, first + CYCLE_DAYS - previous);

  // Between two matching days, the wait runs from the last time of one to the first of the
  // next; within a day, between neighbouring times. The longest of all is at the widest days.
  const firstToLast = timesOfDay[timesOfDay.length - 1] - timesOfDay[0];
  let longest = widestDays * SECONDS_PER_DAY - firstToLast;
  for (let index = 1; index < timesOfDay.length; index++) {
    longest = Math.max(longest, timesOfDay[index] - timesOfDay[index - 1]);
  }
  return longest;
}

/**
 * The longest time in seconds between two consecutive fire times of a Quartz cron expression
 * (`seconds minutes hours day-of-month month day-of-week [year]`), over a whole 400-year
 * Gregorian cycle in UTC. Supported: `*`, `?`, numbers, lists, ranges (wrapping ones too),
 * steps (`*\/n`, `a/n`, `a-b/n`), month names JAN-DEC and day names SUN-SAT (1 = Sunday).
 * An expression Quartz refuses (a wrong field count, a value or step out of range, a token it
 * cannot read, `?` misplaced or in both or neither day field) or one that never fires is
 * `{ invalid }`; a valid one using what this derivation does not read (`L`, `W`, `#`, a
 * restricted year) is `{ unsupported }`; each with the reason. A typo in any field makes the
 * expression invalid, even next to an unsupported feature.
 */
export function longestGapSeconds(expression: string): CronGap {
  try {
    return { seconds: longestGapOf(expression) };
  } catch (error) {
    if (error instanceof Invalid) return { invalid: error.message };
    if (error instanceof Unsupported) return { unsupported: error.message };
    throw error;
  }
}
