import { writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { rootCertificates } from 'tls';
import * as path from 'path';
import {
  DBInstanceNotFoundFault,
  DescribeDBInstancesCommand,
  RebootDBInstanceCommand,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import type { ReplicationSetupProperties } from '../../../src/contract/replication-setup';
import { findFreePort as closedPort } from '../../../src/local/free-port';
import { uniqueName, usePostgres } from '../../support/postgres';
import {
  event,
  INSTANCE,
  isCompleteEvent,
  MASTER_SECRET_ARN,
  propertiesFor,
  rds,
  rebootedOnto,
  rdsSays,
  REPLICATION_PASSWORD,
  secretsManager,
  serveSecrets,
  useReplicationSetupHandler,
} from './fixtures';

interface ReplicationState {
  slot?: { plugin: string; confirmed_flush_lsn: string };
  publicationTables: string[];
  roleExists: boolean;
}

async function stateOf(
  client: Client,
  properties: ReplicationSetupProperties,
): Promise<ReplicationState> {
  const slot = await client.query(
    'SELECT plugin, confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = $1',
    [properties.SlotName],
  );
  const publication = await client.query(
    'SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY tablename',
    [properties.PublicationName],
  );
  const role = await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [properties.User]);
  return {
    slot: slot.rows[0],
    publicationTables: publication.rows.map((row) => row.tablename),
    roleExists: role.rowCount === 1,
  };
}

describe('replication setup handler on a real PostgreSQL over verified TLS', () => {
  const pg = usePostgres({ ssl: true });
  // By default the instance is up and unprotected, as in dev.
  const setup = useReplicationSetupHandler(pg);

  async function freshDatabase(overrides: Partial<ReplicationSetupProperties> = {}) {
    const database = await pg.createDatabase('handler');
    const properties = propertiesFor(pg, database, overrides);
    serveSecrets(pg, properties.User);
    return { properties, client: await pg.connect(database) };
  }

  it('Create brings an empty database to the tutorial end state', async () => {
    const { properties, client } = await freshDatabase();
    const response = await setup().onEvent(event('Create', properties));
    expect(response.PhysicalResourceId).toBe(
      `${INSTANCE}/${properties.Database}/${properties.SlotName}/airbyte_publication`,
    );
    expect(response.Data).toMatchObject({ Status: 'ready', SlotName: properties.SlotName });
    const state = await stateOf(client, properties);
    expect(state.slot?.plugin).toBe('pgoutput');
    expect(state.publicationTables).toEqual(['data_tbl']);
    expect(state.roleExists).toBe(true);
    const rows = await client.query('SELECT id, val FROM datastore.data_tbl ORDER BY id');
    expect(rows.rows).toEqual([
      { id: '1', val: 'a' },
      { id: '2', val: 'b' },
    ]);
    // The user logs in with the password from its secret.
    const asUser = await pg.connect(properties.Database, {
      user: properties.User,
      password: REPLICATION_PASSWORD,
    });
    await expect(asUser.query('SELECT count(*) FROM datastore.data_tbl')).resolves.toBeDefined();
  });

  it('refuses a server whose certificate is not signed by the trusted CA', async () => {
    const { properties } = await freshDatabase();
    const otherCaPath = path.join(tmpdir(), `${uniqueName('other-ca')}.pem`);
    // A real CA that did not sign this server: the Node.js default store's first root will do.
    writeFileSync(otherCaPath, rootCertificates[0]);
    const trusted = process.env.NODE_EXTRA_CA_CERTS;
    process.env.NODE_EXTRA_CA_CERTS = otherCaPath;
    try {
      await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
        /TLS to 127\.0\.0\.1:\d+ failed verification/,
      );
    } finally {
      process.env.NODE_EXTRA_CA_CERTS = trusted;
    }
  });

  it('Update with a changed table list keeps the slot and its position', async () => {
    const { properties, client } = await freshDatabase();
    await setup().onEvent(event('Create', properties));
    await client.query('CREATE TABLE datastore.orders (id int PRIMARY KEY)');
    await client.query("INSERT INTO datastore.data_tbl VALUES (3, 'c')");
    const before = await stateOf(client, properties);
    const updated = {
      ...properties,
      Tables: JSON.stringify([
        { name: 'data_tbl', replicaIdentity: 'full' },
        { name: 'orders', replicaIdentity: 'default' },
      ]),
    };
    const response = await setup().onEvent(
      event('Update', updated, { PhysicalResourceId: 'old', OldResourceProperties: properties }),
    );
    expect(response.PhysicalResourceId).toBe(
      `${INSTANCE}/${properties.Database}/${properties.SlotName}/airbyte_publication`,
    );
    const after = await stateOf(client, updated);
    expect(after.publicationTables).toEqual(['data_tbl', 'orders']);
    expect(after.slot?.confirmed_flush_lsn).toBe(before.slot?.confirmed_flush_lsn);
    const identity = await client.query(
      "SELECT relreplident FROM pg_class WHERE oid = 'datastore.data_tbl'::regclass",
    );
    expect(identity.rows[0].relreplident).toBe('f');
  });

  it('Update with a renamed user creates the new one and drops the old one', async () => {
    const { properties, client } = await freshDatabase();
    await setup().onEvent(event('Create', properties));
    const renamed = { ...properties, User: uniqueName('airbyte_v2') };
    serveSecrets(pg, renamed.User);
    await setup().onEvent(
      event('Update', renamed, { PhysicalResourceId: 'id', OldResourceProperties: properties }),
    );
    expect((await stateOf(client, renamed)).roleExists).toBe(true);
    expect((await stateOf(client, properties)).roleExists).toBe(false);
    expect((await stateOf(client, renamed)).slot?.plugin).toBe('pgoutput');
  });

  it('renaming the slot is a replacement: the follow-up Delete drops only the old slot', async () => {
    // A publication name with a slash and a quote must not confuse the ownership bookkeeping.
    const { properties, client } = await freshDatabase({ PublicationName: 'cdc/pub "eu"' });
    const created = await setup().onEvent(event('Create', properties));
    const renamed = { ...properties, SlotName: uniqueName('airbyte_slot_v2') };
    const updated = await setup().onEvent(
      event('Update', renamed, {
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: properties,
      }),
    );
    expect(updated.PhysicalResourceId).not.toBe(created.PhysicalResourceId);
    // CloudFormation then deletes the old physical resource, with the old properties.
    await setup().onEvent(
      event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    expect((await stateOf(client, properties)).slot).toBeUndefined();
    const current = await stateOf(client, renamed);
    expect(current.slot?.plugin).toBe('pgoutput');
    expect(current.publicationTables).toEqual(['data_tbl']);
    expect(current.roleExists).toBe(true);
  });

  it('Delete refuses, dropping nothing, while the instance has deletion protection', async () => {
    const { properties, client } = await freshDatabase();
    const created = await setup().onEvent(event('Create', properties));
    rdsSays('available', 'in-sync', true);
    await expect(
      setup().onEvent(
        event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
      ),
    ).rejects.toThrow(/has deletion protection on.*Nothing was dropped.*--no-deletion-protection/s);
    expect((await stateOf(client, properties)).slot?.plugin).toBe('pgoutput');
    rdsSays('available', 'in-sync', false);
    await setup().onEvent(
      event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    expect((await stateOf(client, properties)).slot).toBeUndefined();
  });

  it('Delete removes slot, publication and user, keeps the data, and is fine twice', async () => {
    const { properties, client } = await freshDatabase();
    const created = await setup().onEvent(event('Create', properties));
    const deleteEvent = event('Delete', properties, {
      PhysicalResourceId: created.PhysicalResourceId,
    });
    await setup().onEvent(deleteEvent);
    await setup().onEvent(deleteEvent);
    expect(await stateOf(client, properties)).toEqual({
      slot: undefined,
      publicationTables: [],
      roleExists: false,
    });
    expect(
      (await client.query('SELECT count(*)::int AS n FROM datastore.data_tbl')).rows[0].n,
    ).toBe(2);
  });

  it('creates and publishes the heartbeat table, the only one the user may write', async () => {
    const { properties, client } = await freshDatabase({ HeartbeatTable: 'airbyte_heartbeat' });
    await setup().onEvent(event('Create', properties));
    expect((await stateOf(client, properties)).publicationTables).toEqual([
      'airbyte_heartbeat',
      'data_tbl',
    ]);
    const asUser = await pg.connect(properties.Database, {
      user: properties.User,
      password: REPLICATION_PASSWORD,
    });
    await asUser.query(
      'INSERT INTO datastore.airbyte_heartbeat (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET last_heartbeat = now()',
    );
    await expect(asUser.query("INSERT INTO datastore.data_tbl VALUES (9, 'x')")).rejects.toThrow(
      'permission denied',
    );
  });

  it('configures a role that existed before, and keeps it on Delete', async () => {
    const { properties, client } = await freshDatabase();
    await client.query(`CREATE ROLE ${client.escapeIdentifier(properties.User)} LOGIN`);
    const created = await setup().onEvent(event('Create', properties));
    const asUser = await pg.connect(properties.Database, {
      user: properties.User,
      password: REPLICATION_PASSWORD,
    });
    await expect(asUser.query('SELECT count(*) FROM datastore.data_tbl')).resolves.toBeDefined();
    await setup().onEvent(
      event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    const state = await stateOf(client, properties);
    expect(state).toEqual({ slot: undefined, publicationTables: [], roleExists: true });
  });

  it('names the missing table', async () => {
    const { properties } = await freshDatabase({
      Tables: JSON.stringify([{ name: 'no_such_table', replicaIdentity: 'default' }]),
      CreateDemoTable: 'false',
    });
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      '"datastore"."no_such_table" does not exist',
    );
  });

  it('publishes a partitioned table and a table identified by a unique index', async () => {
    const { properties, client } = await freshDatabase({
      Tables: JSON.stringify([
        { name: 'measurements', replicaIdentity: 'full' },
        { name: 'events', replicaIdentity: { index: 'events_code_key' } },
      ]),
      CreateDemoTable: 'false',
    });
    await client.query(`CREATE SCHEMA datastore;
      CREATE TABLE datastore.measurements (id int, region text) PARTITION BY LIST (region);
      CREATE TABLE datastore.measurements_eu PARTITION OF datastore.measurements FOR VALUES IN ('eu');
      CREATE TABLE datastore.events (code text NOT NULL, payload text);
      CREATE UNIQUE INDEX events_code_key ON datastore.events (code);`);
    await setup().onEvent(event('Create', properties));
    expect((await stateOf(client, properties)).publicationTables).toEqual([
      'events',
      'measurements',
    ]);
    const { rows } = await client.query(
      `SELECT relname, relreplident FROM pg_class
        WHERE relname IN ('measurements', 'measurements_eu', 'events') ORDER BY relname`,
    );
    expect(rows).toEqual([
      { relname: 'events', relreplident: 'i' },
      { relname: 'measurements', relreplident: 'f' },
      { relname: 'measurements_eu', relreplident: 'f' },
    ]);
  });

  it('names the table and index of an index identity PostgreSQL would refuse', async () => {
    const { properties, client } = await freshDatabase({
      Tables: JSON.stringify([{ name: 'events', replicaIdentity: { index: 'events_code_key' } }]),
      CreateDemoTable: 'false',
    });
    await client.query(`CREATE SCHEMA datastore;
      CREATE TABLE datastore.events (code text, payload text);
      CREATE UNIQUE INDEX events_code_key ON datastore.events (code);`);
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      '"datastore"."events" cannot use index "events_code_key" as its replica identity: column code is nullable',
    );
  });

  it('fails fast, naming host and port, when the database is unreachable', async () => {
    const port = await closedPort();
    const { properties } = await freshDatabase({ Port: String(port) });
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(`127.0.0.1:${port}`);
  });

  it('says which secret it could not read', async () => {
    const { properties } = await freshDatabase();
    secretsManager
      .on(GetSecretValueCommand, { SecretId: MASTER_SECRET_ARN })
      .rejects(new Error('AccessDeniedException'));
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      `Cannot read the master user secret ${MASTER_SECRET_ARN}: AccessDeniedException`,
    );
  });

  describe('Delete when the database does not answer', () => {
    async function unreachable(removalPolicy: string) {
      const port = await closedPort();
      const { properties } = await freshDatabase({
        Port: String(port),
        RemovalPolicy: removalPolicy,
      });
      return event('Delete', properties, { PhysicalResourceId: 'id' });
    }

    it('succeeds when the instance is gone', async () => {
      rds
        .on(DescribeDBInstancesCommand)
        .rejects(new DBInstanceNotFoundFault({ message: 'not found', $metadata: {} }));
      await expect(setup().onEvent(await unreachable('retain'))).resolves.toEqual({
        PhysicalResourceId: 'id',
      });
    });

    it('succeeds when the instance is destroyed with the stack', async () => {
      rdsSays('stopped', 'in-sync');
      await expect(setup().onEvent(await unreachable('destroy'))).resolves.toEqual({
        PhysicalResourceId: 'id',
      });
    });

    it('fails when a destroy-policy instance is protected: it would stay, with the slot', async () => {
      rdsSays('stopped', 'in-sync', true);
      await expect(setup().onEvent(await unreachable('destroy'))).rejects.toThrow(
        /deletion protection on.*pg_drop_replication_slot/,
      );
    });

    it('fails with what to do when the instance is retained', async () => {
      rdsSays('stopped', 'in-sync');
      await expect(setup().onEvent(await unreachable('retain'))).rejects.toThrow(
        /is kept after this stack.*an unread replication slot fills its disk.*pg_drop_replication_slot/,
      );
    });
  });
});

