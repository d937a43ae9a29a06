import { Client } from 'pg';
import type { RunningPostgres } from '../../../src/local/postgres-server';
import { runDoctor, type DoctorReport } from '../../../src/doctor';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import { applyFixStatements, replicationConfig } from '../../support/doctor';
import { startTestPostgres, usePostgres } from '../../support/postgres';

/**
 * Amazon RDS as the doctor recognises it: the rds_superuser and rds_replication roles and the
 * rds.logical_replication parameter (a placeholder setting on plain PostgreSQL).
 */
const RDS_ROLES = 'CREATE ROLE rds_superuser; CREATE ROLE rds_replication';
const pg = usePostgres({ settings: { 'rds.logical_replication': 'on' } });
const PASSWORD = 'Rds-Doctor-1';

beforeAll(async () => {
  const admin = await pg.connect();
  await admin.query(RDS_ROLES);
});

const failing = (report: DoctorReport) =>
  report.checks.filter((check) => check.status === 'fail').map((check) => check.id);
const check = (report: DoctorReport, id: string) =>
  report.checks.find((candidate) => candidate.id === id);

function doctor(server: RunningPostgres, database: string, replication = replicationConfig()) {
  return runDoctor({
    connection: {
      host: server.host,
      port: server.port,
      user: server.user,
      password: server.password,
      database,
      tls: { mode: 'disable' },
    },
    replication,
    replicationPassword: PASSWORD,
    slotLagWarnBytes: 1024 ** 3,
    rdsDatabase: { kind: 'instance', identifier: 'rds-airbyte-cdc-dev' },
  });
}

describe('on Amazon RDS', () => {
  it('checks rds.logical_replication and rds_replication membership, and grants it as the fix', async () => {
    const database = await pg.createDatabase('rds');
    const admin = await pg.connect(database);
    const replication = replicationConfig();
    await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));

    const healthy = await doctor(pg.server, database, replication);
    expect(failing(healthy)).toEqual([]);
    expect(check(healthy, 'rds-logical-replication')).toMatchObject({
      status: 'pass',
      detail: 'on',
    });
    expect(check(healthy, 'user-replication')?.title).toContain('member of rds_replication');

    await admin.query(`REVOKE rds_replication FROM ${admin.escapeIdentifier(replication.user)}`);
    const broken = await doctor(pg.server, database, replication);
    expect(failing(broken)).toEqual(['user-replication']);
    const fix = check(broken, 'user-replication')?.fix?.sql ?? [];
    expect(fix).toEqual([
      { sql: `GRANT "rds_replication" TO ${admin.escapeIdentifier(replication.user)};` },
    ]);
    await applyFixStatements(pg, database, fix, PASSWORD);
    expect(failing(await doctor(pg.server, database, replication))).toEqual([]);
  });

  it('logical replication off: set the parameter in the parameter group and reboot, no ALTER SYSTEM', async () => {
    const server = await startTestPostgres({
      settings: { wal_level: 'replica', 'rds.logical_replication': 'off' },
    });
    try {
      const admin = new Client(server.connectionConfig());
      await admin.connect();
      await admin.query(RDS_ROLES);
      await admin.end();

      const report = await doctor(server, 'postgres');
      expect(failing(report)).toEqual(
        expect.arrayContaining(['wal-level', 'rds-logical-replication']),
      );
      for (const id of ['wal-level', 'rds-logical-replication']) {
        const fix = check(report, id)?.fix;
        expect(fix?.sql).toEqual([]);
        const notes = fix?.notes.join('\n');
        expect(notes).toContain('ParameterName=rds.logical_replication,ParameterValue=1');
        expect(notes).toContain(
          'aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-dev',
        );
      }
    } finally {
      await server.stop();
    }
  });
});
