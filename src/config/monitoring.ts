import { z } from 'zod';
import { MASTER_USERNAME } from '../contract/database';
import { roleName } from './identifiers';
import { longestGapSeconds } from './quartz-cron';
import { DEFAULT_SLOT_THRESHOLDS } from '../watchdog/verdicts';

const GIB = 1024 ** 3;

/** RDS event categories a `db-instance` event subscription accepts. */
export const RDS_INSTANCE_EVENT_CATEGORIES = [
  'availability',
  'backup',
  'configuration change',
  'creation',
  'deletion',
  'failover',
  'failure',
  'low storage',
  'maintenance',
  'notification',
  'read replica',
  'recovery',
  'restoration',
  'security',
  'security patching',
] as const;

const bytes = z.number().int().positive();

/**
 * Alarms, dashboard and notifications for one environment. Every alarm notifies the same SNS
 * topic when it goes into ALARM and when it returns to OK.
 */
export const monitoringSchema = z
  .strictObject({
    /** Create the alarms, topic, event subscription and dashboard at all. Default: true. */
    enabled: z.boolean().default(true),
    /**
     * Address subscribed to the alarm topic by email (AWS sends a confirmation mail first).
     * Default: none (subscribe your own endpoints to the topic, whose ARN is a stack output).
     */
    alarmEmail: z.email({ message: 'must be an email address' }).optional(),
    /**
     * `OldestReplicationSlotLag` above this many bytes: the slot Airbyte reads is falling behind
     * (Airbyte stopped syncing, or syncs less often than the database writes). Keep it well below
     * `replication.maxSlotWalKeepSizeGiB` so that you hear about it before PostgreSQL invalidates
     * the slot, which forces a full resync. Default: 1 GiB.
     */
    oldestReplicationSlotLagBytes: bytes.default(GIB),
    /**
     * `ReplicationSlotDiskUsage` above this many bytes: WAL kept on disk for replication slots.
     * Default: 2 GiB.
     */
    replicationSlotDiskUsageBytes: bytes.default(2 * GIB),
    /**
     * `TransactionLogsDiskUsage` above this many bytes: all WAL on disk (slots, `wal_keep_size`,
     * checkpoints that have not run). Default: 4 GiB.
     */
    transactionLogsDiskUsageBytes: bytes.default(4 * GIB),
    /**
     * Alarm when `FreeStorageSpace` falls below this fraction of `database.allocatedStorageGiB`.
     * Storage autoscaling only starts at 10 % free, so the default warns first. Default: 0.2.
     */
    freeStorageFraction: z.number().gt(0).lt(1).default(0.2),
    /** `CPUUtilization` above this percentage. Default: 80. */
    cpuPercent: z.number().gt(0).max(100).default(80),
    /** Length of one evaluation period in minutes (CloudWatch's basic RDS metrics are 1-minute). Default: 5. */
    periodMinutes: z.number().int().min(1).max(1440).default(5),
    /**
     * Consecutive periods a metric must breach before the alarm fires: filters out a checkpoint
     * or a vacuum spike. Default: 3 (15 minutes with the default period).
     */
    evaluationPeriods: z.number().int().min(1).max(100).default(3),
    /**
     * RDS event categories forwarded to the topic. Default: `failure`, `failover`, `low storage`.
     */
    eventCategories: z
      .array(z.enum(RDS_INSTANCE_EVENT_CATEGORIES))
      .min(1, 'must list at least one category (turn monitoring off with enabled: false instead)')
      .default(['failure', 'failover', 'low storage']),
    /** Create a CloudWatch dashboard with these metrics and alarms. Default: true. */
    dashboard: z.boolean().default(true),
    /**
     * Deploy the slot watchdog (docs/slot-watchdog.md): a scheduled function that reads
     * `pg_replication_slots` and publishes how close the slot is to invalidation, with its alarms.
     * Needs `enabled`: its alarms notify the same topic. Default: true.
     */
    watchdog: z.boolean().default(true),
    /**
     * Login role the slot watchdog reads the slot as: created by the replication setup with its
     * own generated secret, read-only by default, granted nothing (the slot's figures are in
     * catalog views any role may read). Must differ from `replication.user`. Default:
     * `airbyte_watchdog`.
     */
    watchdogUser: roleName
      .refine((name) => name !== MASTER_USERNAME, {
        message: `must not be the master user "${MASTER_USERNAME}": the watchdog logs in with no privileges`,
      })
      .default('airbyte_watchdog'),
    /** Minutes between two watchdog runs, and the period of its alarms. Default: 1. */
    watchdogScheduleMinutes: z.number().int().min(1).max(60).default(1),
    /**
     * Alarm when `SlotSafeWalSizeBytes` falls below this fraction of
     * `replication.maxSlotWalKeepSizeGiB`: that much of the room before PostgreSQL invalidates
     * the slot is used up. Default: 0.5.
     */
    slotSafeWalSizeFraction: z
      .number()
      .gt(0)
      .lt(1)
      .default(DEFAULT_SLOT_THRESHOLDS.safeWalSizeFraction),
    /**
     * Alarm when no consumer has streamed the slot for longer than this many minutes
     * (`SlotInactiveSeconds`, PostgreSQL 17+). Airbyte holds the slot only while it syncs, so the
     * limit must be above the longest gap between two syncs of `airbyte.schedule`. Default:
     * derived from `airbyte.schedule`: `slotInactiveMissedSyncs` times its longest gap (180 for
     * the hourly default); 180 for a `manual` schedule.
     */
    slotInactiveAlarmMinutes: z.number().int().min(1).optional(),
    /**
     * How many syncs in a row may be missed before the inactivity alarm fires, when
     * `slotInactiveAlarmMinutes` is derived from `airbyte.schedule`. Default: 3.
     */
    slotInactiveMissedSyncs: z.number().int().min(1).max(1000).default(3),
  })
  .superRefine((monitoring, ctx) => {
    if (monitoring.oldestReplicationSlotLagBytes > monitoring.replicationSlotDiskUsageBytes) {
      // Lag is bounded by what slots keep on disk, so this alarm could never fire first.
      ctx.addIssue({
        code: 'custom',
        path: ['oldestReplicationSlotLagBytes'],
        message: `must not exceed replicationSlotDiskUsageBytes (${monitoring.replicationSlotDiskUsageBytes}): the lag alarm should fire first`,
      });
    }
  })
  .prefault({});

