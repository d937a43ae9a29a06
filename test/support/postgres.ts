import { Client, ClientConfig } from 'pg';
import {
  findPostgresBinaries,
  INSTALLED_POSTGRES_MAJOR,
  isPostgresMajor,
  POSTGRES_MAJORS,
  type PostgresMajor,
} from '../../src/local/postgres-binaries';
import {
  RunningPostgres,
  startPostgres,
  StartPostgresOptions,
} from '../../src/local/postgres-server';

/** Environment variable naming the PostgreSQL major every PostgreSQL-backed test runs on. */
export const PG_MAJOR_ENV_VAR = 'PG_MAJOR';

/** Long enough for the one-time download of a major (~23 MB) on a slow connection. */
const DOWNLOAD_TIMEOUT_MS = 10 * 60 * 1000;

/** The major the tests run on: $PG_MAJOR (`PG_MAJOR=15 npx jest`), default 17 (npm ci's). */
export function testPostgresMajor(env: NodeJS.ProcessEnv = process.env): PostgresMajor {
  const value = env[PG_MAJOR_ENV_VAR]?.trim();
  if (!value) return INSTALLED_POSTGRES_MAJOR;
  if (isPostgresMajor(value)) return value;
  throw new Error(
    `${PG_MAJOR_ENV_VAR}=${value} is not a PostgreSQL major the tests can run: use one of ${POSTGRES_MAJORS.join(', ')}, or unset it for ${INSTALLED_POSTGRES_MAJOR}.`,
  );
}

/**
 * startPostgres on the tests' major (testPostgresMajor()) unless `options` names another: for
 * tests that need a server of their own besides usePostgres's.
 */
export function startTestPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  return startPostgres({ major: testPostgresMajor(), ...options });
}

/**
 * A jest timeout for a hook or test that starts the first server of `major`: the default when
 * its binaries are on this machine, long enough to download them otherwise.
 */
export function startTimeoutFor(major: PostgresMajor = testPostgresMajor()): number | undefined {
  return findPostgresBinaries(major) ? undefined : DOWNLOAD_TIMEOUT_MS;
}

/** One real PostgreSQL per test file, with helpers that keep tests isolated from each other. */
export interface TestPostgres {
  /** The running server (superuser credentials, port, CA when started with `ssl`). */
  readonly server: RunningPostgres;
  /**
   * Create an empty database with a unique name and return the name. Databases isolate schemas,
   * tables and publications; roles and slot names are cluster-wide, so use uniqueName() for them.
   */
  createDatabase(prefix?: string): Promise<string>;
  /**
   * A connected client, closed automatically after the file's tests. Default: superuser on
   * `postgres`; pass `{ user, password }` to log in as another role.
   */
  connect(database?: string, overrides?: Partial<ClientConfig>): Promise<Client>;
  /** The superuser connection settings for `database`. */
  config(database?: string): ClientConfig;
}

let counter = 0;

/** A name unique within this process, safe as a role, slot or database name. */
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${counter}`;
}

/**
 * Start one PostgreSQL for the current test file (beforeAll) and stop it after (afterAll), of the
 * major $PG_MAJOR names (default 17) unless `options.major` says otherwise. Call at the top of a
 * describe block; use the returned object inside tests only.
 */
export function usePostgres(options: StartPostgresOptions = {}): TestPostgres {
  let server: RunningPostgres | undefined;
  const clients: Client[] = [];

  const running = (): RunningPostgres => {
    if (!server) throw new Error('usePostgres(): the server is only available inside tests');
    return server;
  };

  beforeAll(async () => {
    // Tests leave slots behind in their own databases; room for many keeps them independent.
    server = await startTestPostgres({
      ...options,
      settings: { max_replication_slots: 100, max_wal_senders: 100, ...options.settings },
    });
  }, startTimeoutFor(options.major));

  afterAll(async () => {
    await Promise.all(clients.splice(0).map((client) => client.end().catch(() => undefined)));
    await server?.stop();
  });

  const connect = async (
    database?: string,
    overrides: Partial<ClientConfig> = {},
  ): Promise<Client> => {
    const client = new Client({ ...running().connectionConfig(database), ...overrides });
    // An unexpected disconnect (a test terminating a backend) must not crash the worker.
    client.on('error', () => undefined);
    await client.connect();
    clients.push(client);
    return client;
  };

  return {
    get server() {
      return running();
    },
    config: (database) => running().connectionConfig(database),
    connect,
    createDatabase: async (prefix = 'test') => {
      const name = uniqueName(prefix);
      const admin = new Client(running().connectionConfig());
      await admin.connect();
      try {
        await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(name)}`);
      } finally {
        await admin.end();
      }
      return name;
    },
  };
}
