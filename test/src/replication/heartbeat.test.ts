import { buildSourceConfiguration } from '../../../src/airbyte/bodies';
import { parseEnvironment } from '../../../src/config';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import { heartbeatUpsertSql } from '../../../src/replication/heartbeat';
import { qualifiedName } from '../../../src/replication/names';
import { heartbeatQueryOf, targetFor } from '../airbyte/fixtures';
import { ANALYTICS_TABLES_SQL } from '../../support/analytics';
import { uniqueName, usePostgres } from '../../support/postgres';
import { CDK_JSON_ENVIRONMENTS } from '../../support/stacks';
import { streamSlot, tutorialState } from './fixtures';

const pg = usePostgres();

describe('heartbeatUpsertSql on a real PostgreSQL', () => {
  it('runs as the replication user, repeatedly, and each run is a change on the slot', async () => {
    const database = await pg.createDatabase();
    const admin = await pg.connect(database);
    // A schema name that needs quoting, as config allows.
    const desired = tutorialState({ schema: 'Sales "EU"', heartbeatTable: 'airbyte_heartbeat' });
    await setupReplication(admin, desired);
    const userConfig = { ...pg.config(database), user: desired.user, password: desired.password };
    const user = await pg.connect(database, { user: desired.user, password: desired.password });
    const stream = await streamSlot(userConfig, desired.slotName, desired.publicationName);
    try {
      const query = heartbeatUpsertSql(desired.schema, 'airbyte_heartbeat');
      await user.query(query);
      await user.query(query);

      const changes = await stream.waitForChanges(2, 20_000);
      expect(
        changes.map((change) => `${change.tag} ${change.relation.schema}.${change.relation.name}`),
      ).toEqual(['insert Sales "EU".airbyte_heartbeat', 'update Sales "EU".airbyte_heartbeat']);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS count FROM "Sales ""EU""".airbyte_heartbeat`,
      );
      expect(rows[0].count).toBe(1);
    } finally {
      await stream.stop();
    }
  });
});

/**
 * Before the setup, as each cdk.json environment expects its database: the tables it lists that
 * the setup does not create (dev's demo table it does).
 */
const APPLICATION_TABLES_SQL: Record<string, string> = {
  dev: '',
  staging: 'CREATE SCHEMA datastore; CREATE TABLE datastore.data_tbl (id bigint PRIMARY KEY)',
  prod: 'CREATE SCHEMA datastore; CREATE TABLE datastore.data_tbl (id bigint PRIMARY KEY)',
  analytics: ANALYTICS_TABLES_SQL,
  aurora: '',
  // The database the stack attaches to already holds the application's tables.
  existing:
    'CREATE TABLE public.orders (id bigint PRIMARY KEY); CREATE TABLE public.customers (id bigint PRIMARY KEY)',
};

describe('the heartbeat of every cdk.json environment, set up on a real PostgreSQL', () => {
  it('covers every environment cdk.json defines', () => {
    expect(Object.keys(APPLICATION_TABLES_SQL).sort()).toEqual(
      Object.keys(CDK_JSON_ENVIRONMENTS).sort(),
    );
  });

  it.each(Object.entries(APPLICATION_TABLES_SQL))(
    '%s: the table exists, is published and is all the user may write; the source body writes it',
    async (name, applicationTablesSql) => {
      const database = await pg.createDatabase(name);
      const admin = await pg.connect(database);
      await admin.query(applicationTablesSql);
      const raw = CDK_JSON_ENVIRONMENTS[name];
      // Roles and slots are cluster-wide: names of this test's own.
      const environment = {
        ...raw,
        database: { ...raw.database, databaseName: database },
        replication: {
          ...raw.replication,
          user: uniqueName('airbyte'),
          slotName: uniqueName('airbyte_slot'),
        },
      };
      const { replication } = parseEnvironment(name, environment);
      const desired = desiredStateFromConfig(replication, 'Heartbeat-Secret-1');
      await setupReplication(admin, desired);
      const heartbeat = `${replication.schema}.airbyte_heartbeat`;

      const { rows: published } = await admin.query<{ name: string }>(
        `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables WHERE pubname = $1`,
        [replication.publicationName],
      );
      expect(published.map((row) => row.name)).toContain(heartbeat);
      const { rows: writable } = await admin.query<{ name: string }>(
        `SELECT n.nspname || '.' || c.relname AS name FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND has_table_privilege($2, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')`,
        [replication.schemas.map((schema) => schema.name), replication.user],
      );
      expect(writable.map((row) => row.name)).toEqual([heartbeat]);

      const query = heartbeatQueryOf(buildSourceConfiguration(targetFor(name, environment)));
      const user = await pg.connect(database, { user: desired.user, password: desired.password });
      await user.query(query);
      await user.query(query);
      const { rows } = await admin.query<{ count: number }>(
        `SELECT count(*)::int AS count FROM ${qualifiedName(replication.schema, 'airbyte_heartbeat')}`,
      );
      expect(rows[0].count).toBe(1);
    },
  );
});
