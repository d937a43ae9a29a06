import type { Client } from 'pg';
import {
  exitCodeOf,
  runDoctor,
  type CheckId,
  type CheckStatus,
  type DoctorReport,
  type FixStatement,
} from '../../../src/doctor';
import type { EnvironmentConfig } from '../../../src/config';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import { applyFixStatements, replicationConfig } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';

const pg = usePostgres();
const PASSWORD = 'Doctor-Secret-1';

interface Fixture {
  readonly database: string;
  readonly admin: Client;
  readonly replication: EnvironmentConfig['replication'];
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
      user: server.user,
      password: server.password,
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
