import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { AirbyteConnectionProps } from './airbyte-connection';
import type { CdcAuroraClusterProps } from './cdc-aurora-cluster';
import type { CdcDatabaseProps } from './cdc-database';
import { companionRemovalPolicy } from './database-companions';
import type { CdcMonitoringProps } from './cdc-monitoring';
import type { ExistingCdcDatabaseProps } from './existing-database';
import type { CdcNetworkProps } from './network';
import type { PreUpgradeCheckProps } from './pre-upgrade-check';
import type { ReplicationSetupProps } from './replication-setup';
import { streamedPublicationOf, resolveAirbyteSettings } from '../src/airbyte/settings';
import {
  ConfigError,
  databaseKindOf,
  hasSlotWatchdog,
  type EnvironmentConfig,
  type LifecycleConfig,
} from '../src/config';
import { readCaCertificateFile } from '../src/config/ca-certificate';
import { replicationServerParameters } from '../src/config/server-parameters';
import { instanceIdentifierFor } from '../src/contract/aws-names';
import type { DatabaseReference } from '../src/contract/database';

/**
 * The one place where an environment's validated configuration (cdk.json, src/config) becomes
 * construct props: the constructs take plain CDK-typed props and never see the configuration, so
 * that they stay usable from another CDK app. Each function returns what the configuration
 * decides; the stack adds what other constructs provide (VPC, instance, secrets).
 */

const GIB = 1024 ** 3;

const DATABASE_REMOVAL_POLICIES: Record<LifecycleConfig['removalPolicy'], RemovalPolicy> = {
  destroy: RemovalPolicy.DESTROY,
  snapshot: RemovalPolicy.SNAPSHOT,
  retain: RemovalPolicy.RETAIN,
};

/**
 * What `cdk destroy` does with the database (`lifecycle.removalPolicy`); a database the stack
 * does not own (`database.existing`) is always kept.
 */
export function databaseRemovalPolicy(config: EnvironmentConfig): RemovalPolicy {
  if (config.database.existing) return RemovalPolicy.RETAIN;
  return DATABASE_REMOVAL_POLICIES[config.lifecycle.removalPolicy];
}

/**
 * What `cdk destroy` does with what the stack creates beside the database (secrets, logs, the
 * Airbyte bucket): they follow a database the stack owns (companionRemovalPolicy), and go with
 * the stack beside one it does not: the roles they serve are dropped then.
 */
export function companionRemovalPolicyOf(config: EnvironmentConfig): RemovalPolicy {
  if (config.database.existing) return RemovalPolicy.DESTROY;
  return companionRemovalPolicy(databaseRemovalPolicy(config));
}

/** The database as RDS names it: the environment's instance or cluster, or the existing one. */
function configuredDatabaseReference(config: EnvironmentConfig): DatabaseReference {
  const { existing } = config.database;
  const kind = databaseKindOf(config.database);
  // A new cluster takes the name an instance would have: the secrets and logs follow it.
  const identifier = existing
    ? (existing.clusterIdentifier ?? existing.instanceIdentifier)
    : instanceIdentifierFor(config.name);
  if (identifier === undefined) {
    // The schema requires one of the two; this only narrows the type.
    throw new ConfigError(`environment "${config.name}": database.existing names no database`);
  }
  return { kind, identifier };
}

export function networkProps(config: EnvironmentConfig): CdcNetworkProps {
  const { existingVpc, maxAzs, publiclyAccessible } = config.network;
  return {
    // The config section holds exactly the ids and zones ec2.VpcAttributes asks for.
    existingVpc,
    maxAzs,
    publiclyAccessible,
    logRemovalPolicy: companionRemovalPolicyOf(config),
  };
}

/** The props a new instance and a new Aurora cluster take alike, from the configuration. */
type NewDatabaseSettings = Pick<
  CdcDatabaseProps & CdcAuroraClusterProps,
  | 'instanceType'
  | 'backupRetention'
  | 'databaseName'
  | 'port'
  | 'parameters'
  | 'removalPolicy'
  | 'deletionProtection'
  | 'publiclyAccessible'
  | 'allowedCidrs'
  | 'replicationUsername'
  | 'monitoringUsername'
