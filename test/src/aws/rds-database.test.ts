import {
  DBClusterNotFoundFault,
  DBInstanceNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import {
  databaseLabel,
  describeDatabase,
  logicalReplicationFixCommands,
  rebootCommand,
  rebootDatabase,
  type DatabaseStatus,
} from '../../../src/aws/rds-database';
import type { DatabaseReference } from '../../../src/contract/database';

const rds = mockClient(RDSClient);
const client = new RDSClient({ region: 'eu-west-1' });

const INSTANCE: DatabaseReference = { kind: 'instance', identifier: 'rds-airbyte-cdc-prod' };
const CLUSTER: DatabaseReference = { kind: 'cluster', identifier: 'rds-airbyte-cdc-aurora' };

function status(overrides: Partial<DatabaseStatus> = {}): DatabaseStatus {
  return {
    status: 'available',
    parameterGroupName: 'default.postgres16',
    parameterApplyStatus: 'in-sync',
    deletionProtection: false,
    ...overrides,
  };
}

beforeEach(() => rds.reset());

describe('describeDatabase', () => {
  it('describes an instance by its DB parameter group', async () => {
    rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE.identifier }).resolves({
      DBInstances: [
        {
          DBInstanceStatus: 'available',
          Engine: 'postgres',
          EngineVersion: '16.4',
          DeletionProtection: true,
          DBParameterGroups: [
            { DBParameterGroupName: 'cdc', ParameterApplyStatus: 'pending-reboot' },
          ],
          Endpoint: { Address: 'db.example.internal', Port: 5432 },
        },
      ],
    });
    await expect(describeDatabase(client, INSTANCE)).resolves.toEqual({
      status: 'available',
      parameterGroupName: 'cdc',
      parameterApplyStatus: 'pending-reboot',
      deletionProtection: true,
      engine: 'postgres',
      engineVersion: '16.4',
      endpoint: { address: 'db.example.internal', port: 5432 },
    });
    expect(rds.commandCalls(DescribeDBClustersCommand)).toHaveLength(0);
  });

  it("describes a cluster by its cluster parameter group and its writer's apply status", async () => {
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: CLUSTER.identifier }).resolves({
      DBClusters: [
        {
          Status: 'available',
          Engine: 'aurora-postgresql',
          EngineVersion: '16.6',
          DeletionProtection: false,
          DBClusterParameterGroup: 'cdc-cluster',
          Endpoint: 'aurora.cluster-abc.eu-west-1.rds.amazonaws.com',
          ReaderEndpoint: 'aurora.cluster-ro-abc.eu-west-1.rds.amazonaws.com',
          Port: 5432,
          DBClusterMembers: [
            {
              DBInstanceIdentifier: 'reader-1',
              IsClusterWriter: false,
              DBClusterParameterGroupStatus: 'in-sync',
            },
            {
              DBInstanceIdentifier: 'writer',
              IsClusterWriter: true,
              DBClusterParameterGroupStatus: 'pending-reboot',
            },
          ],
        },
      ],
    });
    await expect(describeDatabase(client, CLUSTER)).resolves.toEqual({
      status: 'available',
      parameterGroupName: 'cdc-cluster',
      parameterApplyStatus: 'pending-reboot',
      deletionProtection: false,
      engine: 'aurora-postgresql',
      engineVersion: '16.6',
      endpoint: { address: 'aurora.cluster-abc.eu-west-1.rds.amazonaws.com', port: 5432 },
      writerInstanceIdentifier: 'writer',
    });
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
  });

  it('says unknown for a cluster without a writer (yet)', async () => {
    rds.on(DescribeDBClustersCommand).resolves({
      DBClusters: [{ Status: 'creating', DBClusterParameterGroup: 'cdc', DBClusterMembers: [] }],
    });
    const described = await describeDatabase(client, CLUSTER);
    expect(described).toMatchObject({ parameterApplyStatus: 'unknown', status: 'creating' });
    expect(described?.writerInstanceIdentifier).toBeUndefined();
    expect(described?.endpoint).toBeUndefined();
  });

  it('is undefined for an instance or a cluster that does not exist, and rethrows the rest', async () => {
    rds
      .on(DescribeDBInstancesCommand)
      .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
    rds
      .on(DescribeDBClustersCommand)
      .rejects(new DBClusterNotFoundFault({ message: 'not found', $metadata: {} }));
    await expect(describeDatabase(client, INSTANCE)).resolves.toBeUndefined();
    await expect(describeDatabase(client, CLUSTER)).resolves.toBeUndefined();
    rds.on(DescribeDBClustersCommand).rejects(new Error('AccessDenied'));
    await expect(describeDatabase(client, CLUSTER)).rejects.toThrow('AccessDenied');
  });
});

