/**
 * One pipeline over several schemas, as cdk.json's `analytics` environment configures it: schema
 * "sales" lists its tables (a partitioned one, one identified by a unique index), schema "crm" is
 * published whole. Set up on a real PostgreSQL, as its superuser and as an RDS-like master.
 */
import type { Client } from 'pg';
import {
  desiredStateFromConfig,
  readCatalog,
  setupReplication,
  TABLES_IN_SCHEMA_VERSION,
  teardownReplication,
  type DesiredReplicationState,
} from '../../../src/replication';
import { runDoctor } from '../../../src/doctor';
import { replicationConfig, superuserConnection } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';
import { ANALYTICS_TABLES_SQL } from '../../support/analytics';
import { createRdsLikeDatabase } from '../../support/rds-like';
import { CDK_JSON_ENVIRONMENTS } from '../../support/stacks';
import { serverVersionOf } from './fixtures';

const pg = usePostgres();
const PASSWORD = 'Several-Schemas-1';

/** The `analytics` environment's replication section, with cluster-unique user and slot. */
const analytics = () =>
  replicationConfig({ ...CDK_JSON_ENVIRONMENTS.analytics.replication, createDemoTable: false });

/** Exactly what the environment publishes: sales' listed tables and heartbeat, all of crm. */
const EXPECTED_PUBLISHED = [
  'crm.customers',
  'crm.notes',
  'sales.airbyte_heartbeat',
  'sales.events',
  'sales.measurements',
  'sales.orders',
];

/** What the publication publishes, as PostgreSQL resolves it (schemas and partitions included). */
async function published(client: Client, publication: string): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `SELECT schemaname || '.' || tablename AS name FROM pg_publication_tables
      WHERE pubname = $1 ORDER BY 1`,
    [publication],
  );
  return rows.map((row) => row.name);
}

/** The schemas the publication holds whole (15+); none on 14. */
async function wholeSchemas(client: Client, publication: string): Promise<string[]> {
  if ((await serverVersionOf(client)) < TABLES_IN_SCHEMA_VERSION) return [];
  const { rows } = await client.query<{ name: string }>(
    `SELECT n.nspname AS name FROM pg_publication_namespace pn
       JOIN pg_publication p ON p.oid = pn.pnpubid JOIN pg_namespace n ON n.oid = pn.pnnspid
      WHERE p.pubname = $1 ORDER BY 1`,
    [publication],
  );
  return rows.map((row) => row.name);
}

/** Whether `user` may SELECT `table` (schema USAGE included). */
async function canSelect(client: Client, user: string, table: string): Promise<boolean> {
  const { rows } = await client.query<{ allowed: boolean }>(
    `SELECT has_schema_privilege($1, split_part($2, '.', 1), 'USAGE')
        AND has_table_privilege($1, $2, 'SELECT') AS allowed`,
    [user, table],
  );
  return rows[0].allowed;
}

const identityOf = async (client: Client, table: string): Promise<string> =>
  (
    await client.query<{ identity: string }>(
      'SELECT relreplident AS identity FROM pg_class WHERE oid = $1::regclass',
      [table],
    )
  ).rows[0].identity;