/** The monitoring settings as written, `slotInactiveAlarmMinutes` possibly unset. */
export type MonitoringSettings = z.output<typeof monitoringSchema>;

/**
 * The monitoring settings of a parsed environment: `slotInactiveAlarmMinutes` is always the
 * limit in force, given or derived (resolveSlotInactiveAlarmMinutes); every caller reads it there.
 */
export type MonitoringConfig = Omit<MonitoringSettings, 'slotInactiveAlarmMinutes'> & {
  readonly slotInactiveAlarmMinutes: number;
};

/**
 * The inactivity limit in minutes: the explicit `slotInactiveAlarmMinutes`; else, for a cron
 * schedule, `slotInactiveMissedSyncs` times its longest gap between two syncs, rounded up; else
 * (`manual`: no gap to derive from) the default of three hourly syncs. An expression whose gap
 * cannot be computed gives the reason instead.
 */
export function resolveSlotInactiveAlarmMinutes(
  monitoring: Pick<MonitoringSettings, 'slotInactiveAlarmMinutes' | 'slotInactiveMissedSyncs'>,
  schedule: string,
): { readonly minutes: number } | { readonly unsupported: string } {
  if (monitoring.slotInactiveAlarmMinutes !== undefined) {
    return { minutes: monitoring.slotInactiveAlarmMinutes };
  }
  if (schedule === 'manual') return { minutes: DEFAULT_SLOT_THRESHOLDS.maxInactiveSeconds / 60 };
  const gap = longestGapSeconds(schedule);
  if ('unsupported' in gap) return gap;
  return { minutes: Math.ceil((monitoring.slotInactiveMissedSyncs * gap.seconds) / 60) };
}

/** Whether the environment gets the slot watchdog, and so its login role (it needs the alarms). */
export function hasSlotWatchdog(
  monitoring: Pick<MonitoringSettings, 'enabled' | 'watchdog'>,
): boolean {
  return monitoring.enabled && monitoring.watchdog;
}
