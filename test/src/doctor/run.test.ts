import * as path from 'path';
import { Client } from 'pg';
import type { EnvironmentConfig } from '../../../src/config';
import { isWholeSchema } from '../../../src/contract/replication-setup';
import { startPostgres, type RunningPostgres } from '../../../src/local/postgres-server';
import {
  exitCodeOf,
  runDoctor,
  type CheckId,
  type CheckStatus,
  type DoctorOptions,
  type DoctorReport,
  type FixStatement,
} from '../../../src/doctor';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import { applyFixStatements, replicationConfig } from '../../support/doctor';
import { streamSlot } from '../replication/fixtures';
import { usePostgres, type TestPostgres } from '../../support/postgres';

const pg = usePostgres();
const PASSWORD = 'Doctor-Secret-1';
const GIB = 1024 ** 3;

interface Fixture {
  readonly database: string;
  readonly admin: Client;
  readonly replication: EnvironmentConfig['replication'];
}

/** A database in the state `npm run local` / the Lambda leave behind. */
async function goodState(
  overrides: Record<string, unknown> = {},
  options: { prepare?: (admin: Client) => Promise<void> } = {},
): Promise<Fixture> {
  const database = await pg.createDatabase('doctor');
  const admin = await pg.connect(database);
  await options.prepare?.(admin);
  const replication = replicationConfig(overrides);
  await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
  return { database, admin, replication };
}

function connectionTo(server: TestPostgres['server'] | RunningPostgres, database: string) {
  return {
    host: server.host,
    port: server.port,
    user: server.user,
    password: server.password,
    database,
    tls: { mode: 'disable' as const },
  };
}

function doctor(fixture: Fixture, options: Partial<DoctorOptions> = {}): Promise<DoctorReport> {
  return runDoctor({
    connection: connectionTo(pg.server, fixture.database),
    replication: fixture.replication,
    replicationPassword: PASSWORD,
    slotLagWarnBytes: GIB,
    ...options,
  });
}

function statuses(report: DoctorReport): Record<string, CheckStatus> {
  return Object.fromEntries(report.checks.map((check) => [check.id, check.status]));
}

const withStatus = (report: DoctorReport, status: CheckStatus): string[] =>
  report.checks.filter((check) => check.status === status).map((check) => check.id);

const check = (report: DoctorReport, id: CheckId) => {
  const found = report.checks.find((candidate) => candidate.id === id);
  if (!found) throw new Error(`no check ${id} in the report`);
  return found;
};

/** The statements printed under every ❌, in print order. */
const printedFixes = (report: DoctorReport): FixStatement[] =>
  report.checks.filter((c) => c.status === 'fail').flatMap((c) => c.fix?.sql ?? []);

/**
 * Plain PostgreSQL on 127.0.0.1 without TLS: these two do not apply, everything else passes but
 * the TOAST warning for the tutorial's data_tbl (its `val varchar` is unbounded: see toast.test.ts).
 */
function expectHealthy(report: DoctorReport, warnings: readonly CheckId[] = ['toast']): void {
  expect(withStatus(report, 'fail')).toEqual([]);
  expect(withStatus(report, 'warn')).toEqual(warnings);
  expect(withStatus(report, 'skip')).toEqual(['rds-logical-replication', 'ssl']);
  expect(exitCodeOf(report)).toBe(0);
}

describe('a database set up by the replication setup', () => {
  it('passes every check, as the master user and as the replication user itself', async () => {
    const fixture = await goodState();
    const asMaster = await doctor(fixture);
    expectHealthy(asMaster);
    expect(check(asMaster, 'user-login').detail).toBe('logged in with its password');

    const asUser = await doctor(fixture, {
      connection: {
        ...connectionTo(pg.server, fixture.database),
        user: fixture.replication.user,
        password: PASSWORD,
      },
      replicationPassword: undefined,
    });
    expectHealthy(asUser);
    expect(check(asUser, 'user-login').detail).toBe('the doctor is logged in as this user');
  });

  it('warns (exit 0) when it has no password to try the login with', async () => {
    const fixture = await goodState();
    const report = await doctor(fixture, { replicationPassword: undefined });
    expect(withStatus(report, 'warn')).toEqual(['toast', 'user-login']);
    expect(exitCodeOf(report)).toBe(0);
    expect(exitCodeOf(report, true)).toBe(1);
  });

  it('lets the heartbeat table be written and checks that it can be', async () => {
    const fixture = await goodState({ heartbeatTable: 'airbyte_heartbeat' });
    expectHealthy(await doctor(fixture));
    await fixture.admin.query(
      `REVOKE INSERT, UPDATE ON datastore.airbyte_heartbeat FROM ${fixture.admin.escapeIdentifier(fixture.replication.user)}`,
    );
    const broken = await doctor(fixture);
    expect(withStatus(broken, 'fail')).toEqual(['heartbeat-table']);
    await applyFixStatements(pg, fixture.database, printedFixes(broken), PASSWORD);
    expectHealthy(await doctor(fixture));
  });
});