describe('several schemas, as the superuser', () => {
  let admin: Client;
  let database: string;
  let config: ReturnType<typeof analytics>;
  let desired: DesiredReplicationState;

  beforeEach(async () => {
    database = await pg.createDatabase('schemas');
    admin = await pg.connect(database);
    await admin.query(ANALYTICS_TABLES_SQL);
    config = analytics();
    desired = desiredStateFromConfig(config, PASSWORD);
  });

  it('publishes exactly the listed tables of one schema and every table of the other', async () => {
    await setupReplication(admin, desired);
    expect(await published(admin, desired.publicationName)).toEqual(EXPECTED_PUBLISHED);
    const wholeSchemaPublished = (await serverVersionOf(admin)) >= TABLES_IN_SCHEMA_VERSION;
    expect(await wholeSchemas(admin, desired.publicationName)).toEqual(
      wholeSchemaPublished ? ['crm'] : [],
    );
    // Identities on each table in its own schema, the partitions included.
    expect(await identityOf(admin, 'sales.events')).toBe('i');
    expect(await identityOf(admin, 'sales.measurements_eu')).toBe('d');
    for (const table of EXPECTED_PUBLISHED) {
      expect([table, await canSelect(admin, desired.user, table)]).toEqual([table, true]);
    }
    expect(await setupReplication(admin, desired)).toEqual([]);
  });

  it('grants each schema once, in one statement for both', async () => {
    const steps = await setupReplication(admin, desired);
    const sql = (kind: string) => steps.filter((step) => step.kind === kind).map((s) => s.sql);
    expect(sql('grant-schema-usage')).toEqual([
      `GRANT USAGE ON SCHEMA "sales", "crm" TO "${desired.user}"`,
    ]);
    expect(sql('grant-select')).toEqual([
      `GRANT SELECT ON ALL TABLES IN SCHEMA "sales", "crm" TO "${desired.user}"`,
    ]);
    expect(sql('grant-default-select')).toHaveLength(1);
    expect(sql('grant-default-select')[0]).toContain('IN SCHEMA "sales", "crm" GRANT SELECT');
  });

  it('publishes a table created later in the whole schema: at once on 15+, at the next setup on 14', async () => {
    await setupReplication(admin, desired);
    await admin.query('CREATE TABLE crm.leads (id bigint PRIMARY KEY)');
    await admin.query('CREATE TABLE sales.invoices (id bigint PRIMARY KEY)');
    const wholeSchemaPublished = (await serverVersionOf(admin)) >= TABLES_IN_SCHEMA_VERSION;
    const withLeads = [...EXPECTED_PUBLISHED, 'crm.leads'].sort();
    expect(await published(admin, desired.publicationName)).toEqual(
      wholeSchemaPublished ? withLeads : EXPECTED_PUBLISHED,
    );
    expect((await setupReplication(admin, desired)).map((step) => step.kind)).toEqual(
      wholeSchemaPublished ? [] : ['set-publication-tables'],
    );
    // The listed schema's new table stays out: only "crm" is published whole.
    expect(await published(admin, desired.publicationName)).toEqual(withLeads);
  });

  it('creates a whole schema that does not exist yet, and publishes what it later holds', async () => {
    const config = replicationConfig({
      schemas: { sales: ['orders'], staging_area: '*' },
      createDemoTable: false,
    });
    const fresh = desiredStateFromConfig(config, PASSWORD);
    const steps = await setupReplication(admin, fresh);
    expect(steps.filter((step) => step.kind === 'create-schema').map((step) => step.sql)).toEqual([
      'CREATE SCHEMA IF NOT EXISTS "staging_area"',
    ]);
    await admin.query('CREATE TABLE staging_area.batches (id bigint PRIMARY KEY)');
    await setupReplication(admin, fresh);
    expect(await published(admin, fresh.publicationName)).toEqual([
      'sales.airbyte_heartbeat',
      'sales.orders',
      'staging_area.batches',
    ]);
  });

  it('moves the publication in one statement when a schema leaves the config', async () => {
    await setupReplication(admin, desired);
    const salesOnly = desiredStateFromConfig(
      {
        ...config,
        schemas: [{ name: 'sales', tables: [{ name: 'orders', replicaIdentity: 'default' }] }],
      },
      PASSWORD,
    );
    const steps = await setupReplication(admin, salesOnly);
    expect(steps.filter((step) => step.kind === 'set-publication-tables')).toHaveLength(1);
    expect(await published(admin, desired.publicationName)).toEqual([
      'sales.airbyte_heartbeat',
      'sales.orders',
    ]);
  });

  it('is judged by the doctor: all pass but TOAST, which warns for the tables it should', async () => {
    await setupReplication(admin, desired);
    const report = await runDoctor({
      connection: superuserConnection(pg, database),
      replication: config,
      replicationPassword: PASSWORD,
      slotLagWarnBytes: 1024 ** 3,
    });
    const notPassing = report.checks
      .filter((check) => check.status !== 'pass' && check.status !== 'skip')
      .map((check) => [check.id, check.status]);
    expect(notPassing).toEqual([['toast', 'warn']]);
    const toast = report.checks.find((check) => check.id === 'toast');
    // Every published table with a TOAST-able column outside its identity, in its own schema.
    for (const table of ['"crm"."customers" (name)', '"crm"."notes" (body)', '"sales"."events"']) {
      expect(toast?.detail).toContain(table);
    }
    expect(toast?.detail).not.toContain('refunds');
    const publication = report.checks.find((check) => check.id === 'publication-tables');
    expect(publication?.status).toBe('pass');
  });

  it('tears down the default privileges it gave in every schema', async () => {
    await setupReplication(admin, desired);
    await teardownReplication(admin, desired);
    const { rows } = await admin.query(
      `SELECT 1 FROM pg_default_acl d, aclexplode(d.defaclacl) a
        JOIN pg_roles r ON r.oid = a.grantee WHERE r.rolname = $1`,
      [desired.user],
    );
    expect(rows).toEqual([]);
    const catalog = await readCatalog(admin, desired);
    expect(catalog.role).toBeUndefined();
    expect(catalog.publication).toBeUndefined();
  });
});

describe('several schemas, as an RDS-like master (no superuser)', () => {
  it('lists every table of the whole schema, and the default privileges reach its new tables', async () => {
    const rds = await createRdsLikeDatabase(pg);
    await rds.client.query(ANALYTICS_TABLES_SQL);
    const desired = desiredStateFromConfig(analytics(), PASSWORD);
    await setupReplication(rds.client, desired);
    expect(await published(rds.client, desired.publicationName)).toEqual(EXPECTED_PUBLISHED);
    expect(await wholeSchemas(rds.client, desired.publicationName)).toEqual([]);

    // The master's next table in "crm" is readable at once; the next setup publishes it.
    await rds.client.query('CREATE TABLE crm.leads (id bigint PRIMARY KEY)');
    expect(await canSelect(rds.client, desired.user, 'crm.leads')).toBe(true);
    expect((await setupReplication(rds.client, desired)).map((step) => step.kind)).toEqual([
      'set-publication-tables',
    ]);
    expect(await published(rds.client, desired.publicationName)).toEqual(
      [...EXPECTED_PUBLISHED, 'crm.leads'].sort(),
    );
    expect(await setupReplication(rds.client, desired)).toEqual([]);
    await teardownReplication(rds.client, desired);
  });
});
