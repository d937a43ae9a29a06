import { randomBytes } from 'crypto';
import { appendFileSync, mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { Client, type ClientBase } from 'pg';
import { MASTER_USERNAME } from '../contract/database';
import { isWholeSchema } from '../contract/replication-setup';
import { hasSlotWatchdog, loadEnvironmentFromCdkJson, type EnvironmentConfig } from '../config';
import { replicationServerParameters } from '../config/server-parameters';
import { readSlotHealthReadOnly, slotMetrics } from '../watchdog';
import {
  clientConfig,
  connect,
  DEMO_TABLE_NAME,
  desiredStateFromConfig,
  readCatalog,
  RDS_REPLICATION_ROLE,
  setupReplication,
  type ConnectOptions,
  type DesiredReplicationState,
} from '../replication';
import { localAirbyteSource } from './airbyte-source';
import { createRdsLikeMaster, honourRdsReplicationMembership } from './rds-emulation';
import { openChangeStream, type CapturedChange } from './change-stream';
import { recordKeptServer } from './kept-servers';
import {
  ensurePostgresBinaries,
  isPostgresMajor,
  POSTGRES_MAJORS,
  postgresVersion,
  type PostgresMajor,
} from './postgres-binaries';
import { startPostgres, type RunningPostgres } from './postgres-server';
import { missingChanges, runTutorialChanges, tutorialChanges } from './tutorial';

/**
 * The superuser initdb creates. RDS keeps its superuser (`rdsadmin`) to itself and gives you a
 * master user without superuser rights; so does `npm run local`.
 */
export const LOCAL_SUPERUSER = 'rdsadmin';
/** The master user, named as the stack's RDS instance names it. */
export const LOCAL_MASTER_USER = MASTER_USERNAME;
/** The temporary slot the demo streams from, so that the configured slot keeps its position. */
export const DEMO_SLOT_NAME = 'rds_airbyte_cdc_local_demo';
/** Environment variable the printed doctor command passes the replication password in. */
export const PASSWORD_ENV_VAR = 'LOCAL_REPLICATION_PASSWORD';
/** How long to wait for the three changes to arrive over the stream. */
const CHANGE_TIMEOUT_MS = 10000;

export interface LocalRunOptions {
  /** Environment in cdk.json whose configuration is mirrored. */
  readonly environment: string;
  /** Leave the server running (recorded for `--stop`) instead of removing it. */
  readonly keep: boolean;
  /** Port on 127.0.0.1. Default: a free one. */
  readonly port?: number;
  /** File the captured changes are written to, one JSON object per line (replaced). */
  readonly changesFile: string;
  /** Where output lines go. */
  readonly print: (line: string) => void;
  /** Default: the project's cdk.json. */
  readonly cdkJsonPath?: string;
  /** Where `--keep` records the server. Default: keptServersDir(). */
  readonly keptServersDir?: string;
}

export interface LocalRunResult {
  /** All three tutorial changes were captured and the configured slot was left untouched. */
  readonly success: boolean;
  readonly changes: readonly CapturedChange[];
  /** Set when the server was kept running. */
  readonly kept?: { readonly port: number; readonly pid: number; readonly rootDir: string };
}

/** `npm run local` cannot run with this configuration or installation; says what to do. */
export class LocalRunError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LocalRunError';
  }
}

/**
 * The PostgreSQL major `npm run local` starts for the environment: database.engineVersion's
 * (`"14"` and `"14.12"` are 14; the local minor is the embedded binaries' own).
 */
export function localPostgresMajor(config: EnvironmentConfig): PostgresMajor {
  const { engineVersion } = config.database;
  const major = engineVersion.split('.')[0];
  if (isPostgresMajor(major)) return major;
  throw new LocalRunError(
    `database.engineVersion of environment "${config.name}" is "${engineVersion}" (PostgreSQL ${major}), which npm run local cannot start: it runs PostgreSQL ${POSTGRES_MAJORS.join(', ')}. Set database.engineVersion to one of them.`,
  );
}

/**
 * The desired state for the local run: the environment's, with the tutorial table created even
 * where the environment does not create it (a fresh local database has no tables of its own).
 */