interface BrokenCase {
  readonly name: string;
  readonly overrides?: Record<string, unknown>;
  readonly prepare?: (admin: Client) => Promise<void>;
  /** Break the good state; `user` is the quoted replication user. */
  readonly breakIt: (fixture: Fixture, user: string) => Promise<void>;
  readonly failing: readonly CheckId[];
  /** Expected in the failing checks' details. */
  readonly detail?: RegExp;
  /** Statuses after the fix where they differ from healthy. */
  readonly afterFix?: Partial<Record<CheckId, CheckStatus>>;
}

const q = (fixture: Fixture, sql: string) => fixture.admin.query(sql);

const BROKEN: readonly BrokenCase[] = [
  {
    name: 'replication user missing',
    breakIt: (f, user) => q(f, `DROP OWNED BY ${user}; DROP ROLE ${user}`).then(() => undefined),
    // The heartbeat table (on by default) lost its grant with the role.
    failing: ['user-exists', 'user-login', 'user-replication', 'user-select', 'heartbeat-table'],
    detail: /no such role/,
  },
  {
    name: 'user without LOGIN',
    breakIt: (f, user) => q(f, `ALTER ROLE ${user} NOLOGIN`).then(() => undefined),
    failing: ['user-login'],
    detail: /NOLOGIN/,
  },
  {
    name: 'user whose password is not the one in its secret',
    breakIt: (f, user) =>
      q(f, `ALTER ROLE ${user} PASSWORD 'another-Password-2'`).then(() => undefined),
    failing: ['user-login'],
    detail: /refused user/,
  },
  {
    name: 'user without the REPLICATION attribute',
    breakIt: (f, user) => q(f, `ALTER ROLE ${user} NOREPLICATION`).then(() => undefined),
    failing: ['user-replication'],
  },
  {
    name: 'user without SELECT on a published table',
    breakIt: (f, user) =>
      q(f, `REVOKE SELECT ON datastore.data_tbl FROM ${user}`).then(() => undefined),
    failing: ['user-select'],
    detail: /no SELECT on "datastore"."data_tbl"/,
  },
  {
    name: 'user without USAGE on the schema',
    breakIt: (f, user) =>
      q(f, `REVOKE USAGE ON SCHEMA datastore FROM ${user}`).then(() => undefined),
    failing: ['user-select'],
    detail: /no USAGE/,
  },
  {
    name: 'user with an extra INSERT grant',
    breakIt: (f, user) =>
      q(f, `GRANT INSERT ON datastore.data_tbl TO ${user}`).then(() => undefined),
    failing: ['user-read-only'],
    detail: /INSERT on "datastore"."data_tbl"/,
  },
  {
    name: 'DELETE granted to PUBLIC',
    breakIt: (f) => q(f, 'GRANT DELETE ON datastore.data_tbl TO PUBLIC').then(() => undefined),
    failing: ['user-read-only'],
    detail: /DELETE on "datastore"."data_tbl"/,
  },
  {
    name: 'user with CREATE on the schema and the database',
    breakIt: (f, user) =>
      q(
        f,
        `GRANT CREATE ON SCHEMA datastore TO ${user}; GRANT CREATE ON DATABASE ${f.admin.escapeIdentifier(f.database)} TO ${user}`,
      ).then(() => undefined),
    failing: ['user-read-only'],
    detail: /CREATE on database .*CREATE on schema/,
  },
  {
    name: 'user owning a table of the schema',
    breakIt: (f, user) =>
      q(
        f,
        `CREATE TABLE datastore.owned (id int PRIMARY KEY); ALTER TABLE datastore.owned OWNER TO ${user}`,
      ).then(() => undefined),
    failing: ['user-read-only'],
    detail: /INSERT, UPDATE, DELETE, TRUNCATE on "datastore"."owned"/,
  },
  {
    name: 'user that is a superuser',
    breakIt: (f, user) => q(f, `ALTER ROLE ${user} SUPERUSER`).then(() => undefined),
    failing: ['user-read-only'],
    detail: /is a superuser/,
  },
  {
    name: 'publication missing',
    breakIt: (f) => q(f, 'DROP PUBLICATION airbyte_publication').then(() => undefined),
    failing: ['publication-exists', 'publication-tables'],
  },
  {
    name: 'publication with an extra table',
    breakIt: (f) =>
      q(
        f,
        'CREATE TABLE datastore.other (id int PRIMARY KEY); ALTER PUBLICATION airbyte_publication ADD TABLE datastore.other',
      ).then(() => undefined),
    failing: ['publication-tables'],
    detail: /also lists "datastore"."other"/,
  },
  {
    name: 'publication missing a configured table',
    overrides: { tables: ['data_tbl', 'orders'] },
    prepare: (admin) =>
      admin
        .query('CREATE SCHEMA datastore; CREATE TABLE datastore.orders (id int PRIMARY KEY)')
        .then(() => undefined),
    breakIt: (f) =>
      q(f, 'ALTER PUBLICATION airbyte_publication DROP TABLE datastore.orders').then(
        () => undefined,
      ),
    failing: ['publication-tables'],
    detail: /missing "datastore"."orders"/,
  },
  {
    name: 'publication that does not publish deletes',
    breakIt: (f) =>
      q(f, "ALTER PUBLICATION airbyte_publication SET (publish = 'insert, update')").then(
        () => undefined,
      ),
    failing: ['publication-operations'],
  },
  {
    name: 'publication FOR ALL TABLES',
    breakIt: (f) =>
      q(
        f,
        'DROP PUBLICATION airbyte_publication; CREATE PUBLICATION airbyte_publication FOR ALL TABLES',
      ).then(() => undefined),
    failing: ['publication-tables'],
    detail: /FOR ALL TABLES/,
  },
  {
    name: 'table without primary key',
    breakIt: (f) =>
      q(f, 'ALTER TABLE datastore.data_tbl DROP CONSTRAINT data_tbl_pkey').then(() => undefined),
    failing: ['tables'],
    detail: /no primary key and REPLICA IDENTITY DEFAULT/,
    // CDC works with FULL; the configuration still says default, which the doctor points out.
    afterFix: { tables: 'warn' },
  },
  {
    name: 'table with REPLICA IDENTITY NOTHING',
    breakIt: (f) =>
      q(f, 'ALTER TABLE datastore.data_tbl REPLICA IDENTITY NOTHING').then(() => undefined),
    failing: ['tables'],
    detail: /NOTHING/,
  },
  {
    name: 'demo table dropped',
    breakIt: (f) => q(f, 'DROP TABLE datastore.data_tbl').then(() => undefined),
    failing: ['tables', 'publication-tables'],
    detail: /does not exist|missing/,
  },
  {
    name: 'slot missing',
    breakIt: (f) =>
      q(f, `SELECT pg_drop_replication_slot('${f.replication.slotName}')`).then(() => undefined),
    failing: ['slot-exists'],
  },
  {
    name: 'slot with the test_decoding plugin',
    breakIt: async (f) => {
      await q(f, `SELECT pg_drop_replication_slot('${f.replication.slotName}')`);
      await q(
        f,
        `SELECT pg_create_logical_replication_slot('${f.replication.slotName}', 'test_decoding')`,
      );
    },
    failing: ['slot-plugin'],
    detail: /test_decoding/,
  },
  {
    name: 'slot created in another database',
    breakIt: async (f) => {
      await q(f, `SELECT pg_drop_replication_slot('${f.replication.slotName}')`);
      const other = await pg.connect(await pg.createDatabase('elsewhere'));
      await other.query(
        `SELECT pg_create_logical_replication_slot('${f.replication.slotName}', 'pgoutput')`,
      );
    },
    failing: ['slot-database'],
    detail: /decodes database "elsewhere_/,
  },
];

