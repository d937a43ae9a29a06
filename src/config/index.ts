import { readFileSync } from 'fs';
import * as path from 'path';
import { z } from 'zod';
import { ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_RULE } from '../contract/aws-names';
import { airbyteSchema } from './airbyte';
import {
  databaseKindOf,
  databaseSchema,
  databaseShapeOf,
  lifecycleSchema,
  resolveDatabaseSettings,
  type DatabaseSettings,
} from './database';
import {
  eventCategoryIssues,
  hasSlotWatchdog,
  monitoringSchema,
  resolveSlotInactiveAlarmMinutes,
  type MonitoringConfig,
} from './monitoring';
import { formatIssues } from './issues';
import { networkSchema } from './network';
import { replicationSchema } from './replication';
import { nearestName } from './suggestion';

export * from './identifiers';
export type { AirbyteConfig } from './airbyte';
export type {
  DatabaseConfig,
  DatabaseShape,
  ExistingDatabaseConfig,
  LifecycleConfig,
} from './database';
export { databaseKindOf, databaseShapeOf } from './database';
export type { MonitoringConfig } from './monitoring';
export { hasSlotWatchdog } from './monitoring';
export type { NetworkConfig } from './network';
export type { ReplicaIdentity, ReplicationConfig } from './replication';

/** The cdk.json context key that holds one entry per environment. */
export const ENVIRONMENTS_CONTEXT_KEY = 'environments';
/** The context key that narrows synth to one environment: `cdk synth -c env=dev`. */
export const SELECTED_ENVIRONMENT_CONTEXT_KEY = 'env';

const environmentName = z.string().regex(ENVIRONMENT_NAME_PATTERN, ENVIRONMENT_NAME_RULE);

export const environmentSchema = z
  .strictObject({
    /** AWS account id (12 digits). Default: none (environment-agnostic stack). */
    account: z
      .string()
      .regex(/^\d{12}$/, 'must be a 12-digit AWS account id')
      .optional(),
    /** AWS region, e.g. `eu-west-1`. Default: none (environment-agnostic stack). */
    region: z
      .string()
      .regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1')
      .optional(),
    /**
     * Holds data that must survive mistakes: requires deletion protection and a removal policy
     * other than destroy. Default: true for an environment named `prod`, false otherwise.
     */
    production: z.boolean().optional(),
    /** The RDS instance. */
    database: databaseSchema.prefault({}),
    /** What `cdk destroy` may do to the database. */
    lifecycle: lifecycleSchema.prefault({}),
    /** Where the database lives and who may reach it. */
    network: networkSchema.prefault({}),
    /** What the replication setup creates inside the database. */
    replication: replicationSchema.prefault({}),
    /** Airbyte source, destination and connection. */
    airbyte: airbyteSchema,
    /** Alarms and notifications. */
    monitoring: monitoringSchema,
  })
  .superRefine((env, ctx) => {
    if (env.account !== undefined && env.region === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['region'],
        message: 'is required when account is set',
      });
    }
    checkDatabaseShape(env, ctx);
    const kind = databaseKindOf(env.database);
    for (const { index, message } of eventCategoryIssues(
      kind,
      env.monitoring.eventCategories ?? [],
    )) {
      ctx.addIssue({ code: 'custom', path: ['monitoring', 'eventCategories', index], message });
    }
    const shape = databaseShapeOf(env.database);
    if (
      shape === 'instance' &&
      env.database.maxAllocatedStorageGiB <= env.database.allocatedStorageGiB
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'maxAllocatedStorageGiB'],
        message: `must be greater than allocatedStorageGiB (${env.database.allocatedStorageGiB}) for storage autoscaling`,
      });
    }
    // Aurora's cluster volume grows by itself; an existing instance's storage is its own.
    if (
      shape === 'instance' &&
      env.replication.maxSlotWalKeepSizeGiB >= env.database.allocatedStorageGiB
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['replication', 'maxSlotWalKeepSizeGiB'],
        message: `must be less than database.allocatedStorageGiB (${env.database.allocatedStorageGiB}): a stalled slot could otherwise fill the disk`,
      });
    }
    const engineMajor = Number(env.database.engineVersion.split('.')[0]);
    if (
      env.replication.idleSlotTimeoutHours !== undefined &&
      // The other shapes refuse the setting altogether (checkDatabaseShape).
      shape === 'instance' &&
      engineMajor < 18
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['replication', 'idleSlotTimeoutHours'],
        message: `needs PostgreSQL 18 or later (idle_replication_slot_timeout), but database.engineVersion is "${env.database.engineVersion}": remove it or upgrade the engine`,
      });
    }
    if (env.network.publiclyAccessible && env.airbyte.sslMode === 'require') {
      ctx.addIssue({
        code: 'custom',
        path: ['airbyte', 'sslMode'],
        message:
          'must be verify-full when network.publiclyAccessible is true: across the internet, require encrypts but lets anyone on the path pose as the database and read the replicated rows. Save the RDS CA bundle for your region (https://truststore.pki.rds.amazonaws.com/<region>/<region>-bundle.pem) in the project and set airbyte.caCertificateFile to it',
      });
    }
    if (hasSlotWatchdog(env.monitoring) && env.monitoring.watchdogUser === env.replication.user) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'watchdogUser'],
        message: `must differ from replication.user ("${env.replication.user}"): the watchdog logs in as a role of its own with no data access`,
      });
    }
    if (env.database.maxWalSenders < env.database.maxReplicationSlots) {
      ctx.addIssue({
        code: 'custom',
        path: ['database', 'maxWalSenders'],
        message: `must be at least maxReplicationSlots (${env.database.maxReplicationSlots}): each active slot streams through one WAL sender`,
      });
    }
  })
  .transform((env, ctx) => {
    // The inactivity limit in force, given or derived from the schedule: one name for every caller.
    const limit = resolveSlotInactiveAlarmMinutes(env.monitoring, env.airbyte.schedule);
    if ('invalid' in limit) {
      // A typo in the schedule: the fix is there, not in a limit that would only hide it.
      ctx.addIssue({
        code: 'custom',
        path: ['airbyte', 'schedule'],
        message: `"${env.airbyte.schedule}" is not a Quartz cron expression Airbyte accepts: ${limit.invalid}`,
      });
      return z.NEVER;
    }
    if ('unsupported' in limit) {
      ctx.addIssue({
        code: 'custom',
        path: ['monitoring', 'slotInactiveAlarmMinutes'],
        message: `cannot be derived from airbyte.schedule "${env.airbyte.schedule}" (${limit.unsupported}): set monitoring.slotInactiveAlarmMinutes to the minutes without a consumer that should alarm, above the longest gap between two syncs`,
      });
      return z.NEVER;
    }
    const monitoring: MonitoringConfig = {
      ...env.monitoring,
      slotInactiveAlarmMinutes: limit.minutes,
    };
    return { ...env, database: resolveDatabaseSettings(env.database), monitoring };
  });