export function localDesiredState(
  config: EnvironmentConfig,
  password: string,
  watchdogPassword?: string,
): DesiredReplicationState {
  const { replication } = config;
  // The demo table lives in the first schema; a whole schema ("*") covers it, as the run creates it there.
  const { tables } = replication.schemas[0];
  if (!isWholeSchema(tables) && !tables.some((table) => table.name === DEMO_TABLE_NAME)) {
    throw new LocalRunError(
      `npm run local demonstrates CDC on the tutorial's table "${DEMO_TABLE_NAME}", but environment "${config.name}" lists ${tables.map((table) => `"${table.name}"`).join(', ')} in schema "${replication.schema}", tables a fresh local database does not have. Run it with --env dev, or add "${DEMO_TABLE_NAME}" to the tables of "${replication.schema}" (replication.tables, or the first schema of replication.schemas).`,
    );
  }
  // The slot watchdog's role as the deployed stack has it, where the environment has a watchdog.
  const monitoringUser =
    watchdogPassword !== undefined && hasSlotWatchdog(config.monitoring)
      ? { name: config.monitoring.watchdogUser, password: watchdogPassword }
      : undefined;
  return {
    ...desiredStateFromConfig(replication, password, monitoringUser ? { monitoringUser } : {}),
    createDemoTable: true,
  };
}

/**
 * The `postgres -c` settings that mirror the environment's RDS parameter group on plain
 * PostgreSQL: the shared replication parameters, with `wal_level` standing in for
 * `rds.logical_replication` (TLS, for `rds.force_ssl`, is the caller's `ssl` option).
 */
export function localServerSettings(config: EnvironmentConfig): Record<string, string> {
  return {
    wal_level: 'logical',
    ...replicationServerParameters({
      database: config.database,
      maxSlotWalKeepSizeGiB: config.replication.maxSlotWalKeepSizeGiB,
      idleSlotTimeoutHours: config.replication.idleSlotTimeoutHours,
    }),
  };
}

const randomPassword = (): string => randomBytes(24).toString('base64url');

/** As the local superuser: run `work`, then close the connection. */
async function asSuperuser<T>(
  server: RunningPostgres,
  work: (superuser: Client) => Promise<T>,
): Promise<T> {
  const superuser = new Client(server.connectionConfig());
  await superuser.connect();
  try {
    return await work(superuser);
  } finally {
    await superuser.end();
  }
}

/** The configured slot's confirmed_flush_lsn, read by the setup's own catalog query. */
async function slotPosition(
  client: ClientBase,
  desired: DesiredReplicationState,
): Promise<string | null> {
  // A ReplicationTarget rather than the desired state: no password, so no login probe.
  const { user, slotName, publicationName, schema } = desired;
  const catalog = await readCatalog(client, { user, slotName, publicationName, schema });
  return catalog.slot?.confirmedFlushLsn ?? null;
}

