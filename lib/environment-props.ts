import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { AirbyteConnectionProps } from './airbyte-connection';
import { type CdcDatabaseProps, companionRemovalPolicy } from './cdc-database';
import type { CdcMonitoringProps } from './cdc-monitoring';
import type { CdcNetworkProps } from './network';
import type { PreUpgradeCheckProps } from './pre-upgrade-check';
import type { ReplicationSetupProps } from './replication-setup';
import { streamedPublicationOf, resolveAirbyteSettings } from '../src/airbyte/settings';
import {
  ConfigError,
  hasSlotWatchdog,
  type EnvironmentConfig,
  type LifecycleConfig,
} from '../src/config';
import { readCaCertificateFile } from '../src/config/ca-certificate';
import { replicationServerParameters } from '../src/config/server-parameters';
import { instanceIdentifierFor } from '../src/contract/aws-names';

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

/** What `cdk destroy` does with the database (`lifecycle.removalPolicy`). */
export function databaseRemovalPolicy(config: EnvironmentConfig): RemovalPolicy {
  return DATABASE_REMOVAL_POLICIES[config.lifecycle.removalPolicy];
}

export function networkProps(config: EnvironmentConfig): CdcNetworkProps {
  const { existingVpc, maxAzs, publiclyAccessible } = config.network;
  return {
    // The config section holds exactly the ids and zones ec2.VpcAttributes asks for.
    existingVpc,
    maxAzs,
    publiclyAccessible,
    logRemovalPolicy: companionRemovalPolicy(databaseRemovalPolicy(config)),
  };
}

export function databaseProps(
  config: EnvironmentConfig,
): Omit<CdcDatabaseProps, 'vpc' | 'vpcSubnets'> {
  const { database, lifecycle, network, replication } = config;
  return {
    instanceIdentifier: instanceIdentifierFor(config.name),
    // A bare major ("17") lets RDS pick its default minor.
    engineVersion: rds.PostgresEngineVersion.of(
      database.engineVersion,
      database.engineVersion.split('.')[0],
    ),
    instanceType: new ec2.InstanceType(database.instanceType),
    allocatedStorageGiB: database.allocatedStorageGiB,
    maxAllocatedStorageGiB: database.maxAllocatedStorageGiB,
    multiAz: database.multiAz,
    backupRetention: Duration.days(database.backupRetentionDays),
    databaseName: database.databaseName,
    port: database.port,
    // The same values as the local server of `npm run local`, from the same function.
    parameters: replicationServerParameters({
      database,
      maxSlotWalKeepSizeGiB: replication.maxSlotWalKeepSizeGiB,
      idleSlotTimeoutHours: replication.idleSlotTimeoutHours,
    }),
    removalPolicy: databaseRemovalPolicy(config),
    deletionProtection: lifecycle.deletionProtection,
    publiclyAccessible: network.publiclyAccessible,
    allowedCidrs: network.allowedCidrs,
    replicationUsername: replication.user,
    ...(hasSlotWatchdog(config.monitoring)
      ? { monitoringUsername: config.monitoring.watchdogUser }
      : {}),
  };
}

export function preUpgradeCheckProps(
  config: EnvironmentConfig,
): Omit<PreUpgradeCheckProps, 'masterSecret' | 'vpc' | 'vpcSubnets'> {
  const { database, replication } = config;
  return {
    instanceIdentifier: instanceIdentifierFor(config.name),
    databaseName: database.databaseName,
    slotName: replication.slotName,
    publicationName: replication.publicationName,
    engineVersion: database.engineVersion,
    allowSlotRecreation: replication.allowSlotRecreation,
    logRemovalPolicy: companionRemovalPolicy(databaseRemovalPolicy(config)),
  };
}

export function replicationSetupProps(
  config: EnvironmentConfig,
): Omit<
  ReplicationSetupProps,
  'instance' | 'masterSecret' | 'replicationUserSecret' | 'vpc' | 'vpcSubnets'
> {
  const { replication } = config;
  return {
    databaseName: config.database.databaseName,
    replicationUsername: replication.user,
    replication: streamedPublicationOf(config),
    createDemoTable: replication.createDemoTable,
    heartbeatTable: replication.heartbeatTable,
    rebootIfPending: replication.rebootIfPending,
    databaseRemovalPolicy: databaseRemovalPolicy(config),
    logRemovalPolicy: companionRemovalPolicy(databaseRemovalPolicy(config)),
  };
}

export function airbyteConnectionProps(
  config: EnvironmentConfig,
): Omit<
  AirbyteConnectionProps,
  'host' | 'port' | 'replicationUserSecret' | 'dependsOn' | 'vpc' | 'vpcSubnets'
> {
  const { airbyte } = config;
  const companions = companionRemovalPolicy(databaseRemovalPolicy(config));
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
export function monitoringProps(config: EnvironmentConfig): Omit<CdcMonitoringProps, 'instance'> {
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
    allocatedStorageGiB: config.database.allocatedStorageGiB,
    oldestReplicationSlotLagBytes: monitoring.oldestReplicationSlotLagBytes,
    replicationSlotDiskUsageBytes: monitoring.replicationSlotDiskUsageBytes,
    transactionLogsDiskUsageBytes: monitoring.transactionLogsDiskUsageBytes,
    freeStorageFraction: monitoring.freeStorageFraction,
    cpuPercent: monitoring.cpuPercent,
    period: Duration.minutes(monitoring.periodMinutes),
    evaluationPeriods: monitoring.evaluationPeriods,
    eventCategories: monitoring.eventCategories,
    alarmEmail: monitoring.alarmEmail,
    createDashboard: monitoring.dashboard,
  };
}