>;

function newDatabaseSettings(config: EnvironmentConfig): NewDatabaseSettings {
  const { database, lifecycle, network, replication } = config;
  return {
    instanceType: new ec2.InstanceType(database.instanceType),
    backupRetention: Duration.days(database.backupRetentionDays),
    databaseName: database.databaseName,
    port: database.port,
    // The same values as the local server of `npm run local`, from the same function. Aurora
    // takes each of them in its cluster parameter group (idle_replication_slot_timeout, which it
    // does not document, is refused for Aurora by the configuration).
    parameters: replicationServerParameters({
      database,
      maxSlotWalKeepSizeGiB: replication.maxSlotWalKeepSizeGiB,
      idleSlotTimeoutHours: replication.idleSlotTimeoutHours,
    }),
    removalPolicy: databaseRemovalPolicy(config),
    deletionProtection: lifecycle.deletionProtection,
    publiclyAccessible: network.publiclyAccessible,
    allowedCidrs: network.allowedCidrs,
    ...loginRoles(config),
  };
}

/** The roles the stack gives login secrets: the replication user and the watchdog's role. */
function loginRoles(config: EnvironmentConfig): {
  replicationUsername: string;
  monitoringUsername?: string;
} {
  return {
    replicationUsername: config.replication.user,
    ...(hasSlotWatchdog(config.monitoring)
      ? { monitoringUsername: config.monitoring.watchdogUser }
      : {}),
  };
}

/** A bare major ("17") lets RDS pick its default minor. */
const majorOf = (engineVersion: string): string => engineVersion.split('.')[0];

export function databaseProps(
  config: EnvironmentConfig,
): Omit<CdcDatabaseProps, 'vpc' | 'vpcSubnets'> {
  const { database } = config;
  return {
    ...newDatabaseSettings(config),
    instanceIdentifier: instanceIdentifierFor(config.name),
    engineVersion: rds.PostgresEngineVersion.of(
      database.engineVersion,
      majorOf(database.engineVersion),
    ),
    allocatedStorageGiB: database.allocatedStorageGiB,
    maxAllocatedStorageGiB: database.maxAllocatedStorageGiB,
    multiAz: database.multiAz,
  };
}

export function auroraClusterProps(
  config: EnvironmentConfig,
): Omit<CdcAuroraClusterProps, 'vpc' | 'vpcSubnets'> {
  const { database } = config;
  return {
    ...newDatabaseSettings(config),
    clusterIdentifier: configuredDatabaseReference(config).identifier,
    engineVersion: rds.AuroraPostgresEngineVersion.of(
      database.engineVersion,
      majorOf(database.engineVersion),
    ),
    readers: database.readers,
    serverlessV2: database.serverlessV2,
  };
}

export function existingDatabaseProps(
  config: EnvironmentConfig,
): Omit<ExistingCdcDatabaseProps, 'vpc'> {
  const existing = config.database.existing;
  if (!existing) {
    throw new ConfigError(`environment "${config.name}" has no database.existing`);
  }
  return {
    database: configuredDatabaseReference(config),
    masterSecretArn: existing.masterSecretArn,
    securityGroupId: existing.securityGroupId,
    port: config.database.port,
    ...loginRoles(config),
    removalPolicy: companionRemovalPolicyOf(config),
  };
}

export function preUpgradeCheckProps(
  config: EnvironmentConfig,
): Omit<PreUpgradeCheckProps, 'masterSecret' | 'vpc' | 'vpcSubnets'> {
  const { database, replication } = config;
  return {
    database: configuredDatabaseReference(config),
    databaseName: database.databaseName,
    slotName: replication.slotName,
    publicationName: replication.publicationName,
    engineVersion: database.engineVersion,
    allowSlotRecreation: replication.allowSlotRecreation,
    logRemovalPolicy: companionRemovalPolicyOf(config),
  };
}

