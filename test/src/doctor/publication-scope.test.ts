import { escapeIdentifier, escapeLiteral, type Client } from 'pg';
import {
  exitCodeOf,
  runDoctor,
  type CheckId,
  type CheckStatus,
  type DoctorReport,
  type FixStatement,
} from '../../../src/doctor';
import type { EnvironmentConfig } from '../../../src/config';
import {
  desiredStateFromConfig,
  setupReplication,
  TABLES_IN_SCHEMA_VERSION,
} from '../../../src/replication';
import { applyFixStatements, replicationConfig } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';
import { createRdsLikeDatabase } from '../../support/rds-like';
import { serverVersionOf } from '../replication/fixtures';

const pg = usePostgres();
const PASSWORD = 'Doctor-Secret-1';

interface Fixture {
  readonly database: string;
  /** Connected as the role that ran the setup (the test server's superuser unless `master`). */
  readonly admin: Client;
  readonly replication: EnvironmentConfig['replication'];
  /** The non-superuser master user the setup ran as, and the doctor connects as. */
  readonly master?: { readonly user: string; readonly password: string };
}

/**
 * A partitioned table (FULL) and a keyless table with index identity, set up as deployed; no
 * column of the latter is TOAST-able, so the TOAST check has nothing to say.
 */
async function deployed(): Promise<Fixture> {
  const database = await pg.createDatabase('doctor_scope');
  const admin = await pg.connect(database);
  await admin.query(`CREATE SCHEMA datastore;
    CREATE TABLE datastore.measurements (id int, region text) PARTITION BY LIST (region);
    CREATE TABLE datastore.measurements_eu PARTITION OF datastore.measurements FOR VALUES IN ('eu');
    CREATE TABLE datastore.measurements_us PARTITION OF datastore.measurements FOR VALUES IN ('us');
    CREATE TABLE datastore.events (code int NOT NULL, payload int);
    CREATE UNIQUE INDEX events_code_key ON datastore.events (code);`);
  const replication = replicationConfig({
    createDemoTable: false,
    tables: [
      { name: 'measurements', replicaIdentity: 'full' },
      { name: 'events', replicaIdentity: { index: 'events_code_key' } },
    ],
  });
  await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
  return { database, admin, replication };
}

function doctor(fixture: Fixture): Promise<DoctorReport> {
  const { server } = pg;
  return runDoctor({
    connection: {
      host: server.host,
      port: server.port,
      user: fixture.master?.user ?? server.user,
      password: fixture.master?.password ?? server.password,
      database: fixture.database,
      tls: { mode: 'disable' },
    },
    replication: fixture.replication,
    replicationPassword: PASSWORD,
    slotLagWarnBytes: 1024 ** 3,
  });
}

const withStatus = (report: DoctorReport, status: CheckStatus): string[] =>
  report.checks.filter((check) => check.status === status).map((check) => check.id);

