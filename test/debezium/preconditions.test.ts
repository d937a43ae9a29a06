/**
 * When a precondition of CDC breaks after the deploy, Debezium (so Airbyte's sync) stops with an
 * error, and `npm run doctor` names the same problem with its fix. Each case breaks one thing the
 * setup made, the way a person or another tool might.
 */
import { runDoctor, type DoctorReport } from '../../src/doctor';
import { RDS_REPLICATION_ROLE } from '../../src/replication';
import { honourRdsReplicationMembership } from '../support/rds-like';
import { usePipelineServer, deployPipeline, type Pipeline } from './pipeline';
import {
  createProbeWorkspace,
  startDebezium,
  type FailedReport,
  type ProbeWorkspace,
} from './probe';

const pg = usePipelineServer();

function doctor(pipeline: Pipeline): Promise<DoctorReport> {
  const { server } = pg;
  return runDoctor({
    connection: {
      host: server.host,
      port: server.port,
      user: pipeline.rds.master,
      password: pipeline.rds.masterPassword,
      database: pipeline.rds.database,
      tls: { mode: 'verify-full', ca: server.certificateAuthority!.certPem },
    },
    replication: pipeline.config.replication,
    replicationPassword: pipeline.password,
    slotLagWarnBytes: 1024 ** 3,
  });
}

const failing = (report: DoctorReport): string[] =>
  report.checks.filter((check) => check.status === 'fail').map((check) => check.id);

/** Debezium's whole account of the failure: its message and every cause. */
const told = (failure: FailedReport): string => [failure.message, ...failure.causes].join('\n');

describe('a broken precondition stops Debezium, and the doctor names it', () => {
  let pipeline: Pipeline | undefined;
  let workspace: ProbeWorkspace | undefined;
  afterEach(async () => {
    workspace?.remove();
    await pipeline?.teardown();
  });

  async function failureAfter(breakIt: (pipeline: Pipeline) => Promise<void>) {
    pipeline = await deployPipeline(pg);
    expect(failing(await doctor(pipeline))).toEqual([]);
    await breakIt(pipeline);
    workspace = createProbeWorkspace();
    const debezium = startDebezium(
      workspace,
      pipeline.debeziumProperties(workspace),
      pipeline.password,
    );
    const failure = await debezium.failure();
    // Nothing streamed (the snapshot's own connection may have read rows first).
    expect(debezium.events.filter((event) => event.source.snapshot === 'false')).toEqual([]);
    return { failure, report: await doctor(pipeline) };
  }

  it('the user lost its replication right', async () => {
    const { failure, report } = await failureAfter(async ({ rds, desired, admin }) => {
      await rds.client.query(
        `REVOKE ${RDS_REPLICATION_ROLE} FROM ${rds.client.escapeIdentifier(desired.user)}`,
      );
      await honourRdsReplicationMembership(admin);
    });
    // PostgreSQL 16+ words it so; 14 and 15: "must be superuser or replication role".
    expect(told(failure)).toMatch(
      /permission denied to start WAL sender|must be superuser or replication role/,
    );
    expect(failing(report)).toEqual(['user-replication']);
    const check = report.checks.find((c) => c.id === 'user-replication');
    expect(check?.fix?.sql.map((statement) => statement.sql).join('\n')).toContain(
      `GRANT "${RDS_REPLICATION_ROLE}"`,
    );
  });

  it('the publication is gone', async () => {
    const { failure, report } = await failureAfter(async ({ rds, desired }) => {
      await rds.client.query(
        `DROP PUBLICATION ${rds.client.escapeIdentifier(desired.publicationName)}`,
      );
    });
    // Airbyte disables autocreation: the setup owns the publication.
    expect(told(failure)).toContain('Publication autocreation is disabled, please create one');
    expect(failing(report)).toContain('publication-exists');
  });

  it('the slot was made for another output plugin', async () => {
    const { failure, report } = await failureAfter(async ({ rds, desired }) => {
      await rds.client.query('SELECT pg_drop_replication_slot($1)', [desired.slotName]);
      await rds.client.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [
        desired.slotName,
      ]);
    });
    // Debezium looks for a pgoutput slot of that name, finds none, tries to create one and
    // fails on the name: its advice (a distinct slot per connector) misleads; the doctor's not.
    expect(told(failure)).toContain(
      `replication slot "${pipeline!.desired.slotName}" already exists`,
    );
    expect(failing(report)).toEqual(['slot-plugin']);
  });
});
