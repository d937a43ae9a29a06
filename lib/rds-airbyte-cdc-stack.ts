import { CfnOutput, Duration, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { AirbyteConnection } from './airbyte-connection';
import { CdcAuroraCluster } from './cdc-aurora-cluster';
import { CdcDatabase } from './cdc-database';
import { CdcMonitoring } from './cdc-monitoring';
import {
  resolveDatabaseTarget,
  type CdcDatabaseTarget,
  type ResolvedDatabaseTarget,
} from './database-target';
import {
  airbyteConnectionProps,
  auroraClusterProps,
  companionRemovalPolicyOf,
  databaseProps,
  existingDatabaseProps,
  monitoringProps,
  networkProps,
  preUpgradeCheckProps,
  replicationSetupProps,
} from './environment-props';
import { ExistingCdcDatabase } from './existing-database';
import { CdcNetwork } from './network';
import { PreUpgradeCheck } from './pre-upgrade-check';
import { ReplicationSetup } from './replication-setup';
import { SlotWatchdog, type SlotWatchdogProps } from './slot-watchdog';
import { databaseShapeOf, type EnvironmentConfig } from '../src/config';
import { slotThresholdsFrom } from '../src/watchdog';
import { StackOutputs } from '../src/contract/outputs';

export interface RdsAirbyteCdcStackProps extends StackProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/**
 * One environment: the network, a PostgreSQL database ready for logical replication (a new RDS
 * instance, a new Aurora cluster, or one that exists), the replication setup, Airbyte wiring and
 * monitoring on it, and the outputs a user needs to point Airbyte at it.
 */
export class RdsAirbyteCdcStack extends Stack {
  /** The database and its secrets: a new instance or Aurora cluster, or one that exists. */
  public readonly database: CdcDatabase | CdcAuroraCluster | ExistingCdcDatabase;
  /** The VPC and subnets. */
  public readonly network: CdcNetwork;
  /**
   * The step before an engine upgrade that decides about the replication slot; none for a
   * database the stack does not own.
   */
  public readonly preUpgradeCheck?: PreUpgradeCheck;
  /** The custom resource that runs the replication setup SQL. */
  public readonly replicationSetup: ReplicationSetup;
  /** The alarms, topic and dashboard, unless `monitoring.enabled` is off. */
  public readonly monitoring?: CdcMonitoring;
  /** The slot watchdog, unless `monitoring.enabled` or `monitoring.watchdog` is off. */
  public readonly slotWatchdog?: SlotWatchdog;

  constructor(scope: Construct, id: string, props: RdsAirbyteCdcStackProps) {
    const { config } = props;
    // An environment without account and region synthesizes an environment-agnostic stack.
    const env =
      props.env ??
      (config.account || config.region
        ? { account: config.account, region: config.region }
        : undefined);
    super(scope, id, { ...props, env });
    Tags.of(this).add('project', 'rds-airbyte-cdc');
    Tags.of(this).add('environment', config.name);

    // The configuration decides the props (environment-props.ts); the wiring is here.
    this.network = new CdcNetwork(this, 'Network', networkProps(config));

    const parts = this.defineDatabase(config);
    this.database = parts.construct;
    const { database } = parts;
    const { masterSecret, replicationUserSecret, monitoringUserSecret, port } = parts.construct;
    const target = resolveDatabaseTarget(this, database);

    // Before CloudFormation modifies a database it owns (a new engine version above all), the
    // check decides what the upgrade does to the slot. It may not reference the database (a
    // cycle), so it is admitted on the port number rather than through the database's
    // connections. A database the stack does not own is never upgraded by it.
    if (parts.ownedSecurityGroup) {
      const check = new PreUpgradeCheck(this, 'PreUpgradeCheck', {
        ...preUpgradeCheckProps(config),
        masterSecret,
        vpc: this.network.vpc,
        vpcSubnets: this.network.functionSubnets,
      });
      database.node.addDependency(check.resource);
      parts.ownedSecurityGroup.connections.allowFrom(
        check,
        ec2.Port.tcp(port),
        'Pre-upgrade check function',
      );
      this.network.allowEndpointAccessFrom(check);
      this.preUpgradeCheck = check;
    }
    const slotGeneration = this.preUpgradeCheck?.slotGeneration;

    this.replicationSetup = new ReplicationSetup(this, 'ReplicationSetup', {
      ...replicationSetupProps(config),
      database,
      masterSecret,
      replicationUserSecret,
      ...(monitoringUserSecret
        ? {
            monitoringUser: {
              username: config.monitoring.watchdogUser,
              secret: monitoringUserSecret,
            },
          }
        : {}),
      // A slot dropped for an upgrade is recreated by the setup's run after it.
      slotGeneration,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
    });
    this.network.allowEndpointAccessFrom(this.replicationSetup.handler);

    // Airbyte: the S3 destination's bucket and writer key when the destination is S3, and the
    // source, destination and connection themselves when airbyte.apiUrl is set, after the setup.
    const airbyte = new AirbyteConnection(this, 'Airbyte', {
      ...airbyteConnectionProps(config),
      host: target.hostname,
      port: target.port,
      replicationUserSecret,
      dependsOn: [this.replicationSetup.resource],
      // A slot recreated after an upgrade holds none of the old position: Airbyte must resync.
      slotGeneration,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
    });
    if (airbyte.handler && config.airbyte.runInVpc) {
      this.network.allowEndpointAccessFrom(airbyte.handler);
    }

    if (config.monitoring.enabled) {
      const monitoring = new CdcMonitoring(this, 'Monitoring', {
        ...monitoringProps(config),
        database,
        allocatedStorageGiB: parts.allocatedStorageGiB,
      });
      this.monitoring = monitoring;
      if (monitoringUserSecret) {
        const watchdog = new SlotWatchdog(this, 'SlotWatchdog', {
          ...slotWatchdogProps(config),
          database,
          // Its own role, which the setup creates: a login with no privileges, read-only.
          loginSecret: monitoringUserSecret,
          vpc: this.network.vpc,
          vpcSubnets: this.network.functionSubnets,
          alarmTopic: monitoring.topic,
          dashboard: monitoring.dashboard,
        });
        // Before the setup has created the slot, every run would report it missing.
        watchdog.node.addDependency(this.replicationSetup.resource);
        this.network.allowEndpointAccessFrom(watchdog.handler);
        this.slotWatchdog = watchdog;
      }
    }

    this.addOutputs(config, target, parts.construct);
  }

  /** The database of the configured shape (docs/database-shapes.md) and what comes with it. */
  private defineDatabase(config: EnvironmentConfig): DatabaseParts {
    const { vpc, databaseSubnets } = this.network;
    switch (databaseShapeOf(config.database)) {
      case 'instance': {
        const construct = new CdcDatabase(this, 'Database', {
          ...databaseProps(config),
          vpc,
          vpcSubnets: databaseSubnets,
        });
        return {
          construct,
          database: construct.instance,
          ownedSecurityGroup: construct.securityGroup,
          allocatedStorageGiB: config.database.allocatedStorageGiB,
        };
      }
      case 'aurora': {
        const construct = new CdcAuroraCluster(this, 'Database', {
          ...auroraClusterProps(config),
          vpc,
          vpcSubnets: databaseSubnets,
        });
        return {
          construct,
          database: construct.cluster,
          ownedSecurityGroup: construct.securityGroup,
        };
      }
      case 'existing': {
        const construct = new ExistingCdcDatabase(this, 'Database', {
          ...existingDatabaseProps(config),
          vpc,
        });
        return {
          construct,
          database: construct.database,
          allocatedStorageGiB: construct.allocatedStorageGiB,
        };
      }
    }
  }

  private addOutputs(
    config: EnvironmentConfig,
    target: ResolvedDatabaseTarget,
    { replicationUserSecret, masterSecret }: DatabaseParts['construct'],
  ): void {
    const outputs: Record<keyof typeof StackOutputs, { value: string; description: string }> = {
      databaseEndpoint: {
        value: target.hostname,
        description:
          target.kind === 'cluster'
            ? 'Airbyte source: Host (the writer endpoint, which follows a failover)'
            : 'Airbyte source: Host',
      },
      databasePort: { value: target.port, description: 'Airbyte source: Port' },
      databaseName: {
        value: config.database.databaseName,
        description: 'Airbyte source: Database Name',
      },
      replicationSchema: {
        value: config.replication.schemas.map((schema) => schema.name).join(','),
        description: 'Airbyte source: Schemas',
      },
      replicationUserSecretArn: {
        value: replicationUserSecret.secretArn,
        description:
          'Airbyte source: Username and Password are in this secret (aws secretsmanager get-secret-value)',
      },
      masterUserSecretArn: {
        value: masterSecret.secretArn,
        description: 'Master user secret (administration only)',
      },
      replicationSlotName: {
        value: config.replication.slotName,
        description: 'Airbyte source: Replication Slot',
      },
      publicationName: {
        value: config.replication.publicationName,
        description: 'Airbyte source: Publication',
      },
    };
    for (const [key, { value, description }] of Object.entries(outputs)) {
      new CfnOutput(this, StackOutputs[key as keyof typeof StackOutputs], { value, description });
    }
  }
}

/** The database as the stack's other parts use it, whichever construct defined it. */
interface DatabaseParts {
  readonly construct: CdcDatabase | CdcAuroraCluster | ExistingCdcDatabase;
  /** The instance or cluster, for the CDC constructs. */
  readonly database: CdcDatabaseTarget;
  /**
   * The security group the stack created for the database: present exactly when the stack owns
   * the database, and so may upgrade it (behind the pre-upgrade check).
   */
  readonly ownedSecurityGroup?: ec2.SecurityGroup;
  /** Storage of an instance for the free-storage alarm (a token for an existing one). */
  readonly allocatedStorageGiB?: number;
}

/** The watchdog's settings from the configuration; the thresholds are derived, never copied. */
function slotWatchdogProps(
  config: EnvironmentConfig,
): Omit<
  SlotWatchdogProps,
  'database' | 'loginSecret' | 'vpc' | 'vpcSubnets' | 'alarmTopic' | 'dashboard'
> {
  const { monitoring, replication } = config;
  // The doctor judges by the same thresholds (src/doctor/target.ts).
  const thresholds = slotThresholdsFrom(config);
  return {
    databaseName: config.database.databaseName,
    slotName: replication.slotName,
    environmentName: config.name,
    maxSlotWalKeepSizeBytes: thresholds.maxSlotWalKeepSizeBytes ?? undefined,
    safeWalSizeFraction: thresholds.safeWalSizeFraction,
    maxInactive: Duration.seconds(thresholds.maxInactiveSeconds),
    schedule: Duration.minutes(monitoring.watchdogScheduleMinutes),
    logRemovalPolicy: companionRemovalPolicyOf(config),
  };
}
