import { displayName } from './names';
import { PASSWORD_VARIABLE } from './printable';
import type { QualifiedTable } from './types';

/** Base class: every error of the replication setup says what is wrong and what to do next. */
export class ReplicationSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * `wal_level` is not `logical`. On RDS this means the parameter group with
 * `rds.logical_replication=1` is not applied yet (usually `pending-reboot`): the Lambda checks
 * and reboots or reports the command.
 */
export class WalLevelError extends ReplicationSetupError {
  constructor(readonly walLevel: string) {
    super(
      `wal_level is "${walLevel}", logical replication needs "logical". On Amazon RDS set rds.logical_replication=1 in the DB parameter group and reboot the instance; on plain PostgreSQL set wal_level = logical in postgresql.conf and restart.`,
    );
  }
}

/** Configured tables that do not exist. */
export class MissingTableError extends ReplicationSetupError {
  constructor(
    readonly tables: readonly QualifiedTable[],
    database: string,
  ) {
    super(
      `${tables.length === 1 ? 'Table' : 'Tables'} ${tables.map((table) => displayName(table.schema, table.name)).join(', ')} ${tables.length === 1 ? 'does' : 'do'} not exist in database "${database}": create ${tables.length === 1 ? 'it' : 'them'} first, or remove ${tables.length === 1 ? 'it' : 'them'} from replication.tables (or replication.schemas) in cdk.json.`,
    );
  }
}

/** Tables with replica identity `default` and no primary key: UPDATE/DELETE would fail once published. */
export class MissingPrimaryKeyError extends ReplicationSetupError {
  constructor(readonly tables: readonly QualifiedTable[]) {
    super(
      `${tables.map((table) => displayName(table.schema, table.name)).join(', ')} ${tables.length === 1 ? 'has' : 'have'} no primary key, so with replica identity "default" every UPDATE and DELETE on ${tables.length === 1 ? 'it' : 'them'} would fail once published. Add a primary key, or set "replicaIdentity": "full" for ${tables.length === 1 ? 'this table' : 'these tables'} in replication.tables.`,
    );
  }
}

/**
 * `{ index }` replica identities PostgreSQL would refuse, or that would leave rows without a key:
 * each line names the table, the index and what to do.
 */
export class ReplicaIdentityIndexError extends ReplicationSetupError {
  constructor(readonly refusals: readonly string[]) {
    super(`${refusals.join('. ')}. Nothing was changed.`);
  }
}

/**
 * A partitioned table and one of its partitions are both configured: with
 * publish_via_partition_root the partition's changes arrive under the parent's name already, and
 * Airbyte's initial snapshot would copy its rows twice.
 */
export class PartitionConflictError extends ReplicationSetupError {
  constructor(readonly conflicts: readonly { partition: string; parent: string }[]) {
    super(
      `${conflicts
        .map(
          ({ partition, parent }) =>
            `${partition} is a partition of ${parent}, and both are configured to be published`,
        )
        .join(
          '; ',
        )}. The publication sends a partition's changes under its parent's name (publish_via_partition_root), so Airbyte would read those rows twice: remove the ${conflicts.length === 1 ? 'partition' : 'partitions'} from replication.tables (or remove the parent to publish only ${conflicts.length === 1 ? 'that partition' : 'those partitions'}). Nothing was changed.`,
    );
  }
}

/** A slot with our name exists but is not ours to reuse. */
export class SlotConflictError extends ReplicationSetupError {
  constructor(
    readonly slotName: string,
    message: string,
  ) {
    super(message);
  }
}

/** The replication user name is taken by a role we must not turn into a replication user. */
export class RoleConflictError extends ReplicationSetupError {}

/** The publication exists in a shape setup cannot adjust. */
export class PublicationConflictError extends ReplicationSetupError {}

/** What to do when a step fails with these SQLSTATEs; all steps run again on the next attempt. */
const STEP_ADVICE: Readonly<Record<string, string>> = {
  // lock_timeout: ALTER TABLE / publication changes wait for the table's lock.
  '55P03':
    'Another session holds a lock on the table (often a long-running transaction): find it in pg_stat_activity, let it finish or end it, then run the setup again.',
  // statement_timeout: creating a logical slot waits for every transaction that has written.
  '57014':
    'The statement timed out; creating a replication slot waits for all open write transactions to finish: look for old "idle in transaction" sessions in pg_stat_activity, then run the setup again.',
  '42501':
    'Permission denied: the setup must run as the RDS master user (or a role with CREATEROLE, REPLICATION and ownership of the tables).',
};

