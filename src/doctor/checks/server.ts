import { escapeLiteral } from 'pg';
import { rebootCommand } from '../../aws/rds-database';
import { SUPPORTED_ENGINE_MAJORS } from '../../config/database';
import { isLoopbackHost } from '../hosts';
import type { FixStatement } from '../types';
import { fail, pass, skip, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext, DoctorInput } from './input';

/**
 * Where the server's parameters are changed and what restarts it, in the words of the fixes:
 * an RDS instance's DB parameter group and its reboot, or an Aurora cluster's DB cluster
 * parameter group and the reboot of its writer instance.
 */
export interface ParameterHome {
  readonly aurora: boolean;
  /** `the instance's DB parameter group`, `the DB cluster parameter group of <cluster>`. */
  readonly groupLabel: string;
  /** The AWS CLI command that sets `name` to `value` there, to apply at the next reboot. */
  readonly setCommand: (name: string, value: string) => string;
  /** What is rebooted: `the instance`, `the writer instance`. */
  readonly rebootLabel: string;
  /** The AWS CLI reboot command. */
  readonly rebootCommand: string;
}

/**
 * The parameter group and reboot of the checked database: Aurora when the server says so
 * (aurora_version()) or the host is a cluster endpoint. The identifiers come from the host; a
 * placeholder stands in for one it does not name.
 */
export function parameterHomeOf(
  input: Pick<DoctorInput, 'rdsDatabase'> & {
    readonly facts: Pick<DoctorInput['facts'], 'auroraVersion'>;
  },
): ParameterHome {
  const { rdsDatabase } = input;
  const parameter = (name: string, value: string) =>
    `--parameters "ParameterName=${name},ParameterValue=${value},ApplyMethod=pending-reboot"`;
  const aurora = input.facts.auroraVersion !== undefined || rdsDatabase?.kind === 'cluster';
  if (!aurora) {
    const instance = rdsDatabase?.identifier ?? '<instance-id>';
    return {
      aurora,
      groupLabel: "the instance's DB parameter group",
      setCommand: (name, value) =>
        `aws rds modify-db-parameter-group --db-parameter-group-name <group of ${instance}> ${parameter(name, value)}`,
      rebootLabel: 'the instance',
      rebootCommand: rebootCommand({ kind: 'instance', identifier: instance }),
    };
  }
  // Reached through an instance endpoint, the host names the (writer) instance, not its cluster.
  const cluster = rdsDatabase?.kind === 'cluster' ? rdsDatabase.identifier : undefined;
  const group = cluster
    ? `<cluster parameter group of ${cluster}>`
    : `<cluster parameter group of the cluster of ${rdsDatabase?.identifier ?? '<writer-instance-id>'}>`;
  return {
    aurora,
    groupLabel: `the DB cluster parameter group of ${cluster ?? 'the cluster'}`,
    setCommand: (name, value) =>
      `aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name ${group} ${parameter(name, value)}`,
    rebootLabel: 'the writer instance (its readers restart with it)',
    rebootCommand: rebootCommand(
      cluster
        ? { kind: 'cluster', identifier: cluster }
        : { kind: 'instance', identifier: rdsDatabase?.identifier ?? '<writer-instance-id>' },
    ),
  };
}

/** How to change a server parameter that needs a restart, on RDS, Aurora or plain PostgreSQL. */
function parameterFix(
  input: DoctorInput,
  name: string,
  value: string,
  pendingRestart: boolean,
): { sql: FixStatement[]; notes: string[] } {
  if (input.facts.isRds || input.facts.auroraVersion !== undefined) {
    const home = parameterHomeOf(input);
    const notes = pendingRestart
      ? []
      : [
          `Set ${name} = ${value} in ${home.groupLabel} (this project's stack does: npx cdk deploy), or by hand: ${home.setCommand(name, value)}`,
        ];
    notes.push(
      `Reboot ${home.rebootLabel} so that it takes effect (a short outage): ${home.rebootCommand}`,
    );
    return { sql: [], notes };
  }
  return {
    sql: pendingRestart ? [] : [{ sql: `ALTER SYSTEM SET ${name} = ${escapeLiteral(value)};` }],
    notes: [
      `Restart PostgreSQL so that it takes effect (${name} is only read at server start), e.g. pg_ctl restart -D <data dir> or systemctl restart postgresql.`,
    ],
  };
}

