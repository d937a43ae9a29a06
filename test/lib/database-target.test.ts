import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { isCluster, resolveDatabaseTarget } from '../../lib/database-target';

function stack(): Stack {
  return new Stack(new App(), 'Target', { env: { account: '123456789012', region: 'eu-west-1' } });
}

describe('resolveDatabaseTarget', () => {
  it('names an instance by its identifier, ARN and endpoint', () => {
    const scope = stack();
    const instance = rds.DatabaseInstance.fromDatabaseInstanceAttributes(scope, 'Db', {
      instanceIdentifier: 'orders-db',
      instanceEndpointAddress: 'orders-db.abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      securityGroups: [],
    });
    expect(isCluster(instance)).toBe(false);
    const target = resolveDatabaseTarget(scope, instance);
    expect(target).toMatchObject({
      kind: 'instance',
      identifier: 'orders-db',
      hostname: 'orders-db.abc.eu-west-1.rds.amazonaws.com',
      port: '5432',
    });
    expect(scope.resolve(target.instanceArns)).toEqual([scope.resolve(instance.instanceArn)]);
  });

  it("names a cluster by its writer endpoint, with its instances' ARNs for the reboot", () => {
    const scope = stack();
    const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(scope, 'Db', {
      clusterIdentifier: 'orders-cluster',
      clusterEndpointAddress: 'orders-cluster.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
      instanceIdentifiers: ['orders-writer'],
    });
    expect(isCluster(cluster)).toBe(true);
    const target = resolveDatabaseTarget(scope, cluster);
    expect(target).toMatchObject({
      kind: 'cluster',
      identifier: 'orders-cluster',
      hostname: 'orders-cluster.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: '5432',
    });
    expect(JSON.stringify(scope.resolve(target.instanceArns))).toContain(':db:orders-writer');
    expect(JSON.stringify(scope.resolve(target.arn))).toContain(':cluster:orders-cluster');
  });

  it('gives no instances for a cluster imported without them, rather than failing', () => {
    const scope = stack();
    const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(scope, 'Db', {
      clusterIdentifier: 'orders-cluster',
      clusterEndpointAddress: 'orders-cluster.cluster-abc.eu-west-1.rds.amazonaws.com',
      port: 5432,
    });
    expect(() => cluster.instanceIdentifiers).toThrow();
    expect(resolveDatabaseTarget(scope, cluster).instanceArns).toEqual([]);
  });

  it("takes a cluster's port from its endpoint as text, a token while it is deployed", () => {
    const scope = stack();
    const vpc = new ec2.Vpc(scope, 'Vpc');
    const cluster = new rds.DatabaseCluster(scope, 'Cluster', {
      engine: rds.DatabaseClusterEngine.auroraPostgres({
        version: rds.AuroraPostgresEngineVersion.VER_17_4,
      }),
      writer: rds.ClusterInstance.serverlessV2('Writer'),
      vpc,
    });
    expect(scope.resolve(resolveDatabaseTarget(scope, cluster).port)).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^Cluster/), 'Endpoint.Port'],
    });
  });
});