/** The sections the shape checks read, as the schema has read them. */
interface ShapeCheckInput {
  readonly database: DatabaseSettings;
  readonly network: {
    readonly existingVpc?: unknown;
    readonly publiclyAccessible: boolean;
    readonly allowedCidrs: readonly string[];
  };
  readonly replication: {
    readonly rebootIfPending: boolean;
    readonly idleSlotTimeoutHours?: number;
  };
}

/**
 * What each database shape (docs/database-shapes.md) accepts: Aurora's readers and capacity only
 * on a new Aurora cluster, and nothing that would change a database the stack does not own.
 */
function checkDatabaseShape(env: ShapeCheckInput, ctx: z.RefinementCtx): void {
  const { database, network, replication } = env;
  const issue = (path: (string | number)[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const { existing } = database;
  if (!existing) {
    if (database.engine !== 'aurora-postgresql') {
      if (database.readers > 0)
        issue(
          ['database', 'readers'],
          'needs database.engine "aurora-postgresql": an RDS instance has no readers (see multiAz for a standby)',
        );
      if (database.serverlessV2)
        issue(
          ['database', 'serverlessV2'],
          'needs database.engine "aurora-postgresql": Serverless v2 is an Aurora capacity mode',
        );
    } else {
      if (database.multiAz)
        issue(
          ['database', 'multiAz'],
          'does not apply to Aurora, whose storage spans three zones: set database.readers to 1 or more for a failover target',
        );
      if (replication.idleSlotTimeoutHours !== undefined)
        issue(
          ['replication', 'idleSlotTimeoutHours'],
          "is not documented for Aurora PostgreSQL's cluster parameter group, and a parameter the group does not hold fails the deploy: remove it (the slot watchdog's inactivity alarm covers an abandoned slot)",
        );
    }
    return;
  }
  const kind = databaseKindOf(database);
  if (kind === 'cluster' && database.engine !== 'aurora-postgresql')
    issue(
      ['database', 'engine'],
      'must be "aurora-postgresql" for database.existing.clusterIdentifier (an Aurora PostgreSQL cluster)',
    );
  if (kind === 'instance' && database.engine !== 'postgres')
    issue(
      ['database', 'engine'],
      'must be "postgres" for database.existing.instanceIdentifier (an RDS for PostgreSQL instance); an Aurora cluster is given as clusterIdentifier',
    );
  if (network.existingVpc === undefined)
    issue(
      ['network', 'existingVpc'],
      'is required with database.existing: give the VPC and subnets the database lives in, so that the setup function runs beside it',
    );
  const notForExisting = (path: (string | number)[], why: string) =>
    issue(path, `cannot be used with database.existing: ${why}`);
  if (database.readers > 0)
    notForExisting(
      ['database', 'readers'],
      'the stack creates no instances in a database it does not own',
    );
  if (database.serverlessV2)
    notForExisting(
      ['database', 'serverlessV2'],
      'the stack does not change the capacity of a database it does not own',
    );
  if (database.multiAz)
    notForExisting(['database', 'multiAz'], 'the stack does not change a database it does not own');
  if (network.publiclyAccessible)
    notForExisting(
      ['network', 'publiclyAccessible'],
      'the stack does not change how a database it does not own is reached',
    );
  if (network.allowedCidrs.length > 0)
    notForExisting(
      ['network', 'allowedCidrs'],
      "admit those addresses in the database's own security group; the stack adds only the rule for its functions",
    );
  if (replication.idleSlotTimeoutHours !== undefined)
    notForExisting(
      ['replication', 'idleSlotTimeoutHours'],
      "set idle_replication_slot_timeout in the database's own parameter group; the stack creates none for it",
    );
  if (kind === 'cluster' && replication.rebootIfPending)
    notForExisting(
      ['replication', 'rebootIfPending'],
      'the stack never reboots the writer of an Aurora cluster it does not own; when the deploy says the cluster parameter group waits for a reboot, reboot the writer yourself and deploy again',
    );
}

export type EnvironmentInput = z.input<typeof environmentSchema>;

/** One environment's validated configuration, every default filled in. */
export type EnvironmentConfig = z.output<typeof environmentSchema> & {
  /** The environment's key in cdk.json (`dev`, `staging`, `prod`, ...). */
  readonly name: string;
  /** Whether production safeguards apply (explicit, or the name is `prod`). */
  readonly production: boolean;
};

/** Invalid configuration: the message names the environment and every offending field. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Validate one environment's raw configuration. */
export function parseEnvironment(name: string, raw: unknown): EnvironmentConfig {
  const where = `environment "${name}" (cdk.json context "${ENVIRONMENTS_CONTEXT_KEY}.${name}")`;
  const nameResult = environmentName.safeParse(name);
  if (!nameResult.success) {
    throw new ConfigError(
      `Invalid environment name "${name}" (a key of cdk.json context "${ENVIRONMENTS_CONTEXT_KEY}"): ${nameResult.error.issues[0].message}`,
    );
  }
  const input = raw ?? {};
  const result = environmentSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(
      formatIssues(where, result.error.issues, { schema: environmentSchema, input }),
    );
  }
  const config = result.data;
  const production = config.production ?? name === 'prod';
  const productionIssues: z.core.$ZodIssue[] = [];
  if (production && config.lifecycle.removalPolicy === 'destroy') {
    productionIssues.push({
      code: 'custom',
      path: ['lifecycle', 'removalPolicy'],
      message: 'must be snapshot or retain in a production environment (destroy deletes the data)',
      input: config.lifecycle.removalPolicy,
    });
  }
  if (production && !config.lifecycle.deletionProtection) {
    productionIssues.push({
      code: 'custom',
      path: ['lifecycle', 'deletionProtection'],
      message: `must be true in a production environment (removalPolicy "${config.lifecycle.removalPolicy}" alone does not stop a deletion)`,
      input: config.lifecycle.deletionProtection,
    });
  }
  if (productionIssues.length > 0) throw new ConfigError(formatIssues(where, productionIssues));
  return { ...config, name, production };
}

/**
 * Validate every environment in the `environments` context value, or only `selected` when given
 * (`cdk synth -c env=dev`), which must then exist.
 */
export function parseEnvironments(raw: unknown, selected?: string): EnvironmentConfig[] {
  if (raw === undefined || raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError(
      `cdk.json context "${ENVIRONMENTS_CONTEXT_KEY}" must be an object with one entry per environment (dev, staging, prod)`,
    );
  }
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length === 0) {
    throw new ConfigError(`cdk.json context "${ENVIRONMENTS_CONTEXT_KEY}" holds no environment`);
  }
  if (selected !== undefined) {
    const match = entries.find(([name]) => name === selected);
    if (!match) {
      const names = entries.map(([name]) => name);
      const suggestion = nearestName(selected, names);
      throw new ConfigError(
        `Unknown environment "${selected}"${suggestion ? `; did you mean ${suggestion}?` : ':'} cdk.json context "${ENVIRONMENTS_CONTEXT_KEY}" defines ${names.join(', ')}`,
      );
    }
    return [parseEnvironment(selected, match[1])];
  }
  return entries.map(([name, value]) => parseEnvironment(name, value));
}

/** Read one environment from cdk.json, for command-line tools that run outside `cdk`. */
export function loadEnvironmentFromCdkJson(
  name: string,
  cdkJsonPath = path.join(__dirname, '..', '..', 'cdk.json'),
): EnvironmentConfig {
  const cdkJson = JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as {
    context?: Record<string, unknown>;
  };
  return parseEnvironments(cdkJson.context?.[ENVIRONMENTS_CONTEXT_KEY], name)[0];
}
