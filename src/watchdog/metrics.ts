import { isInvalidated } from '../replication/slot-invalidation';
import type { SlotHealth } from './slot-health';

/** The CloudWatch namespace the watchdog publishes to (per environment: the `Environment` dimension). */
export const WATCHDOG_NAMESPACE = 'RdsAirbyteCdc';

/** The dimension that tells environments apart. */
export const ENVIRONMENT_DIMENSION = 'Environment';

/**
 * `wal_status` as a number, growing with the danger, so that one alarm (`> reserved`) covers
 * every state but the normal one: reserved 0 (within max_wal_size), extended 1 (beyond it, kept
 * for the slot), unreserved 2 (beyond max_slot_wal_keep_size: the next checkpoint removes it),
 * lost 3 (removed, or the slot invalidated for another reason).
 */
export const WAL_STATUS_CODES = { reserved: 0, extended: 1, unreserved: 2, lost: 3 } as const;

export type WalStatus = keyof typeof WAL_STATUS_CODES;

/** The metrics of one watchdog run. */
export type SlotMetricName =
  | 'SlotExists'
  | 'SlotActive'
  | 'SlotWalStatus'
  | 'SlotSafeWalSizeBytes'
  | 'SlotInactiveSeconds'
  | 'SlotConfirmedLagBytes';

/** 1 when the watchdog could not connect to the database or read the slot, else 0. */
export const CONNECTION_FAILED_METRIC = 'WatchdogConnectionFailed';

export type WatchdogMetricName = SlotMetricName | typeof CONNECTION_FAILED_METRIC;

/** CloudWatch StandardUnit names the metrics use. */
export type MetricUnit = 'None' | 'Bytes' | 'Seconds';

export interface MetricValue<Name extends string = WatchdogMetricName> {
  readonly name: Name;
  readonly value: number;
  readonly unit: MetricUnit;
}

function walStatusCode(slot: NonNullable<SlotHealth['slot']>): number | undefined {
  // An invalidated slot is lost whatever wal_status says: it can never be streamed again.
  if (isInvalidated(slot)) return WAL_STATUS_CODES.lost;
  const status = slot.walStatus;
  return status !== null && status in WAL_STATUS_CODES
    ? WAL_STATUS_CODES[status as WalStatus]
    : undefined;
}

/**
 * The slot's metrics, in a fixed order. A metric without a value in this state is left out
 * rather than sent as a 0 that would mean something else: without a slot only `SlotExists`; no
 * `SlotSafeWalSizeBytes` for a lost slot or an unlimited max_slot_wal_keep_size; no
 * `SlotInactiveSeconds` for an inactive slot before PostgreSQL 17 (unknown). An active slot has
 * been inactive for 0 seconds on every major.
 */
export function slotMetrics(health: SlotHealth): MetricValue<SlotMetricName>[] {
  const { slot } = health;
  if (!slot) return [{ name: 'SlotExists', value: 0, unit: 'None' }];
  const metrics: MetricValue<SlotMetricName>[] = [
    { name: 'SlotExists', value: 1, unit: 'None' },
    { name: 'SlotActive', value: slot.active ? 1 : 0, unit: 'None' },
  ];
  const walStatus = walStatusCode(slot);
  if (walStatus !== undefined)
    metrics.push({ name: 'SlotWalStatus', value: walStatus, unit: 'None' });
  if (slot.safeWalSizeBytes !== null) {
    metrics.push({ name: 'SlotSafeWalSizeBytes', value: slot.safeWalSizeBytes, unit: 'Bytes' });
  }
  const inactiveSeconds = slot.active ? 0 : slot.inactiveSeconds;
  if (inactiveSeconds !== undefined && inactiveSeconds !== null) {
    metrics.push({ name: 'SlotInactiveSeconds', value: inactiveSeconds, unit: 'Seconds' });
  }
  if (slot.confirmedLagBytes !== null) {
    metrics.push({ name: 'SlotConfirmedLagBytes', value: slot.confirmedLagBytes, unit: 'Bytes' });
  }
  return metrics;
}

/** The value of `name` among `metrics`, or undefined when it was left out. */
export function metricValue<Name extends string>(
  metrics: readonly MetricValue<Name>[],
  name: Name,
): number | undefined {
  return metrics.find((metric) => metric.name === name)?.value;
}
