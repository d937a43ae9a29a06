import {
  CONNECTION_FAILED_METRIC,
  metricValue,
  slotMetrics,
  WAL_STATUS_CODES,
  type MetricValue,
  type SlotMetricName,
  type WatchdogMetricName,
} from './metrics';
import type { SlotHealth } from './slot-health';

/** What the slot alarms compare against. Plain inputs: the caller derives them from its config. */
export interface SlotThresholds {
  /**
   * Alarm when `safe_wal_size` falls below this fraction of max_slot_wal_keep_size
   * (0 < fraction < 1): that much of the room the slot has before invalidation is used up.
   */
  readonly safeWalSizeFraction: number;
  /**
   * The max_slot_wal_keep_size the fraction applies to, in bytes
   * (`replication.maxSlotWalKeepSizeGiB`); null when unlimited, which leaves no safe WAL size.
   */
  readonly maxSlotWalKeepSizeBytes: number | null;
  /** Alarm when no consumer has streamed the slot for longer than this many seconds. */
  readonly maxInactiveSeconds: number;
}

/**
 * The defaults: alarm with half of max_slot_wal_keep_size used up, and after three hours without
 * a consumer (three missed runs of the default hourly Airbyte schedule). The configuration's
 * defaults, and what the doctor judges by when it is given no thresholds (slotThresholdsFrom).
 */
export const DEFAULT_SLOT_THRESHOLDS: Omit<SlotThresholds, 'maxSlotWalKeepSizeBytes'> = {
  safeWalSizeFraction: 0.5,
  maxInactiveSeconds: 3 * 60 * 60,
};

/** CloudWatch's names for the comparisons the alarms make. */
export type AlarmComparison = 'LessThanThreshold' | 'GreaterThanThreshold';

/** CloudWatch's names for the statistics of one period the alarms compare. */
export type AlarmStatistic = 'Minimum' | 'Maximum' | 'SampleCount';

/** CloudWatch's names for what a period without data counts as. */
export type AlarmMissingData = 'notBreaching' | 'breaching';

/** One alarm of the watchdog: the metric it watches and how it decides. */
export interface WatchdogAlarmRule<Id extends string = string> {
  readonly id: Id;
  readonly metric: WatchdogMetricName;
  readonly comparison: AlarmComparison;
  /** The threshold for these thresholds; undefined when the alarm cannot apply (no limit). */
  readonly threshold: (thresholds: SlotThresholds) => number | undefined;
  /**
   * The statistic of each period that is compared.
   *
   * @default - the worst value of the period: `Minimum` for a lower bound, `Maximum` for an upper
   */
  readonly statistic?: AlarmStatistic;
  /**
   * What a period without data counts as.
   *
   * @default - `notBreaching`: the watchdog leaves a metric out exactly when its question has no
   * answer, which is not a breach
   */
  readonly treatMissingData?: AlarmMissingData;
  /**
   * How long a breach must last at least before the alarm fires, whatever the schedule: more
   * runs than the evaluation periods where the schedule is short.
   *
   * @default - no minimum: the evaluation periods alone
   */
  readonly minimumBreachMinutes?: number;
}

/**
 * The slot alarms, the one place that decides them: `slotVerdicts` evaluates them for the
 * doctor, and the alarms are to be built from the same rules. In CloudWatch a missing metric is
 * no data (not breaching): each metric is left out exactly when its question has no answer.
 */
export const SLOT_ALARM_RULES = [
  {
    id: 'slot-missing',
    metric: 'SlotExists',
    comparison: 'LessThanThreshold',
    threshold: () => 1,
  },
  {
    id: 'wal-status-not-reserved',
    metric: 'SlotWalStatus',
    comparison: 'GreaterThanThreshold',
    threshold: () => WAL_STATUS_CODES.reserved,
  },
  {
    id: 'safe-wal-size-low',
    metric: 'SlotSafeWalSizeBytes',
    comparison: 'LessThanThreshold',
    threshold: ({ maxSlotWalKeepSizeBytes, safeWalSizeFraction }) =>
      maxSlotWalKeepSizeBytes === null
        ? undefined
        : Math.floor(maxSlotWalKeepSizeBytes * safeWalSizeFraction),
  },
  {
    id: 'inactive-too-long',
    metric: 'SlotInactiveSeconds',
    comparison: 'GreaterThanThreshold',
    threshold: ({ maxInactiveSeconds }) => maxInactiveSeconds,
  },
] as const satisfies readonly WatchdogAlarmRule[];

/**
 * The alarm on the watchdog's own failure to connect or read: its own metric, not missing data.
 * Ten minutes at least: an RDS reboot or a Multi-AZ failover leaves the database unreachable for
 * one to a few minutes, which the RDS event subscription already reports.
 */
export const CONNECTION_ALARM_RULE = {
  id: 'watchdog-connection-failed',
  metric: CONNECTION_FAILED_METRIC,
  comparison: 'GreaterThanThreshold',
  threshold: () => 0,
  minimumBreachMinutes: 10,
} as const satisfies WatchdogAlarmRule;

/**
 * The alarm on the watchdog not reporting at all: every run that gets as far as publishing sends
 * `WatchdogConnectionFailed` (0 or 1), so a period with no sample of it means the function was
 * not invoked, was throttled, crashed or could not publish. The other alarms treat missing data
 * as no breach; this one exists so that silence is not mistaken for health. It is not a slot
 * verdict: the doctor reads the slot itself and has no run to miss.
 */
export const NOT_REPORTING_ALARM_RULE = {
  id: 'watchdog-not-reporting',
  metric: CONNECTION_FAILED_METRIC,
  comparison: 'LessThanThreshold',
  statistic: 'SampleCount',
  treatMissingData: 'breaching',
  threshold: () => 1,
} as const satisfies WatchdogAlarmRule;

export type SlotAlarmId = (typeof SLOT_ALARM_RULES)[number]['id'];

/** What one alarm would say about a reading. */
export interface SlotVerdict {
  readonly alarm: SlotAlarmId;
  readonly metric: SlotMetricName;
  /** `no-data`: the metric or the threshold has no value in this state (the alarm stays quiet). */
  readonly state: 'ok' | 'breached' | 'no-data';
  readonly value?: number;
  readonly threshold?: number;
}

function breaches(comparison: AlarmComparison, value: number, threshold: number): boolean {
  return comparison === 'LessThanThreshold' ? value < threshold : value > threshold;
}

/** Each slot alarm's verdict on `metrics` (what slotMetrics gave), in SLOT_ALARM_RULES order. */
export function verdictsOf(
  metrics: readonly MetricValue<SlotMetricName>[],
  thresholds: SlotThresholds,
): SlotVerdict[] {
  return SLOT_ALARM_RULES.map((rule): SlotVerdict => {
    const value = metricValue(metrics, rule.metric);
    const threshold = rule.threshold(thresholds);
    if (value === undefined || threshold === undefined) {
      return {
        alarm: rule.id,
        metric: rule.metric,
        state: 'no-data',
        ...(value === undefined ? {} : { value }),
        ...(threshold === undefined ? {} : { threshold }),
      };
    }
    return {
      alarm: rule.id,
      metric: rule.metric,
      state: breaches(rule.comparison, value, threshold) ? 'breached' : 'ok',
      value,
      threshold,
    };
  });
}

/** What the slot alarms would say about `health`: its metrics against the thresholds. */
export function slotVerdicts(health: SlotHealth, thresholds: SlotThresholds): SlotVerdict[] {
  return verdictsOf(slotMetrics(health), thresholds);
}
