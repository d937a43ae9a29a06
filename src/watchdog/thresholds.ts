import type { EnvironmentConfig } from '../config';
import type { SlotThresholds } from './verdicts';

const GIB = 1024 ** 3;

/**
 * The thresholds the slot alarms of an environment compare against, from its configuration:
 * the one derivation the stack's alarms and the doctor's verdicts share, so that both judge a
 * slot alike. The inactivity limit is the resolved `monitoring.slotInactiveAlarmMinutes`
 * (given, or derived from `airbyte.schedule`).
 */
export function slotThresholdsFrom(
  config: Pick<EnvironmentConfig, 'monitoring' | 'replication'>,
): SlotThresholds {
  return {
    safeWalSizeFraction: config.monitoring.slotSafeWalSizeFraction,
    maxSlotWalKeepSizeBytes: config.replication.maxSlotWalKeepSizeGiB * GIB,
    maxInactiveSeconds: config.monitoring.slotInactiveAlarmMinutes * 60,
  };
}