describe('replication setup handler when a step fails midway', () => {
  // One slot only, taken by someone else: the role and publication get created, then the slot
  // step fails, as it would on an RDS instance whose max_replication_slots is used up.
  const pg = usePostgres({ ssl: true, settings: { max_replication_slots: 1 } });
  const setup = useReplicationSetupHandler(pg);

  it('a failed Create removes what it created and keeps what was there', async () => {
    const database = await pg.createDatabase('failing');
    const properties = propertiesFor(pg, database);
    serveSecrets(pg, properties.User);
    const client = await pg.connect(database);
    await client.query(
      "SELECT pg_create_logical_replication_slot('someone_elses_slot', 'pgoutput')",
    );
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      /create logical replication slot.*all replication slots are in use/s,
    );
    expect(await stateOf(client, properties)).toEqual({
      slot: undefined,
      publicationTables: [],
      roleExists: false,
    });
    const other = await client.query(
      "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'someone_elses_slot'",
    );
    expect(other.rowCount).toBe(1);
    // The schema and the demo data stay: they are data, and a retry reuses them.
    expect(
      (await client.query('SELECT count(*)::int AS n FROM datastore.data_tbl')).rows[0].n,
    ).toBe(2);
  });
});

describe('replication setup handler when logical replication is not on yet', () => {
  const replica = usePostgres({ ssl: true, settings: { wal_level: 'replica' } });
  const logical = usePostgres({ ssl: true });
  // Each test says what RDS answers.
  const setup = useReplicationSetupHandler([replica, logical], { rdsAnswers: () => undefined });

  it('fails with the reboot command when the parameter group is pending-reboot', async () => {
    const properties = propertiesFor(replica, 'postgres');
    serveSecrets(replica, properties.User);
    rdsSays('available', 'pending-reboot');
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      `aws rds reboot-db-instance --db-instance-identifier ${INSTANCE}`,
    );
    expect(rds.commandCalls(RebootDBInstanceCommand)).toHaveLength(0);
  });

  it('says the parameter group lacks the setting when it is in sync', async () => {
    const properties = propertiesFor(replica, 'postgres');
    serveSecrets(replica, properties.User);
    rdsSays('available', 'in-sync');
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      'the group does not set rds.logical_replication=1',
    );
  });

  it('reboots when allowed, waits, then completes the setup', async () => {
    const properties = propertiesFor(replica, 'postgres', { RebootIfPending: 'true' });
    serveSecrets(replica, properties.User);
    rdsSays('available', 'pending-reboot');
    rds.on(RebootDBInstanceCommand).resolves({});
    const response = await setup().onEvent(event('Create', properties));
    expect(response.Data).toEqual({ Status: 'rebooting' });
    expect(rds.commandCalls(RebootDBInstanceCommand)[0].args[0].input).toEqual({
      DBInstanceIdentifier: INSTANCE,
    });

    const waiting = isCompleteEvent(properties, response);
    rdsSays('rebooting', 'pending-reboot');
    await expect(setup().isComplete(waiting)).resolves.toEqual({ IsComplete: false });

    // After the reboot the server has logical replication: the logical server plays that part.
    const rebooted = await rebootedOnto(logical, properties);
    rdsSays('available', 'in-sync');
    const done = await setup().isComplete({
      ...waiting,
      ResourceProperties: { ServiceToken: 't', ...rebooted },
    });
    expect(done).toMatchObject({
      IsComplete: true,
      Data: { Status: 'ready', SlotName: properties.SlotName },
    });
    const client = await logical.connect(rebooted.Database);
    expect((await stateOf(client, rebooted)).slot?.plugin).toBe('pgoutput');
  });

  describe('isComplete after the reboot, when connecting fails', () => {
    /** The isComplete of a reboot RDS says is over, for `overrides` on the logical server. */
    function afterReboot(overrides: Partial<ReplicationSetupProperties>) {
      const properties = propertiesFor(logical, 'postgres', overrides);
      serveSecrets(logical, properties.User);
      rdsSays('available', 'in-sync');
      return isCompleteEvent(properties, {
        PhysicalResourceId: 'id',
        Data: { Status: 'rebooting' },
      });
    }

    it('waits while nothing listens yet', async () => {
      const port = await closedPort();
      await expect(setup().isComplete(afterReboot({ Port: String(port) }))).resolves.toEqual({
        IsComplete: false,
      });
    });

    it.each([
      [
        'the database does not exist',
        { Database: 'no_such_database' },
        /Database "no_such_database" does not exist/,
      ],
      [
        'the host name does not resolve',
        { Host: 'db.example.invalid' },
        /Host db\.example\.invalid not found \(DNS\)/,
      ],
    ])('fails at once when %s: waiting would not help', async (_case, overrides, message) => {
      await expect(setup().isComplete(afterReboot(overrides))).rejects.toThrow(message);
    });

    it('fails at once when the certificate is not trusted', async () => {
      const otherCaPath = path.join(tmpdir(), `${uniqueName('other-ca')}.pem`);
      writeFileSync(otherCaPath, rootCertificates[0]);
      const trusted = process.env.NODE_EXTRA_CA_CERTS;
      process.env.NODE_EXTRA_CA_CERTS = otherCaPath;
      try {
        await expect(setup().isComplete(afterReboot({}))).rejects.toThrow(
          /TLS to 127\.0\.0\.1:\d+ failed verification/,
        );
      } finally {
        process.env.NODE_EXTRA_CA_CERTS = trusted;
      }
    });
  });
});
