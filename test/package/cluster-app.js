// A foreign CDK app in plain Node.js (CommonJS) that installed the packed rds-airbyte-cdc:
// npm-pack.test.ts copies it next to the tarball's install and runs `node cluster-app.js <outdir>`.
'use strict';
const { App, RemovalPolicy, Stack } = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const rds = require('aws-cdk-lib/aws-rds');
const { CdcMonitoring, ReplicationSetup } = require('rds-airbyte-cdc');

const app = new App({ outdir: process.argv[2] });
const stack = new Stack(app, 'ClusterApp');
const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
const engine = rds.DatabaseClusterEngine.auroraPostgres({
  version: rds.AuroraPostgresEngineVersion.VER_17_4,
});
const masterSecret = new rds.DatabaseSecret(stack, 'MasterSecret', { username: 'postgres' });
const database = new rds.DatabaseCluster(stack, 'Cluster', {
  engine,
  vpc,
  credentials: rds.Credentials.fromSecret(masterSecret),
  writer: rds.ClusterInstance.serverlessV2('Writer'),
  parameterGroup: new rds.ParameterGroup(stack, 'Parameters', {
    engine,
    parameters: { 'rds.logical_replication': '1' },
  }),
});
new ReplicationSetup(stack, 'Cdc', {
  database,
  masterSecret,
  databaseName: 'postgres',
  replicationUsername: 'airbyte',
  replicationUserSecret: new rds.DatabaseSecret(stack, 'AirbyteSecret', { username: 'airbyte' }),
  replication: {
    schema: 'public',
    slotName: 'airbyte_slot',
    publicationName: 'airbyte_publication',
    schemas: [{ name: 'public', tables: { wholeSchema: true, replicaIdentity: 'default' } }],
  },
  databaseRemovalPolicy: RemovalPolicy.SNAPSHOT,
  vpc,
  vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
});
new CdcMonitoring(stack, 'CdcAlarms', { database });
app.synth();