/** A detail's suffix when a changed setting has not taken effect yet. */
const waitsForRestart = (pendingRestart: boolean): string =>
  pendingRestart ? ' (a new value waits for a restart)' : '';

/** The values of rds.logical_replication that turn logical decoding on. */
const isOn = (value: string | undefined): value is '1' | 'on' => value === '1' || value === 'on';

function serverVersion(input: CheckContext): Verdict {
  const { facts, catalog } = input;
  const major = Math.floor(catalog.serverVersion / 10000);
  const supported = SUPPORTED_ENGINE_MAJORS.map(Number);
  const oldest = Math.min(...supported);
  const newest = Math.max(...supported);
  const server =
    facts.auroraVersion === undefined
      ? `PostgreSQL ${facts.serverVersion}`
      : `Aurora PostgreSQL ${facts.auroraVersion}`;
  if (supported.includes(major)) return pass(server);
  if (major > newest) {
    return warn(`${server} is newer than this project was tested with`, {
      notes: [`Add ${major} to SUPPORTED_ENGINE_MAJORS once the tests pass on it.`],
    });
  }
  const { rdsDatabase } = input;
  const upgrade = parameterHomeOf(input).aurora
    ? `on Aurora: aws rds modify-db-cluster --db-cluster-identifier ${rdsDatabase?.kind === 'cluster' ? rdsDatabase.identifier : '<cluster-id>'} --engine-version <a ${newest}.x version: aws rds describe-db-engine-versions --engine aurora-postgresql> --allow-major-version-upgrade --apply-immediately`
    : `on RDS: aws rds modify-db-instance --db-instance-identifier ${rdsDatabase?.identifier ?? '<instance-id>'} --engine-version ${newest} --allow-major-version-upgrade --apply-immediately`;
  return fail(`${server} is older than ${oldest}`, {
    notes: [`Upgrade to PostgreSQL ${newest} (${upgrade}, after a snapshot).`],
  });
}

function walLevel(input: CheckContext): Verdict {
  const { facts } = input;
  const wal = facts.walLevel;
  if (wal.value === 'logical') return pass('logical');
  if (facts.isRds) {
    // On RDS wal_level follows rds.logical_replication: once that is set, only a reboot is left.
    const set = isOn(facts.rdsLogicalReplication) || wal.pendingRestart;
    const waiting = parameterHomeOf(input).aurora ? 'the writer waits' : 'the instance waits';
    return fail(
      `${wal.value}${set ? ` (rds.logical_replication is set, ${waiting} for a reboot)` : ''}`,
      parameterFix(input, 'rds.logical_replication', '1', set),
    );
  }
  return fail(
    `${wal.value}${waitsForRestart(wal.pendingRestart)}`,
    parameterFix(input, 'wal_level', 'logical', wal.pendingRestart),
  );
}

function rdsLogicalReplication(input: CheckContext): Verdict {
  const { facts } = input;
  if (!facts.isRds) return skip('not Amazon RDS');
  if (isOn(facts.rdsLogicalReplication)) return pass(facts.rdsLogicalReplication);
  return fail(
    facts.rdsLogicalReplication ?? 'not set',
    parameterFix(input, 'rds.logical_replication', '1', false),
  );
}

