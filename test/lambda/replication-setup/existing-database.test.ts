/**
 * The replication setup on a database the stack did not create (`database.existing`): checked
 * before anything is done, never modified or rebooted, and on Delete only what the stack made
 * inside it is dropped, never under a running consumer unless configured so.
 */
import {
  DBClusterNotFoundFault,
  DBInstanceNotFoundFault,
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import type { Client } from 'pg';
import type { ReplicationSetupProperties } from '../../../src/contract/replication-setup';
import { openChangeStream, type ChangeStream } from '../../../src/local/change-stream';
import { findFreePort as closedPort } from '../../../src/local/free-port';
import { usePostgres } from '../../support/postgres';
import {
  CLUSTER,
  CLUSTER_PROPERTIES,
  event,
  INSTANCE,
  propertiesFor,
  rds,
  rdsSays,
  rdsSaysCluster,
  serveSecrets,
  useReplicationSetupHandler,
} from './fixtures';

const EXISTING = { ExistingDatabase: 'true' } as const;

/** What of the stack's objects the database holds. */
async function objectsOf(client: Client, properties: ReplicationSetupProperties) {
  const count = async (sql: string, value: string): Promise<number> =>
    (await client.query(sql, [value])).rowCount ?? 0;
  return {
    slot: await count(
      'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1',
      properties.SlotName,
    ),
    publication: await count(
      'SELECT 1 FROM pg_publication WHERE pubname = $1',
      properties.PublicationName,
    ),
    role: await count('SELECT 1 FROM pg_roles WHERE rolname = $1', properties.User),
    schema: await count('SELECT 1 FROM pg_namespace WHERE nspname = $1', properties.Schema),
  };
}

describe('replication setup handler on an existing database', () => {
  const replica = usePostgres({ ssl: true, settings: { wal_level: 'replica' } });
  const logical = usePostgres({ ssl: true });
  const setup = useReplicationSetupHandler([replica, logical], {
    rdsAnswers: () => {
      rdsSays('available', 'in-sync', false, { Engine: 'postgres', EngineVersion: '16.4' });
      rdsSaysCluster('available', 'in-sync');
    },
  });

  describe('without logical replication', () => {
    it('fails with the commands that turn it on, and creates nothing', async () => {
      const database = await replica.createDatabase('existing');
      const properties = propertiesFor(replica, database, EXISTING);
      serveSecrets(replica, properties.User);
      rdsSays('available', 'in-sync', false, {
        Engine: 'postgres',
        DBParameterGroups: [
          { DBParameterGroupName: 'default.postgres16', ParameterApplyStatus: 'in-sync' },
        ],
      });
      const failure = setup().onEvent(event('Create', properties));
      await expect(failure).rejects.toThrow(
        [
          'This stack changed nothing inside the database, and will not modify or reboot RDS instance rds-airbyte-cdc-test, which it did not create. Turn logical replication on yourself (the reboot is a short outage), wait until it is available, and deploy again:',
          `  1. aws rds copy-db-parameter-group --source-db-parameter-group-identifier default.postgres16 --target-db-parameter-group-identifier ${INSTANCE}-logical-replication --target-db-parameter-group-description 'Logical replication for ${INSTANCE}'`,
          `  2. aws rds modify-db-parameter-group --db-parameter-group-name ${INSTANCE}-logical-replication --parameters "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot"`,
          `  3. aws rds modify-db-instance --db-instance-identifier ${INSTANCE} --db-parameter-group-name ${INSTANCE}-logical-replication --apply-immediately`,
          `  4. aws rds reboot-db-instance --db-instance-identifier ${INSTANCE}`,
        ].join('\n'),
      );
      const client = await replica.connect(database);
      // Not even the demo schema: the check ran before any statement.
      expect(await objectsOf(client, properties)).toEqual({
        slot: 0,
        publication: 0,
        role: 0,
        schema: 0,
      });
      // RDS was only asked, never told.
      expect(
        rds
          .calls()
          .map((call) => (call.args[0] as { constructor: { name: string } }).constructor.name),
      ).toEqual(['DescribeDBInstancesCommand', 'DescribeDBInstancesCommand']);
    });

    it('fails with the reboot command, rebooting nothing, when the group waits for a reboot', async () => {
      const properties = propertiesFor(replica, 'postgres', EXISTING);
      serveSecrets(replica, properties.User);
      rdsSays('available', 'pending-reboot', false, { Engine: 'postgres' });
      await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
        `(aws rds reboot-db-instance --db-instance-identifier ${INSTANCE}), wait until it is available, and deploy again; or set replication.rebootIfPending to true to let the deploy do it. This stack changed nothing inside the database`,
      );
      expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
    });

    it('never reboots an existing cluster, even when told to', async () => {
      const properties = propertiesFor(replica, 'postgres', {
        ...EXISTING,
        ...CLUSTER_PROPERTIES,
        RebootIfPending: 'true',
      });
      serveSecrets(replica, properties.User);
      rdsSaysCluster('available', 'pending-reboot');
      rds.on(RebootDBInstanceCommand).resolves({});
      await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
        `Reboot the cluster's writer instance (aws rds reboot-db-instance --db-instance-identifier ${CLUSTER}-writer), wait until it is available, and deploy again. This stack changed nothing`,
      );
      expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
    });

    it("gives a cluster's commands for its default cluster parameter group", async () => {
      const properties = propertiesFor(replica, 'postgres', { ...EXISTING, ...CLUSTER_PROPERTIES });
      serveSecrets(replica, properties.User);
      rdsSaysCluster('available', 'in-sync', {
        DBClusterParameterGroup: 'default.aurora-postgresql16',
      });
      await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
        new RegExp(
          `copy-db-cluster-parameter-group .*modify-db-cluster-parameter-group .*modify-db-cluster --db-cluster-identifier ${CLUSTER} .*reboot-db-instance --db-instance-identifier ${CLUSTER}-writer`,
          's',
        ),
      );
    });
  });

  describe('checked before connecting', () => {
    it('names the setting and the engine when an instance is not RDS for PostgreSQL', async () => {
      const properties = propertiesFor(logical, 'postgres', EXISTING);
      rdsSays('available', 'in-sync', false, { Engine: 'mysql' });
      await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
        `database.existing.instanceIdentifier names RDS instance ${INSTANCE}, whose engine is mysql, not postgres`,
      );
    });

    it('names the setting and the engine when a cluster is not Aurora PostgreSQL', async () => {
      const properties = propertiesFor(logical, 'postgres', { ...EXISTING, ...CLUSTER_PROPERTIES });
      rdsSaysCluster('available', 'in-sync', { Engine: 'aurora-mysql' });
      await expect(
        setup().onEvent(
          event('Update', properties, {
            PhysicalResourceId: 'id',
            OldResourceProperties: properties,
          }),
        ),
      ).rejects.toThrow(
        `database.existing.clusterIdentifier names Aurora cluster ${CLUSTER}, whose engine is aurora-mysql, not aurora-postgresql`,
      );
    });

    it('names the identifier and the region when the database does not exist', async () => {
      const region = process.env.AWS_REGION;
      process.env.AWS_REGION = 'eu-central-1';
      try {
        rds
          .on(DescribeDBInstancesCommand)
          .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
        await expect(
          setup().onEvent(event('Create', propertiesFor(logical, 'postgres', EXISTING))),
        ).rejects.toThrow(
          `RDS instance ${INSTANCE} (database.existing.instanceIdentifier) was not found in eu-central-1`,
        );
        rds
          .on(DescribeDBClustersCommand)
          .rejects(new DBClusterNotFoundFault({ message: 'not found', $metadata: {} }));
        await expect(
          setup().onEvent(
            event(
              'Create',
              propertiesFor(logical, 'postgres', { ...EXISTING, ...CLUSTER_PROPERTIES }),
            ),
          ),
        ).rejects.toThrow(
          `Aurora cluster ${CLUSTER} (database.existing.clusterIdentifier) was not found in eu-central-1`,
        );
      } finally {
        if (region === undefined) delete process.env.AWS_REGION;
        else process.env.AWS_REGION = region;
      }
    });
  });

  describe('Delete', () => {
    async function created(overrides: Partial<ReplicationSetupProperties> = {}) {
      const database = await logical.createDatabase('existing');
      const properties = propertiesFor(logical, database, { ...EXISTING, ...overrides });
      serveSecrets(logical, properties.User);
      const response = await setup().onEvent(event('Create', properties));
      const client = await logical.connect(database);
      expect(await objectsOf(client, properties)).toMatchObject({
        slot: 1,
        publication: 1,
        role: 1,
      });
      return {
        properties,
        client,
        deleteEvent: event('Delete', properties, {
          PhysicalResourceId: response.PhysicalResourceId,
        }),
        /** A real consumer streaming the slot, as Airbyte does. */
        consume: (): Promise<ChangeStream> =>
          openChangeStream({
            connection: logical.config(database),
            slot: { name: properties.SlotName },
            publicationName: properties.PublicationName,
          }),
      };
    }

    it('refuses, dropping nothing, while a consumer streams the slot', async () => {
      const { properties, client, deleteEvent, consume } = await created();
      const stream = await consume();
      try {
        const { rows } = await client.query<{ pid: number }>(
          'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1',
          [properties.SlotName],
        );
        await expect(setup().onEvent(deleteEvent)).rejects.toThrow(
          new RegExp(
            `Replication slot "${properties.SlotName}" on RDS instance ${INSTANCE} is in use by process ${rows[0].pid} from 127\\.0\\.0\\.1.*Nothing was dropped.*Pause or delete the Airbyte connection.*database\\.existing\\.dropActiveSlotOnDestroy`,
          ),
        );
        expect(await objectsOf(client, properties)).toMatchObject({
          slot: 1,
          publication: 1,
          role: 1,
        });
      } finally {
        await stream.stop();
      }
      // Once the consumer is gone, the same Delete drops what the stack created.
      await setup().onEvent(deleteEvent);
      expect(await objectsOf(client, properties)).toMatchObject({
        slot: 0,
        publication: 0,
        role: 0,
      });
    });

    it('drops slot, publication and role under a consumer when dropActiveSlotOnDelete says so', async () => {
      const { properties, client, deleteEvent, consume } = await created({
        DropActiveSlotOnDelete: 'true',
      });
      const stream = await consume();
      try {
        await setup().onEvent(deleteEvent);
      } finally {
        await stream.stop().catch(() => undefined);
      }
      expect(await objectsOf(client, properties)).toMatchObject({
        slot: 0,
        publication: 0,
        role: 0,
      });
    });

    it('is not blocked by an active slot of the same name in another database, and leaves it alone', async () => {
      const { properties, client, deleteEvent } = await created();
      // The stack's slot is gone; another database of the server now streams one of that name.
      await client.query('SELECT pg_drop_replication_slot($1)', [properties.SlotName]);
      const other = await logical.createDatabase('other');
      const otherClient = await logical.connect(other);
      await otherClient.query('CREATE PUBLICATION other_publication');
      const stream = await openChangeStream({
        connection: logical.config(other),
        slot: { name: properties.SlotName, temporary: true },
        publicationName: 'other_publication',
      });
      const otherSlot = () =>
        client.query<{ database: string; active: boolean }>(
          'SELECT database, active FROM pg_replication_slots WHERE slot_name = $1',
          [properties.SlotName],
        );
      try {
        expect((await otherSlot()).rows).toEqual([{ database: other, active: true }]);
        await setup().onEvent(deleteEvent);
        // What the stack made in its database is gone; the other database's slot still streams.
        expect(await objectsOf(client, properties)).toMatchObject({ publication: 0, role: 0 });
        expect((await otherSlot()).rows).toEqual([{ database: other, active: true }]);
      } finally {
        await stream.stop();
      }
    });

    it('never asks RDS about deletion protection: the stack never deletes the database', async () => {
      const { properties, client, deleteEvent } = await created();
      rds.reset();
      rdsSays('available', 'in-sync', true, { Engine: 'postgres' });
      await setup().onEvent(deleteEvent);
      expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
      expect(rds.calls()).toHaveLength(0);
      expect(await objectsOf(client, properties)).toMatchObject({
        slot: 0,
        publication: 0,
        role: 0,
      });
      // The data stays: it was there before the stack.
      expect(
        (await client.query('SELECT count(*)::int AS n FROM datastore.data_tbl')).rows[0].n,
      ).toBe(2);
    });

    it('fails with the SQL to run by hand when the database does not answer, whatever its removal policy', async () => {
      const port = await closedPort();
      const properties = propertiesFor(logical, 'postgres', {
        ...EXISTING,
        Port: String(port),
        RemovalPolicy: 'destroy',
      });
      serveSecrets(logical, properties.User);
      await expect(
        setup().onEvent(event('Delete', properties, { PhysicalResourceId: 'id' })),
      ).rejects.toThrow(
        new RegExp(
          `RDS instance ${INSTANCE} \\(status available\\) existed before this stack and outlives it.*SELECT pg_drop_replication_slot\\('${properties.SlotName}'\\); DROP PUBLICATION IF EXISTS "airbyte_publication"; DROP ROLE IF EXISTS "${properties.User}"`,
        ),
      );
    });
  });
});
