/**
 * The slot watchdog's reading and judgement, shared by its Lambda function and `npm run doctor`:
 * one read of the slot, one set of metrics, one set of alarm verdicts.
 */
export {
  readSlotHealth,
  readSlotHealthReadOnly,
  type SlotHealth,
  type SlotReading,
} from './slot-health';
export {
  CONNECTION_FAILED_METRIC,
  ENVIRONMENT_DIMENSION,
  metricValue,
  slotMetrics,
  WAL_STATUS_CODES,
  WATCHDOG_NAMESPACE,
  type MetricUnit,
  type MetricValue,
  type SlotMetricName,
  type WalStatus,
  type WatchdogMetricName,
} from './metrics';
export {
  CONNECTION_ALARM_RULE,
  DEFAULT_SLOT_THRESHOLDS,
  NOT_REPORTING_ALARM_RULE,
  SLOT_ALARM_RULES,
  slotVerdicts,
  verdictsOf,
  type AlarmComparison,
  type AlarmMissingData,
  type AlarmStatistic,
  type SlotAlarmId,
  type SlotThresholds,
  type SlotVerdict,
  type WatchdogAlarmRule,
} from './verdicts';
export { WATCHDOG_VARIABLES, watchdogSettingsFrom, type WatchdogSettings } from './settings';
export { slotThresholdsFrom } from './thresholds';
