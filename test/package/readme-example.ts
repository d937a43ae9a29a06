// The README's "Inside your own CDK app" example, compiled and synthesized by the tests (from
// source by foreign-app.test.ts, from the packed tarball by npm-pack.test.ts, which swaps the
// '../../lib' below for 'rds-airbyte-cdc' as the README has it).
import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import { CdcMonitoring, ReplicationSetup } from '../../lib';

export class OrdersStack extends Stack {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.VER_17,
    });
    const masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', { username: 'postgres' });
    const database = new rds.DatabaseInstance(this, 'Orders', {
      engine,
      vpc: new ec2.Vpc(this, 'Vpc'),
      credentials: rds.Credentials.fromSecret(masterSecret),
      parameterGroup: new rds.ParameterGroup(this, 'Parameters', {
        engine,
        parameters: { 'rds.logical_replication': '1' },
      }),
    });
    new ReplicationSetup(this, 'Cdc', {
      database,
      masterSecret,
      replication: {
        schemas: [{ name: 'public', tables: [{ name: 'orders', replicaIdentity: 'default' }] }],
      },
    });
    new CdcMonitoring(this, 'CdcAlarms', { database, alarmEmail: 'oncall@example.com' });
  }
}
