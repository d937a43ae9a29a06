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
 * Thresholds for callers with no configuration of their own yet (the doctor): alarm with half of
 * max_slot_wal_keep_size used up, and after three hours without a consumer (three missed runs
 * of the default hourly Airbyte schedule).
 */
export const DEFAULT_SLOT_THRESHOLDS: Omit<SlotThresholds, 'maxSlotWalKeepSizeBytes'> = {
  safeWalSizeFraction: 0.5,
  maxInactiveSeconds: 3 * 60 * 60,
};

/** CloudWatch's names for the comparisons the alarms make. */
export type AlarmComparison = 'LessThanThreshold' | 'GreaterThanThreshold';

/** One alarm of the watchdog: the metric it watches and how it decides. */
export interface WatchdogAlarmRule<Id extends string = string> {
  readonly id: Id;
  readonly metric: WatchdogMetricName;
  readonly comparison: AlarmComparison;
  /** The threshold for these thresholds; undefined when the alarm cannot apply (no limit). */
  readonly threshold: (thresholds: SlotThresholds) => number | undefined;
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

/** The alarm on the watchdog's own failure to connect or read: its own metric, not missing data. */
export const CONNECTION_ALARM_RULE = {
  id: 'watchdog-connection-failed',
  metric: CONNECTION_FAILED_METRIC,
  comparison: 'GreaterThanThreshold',
  threshold: () => 0,
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