export function replicationSetupProps(
  config: EnvironmentConfig,
): Omit<
  ReplicationSetupProps,
  'database' | 'masterSecret' | 'replicationUserSecret' | 'vpc' | 'vpcSubnets'
> {
  const { replication } = config;
  const { existing } = config.database;
  return {
    existingDatabase: existing !== undefined,
    dropActiveSlotOnDelete: existing?.dropActiveSlotOnDestroy ?? false,
    databaseName: config.database.databaseName,
    replicationUsername: replication.user,
    replication: streamedPublicationOf(config),
    createDemoTable: replication.createDemoTable,
    heartbeatTable: replication.heartbeatTable,
    rebootIfPending: replication.rebootIfPending,
    databaseRemovalPolicy: databaseRemovalPolicy(config),
    logRemovalPolicy: companionRemovalPolicyOf(config),
  };
}

export function airbyteConnectionProps(
  config: EnvironmentConfig,
): Omit<
  AirbyteConnectionProps,
  'host' | 'port' | 'replicationUserSecret' | 'dependsOn' | 'vpc' | 'vpcSubnets'
> {
  const { airbyte } = config;
  const companions = companionRemovalPolicyOf(config);
  return {
    settings: resolveAirbyteSettings(config),
    replication: streamedPublicationOf(config),
    databaseName: config.database.databaseName,
    // Only the custom resource (apiUrl) carries the bundle; without it the file is for
    // `npm run airbyte` alone, and synth need not find it.
    caCertificate:
      airbyte.apiUrl !== undefined && airbyte.sslMode === 'verify-full' && airbyte.caCertificateFile
        ? readCaCertificateFile(airbyte.caCertificateFile, {
            namedBy: `airbyte.caCertificateFile of environment "${config.name}"`,
          })
        : undefined,
    bucketRemovalPolicy: companions,
    logRemovalPolicy: companions,
  };
}

/**
 * The monitoring's thresholds, after the one check that spans two sections of the
 * configuration: a slot lag alarm at or above `max_slot_wal_keep_size` would fire only after
 * PostgreSQL invalidated the slot.
 */
export function monitoringProps(
  config: EnvironmentConfig,
): Omit<CdcMonitoringProps, 'database' | 'allocatedStorageGiB'> {
  const { monitoring } = config;
  const { maxSlotWalKeepSizeGiB } = config.replication;
  if (monitoring.oldestReplicationSlotLagBytes >= maxSlotWalKeepSizeGiB * GIB) {
    throw new ConfigError(
      `Invalid configuration for environment "${config.name}": ` +
        `monitoring.oldestReplicationSlotLagBytes (${monitoring.oldestReplicationSlotLagBytes}) must be below ` +
        `replication.maxSlotWalKeepSizeGiB (${maxSlotWalKeepSizeGiB} GiB = ${maxSlotWalKeepSizeGiB * GIB} bytes): ` +
        'PostgreSQL invalidates the slot at that size, so the alarm would come too late. Lower the threshold or raise the limit.',
    );
  }
  return {
    oldestReplicationSlotLagBytes: monitoring.oldestReplicationSlotLagBytes,
    replicationSlotDiskUsageBytes: monitoring.replicationSlotDiskUsageBytes,
    transactionLogsDiskUsageBytes: monitoring.transactionLogsDiskUsageBytes,
    freeStorageFraction: monitoring.freeStorageFraction,
    freeLocalStorageBytes: monitoring.freeLocalStorageBytes,
    cpuPercent: monitoring.cpuPercent,
    period: Duration.minutes(monitoring.periodMinutes),
    evaluationPeriods: monitoring.evaluationPeriods,
    eventCategories: monitoring.eventCategories,
    alarmEmail: monitoring.alarmEmail,
    createDashboard: monitoring.dashboard,
  };
}