/** The session ended under the statement: terminated, server restart, network. */
function lostConnection(cause: Error & { code?: string }): boolean {
  return (
    ['57P01', '57P02', '57P03', '08006', '08003'].includes(cause.code ?? '') ||
    /Connection terminated|connection.*(closed|ended)|ECONNRESET|not queryable/i.test(cause.message)
  );
}

/** A statement of the plan failed; names the step (never its sensitive SQL) and the server's answer. */
export class StepFailedError extends ReplicationSetupError {
  /** The connection was lost under the step (rather than the statement refused). */
  readonly connectionLost: boolean;

  constructor(
    readonly step: { readonly kind: string; readonly description: string },
    readonly cause: Error & { code?: string; hint?: string },
    /**
     * Steps of the same plan committed before this one failed: what the run did change. The
     * open transaction of the failed step is rolled back whole.
     */
    readonly committed: readonly { readonly kind: string }[] = [],
  ) {
    const lost = lostConnection(cause);
    const advice = lost
      ? `The connection to the database was lost during this step, so its transaction was rolled back; ${committed.length === 0 ? 'nothing of this run was committed' : `${committed.length} earlier step(s) had been committed`}. Running the setup again continues from what is there.`
      : STEP_ADVICE[cause.code ?? ''];
    super(
      `Step "${step.description}" failed: ${cause.message}${cause.hint ? ` (hint: ${cause.hint})` : ''}${cause.code ? ` [SQLSTATE ${cause.code}]` : ''}${advice ? `. ${advice}` : ''}`,
    );
    this.connectionLost = lost;
  }
}

/**
 * The plan needs statements only a superuser may run here (PostgreSQL < 16: the REPLICATION
 * attribute) and the setup does not run as one. Nothing was changed; the message lists the
 * statements, with the password as a psql variable.
 */
export class SuperuserRequiredError extends ReplicationSetupError {
  constructor(
    readonly serverVersion: number,
    readonly currentUser: string,
    readonly statements: readonly string[],
  ) {
    super(
      `PostgreSQL ${Math.floor(serverVersion / 10000)} lets only a superuser give a role the REPLICATION attribute or change a role that has it (16 and later let a CREATEROLE user with REPLICATION do it; RDS and Aurora grant rds_replication instead), and "${currentUser}" is not a superuser. Nothing was changed. Run once as a superuser (in psql, \\set ${PASSWORD_VARIABLE} to the replication user's password first), then run the setup again: ${statements.join(' ')}`,
    );
  }
}

/** Another setup or teardown held the replication lock for longer than this run would wait. */
export class ConcurrentRunError extends ReplicationSetupError {
  constructor(holder: string, lock: string, waitedMs: number) {
    super(
      `Another replication setup or teardown is running on this server: ${holder} has held the lock "${lock}" for the ${Math.round(waitedMs / 1000)} s this run waited. Nothing was changed by this run. Let the other run finish (or end that session), then retry.`,
    );
  }
}

/** Why a connection failed, for callers that react differently (e.g. a deleted instance). */
export type ConnectionFailureReason =
  | 'refused'
  | 'timeout'
  | 'host-not-found'
  | 'authentication'
  | 'database-missing'
  | 'tls'
  | 'other';

/**
 * Which TLS problem a `reason: 'tls'` failure was; each needs a different fix, so the message is
 * worded by it:
 * - `no-tls`: the server offers no TLS at all (PostgreSQL with `ssl = off`);
 * - `untrusted-ca`: the certificate chain does not lead to a CA this client trusts;
 * - `host-mismatch`: the certificate does not name the host connected to;
 * - `expired`: the certificate (or one in its chain) has expired or is not valid yet;
 * - `other`: any other TLS failure (handshake, protocol, revoked certificate, ...).
 */
export type TlsFailureCause = 'no-tls' | 'untrusted-ca' | 'host-mismatch' | 'expired' | 'other';

/** Connecting failed; the message names host, port and user and what to check. */
export class DatabaseConnectionError extends ReplicationSetupError {
  constructor(
    readonly reason: ConnectionFailureReason,
    readonly host: string,
    readonly port: number,
    readonly user: string,
    message: string,
    readonly cause?: Error,
    /** Set when `reason` is `tls`: which TLS problem it was. */
    readonly tlsCause?: TlsFailureCause,
  ) {
    super(message);
  }
}
