import { z } from 'zod';
import type { DatabaseKind } from '../contract/database';
import { databaseName } from './identifiers';

/** Engine majors that RDS for PostgreSQL supports and that have logical replication on RDS. */
export const SUPPORTED_ENGINE_MAJORS = ['14', '15', '16', '17', '18'] as const;

/** The database engines the stack can create or attach to. */
export const DATABASE_ENGINES = ['postgres', 'aurora-postgresql'] as const;

/** The instance class a new database gets when `instanceType` is not given, by engine. */
export const DEFAULT_INSTANCE_TYPES: Record<(typeof DATABASE_ENGINES)[number], string> = {
  postgres: 't4g.micro',
  // The smallest class Aurora PostgreSQL offers (it has no micro or small classes).
  'aurora-postgresql': 't4g.medium',
};

/**
 * What RDS accepts as a DB instance or cluster identifier: 1 to 63 letters, digits and single
 * hyphens, a letter first and no hyphen last.
 */
const rdsIdentifier = z
  .string()
  .regex(
    /^[A-Za-z](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,62}$/,
    'must be an RDS identifier: 1 to 63 letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
  );

/**
 * A secret's complete ARN, the names RDS gives the master secrets it manages included
 * (`rds!db-<uuid>`, `rds!cluster-<uuid>`), which hold a `!` that names chosen by users cannot.
 */
const RDS_MANAGED_OR_OWN_SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:(?:rds!)?[A-Za-z0-9/_+=.@-]+$/;

/**
 * A database the stack does not own: it configures replication inside it and never modifies,
 * reboots or deletes the database itself.
 */
export const existingDatabaseSchema = z
  .strictObject({
    /** Identifier of an existing RDS for PostgreSQL instance. Default: none (give this or clusterIdentifier). */
    instanceIdentifier: rdsIdentifier.optional(),
    /** Identifier of an existing Aurora PostgreSQL cluster. Default: none (give this or instanceIdentifier). */
    clusterIdentifier: rdsIdentifier.optional(),
    /**
     * ARN of the secret holding the master user's `username` and `password` (the one RDS manages
     * for the database, or your own). Required.
     */
    masterSecretArn: z
      .string()
      .regex(
        RDS_MANAGED_OR_OWN_SECRET_ARN,
        'must be the complete ARN of a Secrets Manager secret (arn:aws:secretsmanager:<region>:<account>:secret:<name>-<suffix>)',
      ),
    /**
     * The database's security group: the stack adds one ingress rule to it, for its own functions
     * on `database.port`, and removes it on destroy. Required.
     */
    securityGroupId: z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'must look like sg-0123456789abcdef0'),
    /**
     * Let `cdk destroy` drop the replication slot while a consumer (Airbyte) still reads it,
     * ending that session. Default: false (destroy refuses and drops nothing while it is read).
     */
    dropActiveSlotOnDestroy: z.boolean().default(false),
  })
  .superRefine((existing, ctx) => {
    if (
      (existing.instanceIdentifier === undefined) ===
      (existing.clusterIdentifier === undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: [
          existing.instanceIdentifier === undefined ? 'instanceIdentifier' : 'clusterIdentifier',
        ],
        message:
          existing.instanceIdentifier === undefined
            ? 'or clusterIdentifier is required: name the RDS instance or the Aurora cluster to attach to'
            : 'cannot be given with instanceIdentifier: name either the RDS instance or the Aurora cluster',
      });
    }
  });

export type ExistingDatabaseConfig = z.infer<typeof existingDatabaseSchema>;

/** Serverless v2 capacity range of a new Aurora cluster, in Aurora capacity units (ACUs). */
export const serverlessV2Schema = z
  .strictObject({
    /**
     * Lowest capacity in ACUs, 0.5 to 256 in steps of 0.5. Not 0: an attached CDC consumer keeps
     * a cluster from pausing, and the paused writer of a slot would hold WAL anyway. Required.
     */
    minCapacity: z
      .number()
      .min(0.5, 'must be at least 0.5: a CDC source cannot pause (Airbyte keeps a session open)')
      .max(256)
      .multipleOf(0.5),
    /** Highest capacity in ACUs, 1 to 256 in steps of 0.5. Required. */
    maxCapacity: z.number().min(1).max(256).multipleOf(0.5),
  })
  .refine((capacity) => capacity.maxCapacity >= capacity.minCapacity, {
    path: ['maxCapacity'],
    message: 'must be at least minCapacity',
  });

export const databaseSchema = z.strictObject({
  /**
   * `postgres` (an RDS for PostgreSQL instance) or `aurora-postgresql` (an Aurora PostgreSQL
   * cluster with a DB cluster parameter group). Default: `postgres`.
   */
  engine: z.enum(DATABASE_ENGINES).default('postgres'),
  /**
   * Attach to a database that exists instead of creating one (needs network.existingVpc).
   * Default: none (the stack creates the database).
   */
  existing: existingDatabaseSchema.optional(),
  /** Aurora reader instances beside the writer (aurora-postgresql only). Default: 0. */
  readers: z.number().int().min(0).max(15).default(0),
  /**
   * Serverless v2 capacity for the writer and readers (aurora-postgresql only). Default: none
   * (provisioned instances of instanceType).
   */
  serverlessV2: serverlessV2Schema.optional(),
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
  /**
   * EC2-style instance type without the `db.` prefix. Default: `t4g.micro` for postgres,
   * `t4g.medium` (Aurora's smallest) for aurora-postgresql.
   */
  instanceType: z
    .string()
    .regex(
      /^[a-z][a-z0-9-]*\.[a-z0-9]+$/,
      'must look like t4g.micro or r7g.large (no "db." prefix)',
    )
    .optional(),
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

/** The database section as the schema reads it; `instanceType` may still be missing. */
export type DatabaseSettings = z.infer<typeof databaseSchema>;

/** The database section with every default filled in, the engine's instance type included. */
export type DatabaseConfig = DatabaseSettings & { readonly instanceType: string };

/** The database section with the instance type the engine defaults to. */
export function resolveDatabaseSettings(database: DatabaseSettings): DatabaseConfig {
  return {
    ...database,
    instanceType: database.instanceType ?? DEFAULT_INSTANCE_TYPES[database.engine],
  };
}

/** The three shapes a database takes: a new RDS instance, a new Aurora cluster, one that exists. */
export type DatabaseShape = 'instance' | 'aurora' | 'existing';

/**
 * Which RDS APIs describe the configured database: an Aurora cluster (new or existing) or an RDS
 * instance.
 */
export function databaseKindOf(
  database: Pick<DatabaseSettings, 'engine' | 'existing'>,
): DatabaseKind {
  if (database.existing) {
    return database.existing.clusterIdentifier !== undefined ? 'cluster' : 'instance';
  }
  return database.engine === 'aurora-postgresql' ? 'cluster' : 'instance';
}

/** Which of the three shapes the configuration describes. */
export function databaseShapeOf(
  database: Pick<DatabaseSettings, 'engine' | 'existing'>,
): DatabaseShape {
  if (database.existing) return 'existing';
  return database.engine === 'aurora-postgresql' ? 'aurora' : 'instance';
}

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
