import type { EnvironmentConfig } from '../config';
import type { DatabaseReference } from '../contract/database';
import {
  connect,
  DatabaseConnectionError,
  desiredStateFromConfig,
  readCatalog,
  withSchemaTables,
  type ConnectOptions,
} from '../replication';
import { connectionResult, evaluateChecks, type LoginOutcome } from './checks';
import { readServerFacts } from './facts';
import type { DoctorReport } from './types';
import type { SlotThresholds } from '../watchdog';
import { planUpgrade, readUpgradeFacts, type UpgradeQuestion } from './upgrade';

export interface DoctorOptions {
  /**
   * Who the doctor connects as: the master user (every check), or the replication user itself
   * (every check too: the catalogs and privilege functions it reads are public).
   */
  readonly connection: ConnectOptions;
  /** The environment's replication config: user, schemas and their tables, publication, slot. */
  readonly replication: EnvironmentConfig['replication'];
  /**
   * The replication user's password, to try a real login when the doctor connects as someone
   * else. Without it that login is not tried (a warning).
   */
  readonly replicationPassword?: string;
  /** Debezium heartbeat table the user may write. Default: `replication.heartbeatTable`. */
  readonly heartbeatTable?: string;
  /** Retained WAL above this many bytes is a warning. */
  readonly slotLagWarnBytes: number;
  /** Fail the TLS check for plain TCP even to 127.0.0.1/localhost. Default: false. */
  readonly requireTls?: boolean;
  /**
   * The RDS instance or Aurora cluster, for the printed parameter-group and reboot commands
   * (rdsDatabaseFromHost). Default: placeholders in those commands.
   */
  readonly rdsDatabase?: DatabaseReference;
  /**
   * What the `slot-health` check judges by, as the environment's watchdog alarms do
   * (slotThresholdsFrom); the safe WAL fraction applies to the server's max_slot_wal_keep_size.
   *
   * @default - DEFAULT_SLOT_THRESHOLDS (half of the keep size, three hours inactive)
   */
  readonly slotThresholds?: Omit<SlotThresholds, 'maxSlotWalKeepSizeBytes'>;
  /** `--upgrade-to`: also explain what that engine upgrade does to the slot. Default: not asked. */
  readonly upgrade?: UpgradeQuestion;
}

/**
 * Stands in for an unknown replication password: the planner needs one to plan (never run)
 * statements, and the doctor prints those with a psql variable instead of any verifier.
 */
const UNKNOWN_PASSWORD = 'password-not-given-to-the-doctor';

/**
 * Connect, read the catalog and the server facts, and evaluate every check. A failed connection
 * is a report with one failed `connection` check, not an exception.
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const { connection, replication } = options;
  const target = {
    host: connection.host,
    port: connection.port,
    database: connection.database,
    user: connection.user,
  };
  let client;
  try {
    client = await connect({ applicationName: 'rds-airbyte-cdc-doctor', ...connection });
  } catch (error) {
    if (!(error instanceof DatabaseConnectionError)) throw error;
    return { target, checks: [connectionResult({ target, error: error.message })] };
  }
  try {
    const connectedAsUser = connection.user === replication.user;
    const password = connectedAsUser ? connection.password : options.replicationPassword;
    const configured = desiredStateFromConfig(replication, password || UNKNOWN_PASSWORD, {
      heartbeatTable: options.heartbeatTable,
    });
    let login: LoginOutcome = { kind: 'not-tried' };
    const catalog = await readCatalog(client, configured, {
      // readCatalog asks only when the role exists with LOGIN.
      checkPassword: async (user, candidate) => {
        if (connectedAsUser) {
          login = { kind: 'connected-as-user' };
          return true;
        }
        if (!password) return true;
        try {
          const probe = await connect({ ...connection, user, password: candidate });
          await probe.end();
          login = { kind: 'succeeded' };
          return true;
        } catch (error) {
          if (!(error instanceof DatabaseConnectionError)) throw error;
          login = { kind: 'failed', message: error.message };
          return false;
        }
      },
    });
    // Of each whole schema ("*"), the checks judge the tables it has now.
    const desired = withSchemaTables(configured, catalog);
    const facts = await readServerFacts(client, desired);
    const checks = evaluateChecks({
      catalog,
      facts,
      desired,
      connection: {
        host: connection.host,
        tlsVerified: connection.tls.mode === 'verify-full',
        requireTls: options.requireTls,
      },
      login,
      slotLagWarnBytes: options.slotLagWarnBytes,
      rdsDatabase: options.rdsDatabase,
      slotThresholds: options.slotThresholds,
    });
    const upgrade = options.upgrade
      ? planUpgrade(await readUpgradeFacts(client, options.upgrade), options.upgrade)
      : undefined;
    return {
      target,
      checks: [connectionResult({ target }), ...checks],
      ...(upgrade ? { upgrade } : {}),
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
