import { AURORA_VERSION_SQL, runDoctor, type DoctorReport } from '../../../src/doctor';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import { replicationConfig, superuserConnection } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';

const pg = usePostgres();
const PASSWORD = 'Aurora-Doctor-1';

const check = (report: DoctorReport, id: string) =>
  report.checks.find((candidate) => candidate.id === id);

/** What the detection expression says, connected to `database`. */
async function auroraVersionIn(database: string): Promise<string | null> {
  const client = await pg.connect(database);
  const { rows } = await client.query<{ version: string | null }>(
    `SELECT ${AURORA_VERSION_SQL} AS version`,
  );
  return rows[0].version;
}

describe('Aurora detection (aurora_version())', () => {
  it('says "not Aurora" on plain PostgreSQL, without failing the query', async () => {
    const database = await pg.createDatabase('plain');
    expect(await auroraVersionIn(database)).toBeNull();

    const replication = replicationConfig();
    await setupReplication(
      await pg.connect(database),
      desiredStateFromConfig(replication, PASSWORD),
    );
    const report = await runDoctor({
      connection: superuserConnection(pg, database),
      replication,
      replicationPassword: PASSWORD,
      slotLagWarnBytes: 1024 ** 3,
    });
    expect(check(report, 'server-version')?.detail).toMatch(/^PostgreSQL \d+\.\d+/);
  });

  it('reads the version where the function exists, and the report names Aurora', async () => {
    // Aurora's own function, stood in for by one of the same name and signature.
    const database = await pg.createDatabase('aurora');
    const admin = await pg.connect(database);
    await admin.query(
      "CREATE FUNCTION public.aurora_version() RETURNS text LANGUAGE sql AS $$ SELECT '16.4.1' $$",
    );
    expect(await auroraVersionIn(database)).toBe('16.4.1');

    const replication = replicationConfig();
    await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
    const report = await runDoctor({
      connection: superuserConnection(pg, database),
      replication,
      replicationPassword: PASSWORD,
      slotLagWarnBytes: 1024 ** 3,
      rdsDatabase: { kind: 'cluster', identifier: 'orders' },
    });
    expect(check(report, 'server-version')?.detail).toBe('Aurora PostgreSQL 16.4.1');
  });
});
