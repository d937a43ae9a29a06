/**
 * The yardstick for `npm run bench:synth`: the least a CDK app for the same environments would
 * synthesize — per environment of cdk.json a stack with a VPC and its database in the
 * environment's shape: a parameter group with logical replication on and the PostgreSQL
 * instance, an Aurora cluster with its cluster parameter group and instances, or an existing
 * database imported by identifier. No configuration schema, no Lambda, no custom resource, no
 * cdk-nag: what the project's app costs beyond this is its own overhead.
 * Run with cdk.json's context, as the project's app is (`cdk synth --app …`).
 */
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';

/** The part of an environment in cdk.json this app reads. */
interface BareEnvironment {
  readonly database?: {
    readonly engine?: string;
    readonly instanceType?: string;
    readonly allocatedStorageGiB?: number;
    readonly readers?: number;
    readonly existing?: {
      readonly instanceIdentifier?: string;
      readonly clusterIdentifier?: string;
    };
  };
}

const app = new App();
const environments = (app.node.tryGetContext('environments') ?? {}) as Record<
  string,
  BareEnvironment
>;
const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 });
for (const [name, environment] of Object.entries(environments)) {
  const stack = new Stack(app, `Bare-${name}`);
  const database = environment.database ?? {};
  if (database.existing) {
    const { instanceIdentifier, clusterIdentifier } = database.existing;
    if (clusterIdentifier) {
      rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Database', { clusterIdentifier });
    } else {
      rds.DatabaseInstance.fromDatabaseInstanceAttributes(stack, 'Database', {
        instanceIdentifier: instanceIdentifier ?? name,
        instanceEndpointAddress: `${name}.example.com`,
        port: 5432,
        securityGroups: [],
      });
    }
    continue;
  }
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  if (database.engine === 'aurora-postgresql') {
    const clusterEngine = rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.VER_17_4,
    });
    new rds.DatabaseCluster(stack, 'Cluster', {
      engine: clusterEngine,
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      parameterGroup: new rds.ParameterGroup(stack, 'ParameterGroup', {
        engine: clusterEngine,
        parameters: { 'rds.logical_replication': '1' },
      }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      readers: Array.from({ length: database.readers ?? 0 }, (_, index) =>
        rds.ClusterInstance.serverlessV2(`Reader${index + 1}`),
      ),
    });
    continue;
  }
  const parameterGroup = new rds.ParameterGroup(stack, 'ParameterGroup', {
    engine,
    parameters: { 'rds.logical_replication': '1' },
  });
  new rds.DatabaseInstance(stack, 'Instance', {
    engine,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    parameterGroup,
    instanceType: new ec2.InstanceType(database.instanceType ?? 't4g.micro'),
    allocatedStorage: database.allocatedStorageGiB ?? 20,
  });
}