function replicationSlots(input: CheckContext): Verdict {
  const { facts, catalog } = input;
  const maxSlots = Number(facts.maxReplicationSlots.value);
  const detail = `${facts.slotsUsed} of ${maxSlots} in use`;
  if (facts.slotsUsed < maxSlots) return pass(detail);
  const raise = parameterFix(
    input,
    'max_replication_slots',
    String(Math.max(maxSlots + 1, facts.slotsUsed + 1)),
    facts.maxReplicationSlots.pendingRestart,
  );
  const freeUp =
    facts.otherInactiveSlots.length === 0
      ? []
      : [
          `Or free a slot nothing reads any more (its consumer loses its position and must resync): inactive now: ${facts.otherInactiveSlots.map((slot) => `${slot.name}${slot.database ? ` (database ${slot.database})` : ''}`).join(', ')}; drop one with SELECT pg_drop_replication_slot('<name>') connected to its database.`,
        ];
  const fix = { sql: raise.sql, notes: [...raise.notes, ...freeUp] };
  // Full is fatal only while our slot is still to be created; with it in place, a warning.
  return catalog.slot
    ? warn(`${detail}: no room for another connection or a re-created slot`, fix)
    : fail(
        `${detail}: none left for "${input.desired.slotName}"${waitsForRestart(facts.maxReplicationSlots.pendingRestart)}`,
        fix,
      );
}

function walSenders(input: CheckContext): Verdict {
  const { facts, catalog } = input;
  const maxSenders = Number(facts.maxWalSenders.value);
  const detail = `${facts.walSendersUsed} of ${maxSenders} in use`;
  // Our own consumer, when streaming, already holds its sender.
  if (catalog.slot?.active || facts.walSendersUsed < maxSenders) return pass(detail);
  return fail(
    `${detail}: Airbyte could not start streaming${waitsForRestart(facts.maxWalSenders.pendingRestart)}`,
    parameterFix(
      input,
      'max_wal_senders',
      String(Math.max(maxSenders + 1, Number(facts.maxReplicationSlots.value))),
      facts.maxWalSenders.pendingRestart,
    ),
  );
}

function ssl(input: CheckContext): Verdict {
  const { facts, connection } = input;
  const { connectionSsl } = facts;
  if (connectionSsl.ssl) {
    return pass(
      `${connectionSsl.version ?? 'TLS'}${connection.tlsVerified ? ', certificate verified' : ''}`,
    );
  }
  if (isLoopbackHost(connection.host) && !connection.requireTls) {
    return skip(
      `plain TCP to ${connection.host}: the traffic does not leave this machine (a remote database is only accepted over TLS)`,
    );
  }
  const notes = facts.isRds
    ? [
        `Set rds.force_ssl = 1 in ${parameterHomeOf(input).aurora ? 'the DB cluster parameter group' : 'the DB parameter group (the default from PostgreSQL 15)'}, and connect with --ssl verify-full --ca-file <RDS CA bundle, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem>.`,
      ]
    : facts.serverSsl
      ? [
          'The server offers TLS: connect with --ssl verify-full (and --ca-file <CA of the server certificate>).',
        ]
      : [
          'Give the server a certificate and turn TLS on, then connect with --ssl verify-full --ca-file <CA>.',
        ];
  return fail(`not encrypted (server ssl = ${facts.serverSsl ? 'on' : 'off'})`, {
    sql:
      facts.isRds || facts.serverSsl
        ? []
        : [
            { sql: "ALTER SYSTEM SET ssl_cert_file = '<server.crt>';" },
            { sql: "ALTER SYSTEM SET ssl_key_file = '<server.key>';" },
            { sql: 'ALTER SYSTEM SET ssl = on;' },
            { sql: 'SELECT pg_reload_conf();' },
          ],
    notes,
  });
}

/** The server's settings and the connection, in print order. */
export const SERVER_CHECKS = [
  {
    id: 'server-version',
    title: `server version supported (${SUPPORTED_ENGINE_MAJORS.join(', ')})`,
    evaluate: serverVersion,
  },
  { id: 'wal-level', title: 'wal_level = logical', evaluate: walLevel },
  {
    id: 'rds-logical-replication',
    title: 'rds.logical_replication = 1 (Amazon RDS)',
    evaluate: rdsLogicalReplication,
  },
  { id: 'replication-slots', title: 'max_replication_slots has room', evaluate: replicationSlots },
  { id: 'wal-senders', title: 'max_wal_senders has room', evaluate: walSenders },
  { id: 'ssl', title: 'connection uses TLS', evaluate: ssl },
] as const satisfies readonly CheckDefinition<CheckContext>[];