function check(report: DoctorReport, id: CheckId) {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no check ${id} in the report`);
  return found;
}

/** The statements printed under every ❌ and ⚠️. */
const printedFixes = (report: DoctorReport): FixStatement[] =>
  report.checks.filter((c) => c.status !== 'pass').flatMap((c) => c.fix?.sql ?? []);

/** Plain PostgreSQL on 127.0.0.1 without TLS: these two do not apply, everything else passes. */
function expectHealthy(report: DoctorReport): void {
  expect(withStatus(report, 'fail')).toEqual([]);
  expect(withStatus(report, 'warn')).toEqual([]);
  expect(withStatus(report, 'skip')).toEqual(['rds-logical-replication', 'ssl']);
  expect(exitCodeOf(report)).toBe(0);
}

async function expectRepairedByPrintedFix(fixture: Fixture, report: DoctorReport): Promise<void> {
  await applyFixStatements(pg, fixture.database, printedFixes(report), PASSWORD);
  expectHealthy(await doctor(fixture));
}

describe('the doctor on partitioned tables and index identities', () => {
  it('passes on what the setup made, naming the identity index', async () => {
    const report = await doctor(await deployed());
    expectHealthy(report);
    expect(check(report, 'partitions').detail).toBe('"datastore"."measurements" (2 partition(s))');
    expect(check(report, 'tables').detail).toContain(
      '"datastore"."events" (no primary key, USING INDEX "events_code_key")',
    );
  });

  it('fails for a partition created after the deploy, and its fix sets the identity', async () => {
    const fixture = await deployed();
    await fixture.admin.query(
      "CREATE TABLE datastore.measurements_ap PARTITION OF datastore.measurements FOR VALUES IN ('ap')",
    );
    const report = await doctor(fixture);
    expect(withStatus(report, 'fail')).toEqual(['partitions']);
    expect(check(report, 'partitions').detail).toBe(
      'partition "datastore"."measurements_ap" of "datastore"."measurements" has REPLICA IDENTITY DEFAULT, not FULL (created after the last deploy?)',
    );
    expect(check(report, 'partitions').fix?.sql.map((fix) => fix.sql)).toEqual([
      'ALTER TABLE "datastore"."measurements_ap" REPLICA IDENTITY FULL;',
    ]);
    await expectRepairedByPrintedFix(fixture, report);
  });

  it('fails when the publication does not publish via the partition root', async () => {
    const fixture = await deployed();
    await fixture.admin.query(
      `ALTER PUBLICATION ${fixture.replication.publicationName} SET (publish_via_partition_root = false)`,
    );
    const report = await doctor(fixture);
    expect(withStatus(report, 'fail')).toEqual(['partitions']);
    expect(check(report, 'partitions').detail).toContain('publish_via_partition_root off');
    await expectRepairedByPrintedFix(fixture, report);
  });

  it('warns when an index-identity table uses another identity, and its fix restores the index', async () => {
    const fixture = await deployed();
    await fixture.admin.query('ALTER TABLE datastore.events REPLICA IDENTITY FULL');
    const report = await doctor(fixture);
    expect(withStatus(report, 'warn')).toEqual(['tables']);
    expect(check(report, 'tables').detail).toBe(
      '"datastore"."events" has REPLICA IDENTITY FULL, the configuration says USING INDEX "events_code_key"',
    );
    await expectRepairedByPrintedFix(fixture, report);
  });
});

/** "sales" publishes its listed table, "crm" every table ("*"); sales.drafts is not published. */
const TWO_SCHEMAS_DDL = `CREATE SCHEMA sales;
  CREATE TABLE sales.orders (id bigint PRIMARY KEY);
  CREATE TABLE sales.drafts (id bigint PRIMARY KEY);
  CREATE SCHEMA crm;
  CREATE TABLE crm.contacts (id bigint PRIMARY KEY);`;

const twoSchemasConfig = (): EnvironmentConfig['replication'] =>
  replicationConfig({
    createDemoTable: false,
    schemas: { sales: ['orders'], crm: '*' },
  });

/** Two schemas set up by the real setup, as the test server's superuser. */
async function deployedTwoSchemas(): Promise<Fixture> {
  const database = await pg.createDatabase('doctor_schemas');
  const admin = await pg.connect(database);
  await admin.query(TWO_SCHEMAS_DDL);
  const replication = twoSchemasConfig();
  await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
  return { database, admin, replication };
}

/**
 * Two schemas set up by a master user that is no superuser, as on RDS (without rds_replication,
 * so that no cluster-wide role changes the other tests): PostgreSQL then lets it publish no
 * schema whole, and the publication lists crm's tables.
 */
async function deployedTwoSchemasAsMaster(): Promise<Fixture> {
  const { database, master, masterPassword, client } = await createRdsLikeDatabase(pg, {
    rdsReplication: false,
  });
  await client.query(TWO_SCHEMAS_DDL);
  const replication = twoSchemasConfig();
  if ((await serverVersionOf(client)) < 160000) {
    // Before 16 only a superuser gives the REPLICATION attribute: done once, as on RDS's docs.
    const superuser = await pg.connect();
    await superuser.query(
      `CREATE ROLE ${escapeIdentifier(replication.user)} WITH LOGIN REPLICATION PASSWORD ${escapeLiteral(PASSWORD)}`,
    );
  }
  await setupReplication(client, desiredStateFromConfig(replication, PASSWORD));
  return {
    database,
    admin: client,
    replication,
    master: { user: master, password: masterPassword },
  };
}

/** Tables created after the deploy: one in the whole schema, one in the listed schema. */
const createTablesLater = (fixture: Fixture) =>
  fixture.admin.query(`CREATE TABLE crm.leads (id bigint PRIMARY KEY);
    CREATE TABLE sales.quotes (id bigint PRIMARY KEY);`);

describe('the doctor on two schemas, one listed and one whole', () => {
  it('passes on what the setup made; a table created later in the whole schema is published on 15+ as superuser, else reported', async () => {
    const fixture = await deployedTwoSchemas();
    const report = await doctor(fixture);
    expectHealthy(report);
    expect(check(report, 'publication-tables').title).toBe(
      `publication "${fixture.replication.publicationName}" holds every table of schema "crm" and the configured tables of schema "sales"`,
    );
    const wholeSchemaPublished = (await serverVersionOf(fixture.admin)) >= TABLES_IN_SCHEMA_VERSION;
    expect(check(report, 'publication-tables').detail).toBe(
      wholeSchemaPublished
        ? 'every table in schema "crm" (FOR TABLES IN SCHEMA), "sales"."orders", "sales"."airbyte_heartbeat"'
        : '"sales"."orders", "crm"."contacts", "sales"."airbyte_heartbeat"',
    );

    await createTablesLater(fixture);
    const later = await doctor(fixture);
    if (wholeSchemaPublished) {
      expectHealthy(later);
      return;
    }
    expect(withStatus(later, 'warn')).toEqual(['publication-tables']);
    expect(check(later, 'publication-tables').detail).toBe(
      'not published: "crm"."leads" (created in schema "crm" since the last deploy; the publication lists the tables that existed then, as FOR TABLES IN SCHEMA needs PostgreSQL 15 (this is 14))',
    );
    await expectRepairedByPrintedFix(fixture, later);
  });

  it('as a master user that is no superuser: reports the table created later in the whole schema only, and its fix publishes it', async () => {
    const fixture = await deployedTwoSchemasAsMaster();
    expectHealthy(await doctor(fixture));

    await createTablesLater(fixture);
    const report = await doctor(fixture);
    expect(withStatus(report, 'fail')).toEqual([]);
    expect(withStatus(report, 'warn')).toEqual(['publication-tables']);
    const why =
      (await serverVersionOf(fixture.admin)) < TABLES_IN_SCHEMA_VERSION
        ? 'needs PostgreSQL 15 (this is 14)'
        : `needs a superuser, which "${fixture.master?.user}" is not`;
    // sales.quotes is not configured: the listed schema publishes only its list.
    expect(check(report, 'publication-tables').detail).toBe(
      `not published: "crm"."leads" (created in schema "crm" since the last deploy; the publication lists the tables that existed then, as FOR TABLES IN SCHEMA ${why})`,
    );
    expect(check(report, 'publication-tables').fix?.notes).toContain(
      'Deploy again (or run the statement below): the setup publishes every table the schema has at that time. PostgreSQL 15 and later publish new tables by themselves.',
    );
    await expectRepairedByPrintedFix(fixture, report);
  });

  it('names the second schema when the user lacks USAGE on it, and the fix grants just that', async () => {
    const fixture = await deployedTwoSchemas();
    const user = escapeIdentifier(fixture.replication.user);
    await fixture.admin.query(`REVOKE USAGE ON SCHEMA crm FROM ${user}`);
    const report = await doctor(fixture);
    expect(withStatus(report, 'fail')).toEqual(['user-select']);
    const select = check(report, 'user-select');
    expect(select.title).toBe(
      `"${fixture.replication.user}" has USAGE on "sales", "crm" and SELECT on every published table`,
    );
    expect(select.detail).toBe('no USAGE on schema "crm"');
    expect(select.fix?.sql).toEqual([{ sql: `GRANT USAGE ON SCHEMA "crm" TO ${user};` }]);
    await expectRepairedByPrintedFix(fixture, report);
  });

  it('names a write privilege on a table of the second schema, and revokes it there', async () => {
    const fixture = await deployedTwoSchemas();
    const user = escapeIdentifier(fixture.replication.user);
    await fixture.admin.query(`GRANT INSERT ON crm.contacts TO ${user}`);
    const report = await doctor(fixture);
    expect(withStatus(report, 'fail')).toEqual(['user-read-only']);
    expect(check(report, 'user-read-only').detail).toBe('INSERT on "crm"."contacts"');
    expect(check(report, 'user-read-only').fix?.sql).toEqual([
      { sql: `REVOKE INSERT ON TABLE "crm"."contacts" FROM ${user};` },
    ]);
    await expectRepairedByPrintedFix(fixture, report);
  });
});