describe('each broken state fails its check, and the printed fix repairs it', () => {
  it.each(BROKEN)('$name', async (broken) => {
    const fixture = await goodState(broken.overrides, { prepare: broken.prepare });
    await broken.breakIt(fixture, fixture.admin.escapeIdentifier(fixture.replication.user));

    const report = await doctor(fixture);
    expect(withStatus(report, 'fail')).toEqual(broken.failing);
    expect(exitCodeOf(report)).toBe(1);
    if (broken.detail) {
      const details = broken.failing.map((id) => check(report, id).detail).join('\n');
      expect(details).toMatch(broken.detail);
    }
    const fixes = printedFixes(report);
    expect(fixes.length).toBeGreaterThan(0);
    expect(JSON.stringify(report)).not.toContain(PASSWORD);

    await applyFixStatements(pg, fixture.database, fixes, PASSWORD);
    const after = await doctor(fixture);
    if (broken.afterFix) {
      expect(statuses(after)).toMatchObject(broken.afterFix);
      expect(withStatus(after, 'fail')).toEqual([]);
    } else {
      expectHealthy(after);
    }
  });

  it('table without primary key: with "replicaIdentity": "full" configured, all passes', async () => {
    const fixture = await goodState();
    await q(fixture, 'ALTER TABLE datastore.data_tbl DROP CONSTRAINT data_tbl_pkey');
    await applyFixStatements(pg, fixture.database, printedFixes(await doctor(fixture)), PASSWORD);
    const tables = check(await doctor(fixture), 'tables');
    expect(tables.status).toBe('warn');
    expect(tables.fix).toEqual({
      sql: [],
      notes: [
        expect.stringContaining(
          'set "replicaIdentity": "full" for it in replication.tables (or replication.schemas)',
        ),
      ],
    });
    const report = await doctor({
      ...fixture,
      replication: {
        ...fixture.replication,
        schemas: [
          {
            name: fixture.replication.schema,
            tables: [{ name: 'data_tbl', replicaIdentity: 'full' }],
          },
        ],
      },
    });
    // FULL also answers the TOAST warning.
    expectHealthy(report, []);
  });

  it('a configured table that does not exist: named, with what to do, no SQL guessed', async () => {
    const fixture = await goodState();
    const [selection] = fixture.replication.schemas;
    const listed = selection.tables;
    if (isWholeSchema(listed)) throw new Error('the fixture lists its tables');
    const report = await doctor({
      ...fixture,
      replication: {
        ...fixture.replication,
        schemas: [
          { ...selection, tables: [...listed, { name: 'invoices', replicaIdentity: 'default' }] },
        ],
      },
    });
    expect(withStatus(report, 'fail')).toEqual(['tables', 'publication-tables']);
    expect(check(report, 'tables').detail).toContain('"datastore"."invoices" does not exist');
    expect(check(report, 'tables').fix?.notes.join('\n')).toMatch(
      /Create "datastore"."invoices" .* or remove it from replication.tables \(or replication.schemas\)/,
    );
  });
});