/** What the slot watchdog would publish, read as its own role (src/watchdog, the same code). */
async function watchdogReading(options: ConnectOptions, slotName: string): Promise<string> {
  const client = await connect(options);
  try {
    const metrics = slotMetrics(await readSlotHealthReadOnly(client, slotName));
    return `Slot watchdog, as "${options.user}" (a login with no privileges, read-only by default), would publish: ${metrics.map((metric) => `${metric.name}=${metric.value}`).join(' ')}`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Where a kept server's passwords are: one file each, only the current user can read them. */
interface PasswordFiles {
  readonly master: string;
  readonly replication: string;
}

/** A secret file only the current user can read. */
function writeSecretFile(file: string, value: string): void {
  writeFileSync(file, `${value}\n`, { mode: 0o600 });
}

/** The password files of a kept server, in its directory (which `--stop` removes). */
function writePasswordFiles(
  rootDir: string,
  users: { readonly master: string; readonly replication: string },
  passwords: { readonly master: string; readonly replication: string },
): PasswordFiles {
  const files = {
    master: path.join(rootDir, `${users.master}.password`),
    replication: path.join(rootDir, `${users.replication}.password`),
  };
  writeSecretFile(files.master, passwords.master);
  writeSecretFile(files.replication, passwords.replication);
  return files;
}

/**
 * Run the tutorial on a throwaway local PostgreSQL configured like the environment's RDS
 * instance: start it, apply the replication setup, stream the tutorial's changes as the
 * replication user, print them and the Airbyte source settings, then stop (or keep) the server.
 */
export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const { print } = options;
  const config = loadEnvironmentFromCdkJson(options.environment, options.cdkJsonPath);
  const replicationPassword = randomPassword();
  const desired = localDesiredState(config, replicationPassword, randomPassword());
  // A major other than 17 is downloaded on first use, announced before the server starts.
  const binaries = await ensurePostgresBinaries(localPostgresMajor(config), { print });
  const version = postgresVersion(binaries.binDir);

  const settings = localServerSettings(config);
  print(
    `Starting PostgreSQL ${version.full} (database.engineVersion "${config.database.engineVersion}") with the settings of environment "${config.name}"'s RDS parameter group: ${Object.entries(
      settings,
    )
      .map(([name, value]) => `${name}=${value}`)
      .join(', ')}, ssl=on (rds.force_ssl)`,
  );
  const server = await startPostgres({
    binDir: binaries.binDir,
    user: LOCAL_SUPERUSER,
    ssl: true,
    settings,
    ...(options.port === undefined ? {} : { port: options.port }),
  });
  let kept: LocalRunResult['kept'];
  try {
    const ca = server.certificateAuthority;
    if (!ca) throw new Error('startPostgres({ ssl: true }) returned no CA');
    print(
      `PostgreSQL ${version.full} on ${server.host}:${server.port} (TLS, pid ${server.pid}), data directory ${server.dataDir}`,
    );
    const databaseName = config.database.databaseName;
    const masterPassword = randomPassword();
    // Only a kept server needs its passwords in files: without --keep the run passes them in
    // memory, and files (and any path printed to them) would be gone seconds later.
    const passwordFiles = options.keep
      ? writePasswordFiles(
          server.rootDir,
          { master: LOCAL_MASTER_USER, replication: desired.user },
          { master: masterPassword, replication: replicationPassword },
        )
      : undefined;
    await asSuperuser(server, (superuser) =>
      createRdsLikeMaster(
        superuser,
        { user: LOCAL_MASTER_USER, password: masterPassword, database: databaseName },
        (database) => server.connectionConfig(database),
      ),
    );
    print(
      `Created the master user "${LOCAL_MASTER_USER}" (like the RDS master: CREATEROLE, CREATEDB, ${RDS_REPLICATION_ROLE} WITH ADMIN OPTION, not a superuser) and database "${databaseName}"`,
    );

    const endpoint = (user: string, password: string): ConnectOptions => ({
      host: server.host,
      port: server.port,
      user,
      password,
      database: databaseName,
      tls: { mode: 'verify-full', ca: ca.certPem },
    });
    const master = await connect(endpoint(LOCAL_MASTER_USER, masterPassword));
    let changes: readonly CapturedChange[];
    try {
      print(
        `Replication setup for --env ${config.name}, as the Lambda runs it (same planner, as the master user):`,
      );
      await setupReplication(master, desired, {
        onStep: (step, index, total) => print(`  [${index + 1}/${total}] ${step.description}`),
      });
      const honoured = await asSuperuser(server, honourRdsReplicationMembership);
      if (honoured.length > 0) {
        print(
          `As RDS does for members of ${RDS_REPLICATION_ROLE}, the local server gave ${honoured.map((role) => `"${role}"`).join(', ')} the REPLICATION attribute (stock PostgreSQL honours only the attribute).`,
        );
      }
      print(
        passwordFiles
          ? `The replication user's password is in ${passwordFiles.replication} (readable by you only; never printed).`
          : "The replication user's password is random and never printed; it goes with the server (--keep keeps it in a file).",
      );

      const slotBefore = await slotPosition(master, desired);
      writeFileSync(options.changesFile, '');
      const stream = await openChangeStream({
        connection: clientConfig(endpoint(desired.user, replicationPassword)),
        slot: { name: DEMO_SLOT_NAME, temporary: true },
        publicationName: desired.publicationName,
        onChange: (change) => {
          const line = JSON.stringify(change);
          print(line);
          appendFileSync(options.changesFile, `${line}\n`);
        },
      });
      const tutorial = tutorialChanges(desired.schema);
      let streamFailure: Error | undefined;
      try {
        print(
          `Streaming publication "${desired.publicationName}" with pgoutput as "${desired.user}" (not a superuser) from the temporary slot "${DEMO_SLOT_NAME}", so that "${desired.slotName}" keeps these changes for Airbyte. The tutorial's changes and what CDC captured:`,
        );
        await runTutorialChanges(master, tutorial, (change) => print(`  ${change.description}`));
        await stream.waitForChanges(tutorial.length, CHANGE_TIMEOUT_MS).catch((error: Error) => {
          streamFailure = error;
        });
      } finally {
        await stream.stop();
      }
      changes = [...stream.changes];
      const missing = missingChanges(changes, tutorial, desired.schema);
      const slotAfter = await slotPosition(master, desired);
      const slotUntouched = slotAfter === slotBefore;
      if (missing.length === 0) {
        print(
          `✅ Captured all ${tutorial.length} changes; written to ${options.changesFile} (one JSON object per line).`,
        );
      } else {
        print(
          `❌ Not captured: ${missing.map((change) => change.description).join(', ')} (${streamFailure?.message ?? 'other changes arrived instead'}). Captured changes are in ${options.changesFile}.`,
        );
      }
      print(
        slotUntouched
          ? `✅ Slot "${desired.slotName}" still at confirmed_flush_lsn ${slotBefore}: the demo consumed nothing a real consumer needs.`
          : `❌ Slot "${desired.slotName}" moved from ${slotBefore} to ${slotAfter}: the demo must not consume it.`,
      );
      if (desired.monitoringUser) {
        const { name, password } = desired.monitoringUser;
        print(await watchdogReading(endpoint(name, password), desired.slotName));
      }
      if (desired.tables.some((table) => table.replicaIdentity === 'default')) {
        print(
          'Note: with REPLICA IDENTITY DEFAULT a delete carries only the primary key as "before", and an update carries no "before" unless its key changed. Set replication.replicaIdentity (or the table\'s) to "full" for whole old rows.',
        );
      }
      if (missing.length > 0 || !slotUntouched) return { success: false, changes };
    } finally {
      await master.end().catch(() => undefined);
    }

    const source = localAirbyteSource(config, {
      host: server.host,
      port: server.port,
      database: databaseName,
      username: desired.user,
      secretFiles: passwordFiles && {
        password: passwordFiles.replication,
        caCertificate: ca.certPath,
      },
    });
    print('');
    print(
      `Airbyte source for this database (New source > Postgres; built like the one "npm run airbyte" sends for --env ${config.name}, with SSL verify-full against the local CA):`,
    );
    const width = Math.max(...source.form.map(([label]) => label.length));
    for (const [label, value] of source.form) print(`  ${label.padEnd(width)}  ${value}`);
    print(`  As JSON: ${JSON.stringify(source.configuration)}`);

    // No password files means no --keep (see where they are written).
    if (!passwordFiles) {
      print('');
      print(
        'Stopping PostgreSQL and removing its data directory (run with --keep to leave it running for Airbyte).',
      );
      return { success: true, changes };
    }
    server.detach();
    kept = { port: server.port, pid: server.pid, rootDir: server.rootDir };
    recordKeptServer(
      {
        ...kept,
        environment: config.name,
        startedAt: new Date().toISOString(),
      },
      options.keptServersDir,
    );
    const doctorCommand = `${PASSWORD_ENV_VAR}="$(cat ${passwordFiles.replication})" npm run doctor -- --env ${config.name} --host ${server.host} --port ${server.port} --database ${databaseName} --user ${desired.user} --password-env ${PASSWORD_ENV_VAR} --ca-file ${ca.certPath}`;
    print('');
    print(
      `PostgreSQL keeps running on ${server.host}:${server.port} (pid ${server.pid}, listening on 127.0.0.1 only; its log is not kept).`,
    );
    print(`  Master user:        ${LOCAL_MASTER_USER}, password in ${passwordFiles.master}`);
    print(`  Replication user:   ${desired.user}, password in ${passwordFiles.replication}`);
    print(`  CA certificate:     ${ca.certPath}`);
    print(
      `  psql:               PGPASSWORD="$(cat ${passwordFiles.replication})" psql "host=${server.host} port=${server.port} dbname=${databaseName} user=${desired.user} sslmode=verify-full sslrootcert=${ca.certPath}"`,
    );
    print(`  Check it:           ${doctorCommand}`);
    print(
      `  Stop it:            npm run local -- --stop --port ${server.port}   (or: kill -INT ${server.pid}; rm -rf ${server.rootDir})`,
    );
    return { success: true, changes, kept };
  } finally {
    if (!kept) await server.stop();
  }
}

/** Make sure the changes file's directory exists (the default lives in the temp directory). */
export function prepareChangesFile(file: string): string {
  const resolved = path.resolve(file);
  mkdirSync(path.dirname(resolved), { recursive: true });
  return resolved;
}
