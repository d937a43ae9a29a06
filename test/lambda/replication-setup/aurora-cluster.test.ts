/**
 * The replication setup of an Aurora cluster: the cluster APIs (DescribeDBClusters, the writer's
 * cluster parameter group status, a reboot of the writer), against real PostgreSQL servers that
 * play the cluster's writer before and after its reboot.
 */
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { findFreePort as closedPort } from '../../../src/local/free-port';
import { usePostgres } from '../../support/postgres';
import {
  CLUSTER,
  CLUSTER_PROPERTIES,
  event,
  isCompleteEvent,
  MASTER_SECRET_ARN,
  propertiesFor,
  rds,
  rebootedOnto,
  rdsSaysCluster,
  secretsManager,
  serveSecrets,
  useReplicationSetupHandler,
  WRITER,
} from './fixtures';

describe('replication setup handler on an Aurora cluster', () => {
  const replica = usePostgres({ ssl: true, settings: { wal_level: 'replica' } });
  const logical = usePostgres({ ssl: true });
  const setup = useReplicationSetupHandler([replica, logical], {
    rdsAnswers: () => rdsSaysCluster('available', 'in-sync'),
  });
  const logged: string[] = [];

  beforeAll(() => {
    jest.spyOn(console, 'log').mockImplementation((message: string) => logged.push(message));
  });

  afterAll(() => jest.restoreAllMocks());

  beforeEach(() => {
    logged.length = 0;
  });

  it("sets up the cluster's database, the cluster identifier first in the physical id", async () => {
    const database = await logical.createDatabase('aurora');
    const properties = propertiesFor(logical, database, CLUSTER_PROPERTIES);
    serveSecrets(logical, properties.User);
    const response = await setup().onEvent(event('Create', properties));
    expect(response.PhysicalResourceId).toBe(
      `${CLUSTER}/${database}/${properties.SlotName}/airbyte_publication`,
    );
    const client = await logical.connect(database);
    const slot = await client.query(
      'SELECT plugin FROM pg_replication_slots WHERE slot_name = $1',
      [properties.SlotName],
    );
    expect(slot.rows).toEqual([{ plugin: 'pgoutput' }]);
    // wal_level was logical: RDS was not even asked.
    expect(rds.calls()).toHaveLength(0);
  });

  it("fails with the writer's reboot command when the cluster parameter group is pending-reboot", async () => {
    const properties = propertiesFor(replica, 'postgres', CLUSTER_PROPERTIES);
    serveSecrets(replica, properties.User);
    rdsSaysCluster('available', 'pending-reboot');
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      `Reboot the cluster's writer instance (aws rds reboot-db-instance --db-instance-identifier ${WRITER})`,
    );
    expect(rds.commandCalls(DescribeDBClustersCommand)[0].args[0].input).toEqual({
      DBClusterIdentifier: CLUSTER,
    });
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });

  it('says the cluster parameter group lacks the setting when the writer is in sync', async () => {
    const properties = propertiesFor(replica, 'postgres', CLUSTER_PROPERTIES);
    serveSecrets(replica, properties.User);
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      'parameter group cdc-cluster-params of rds-airbyte-cdc-aurora is in-sync: the group does not set rds.logical_replication=1',
    );
  });

  it('reboots the writer, waits while the cluster comes back, then completes the setup', async () => {
    const properties = propertiesFor(replica, 'postgres', {
      ...CLUSTER_PROPERTIES,
      RebootIfPending: 'true',
    });
    serveSecrets(replica, properties.User);
    rdsSaysCluster('available', 'pending-reboot');
    rds.on(RebootDBInstanceCommand).resolves({});
    const response = await setup().onEvent(event('Create', properties));
    expect(response.Data).toEqual({ Status: 'rebooting' });
    expect(rds.commandCalls(RebootDBInstanceCommand).map((call) => call.args[0].input)).toEqual([
      { DBInstanceIdentifier: WRITER },
    ]);
    const waiting = isCompleteEvent(properties, response);

    // The cluster stays available while its writer reboots; the writer's status tells.
    rdsSaysCluster('available', 'pending-reboot');
    await expect(setup().isComplete(waiting)).resolves.toEqual({ IsComplete: false });

    // RDS says in sync a moment before the writer accepts connections: not yet, not a failure.
    rdsSaysCluster('available', 'in-sync');
    const port = await closedPort();
    await expect(
      setup().isComplete({
        ...waiting,
        ResourceProperties: { ServiceToken: 't', ...properties, Port: String(port) },
      }),
    ).resolves.toEqual({ IsComplete: false });
    expect(logged.join('\n')).toContain(
      `Waiting for ${CLUSTER} to accept connections after its reboot`,
    );

    // Back up, with logical replication: the logical server plays the rebooted writer.
    const rebooted = await rebootedOnto(logical, properties);
    await expect(
      setup().isComplete({ ...waiting, ResourceProperties: { ServiceToken: 't', ...rebooted } }),
    ).resolves.toMatchObject({ IsComplete: true, Data: { Status: 'ready' } });
    const client = await logical.connect(rebooted.Database);
    const slot = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
      properties.SlotName,
    ]);
    expect(slot.rowCount).toBe(1);
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
  });

  it('fails isComplete when the database refuses the login itself', async () => {
    const properties = propertiesFor(logical, 'postgres', CLUSTER_PROPERTIES);
    serveSecrets(logical, properties.User);
    secretsManager.on(GetSecretValueCommand, { SecretId: MASTER_SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ username: logical.server.user, password: 'wrong-password' }),
    });
    const waiting = isCompleteEvent(properties, {
      PhysicalResourceId: 'id',
      Data: { Status: 'rebooting' },
    });
    await expect(setup().isComplete(waiting)).rejects.toThrow(/password|authentication/i);
  });

  it('refuses a Delete, dropping nothing, while the cluster has deletion protection', async () => {
    const database = await logical.createDatabase('protected');
    const properties = propertiesFor(logical, database, CLUSTER_PROPERTIES);
    serveSecrets(logical, properties.User);
    const created = await setup().onEvent(event('Create', properties));
    rdsSaysCluster('available', 'in-sync', { DeletionProtection: true });
    await expect(
      setup().onEvent(
        event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
      ),
    ).rejects.toThrow(
      new RegExp(
        `Aurora cluster ${CLUSTER} has deletion protection on, so deleting the stack would stop at the cluster.*Nothing was dropped.*aws rds modify-db-cluster --db-cluster-identifier ${CLUSTER} --no-deletion-protection`,
      ),
    );
    const client = await logical.connect(database);
    const slot = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
      properties.SlotName,
    ]);
    expect(slot.rowCount).toBe(1);
    rdsSaysCluster('available', 'in-sync');
    await setup().onEvent(
      event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    const after = await client.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
      properties.SlotName,
    ]);
    expect(after.rowCount).toBe(0);
  });
});
