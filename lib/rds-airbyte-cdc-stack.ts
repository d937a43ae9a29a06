import { CfnOutput, Duration, Stack, StackProps, Tags } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { AirbyteConnection } from './airbyte-connection';
import { CdcDatabase, companionRemovalPolicy } from './cdc-database';
import { CdcMonitoring } from './cdc-monitoring';
import {
  airbyteConnectionProps,
  databaseProps,
  databaseRemovalPolicy,
  monitoringProps,
  networkProps,
  preUpgradeCheckProps,
  replicationSetupProps,
} from './environment-props';
import { CdcNetwork } from './network';
import { PreUpgradeCheck } from './pre-upgrade-check';
import { ReplicationSetup } from './replication-setup';
import { SlotWatchdog, type SlotWatchdogProps } from './slot-watchdog';
import type { EnvironmentConfig } from '../src/config';
import { slotThresholdsFrom } from '../src/watchdog';
import { StackOutputs } from '../src/contract/outputs';

export interface RdsAirbyteCdcStackProps extends StackProps {
  /** The environment's validated configuration. */
  readonly config: EnvironmentConfig;
}

/**
 * One environment: the network, an RDS for PostgreSQL instance ready for logical replication,
 * and the outputs a user needs to point Airbyte at it.
 */
export class RdsAirbyteCdcStack extends Stack {
  /** The database and its secrets. */
  public readonly database: CdcDatabase;
  /** The VPC and subnets. */
  public readonly network: CdcNetwork;
  /** The step before an engine upgrade that decides about the replication slot. */
  public readonly preUpgradeCheck: PreUpgradeCheck;
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

    this.database = new CdcDatabase(this, 'Database', {
      ...databaseProps(config),
      vpc: this.network.vpc,
      vpcSubnets: this.network.databaseSubnets,
    });
    const { instance, masterSecret, replicationUserSecret, monitoringUserSecret } = this.database;

    // Before CloudFormation modifies the instance (a new engine version above all), the check
    // decides what the upgrade does to the slot. It may not reference the instance (a cycle), so
    // it is admitted on the port number rather than through the instance's connections.
    this.preUpgradeCheck = new PreUpgradeCheck(this, 'PreUpgradeCheck', {
      ...preUpgradeCheckProps(config),
      masterSecret,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
    });
    instance.node.addDependency(this.preUpgradeCheck.resource);
    this.database.securityGroup.connections.allowFrom(
      this.preUpgradeCheck,
      ec2.Port.tcp(this.database.port),
      'Pre-upgrade check function',
    );
    this.network.allowEndpointAccessFrom(this.preUpgradeCheck);

    this.replicationSetup = new ReplicationSetup(this, 'ReplicationSetup', {
      ...replicationSetupProps(config),
      instance,
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
      slotGeneration: this.preUpgradeCheck.slotGeneration,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
    });
    this.network.allowEndpointAccessFrom(this.replicationSetup.handler);

    // Airbyte: the S3 destination's bucket and writer key when the destination is S3, and the
    // source, destination and connection themselves when airbyte.apiUrl is set, after the setup.
    const airbyte = new AirbyteConnection(this, 'Airbyte', {
      ...airbyteConnectionProps(config),
      host: instance.dbInstanceEndpointAddress,
      port: instance.dbInstanceEndpointPort,
      replicationUserSecret,
      dependsOn: [this.replicationSetup.resource],
      // A slot recreated after an upgrade holds none of the old position: Airbyte must resync.
      slotGeneration: this.preUpgradeCheck.slotGeneration,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
    });
    if (airbyte.handler && config.airbyte.runInVpc) {
      this.network.allowEndpointAccessFrom(airbyte.handler);
    }

    if (config.monitoring.enabled) {
      const monitoring = new CdcMonitoring(this, 'Monitoring', {
        ...monitoringProps(config),
        instance,
      });
      this.monitoring = monitoring;
      if (monitoringUserSecret) {
        const watchdog = new SlotWatchdog(this, 'SlotWatchdog', {
          ...slotWatchdogProps(config),
          instance,
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

    this.addOutputs(config);
  }

  private addOutputs(config: EnvironmentConfig): void {
    const { instance, replicationUserSecret, masterSecret } = this.database;
    const outputs: Record<keyof typeof StackOutputs, { value: string; description: string }> = {
      databaseEndpoint: {
        value: instance.dbInstanceEndpointAddress,
        description: 'Airbyte source: Host',
      },
      databasePort: { value: instance.dbInstanceEndpointPort, description: 'Airbyte source: Port' },
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

/** The watchdog's settings from the configuration; the thresholds are derived, never copied. */
function slotWatchdogProps(
  config: EnvironmentConfig,
): Omit<
  SlotWatchdogProps,
  'instance' | 'loginSecret' | 'vpc' | 'vpcSubnets' | 'alarmTopic' | 'dashboard'
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
    logRemovalPolicy: companionRemovalPolicy(databaseRemovalPolicy(config)),
  };
}
