import type { Client } from 'pg';
import { runDoctor, type DoctorReport } from '../../../src/doctor';
import {
  desiredStateFromConfig,
  setupReplication,
  TABLES_IN_SCHEMA_VERSION,
} from '../../../src/replication';
import { applyFixStatements, replicationConfig, superuserConnection } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';
import { serverVersionOf } from './fixtures';

const pg = usePostgres();
const PASSWORD = 'Whole-Schema-1';

/** `replication.tables: "*"` over a schema with a table, a partitioned table and a heartbeat. */
async function wholeSchemaDatabase(): Promise<{
  database: string;
  admin: Client;
  replication: ReturnType<typeof replicationConfig>;
}> {
  const database = await pg.createDatabase('whole');
  const admin = await pg.connect(database);
  await admin.query(`CREATE SCHEMA datastore;
    CREATE TABLE datastore.orders (id bigint PRIMARY KEY);
    CREATE TABLE datastore.readings (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
    CREATE TABLE datastore.readings_eu PARTITION OF datastore.readings FOR VALUES IN ('eu');`);
  const replication = replicationConfig({
    tables: '*',
    createDemoTable: false,
    heartbeatTable: 'heartbeat',
  });
  await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
  return { database, admin, replication };
}

/** What the publication publishes, as PostgreSQL resolves it (schemas and partitions included). */
async function publishedTables(admin: Client, publication: string): Promise<string[]> {
  const { rows } = await admin.query<{ tablename: string }>(
    'SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY tablename',
    [publication],
  );
  return rows.map((row) => row.tablename);
}

function doctorOn(
  database: string,
  replication: ReturnType<typeof replicationConfig>,
): Promise<DoctorReport> {
  return runDoctor({
    connection: superuserConnection(pg, database),
    replication,
    replicationPassword: PASSWORD,
    slotLagWarnBytes: 1024 ** 3,
  });
}

const publicationCheck = (report: DoctorReport) =>
  report.checks.find((check) => check.id === 'publication-tables');

describe('replication.tables "*"', () => {
  it('publishes every table of the schema, the partitioned one via its root, the heartbeat too; a re-run plans nothing', async () => {
    const { database, admin, replication } = await wholeSchemaDatabase();
    expect(await publishedTables(admin, replication.publicationName)).toEqual([
      'heartbeat',
      'orders',
      'readings',
    ]);
    const desired = desiredStateFromConfig(replication, PASSWORD);
    expect(await setupReplication(admin, desired, { dryRun: true })).toEqual([]);
    const report = await doctorOn(database, replication);
    expect(publicationCheck(report)?.status).toBe('pass');
  });

  it('on 15 and later publishes a table created after the setup without another run; on 14 the doctor lists it with the fix', async () => {
    const { database, admin, replication } = await wholeSchemaDatabase();
    await admin.query('CREATE TABLE datastore.invoices (id bigint PRIMARY KEY)');
    const published = await publishedTables(admin, replication.publicationName);
    if ((await serverVersionOf(admin)) >= TABLES_IN_SCHEMA_VERSION) {
      expect(published).toContain('invoices');
      expect(publicationCheck(await doctorOn(database, replication))?.status).toBe('pass');
      return;
    }
    expect(published).not.toContain('invoices');
    const check = publicationCheck(await doctorOn(database, replication));
    expect(check?.status).toBe('warn');
    expect(check?.detail).toContain('not published: "datastore"."invoices"');
    expect(check?.fix?.notes.join(' ')).toContain('Deploy again');
    // The statement it prints is the setup's own: run as printed, the table is published.
    await applyFixStatements(pg, database, check?.fix?.sql ?? [], PASSWORD);
    expect(await publishedTables(admin, replication.publicationName)).toContain('invoices');
    expect(publicationCheck(await doctorOn(database, replication))?.status).toBe('pass');
  });

  it('the doctor flags a table created later without primary key under identity default', async () => {
    const { database, admin, replication } = await wholeSchemaDatabase();
    await admin.query('CREATE TABLE datastore.audit_log (line text)');
    const tables = (await doctorOn(database, replication)).checks.find(
      (check) => check.id === 'tables',
    );
    expect(tables?.status).toBe('fail');
    expect(tables?.detail).toContain(
      '"datastore"."audit_log" has no primary key and REPLICA IDENTITY DEFAULT',
    );
  });

  it('switches a publication with a table list to the whole schema, and back', async () => {
    const { database, admin, replication } = await wholeSchemaDatabase();
    const listed = {
      ...replication,
      schemas: [
        { name: 'datastore', tables: [{ name: 'orders', replicaIdentity: 'default' as const }] },
      ],
    };
    await setupReplication(admin, desiredStateFromConfig(listed, PASSWORD));
    expect(await publishedTables(admin, replication.publicationName)).toEqual([
      'heartbeat',
      'orders',
    ]);
    // The doctor, judging the list against "*", offers the setup's own statement.
    const check = publicationCheck(await doctorOn(database, replication));
    const wholeSchemaPublished = (await serverVersionOf(admin)) >= TABLES_IN_SCHEMA_VERSION;
    expect(check?.status).toBe(wholeSchemaPublished ? 'fail' : 'warn');
    expect(check?.fix?.sql.map((statement) => statement.sql).join(' ')).toContain(
      wholeSchemaPublished ? 'SET TABLES IN SCHEMA "datastore"' : 'SET TABLE',
    );
    await admin.query('CREATE TABLE datastore.invoices (id bigint PRIMARY KEY)');
    await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
    expect(await publishedTables(admin, replication.publicationName)).toEqual([
      'heartbeat',
      'invoices',
      'orders',
      'readings',
    ]);
    await setupReplication(admin, desiredStateFromConfig(listed, PASSWORD));
    expect(await publishedTables(admin, replication.publicationName)).toEqual([
      'heartbeat',
      'orders',
    ]);
  });
});