describe('the slot and its WAL', () => {
  it('warns when retained WAL is above the threshold; a consumer catching up clears it', async () => {
    const fixture = await goodState();
    await q(
      fixture,
      "INSERT INTO datastore.data_tbl SELECT g, repeat('x', 100) FROM generate_series(10, 5009) g",
    );
    const threshold = 64 * 1024;
    const lagging = await doctor(fixture, { slotLagWarnBytes: threshold });
    expect(withStatus(lagging, 'fail')).toEqual([]);
    expect(withStatus(lagging, 'warn')).toEqual(['toast', 'slot-lag']);
    expect(check(lagging, 'slot-lag').detail).toMatch(/retained, above 64\.0 KiB/);
    expect(check(lagging, 'slot-lag').fix?.notes.join('\n')).toMatch(/Run an Airbyte sync/);
    expect(exitCodeOf(lagging)).toBe(0);
    expect(exitCodeOf(lagging, true)).toBe(1);

    // What a sync does: read the changes through the publication and confirm them.
    const consume = `SELECT count(*) FROM pg_logical_slot_get_binary_changes('${fixture.replication.slotName}', NULL, NULL, 'proto_version', '1', 'publication_names', 'airbyte_publication')`;
    await q(fixture, consume);
    await q(fixture, 'CHECKPOINT');
    await q(fixture, consume);
    expectHealthy(await doctor(fixture, { slotLagWarnBytes: threshold }));
  });

  it('reports whether a consumer streams the slot', async () => {
    const fixture = await goodState();
    const report = await doctor(fixture);
    expect(check(report, 'slot-active').detail).toMatch(/inactive/);
  });
});

