import { CfnOutput, RemovalPolicy, Stack, StackProps, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { replicationTargetOf, resolveAirbyteSettings } from '../src/airbyte/settings';
import { AirbyteConnection } from './airbyte-connection';
import { CdcDatabase } from './cdc-database';
import { CdcMonitoring } from './cdc-monitoring';
import type { EnvironmentConfig } from '../src/config';
import { CdcNetwork } from './network';
import { StackOutputs } from '../src/contract/outputs';
import { ReplicationSetup } from './replication-setup';

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
  /** The custom resource that runs the replication setup SQL. */
  public readonly replicationSetup: ReplicationSetup;

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

    // Logs of the network and functions go with the stack only when the database does.
    const logRemovalPolicy =
      config.lifecycle.removalPolicy === 'destroy' ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;
    this.network = new CdcNetwork(this, 'Network', {
      config: config.network,
      logRemovalPolicy,
    });

    this.database = new CdcDatabase(this, 'Database', {
      instanceIdentifier: `rds-airbyte-cdc-${config.name}`,
      vpc: this.network.vpc,
      vpcSubnets: this.network.databaseSubnets,
      database: config.database,
      lifecycle: config.lifecycle,
      publiclyAccessible: config.network.publiclyAccessible,
      allowedCidrs: config.network.allowedCidrs,
      replicationUsername: config.replication.user,
      maxSlotWalKeepSizeGiB: config.replication.maxSlotWalKeepSizeGiB,
    });

    this.replicationSetup = new ReplicationSetup(this, 'ReplicationSetup', {
      instance: this.database.instance,
      databaseName: config.database.databaseName,
      masterSecret: this.database.masterSecret,
      replicationUserSecret: this.database.replicationUserSecret,
      replication: config.replication,
      removalPolicy: config.lifecycle.removalPolicy,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
      logRemovalPolicy,
    });
    this.network.allowEndpointAccessFrom(this.replicationSetup.handler);

    // Airbyte: the S3 destination's bucket and writer key when the destination is S3, and the
    // source, destination and connection themselves when airbyte.apiUrl is set, after the setup.
    const airbyte = new AirbyteConnection(this, 'Airbyte', {
      settings: resolveAirbyteSettings(config),
      replication: replicationTargetOf(config),
      host: this.database.instance.dbInstanceEndpointAddress,
      port: this.database.instance.dbInstanceEndpointPort,
      databaseName: config.database.databaseName,
      replicationUserSecret: this.database.replicationUserSecret,
      dependsOn: [this.replicationSetup.resource],
      bucketRemovalPolicy: config.lifecycle.removalPolicy,
      logRemovalPolicy,
      vpc: this.network.vpc,
      vpcSubnets: this.network.functionSubnets,
    });
    if (airbyte.handler && config.airbyte.runInVpc) {
      this.network.allowEndpointAccessFrom(airbyte.handler);
    }

    if (config.monitoring.enabled) {
      new CdcMonitoring(this, 'Monitoring', {
        instance: this.database.instance,
        allocatedStorageGiB: config.database.allocatedStorageGiB,
        maxSlotWalKeepSizeGiB: config.replication.maxSlotWalKeepSizeGiB,
        config: config.monitoring,
      });
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
        value: config.replication.schema,
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
