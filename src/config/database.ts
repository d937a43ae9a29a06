import { z } from 'zod';
import { databaseName } from './identifiers';

/** Engine majors that RDS for PostgreSQL supports and that have logical replication on RDS. */
export const SUPPORTED_ENGINE_MAJORS = ['14', '15', '16', '17', '18'] as const;

export const databaseSchema = z.strictObject({
  /**
   * PostgreSQL version: a major (`"17"`, RDS picks the default minor) or `major.minor`
   * (`"17.6"`). Default: `"17"`.
   */
  engineVersion: z
    .string()
    .regex(/^\d+(\.\d+)?$/, 'must be a major ("17") or major.minor ("17.6")')
    .refine(
      (version) => (SUPPORTED_ENGINE_MAJORS as readonly string[]).includes(version.split('.')[0]),
      {
        message: `major must be one of ${SUPPORTED_ENGINE_MAJORS.join(', ')}`,
      },
    )
    .default('17'),
  /** EC2-style instance type without the `db.` prefix. Default: `t4g.micro`. */
  instanceType: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
      'must look like t4g.micro or r7g.large (no "db." prefix)',
    )
    .default('t4g.micro'),
  /** Initial storage in GiB (gp3). Default: 20. */
  allocatedStorageGiB: z.number().int().min(20).max(65536).default(20),
  /** Ceiling for storage autoscaling in GiB; must exceed allocatedStorageGiB. Default: 100. */
  maxAllocatedStorageGiB: z.number().int().max(65536).default(100),
  /** Standby in a second AZ. Default: false. */
  multiAz: z.boolean().default(false),
  /** Days of automated backups (1-35; 0 would disable them). Default: 7. */
  backupRetentionDays: z.number().int().min(1).max(35).default(7),
  /** Database created with the instance, where the replication setup runs. Default: `app`. */
  databaseName: databaseName.default('app'),
  /** Port the instance listens on. Default: 5432. */
  port: z.number().int().min(1150).max(65535).default(5432),
  /** `max_replication_slots`: Airbyte needs one per connection. Default: 10. */
  maxReplicationSlots: z.number().int().min(1).max(100).default(10),
  /** `max_wal_senders`: one per streaming connection, at least maxReplicationSlots. Default: 10. */
  maxWalSenders: z.number().int().min(1).max(100).default(10),
  /** `wal_sender_timeout` in milliseconds. Default: 60000. */
  walSenderTimeoutMs: z.number().int().min(0).default(60000),
});

export type DatabaseConfig = z.infer<typeof databaseSchema>;

export const lifecycleSchema = z.strictObject({
  /**
   * What `cdk destroy` does with the database: `destroy` (gone), `snapshot` (final snapshot, then
   * gone) or `retain` (left running). Default: `snapshot`.
   */
  removalPolicy: z.enum(['destroy', 'snapshot', 'retain']).default('snapshot'),
  /** Refuse to delete the instance until this is turned off. Default: true. */
  deletionProtection: z.boolean().default(true),
});

export type LifecycleConfig = z.infer<typeof lifecycleSchema>;