describe('servers configured wrongly', () => {
  /** Only a safety net: a reload takes milliseconds, even on a loaded machine. */
  const RELOAD_LIMIT_MS = 30_000;
  let server: RunningPostgres | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  async function serverDoctor(running: RunningPostgres, replication = replicationConfig()) {
    return runDoctor({
      connection: connectionTo(running, 'postgres'),
      replication,
      replicationPassword: PASSWORD,
      slotLagWarnBytes: GIB,
    });
  }

  async function fileSetting(running: RunningPostgres, name: string): Promise<string> {
    const admin = new Client(running.connectionConfig());
    await admin.connect();
    try {
      const { rows } = await admin.query<{ setting: string }>(
        'SELECT setting FROM pg_file_settings WHERE name = $1 ORDER BY seqno DESC LIMIT 1',
        [name],
      );
      return rows[0]?.setting;
    } finally {
      await admin.end();
    }
  }

  /** Whether connections started now see a configuration loaded after `loadedBefore`. */
  async function reloadedSince(running: RunningPostgres, loadedBefore: string): Promise<boolean> {
    const fresh = new Client(running.connectionConfig());
    await fresh.connect();
    try {
      const { rows } = await fresh.query<{ reloaded: boolean }>(
        'SELECT pg_conf_load_time() > $1::timestamptz AS reloaded',
        [loadedBefore],
      );
      return rows[0].reloaded;
    } finally {
      await fresh.end();
    }
  }

  async function applyAndReload(running: RunningPostgres, statements: readonly FixStatement[]) {
    const admin = new Client(running.connectionConfig());
    await admin.connect();
    let loadedBefore: string;
    try {
      const { rows } = await admin.query<{ loaded: string }>(
        'SELECT pg_conf_load_time()::text AS loaded',
      );
      loadedBefore = rows[0].loaded;
      for (const statement of statements) await admin.query(statement.sql);
      await admin.query('SELECT pg_reload_conf()');
    } finally {
      await admin.end();
    }
    // pg_reload_conf() only signals the postmaster, which re-reads the files when it gets to it;
    // the connections the doctor opens afterwards inherit its configuration and load time.
    const giveUpAt = Date.now() + RELOAD_LIMIT_MS;
    while (!(await reloadedSince(running, loadedBefore))) {
      if (Date.now() > giveUpAt) {
        throw new Error(
          `the server had not reloaded its configuration ${RELOAD_LIMIT_MS} ms after pg_reload_conf()`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('wal_level = replica: ALTER SYSTEM and a restart; the doctor then says the restart is pending', async () => {
    server = await startPostgres({ settings: { wal_level: 'replica' } });
    const report = await serverDoctor(server);
    const wal = check(report, 'wal-level');
    expect(wal.status).toBe('fail');
    expect(wal.detail).toBe('replica');
    expect(wal.fix?.sql).toEqual([{ sql: "ALTER SYSTEM SET wal_level = 'logical';" }]);
    expect(wal.fix?.notes.join('\n')).toMatch(/Restart PostgreSQL/);

    await applyAndReload(server, wal.fix?.sql ?? []);
    // Started with -c wal_level=replica, this server keeps that value; the file holds the fix.
    expect(await fileSetting(server, 'wal_level')).toBe('logical');
    const pending = check(await serverDoctor(server), 'wal-level');
    expect(pending.detail).toBe('replica (a new value waits for a restart)');
    expect(pending.fix).toEqual({ sql: [], notes: [expect.stringMatching(/Restart PostgreSQL/)] });
  });

  it('no replication slot left: raise max_replication_slots, and name the inactive slots', async () => {
    server = await startPostgres({ settings: { max_replication_slots: 1, max_wal_senders: 1 } });
    const admin = new Client(server.connectionConfig());
    await admin.connect();
    await admin.query("SELECT pg_create_logical_replication_slot('someone_elses', 'pgoutput')");
    await admin.end();

    const report = await serverDoctor(server);
    const slots = check(report, 'replication-slots');
    expect(slots.status).toBe('fail');
    expect(slots.detail).toMatch(/1 of 1 in use: none left for/);
    expect(slots.fix?.sql).toEqual([{ sql: "ALTER SYSTEM SET max_replication_slots = '2';" }]);
    expect(slots.fix?.notes.join('\n')).toMatch(
      /inactive now: someone_elses \(database postgres\)/,
    );

    await applyAndReload(server, slots.fix?.sql ?? []);
    expect(await fileSetting(server, 'max_replication_slots')).toBe('2');
    expect(check(await serverDoctor(server), 'replication-slots').detail).toMatch(
      /waits for a restart/,
    );
  });

  it('every WAL sender busy: fails unless our own consumer holds it', async () => {
    server = await startPostgres({ settings: { max_wal_senders: 1 } });
    const replication = replicationConfig();
    const admin = new Client(server.connectionConfig());
    await admin.connect();
    try {
      await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
      await admin.query("SELECT pg_create_logical_replication_slot('someone_elses', 'pgoutput')");
    } finally {
      await admin.end();
    }
    const other = await streamSlot(
      server.connectionConfig(),
      'someone_elses',
      'airbyte_publication',
    );
    try {
      const senders = check(await serverDoctor(server, replication), 'wal-senders');
      expect(senders).toMatchObject({
        status: 'fail',
        detail: '1 of 1 in use: Airbyte could not start streaming',
      });
      expect(senders.fix?.sql).toEqual([{ sql: "ALTER SYSTEM SET max_wal_senders = '10';" }]);
    } finally {
      // Resolves once the other consumer's WAL sender has exited: the only one is free again.
      await other.stop();
    }
    const ours = await streamSlot(
      server.connectionConfig(),
      replication.slotName,
      replication.publicationName,
    );
    try {
      const report = await serverDoctor(server, replication);
      expect(check(report, 'wal-senders')).toMatchObject({
        status: 'pass',
        detail: '1 of 1 in use',
      });
      expect(check(report, 'slot-active').detail).toMatch(/^streaming now \(pid \d+\)$/);
    } finally {
      await ours.stop();
    }
  });

  it('an invalidated slot (wal_status lost): drop and re-create it, with the resync warning', async () => {
    server = await startPostgres({ settings: { max_slot_wal_keep_size: '1MB' } });
    const replication = replicationConfig();
    const admin = new Client(server.connectionConfig());
    await admin.connect();
    try {
      await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
      for (let round = 1; round <= 3; round++) {
        await admin.query(
          `INSERT INTO datastore.data_tbl SELECT g, repeat('y', 100) FROM generate_series(${round * 10000}, ${round * 10000 + 3000}) g`,
        );
        await admin.query('SELECT pg_switch_wal()');
      }
      await admin.query('CHECKPOINT');

      const report = await serverDoctor(server, replication);
      expect(withStatus(report, 'fail')).toEqual(['slot-wal-status']);
      const lost = check(report, 'slot-wal-status');
      expect(lost.fix?.notes.join('\n')).toMatch(/full resync/);
      for (const statement of lost.fix?.sql ?? []) await admin.query(statement.sql);
    } finally {
      await admin.end();
    }
    const after = await serverDoctor(server, replication);
    expect(withStatus(after, 'fail')).toEqual([]);
    expect(check(after, 'slot-wal-status').detail).toBe('reserved');
  });

  it('no TLS (--require-tls): the printed statements, certificate paths filled in, turn it on', async () => {
    server = await startPostgres();
    // Only lends its certificate for 127.0.0.1, signed by its throwaway CA.
    const donor = await startPostgres({ ssl: true });
    try {
      const ca = donor.certificateAuthority;
      if (!ca) throw new Error('the donor server has no CA');
      const options: DoctorOptions = {
        connection: connectionTo(server, 'postgres'),
        replication: replicationConfig(),
        replicationPassword: PASSWORD,
        slotLagWarnBytes: GIB,
        requireTls: true,
      };
      const ssl = check(await runDoctor(options), 'ssl');
      expect(ssl).toMatchObject({ status: 'fail', detail: 'not encrypted (server ssl = off)' });
      const tlsDir = path.dirname(ca.certPath);
      await applyAndReload(
        server,
        (ssl.fix?.sql ?? []).map((statement) => ({
          sql: statement.sql
            .replace('<server.crt>', path.join(tlsDir, 'server.crt'))
            .replace('<server.key>', path.join(tlsDir, 'server.key')),
        })),
      );
      const verified = await runDoctor({
        ...options,
        connection: { ...options.connection, tls: { mode: 'verify-full', ca: ca.certPem } },
      });
      expect(check(verified, 'ssl')).toMatchObject({ status: 'pass' });
      expect(check(verified, 'ssl').detail).toMatch(/^TLSv1\.\d, certificate verified$/);
    } finally {
      await donor.stop();
    }
  });

  it('a server that cannot be reached: one failed connection check saying why', async () => {
    server = await startPostgres();
    const port = server.port;
    await server.stop();
    server = undefined;
    const report = await runDoctor({
      connection: { ...connectionTo(pg.server, 'postgres'), port },
      replication: replicationConfig(),
      slotLagWarnBytes: GIB,
    });
    expect(report.checks).toHaveLength(1);
    expect(report.checks[0]).toMatchObject({ id: 'connection', status: 'fail' });
    expect(report.checks[0].detail).toMatch(/refused/);
    expect(exitCodeOf(report)).toBe(1);
  });
});