describe('rebootDatabase', () => {
  it('reboots an instance itself and a cluster through its writer', async () => {
    rds.on(RebootDBInstanceCommand).resolves({});
    await rebootDatabase(client, INSTANCE, status());
    await rebootDatabase(client, CLUSTER, status({ writerInstanceIdentifier: 'aurora-writer' }));
    expect(rds.commandCalls(RebootDBInstanceCommand).map((call) => call.args[0].input)).toEqual([
      { DBInstanceIdentifier: INSTANCE.identifier },
      { DBInstanceIdentifier: 'aurora-writer' },
    ]);
  });

  it('refuses a cluster without a writer, rebooting nothing', async () => {
    await expect(rebootDatabase(client, CLUSTER, status())).rejects.toThrow(
      'Aurora cluster rds-airbyte-cdc-aurora has no writer instance',
    );
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });
});

describe('commands for the user', () => {
  it('labels each kind', () => {
    expect(databaseLabel(INSTANCE)).toBe('RDS instance rds-airbyte-cdc-prod');
    expect(databaseLabel(CLUSTER)).toBe('Aurora cluster rds-airbyte-cdc-aurora');
  });

  it("reboots an instance, or a cluster's writer, looked up when not known", () => {
    expect(rebootCommand(INSTANCE)).toBe(
      'aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-prod',
    );
    expect(rebootCommand({ kind: 'instance', identifier: 'x' })).toBe(
      'aws rds reboot-db-instance --db-instance-identifier x',
    );
    expect(rebootCommand(CLUSTER, status({ writerInstanceIdentifier: 'w-1' }))).toBe(
      'aws rds reboot-db-instance --db-instance-identifier w-1',
    );
    expect(rebootCommand(CLUSTER)).toBe(
      `aws rds reboot-db-instance --db-instance-identifier "$(aws rds describe-db-clusters --db-cluster-identifier rds-airbyte-cdc-aurora --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter].DBInstanceIdentifier' --output text)"`,
    );
  });

  const parameter =
    '--parameters "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot"';

  it('copies a default DB parameter group, sets the parameter, attaches the copy, reboots', () => {
    expect(logicalReplicationFixCommands(INSTANCE, status())).toEqual([
      "aws rds copy-db-parameter-group --source-db-parameter-group-identifier default.postgres16 --target-db-parameter-group-identifier rds-airbyte-cdc-prod-logical-replication --target-db-parameter-group-description 'Logical replication for rds-airbyte-cdc-prod'",
      `aws rds modify-db-parameter-group --db-parameter-group-name rds-airbyte-cdc-prod-logical-replication ${parameter}`,
      'aws rds modify-db-instance --db-instance-identifier rds-airbyte-cdc-prod --db-parameter-group-name rds-airbyte-cdc-prod-logical-replication --apply-immediately',
      'aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-prod',
    ]);
  });

  it('modifies a custom DB parameter group in place, as it is attached already', () => {
    expect(
      logicalReplicationFixCommands(INSTANCE, status({ parameterGroupName: 'team-pg16' })),
    ).toEqual([
      `aws rds modify-db-parameter-group --db-parameter-group-name team-pg16 ${parameter}`,
      'aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-prod',
    ]);
  });

  it("does the same with a cluster's cluster parameter group, rebooting the writer", () => {
    const cluster = status({
      parameterGroupName: 'default.aurora-postgresql16',
      writerInstanceIdentifier: 'aurora-writer',
    });
    expect(logicalReplicationFixCommands(CLUSTER, cluster)).toEqual([
      "aws rds copy-db-cluster-parameter-group --source-db-cluster-parameter-group-identifier default.aurora-postgresql16 --target-db-cluster-parameter-group-identifier rds-airbyte-cdc-aurora-logical-replication --target-db-cluster-parameter-group-description 'Logical replication for rds-airbyte-cdc-aurora'",
      `aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name rds-airbyte-cdc-aurora-logical-replication ${parameter}`,
      'aws rds modify-db-cluster --db-cluster-identifier rds-airbyte-cdc-aurora --db-cluster-parameter-group-name rds-airbyte-cdc-aurora-logical-replication --apply-immediately',
      'aws rds reboot-db-instance --db-instance-identifier aurora-writer',
    ]);
    expect(
      logicalReplicationFixCommands(CLUSTER, { ...cluster, parameterGroupName: 'team-aurora' }),
    ).toEqual([
      `aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name team-aurora ${parameter}`,
      'aws rds reboot-db-instance --db-instance-identifier aurora-writer',
    ]);
  });
});
