import { z } from 'zod';
import { MASTER_USERNAME, type DatabaseKind } from '../contract/database';
import { roleName } from './identifiers';
import { longestGapSeconds } from './quartz-cron';
import { DEFAULT_SLOT_THRESHOLDS } from '../watchdog/verdicts';

const GIB = 1024 ** 3;

/**
 * RDS event categories a `db-instance` event subscription accepts
 * (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_Events.Messages.html).
 */
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

/**
 * RDS event categories a `db-cluster` event subscription accepts for an Aurora cluster, as the
 * Aurora User Guide's "DB cluster events" table lists them
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html).
 * `low storage` and `availability` are instance categories: Aurora reports them on the member
 * instances, not on the cluster.
 */
export const RDS_CLUSTER_EVENT_CATEGORIES = [
  'configuration change',
  'creation',
  'deletion',
  'failover',
  'failure',
  'maintenance',
  'notification',
] as const;

/** A category either kind of database accepts; which one applies is checked per engine. */
export type RdsEventCategory =
  (typeof RDS_INSTANCE_EVENT_CATEGORIES)[number] | (typeof RDS_CLUSTER_EVENT_CATEGORIES)[number];

const ALL_EVENT_CATEGORIES = [
  ...new Set<RdsEventCategory>([...RDS_INSTANCE_EVENT_CATEGORIES, ...RDS_CLUSTER_EVENT_CATEGORIES]),
] as [RdsEventCategory, ...RdsEventCategory[]];

/** The categories forwarded when `monitoring.eventCategories` is not given, per kind of database. */
export const DEFAULT_EVENT_CATEGORIES: Readonly<Record<DatabaseKind, readonly RdsEventCategory[]>> =
  {
    instance: ['failure', 'failover', 'low storage'],
    cluster: ['failure', 'failover'],
  };

/** The categories an event subscription on this kind of database accepts. */
export function eventCategoriesOf(kind: DatabaseKind): readonly RdsEventCategory[] {
  return kind === 'cluster' ? RDS_CLUSTER_EVENT_CATEGORIES : RDS_INSTANCE_EVENT_CATEGORIES;
}

/** One listed event category the database's kind does not accept. */
export interface EventCategoryIssue {
  /** Its position in the list, for the issue's path (`monitoring.eventCategories.<index>`). */
  readonly index: number;
  readonly message: string;
}

/**
 * The categories of `categories` that an event subscription on this kind of database would
 * refuse at deploy time (RDS rejects the whole subscription), each with the valid ones named.
 * Empty when all are valid.
 */
export function eventCategoryIssues(
  kind: DatabaseKind,
  categories: readonly string[],
): EventCategoryIssue[] {
  const valid: readonly string[] = eventCategoriesOf(kind);
  const sourceType =
    kind === 'cluster' ? 'an Aurora DB cluster (db-cluster)' : 'an RDS DB instance (db-instance)';
  return categories.flatMap((category, index) =>
    valid.includes(category)
      ? []
      : [
          {
            index,
            message: `"${category}" is not an event category of ${sourceType}; valid: ${valid.map((name) => `"${name}"`).join(', ')}`,
          },
        ],
  );
}

/**
 * Aurora's `FreeLocalStorage` alarm threshold by default: 2 GiB. The local storage of an Aurora
 * instance (temporary files of sorts and hashes, logical decoding's spill files for large
 * transactions, the engine's logs) is fixed by the instance class (roughly twice its memory on the
 * memory-optimized classes) and cannot grow; with 2 GiB left, one large sort or one large
 * transaction decoded for the slot can fill the rest. An absolute floor fits every class, where a
 * fraction would need each class's size.
 */
export const DEFAULT_FREE_LOCAL_STORAGE_BYTES = 2 * 1024 ** 3;

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
     * RDS instance only: alarm when `FreeStorageSpace` falls below this fraction of the storage
     * allocated to it (`database.allocatedStorageGiB`, or an existing instance's own). Storage
     * autoscaling only starts at 10 % free, so the default warns first. Default: 0.2.
     */
    freeStorageFraction: z.number().gt(0).lt(1).default(0.2),
    /**
     * Aurora only: alarm when the writer's `FreeLocalStorage` (its local disk: temporary files,
     * logical decoding's spill files, logs) falls below this many bytes. Aurora's cluster volume
     * grows by itself and has no `FreeStorageSpace`. Default: 2 GiB (2147483648).
     */
    freeLocalStorageBytes: bytes.default(DEFAULT_FREE_LOCAL_STORAGE_BYTES),
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
     * RDS event categories of the database forwarded to the topic: those of a DB instance for
     * `postgres`, those of a DB cluster for `aurora-postgresql` (checked against the engine).
     * Default: `failure`, `failover`, `low storage` for an RDS instance; `failure`, `failover`
     * for an Aurora cluster.
     */
    eventCategories: z
      .array(z.enum(ALL_EVENT_CATEGORIES))
      .min(1, 'must list at least one category (turn monitoring off with enabled: false instead)')
      .optional(),
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
 * (`manual`: no gap to derive from) the default of three hourly syncs. A cron expression Airbyte
 * would refuse gives `invalid` with the reason, an explicit limit or not: the limit must not
 * hide a typo in the schedule until the deploy. One it accepts but whose gap cannot be computed
 * gives `unsupported` with the reason, unless the limit is explicit.
 */
export function resolveSlotInactiveAlarmMinutes(
  monitoring: Pick<MonitoringSettings, 'slotInactiveAlarmMinutes' | 'slotInactiveMissedSyncs'>,
  schedule: string,
): { readonly minutes: number } | { readonly unsupported: string } | { readonly invalid: string } {
  // One reading of the expression (one walk of the calendar) both checks it and gives the gap.
  const gap = schedule === 'manual' ? undefined : longestGapSeconds(schedule);
  if (gap && 'invalid' in gap) return gap;
  if (monitoring.slotInactiveAlarmMinutes !== undefined) {
    return { minutes: monitoring.slotInactiveAlarmMinutes };
  }
  if (!gap) return { minutes: DEFAULT_SLOT_THRESHOLDS.maxInactiveSeconds / 60 };
  if ('unsupported' in gap) return gap;
  return { minutes: Math.ceil((monitoring.slotInactiveMissedSyncs * gap.seconds) / 60) };
}

/** Whether the environment gets the slot watchdog, and so its login role (it needs the alarms). */
export function hasSlotWatchdog(
  monitoring: Pick<MonitoringSettings, 'enabled' | 'watchdog'>,
): boolean {
  return monitoring.enabled && monitoring.watchdog;
}
