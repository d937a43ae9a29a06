/**
 * The yardstick for `npm run bench:synth`: the least a CDK app for the same three environments
 * would synthesize — per environment of cdk.json a stack with a VPC, a parameter group with
 * logical replication on, and the PostgreSQL instance. No configuration schema, no Lambda, no
 * custom resource, no cdk-nag: what the project's app costs beyond this is its own overhead.
 * Run with cdk.json's context, as the project's app is (`cdk synth --app …`).
 */
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';

/** The part of an environment in cdk.json this app reads. */
interface BareEnvironment {
  readonly database?: { readonly instanceType?: string; readonly allocatedStorageGiB?: number };
}

const app = new App();
const environments = (app.node.tryGetContext('environments') ?? {}) as Record<
  string,
  BareEnvironment
>;
const engine = rds.DatabaseInstanceEngine.postgres({ version: rds.PostgresEngineVersion.VER_17 });
for (const [name, environment] of Object.entries(environments)) {
  const stack = new Stack(app, `Bare-${name}`);
  const vpc = new ec2.Vpc(stack, 'Vpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED }],
  });
  const parameterGroup = new rds.ParameterGroup(stack, 'ParameterGroup', {
    engine,
    parameters: { 'rds.logical_replication': '1' },
  });
  new rds.DatabaseInstance(stack, 'Instance', {
    engine,
    vpc,
    vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    parameterGroup,
    instanceType: new ec2.InstanceType(environment.database?.instanceType ?? 't4g.micro'),
    allocatedStorage: environment.database?.allocatedStorageGiB ?? 20,
  });
}
