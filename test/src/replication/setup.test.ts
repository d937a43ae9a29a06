import { Client } from 'pg';
import type {
  MessageInsert,
  MessageDelete,
  MessageUpdate,
} from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput.types';
import {
  DesiredReplicationState,
  MissingPrimaryKeyError,
  MissingTableError,
  RoleConflictError,
  setupReplication,
  SlotConflictError,
  StepFailedError,
  teardownReplication,
  WalLevelError,
  PASSWORD_VARIABLE,
  SuperuserRequiredError,
} from '../../../src/replication';
import { startTestPostgres, uniqueName, usePostgres } from '../../support/postgres';
import { createRdsLikeDatabase } from '../../support/rds-like';
import {
  serverVersionOf,
  streamAsReplicationUser,
  tutorialSetupSteps,
  tutorialState,
} from './fixtures';

const pg = usePostgres();

/** The state as plain SQL sees it, independent of readCatalog. */
async function inspect(client: Client, desired: DesiredReplicationState) {
  const { rows } = await client.query(
    `SELECT
       (SELECT count(*)::int FROM pg_namespace WHERE nspname = $1) AS schemas,
       (SELECT row_to_json(r) FROM (SELECT rolcanlogin, rolreplication, rolsuper, rolcreatedb, rolcreaterole
                                    FROM pg_roles WHERE rolname = $2) r) AS role,
       (SELECT has_schema_privilege(r.oid, n.oid, 'USAGE') FROM pg_roles r, pg_namespace n
         WHERE r.rolname = $2 AND n.nspname = $1) AS usage,
       (SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_publication_tables WHERE pubname = $3) AS published,
       (SELECT row_to_json(s) FROM (SELECT plugin, database, slot_type FROM pg_replication_slots WHERE slot_name = $4) s) AS slot,
       (SELECT count(*)::int FROM pg_default_acl d, aclexplode(d.defaclacl) a
         WHERE a.grantee = (SELECT oid FROM pg_roles WHERE rolname = $2) AND a.privilege_type = 'SELECT'
           AND d.defaclnamespace = (SELECT oid FROM pg_namespace WHERE nspname = $1)) AS default_select`,
    [desired.schema, desired.user, desired.publicationName, desired.slotName],
  );
  return rows[0];
}

async function freshDatabase(): Promise<{ database: string; admin: Client }> {
  const database = await pg.createDatabase();
  return { database, admin: await pg.connect(database) };
}

describe('setupReplication on an empty database', () => {
  it('reaches the tutorial end state, then plans nothing', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState();
    const applied = await setupReplication(admin, desired);
    expect(applied.map((step) => step.kind)).toEqual(
      tutorialSetupSteps(await serverVersionOf(admin)),
    );
    expect(await inspect(admin, desired)).toEqual({
      schemas: 1,
      role: {
        rolcanlogin: true,
        rolreplication: true,
        rolsuper: false,
        rolcreatedb: false,
        rolcreaterole: false,
      },
      usage: true,
      published: ['data_tbl'],
      slot: { plugin: 'pgoutput', database, slot_type: 'logical' },
      default_select: 1,
    });
    const rows = await admin.query('SELECT id::int, val FROM datastore.data_tbl ORDER BY id');
    expect(rows.rows).toEqual([
      { id: 1, val: 'a' },
      { id: 2, val: 'b' },
    ]);

    expect(await setupReplication(admin, desired)).toEqual([]);
  });

  it('inserts the demo rows only when it creates the table', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    await admin.query('DELETE FROM datastore.data_tbl');
    expect(await setupReplication(admin, desired)).toEqual([]);
    expect((await admin.query('SELECT count(*)::int AS n FROM datastore.data_tbl')).rows[0].n).toBe(
      0,
    );
  });

  it('dryRun returns the plan without changing anything', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    const planned = await setupReplication(admin, desired, { dryRun: true });
    expect(planned).toHaveLength(tutorialSetupSteps(await serverVersionOf(admin)).length);
    expect((await inspect(admin, desired)).schemas).toBe(0);
  });

  it('reports each step before running it, without secrets', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState({ password: 'very-Secret-Value-42' });
    const printed: string[] = [];
    await setupReplication(admin, desired, {
      onStep: (step, index, total) =>
        printed.push(`${index + 1}/${total} ${step.description} ${step.sensitive ? '' : step.sql}`),
    });
    expect(printed).toHaveLength(tutorialSetupSteps(await serverVersionOf(admin)).length);
    expect(printed.join('\n')).not.toContain(desired.password);
  });
});

describe('the replication user', () => {
  it('streams the tutorial changes over pgoutput (CDC really flows)', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);

    const stream = await streamAsReplicationUser(pg.config(database), desired);
    try {
      await admin.query("INSERT INTO datastore.data_tbl VALUES (3, 'c')");
      await admin.query('DELETE FROM datastore.data_tbl WHERE id = 2');
      await admin.query("UPDATE datastore.data_tbl SET val = 'd' WHERE id = 1");
      const [insert, remove, update] = await stream.waitForChanges(3);
      expect(insert.tag).toBe('insert');
      expect((insert as MessageInsert).relation).toMatchObject({
        schema: 'datastore',
        name: 'data_tbl',
      });
      expect((insert as MessageInsert).new).toEqual({ id: '3', val: 'c' });
      expect(remove.tag).toBe('delete');
      expect((remove as MessageDelete).relation.name).toBe('data_tbl');
      expect((remove as MessageDelete).key).toEqual({ id: '2' });
      expect(update.tag).toBe('update');
      expect((update as MessageUpdate).relation.name).toBe('data_tbl');
      expect((update as MessageUpdate).new).toEqual({ id: '1', val: 'd' });
    } finally {
      await stream.stop();
    }
  });

  it('is not a superuser and cannot write or create anything', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    const user = await pg.connect(database, { user: desired.user, password: desired.password });

    expect(
      (await user.query('SELECT usesuper FROM pg_user WHERE usename = current_user')).rows[0]
        .usesuper,
    ).toBe(false);
    expect((await user.query('SELECT count(*)::int AS n FROM datastore.data_tbl')).rows[0].n).toBe(
      2,
    );
    for (const statement of [
      "INSERT INTO datastore.data_tbl VALUES (9, 'x')",
      "UPDATE datastore.data_tbl SET val = 'x'",
      'DELETE FROM datastore.data_tbl',
      'TRUNCATE datastore.data_tbl',
      'CREATE TABLE datastore.intruder (id int)',
      'CREATE TABLE public.intruder (id int)',
      'CREATE SCHEMA intruder',
    ]) {
      await expect(user.query(statement)).rejects.toThrow(/permission denied/);
    }
  });

  it('can read tables the master user creates later (default privileges)', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    await admin.query('CREATE TABLE datastore.later (id int PRIMARY KEY)');
    const user = await pg.connect(database, { user: desired.user, password: desired.password });
    await expect(user.query('SELECT * FROM datastore.later')).resolves.toBeDefined();
  });

  it('is granted rds_replication instead of REPLICATION where that role exists (RDS)', async () => {
    const { admin } = await freshDatabase();
    await admin.query('CREATE ROLE rds_replication NOLOGIN');
    const desired = tutorialState();
    try {
      const applied = await setupReplication(admin, desired);
      expect(applied.map((step) => step.kind)).toContain('grant-rds-replication');
      expect(applied.map((step) => step.kind)).not.toContain('grant-replication-attribute');
      const { rows } = await admin.query(
        `SELECT pg_has_role($1, 'rds_replication', 'MEMBER') AS member,
                (SELECT rolreplication FROM pg_roles WHERE rolname = $1) AS attribute`,
        [desired.user],
      );
      expect(rows[0]).toEqual({ member: true, attribute: false });
      expect(await setupReplication(admin, desired)).toEqual([]);
    } finally {
      await admin.query(`DROP OWNED BY ${admin.escapeIdentifier(desired.user)}`);
      await admin.query(`DROP ROLE ${admin.escapeIdentifier(desired.user)}`);
      await admin.query('DROP ROLE rds_replication');
    }
  });

  it('gets write access to the heartbeat table only', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState({ heartbeatTable: 'airbyte_heartbeat' });
    const applied = await setupReplication(admin, desired);
    expect(applied.map((step) => step.kind)).toEqual(
      expect.arrayContaining(['create-heartbeat-table', 'grant-heartbeat-write']),
    );
    const user = await pg.connect(database, { user: desired.user, password: desired.password });
    await user.query('INSERT INTO datastore.airbyte_heartbeat (id) VALUES (1)');
    await user.query('UPDATE datastore.airbyte_heartbeat SET last_heartbeat = now() WHERE id = 1');
    await expect(user.query("INSERT INTO datastore.data_tbl VALUES (9, 'x')")).rejects.toThrow(
      /permission denied/,
    );
    expect((await inspect(admin, desired)).published).toEqual(['airbyte_heartbeat', 'data_tbl']);
    expect(await setupReplication(admin, desired)).toEqual([]);
  });
});

describe('updates', () => {
  async function confirmedFlush(admin: Client, slotName: string): Promise<string> {
    const { rows } = await admin.query(
      'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
      [slotName],
    );
    return rows[0].lsn;
  }

  it('adds and removes tables and changes identity in place, keeping the slot position', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    await admin.query('CREATE TABLE datastore.orders (id int PRIMARY KEY, total numeric)');
    await admin.query("INSERT INTO datastore.data_tbl VALUES (10, 'moves the WAL')");
    // Move the slot off its creation point so "kept" means more than "still the initial value".
    await admin.query('SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())', [
      desired.slotName,
    ]);
    const before = await confirmedFlush(admin, desired.slotName);

    const added = {
      ...desired,
      tables: [
        ...desired.tables,
        { schema: 'datastore', name: 'orders', replicaIdentity: 'full' as const },
      ],
    };
    const addSteps = await setupReplication(admin, added);
    expect(addSteps.map((step) => step.kind)).toEqual([
      'set-replica-identity',
      'set-publication-tables',
    ]);
    expect((await inspect(admin, added)).published).toEqual(['data_tbl', 'orders']);
    const identity = await admin.query(
      "SELECT relreplident FROM pg_class WHERE oid = 'datastore.orders'::regclass",
    );
    expect(identity.rows[0].relreplident).toBe('f');

    const removed = {
      ...desired,
      tables: [{ schema: 'datastore', name: 'orders', replicaIdentity: 'full' as const }],
      createDemoTable: false,
    };
    expect((await setupReplication(admin, removed)).map((step) => step.kind)).toEqual([
      'set-publication-tables',
    ]);
    expect((await inspect(admin, removed)).published).toEqual(['orders']);

    expect(await confirmedFlush(admin, desired.slotName)).toBe(before);
    expect(await setupReplication(admin, removed)).toEqual([]);
  });

  it('changes the password so that only the new one logs in', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState({ password: 'old-Password-1' });
    await setupReplication(admin, desired);
    const changed = { ...desired, password: 'new-Password-2' };
    const steps = await setupReplication(admin, changed);
    expect(steps.map((step) => step.kind)).toEqual(['update-role']);
    expect(steps[0].sensitive).toBe(true);
    expect(steps[0].sql).not.toContain('new-Password-2');

    const login = (password: string) => pg.connect(database, { user: desired.user, password });
    await expect(login('new-Password-2')).resolves.toBeDefined();
    await expect(login('old-Password-1')).rejects.toThrow(/password authentication failed/);
    expect(await setupReplication(admin, changed)).toEqual([]);
  });

  it('creates a renamed slot and publication without touching the old ones (replacement)', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    const oldFlush = await confirmedFlush(admin, desired.slotName);
    const renamed = {
      ...desired,
      slotName: uniqueName('new_slot'),
      publicationName: 'new_publication',
    };
    const steps = await setupReplication(admin, renamed);
    expect(steps.map((step) => step.kind)).toEqual(['create-publication', 'create-slot']);
    expect(await confirmedFlush(admin, desired.slotName)).toBe(oldFlush);
    expect((await inspect(admin, desired)).published).toEqual(['data_tbl']);
    expect((await inspect(admin, renamed)).slot).toMatchObject({ plugin: 'pgoutput' });
  });
});

describe('bad input', () => {
  it('refuses a table without a primary key under identity default, naming it, before changing anything', async () => {
    const { admin } = await freshDatabase();
    await admin.query('CREATE SCHEMA datastore; CREATE TABLE datastore.events (payload text)');
    const desired = tutorialState({
      createDemoTable: false,
      tables: [{ schema: 'datastore', name: 'events', replicaIdentity: 'default' }],
    });
    await expect(setupReplication(admin, desired)).rejects.toThrow(MissingPrimaryKeyError);
    await expect(setupReplication(admin, desired)).rejects.toThrow(
      /"datastore"\."events" has no primary key.*"replicaIdentity": "full"/,
    );
    expect((await inspect(admin, desired)).role).toBeNull();

    const full = {
      ...desired,
      tables: [{ schema: 'datastore', name: 'events', replicaIdentity: 'full' as const }],
    };
    await setupReplication(admin, full);
    expect((await inspect(admin, full)).published).toEqual(['events']);
  });

  it('refuses a missing table, naming it', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState({
      tables: [
        { schema: 'datastore', name: 'data_tbl', replicaIdentity: 'default' },
        { schema: 'datastore', name: 'nope', replicaIdentity: 'default' },
      ],
    });
    await expect(setupReplication(admin, desired)).rejects.toThrow(MissingTableError);
    await expect(setupReplication(admin, desired)).rejects.toThrow(
      /Table "datastore"\."nope" does not exist in database/,
    );
    expect((await inspect(admin, desired)).schemas).toBe(0);
  });

  it('quotes identifiers: quotes, spaces, upper case and unicode work and cannot inject', async () => {
    const { database, admin } = await freshDatabase();
    const schema = 'Données "Clients"';
    const table = 'x"; DROP TABLE victim; --';
    await admin.query('CREATE TABLE public.victim (id int)');
    await admin.query(
      `CREATE SCHEMA ${admin.escapeIdentifier(schema)}; CREATE TABLE ${admin.escapeIdentifier(schema)}.${admin.escapeIdentifier(table)} (id int PRIMARY KEY, "Value ü" text)`,
    );
    const desired = tutorialState({
      schema,
      tables: [{ schema, name: table, replicaIdentity: 'full' }],
      createDemoTable: false,
      user: uniqueName(`Air Byte'"; DROP ROLE postgres; --`).slice(0, 60),
      password: `pa'ss"wo\\rd; DROP TABLE victim; --`,
      publicationName: 'Pub "ünï" \'; DROP TABLE victim; --',
    });
    await setupReplication(admin, desired);
    expect(await setupReplication(admin, desired)).toEqual([]);
    const state = await inspect(admin, desired);
    expect(state.published).toEqual([table]);
    expect(state.usage).toBe(true);
    await expect(admin.query('SELECT * FROM public.victim')).resolves.toBeDefined();
    const user = await pg.connect(database, { user: desired.user, password: desired.password });
    await expect(
      user.query(`SELECT * FROM ${user.escapeIdentifier(schema)}.${user.escapeIdentifier(table)}`),
    ).resolves.toBeDefined();
  });

  it('refuses to reuse a slot with another plugin', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await admin.query("SELECT pg_create_logical_replication_slot($1, 'test_decoding')", [
      desired.slotName,
    ]);
    try {
      await expect(setupReplication(admin, desired)).rejects.toThrow(SlotConflictError);
      await expect(setupReplication(admin, desired)).rejects.toThrow(
        /plugin test_decoding, not pgoutput/,
      );
    } finally {
      await admin.query('SELECT pg_drop_replication_slot($1)', [desired.slotName]);
    }
  });

  it('refuses to reuse a slot of another database', async () => {
    const other = await freshDatabase();
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await other.admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [
      desired.slotName,
    ]);
    try {
      await expect(setupReplication(admin, desired)).rejects.toThrow(
        new RegExp(`exists for database "${other.database}"`),
      );
    } finally {
      await other.admin.query('SELECT pg_drop_replication_slot($1)', [desired.slotName]);
    }
  });

  it('refuses an existing superuser role as the replication user', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await admin.query(`CREATE ROLE ${admin.escapeIdentifier(desired.user)} LOGIN SUPERUSER`);
    try {
      await expect(setupReplication(admin, desired)).rejects.toThrow(RoleConflictError);
      await expect(setupReplication(admin, desired)).rejects.toThrow(/exists and is a superuser/);
    } finally {
      await admin.query(`DROP ROLE ${admin.escapeIdentifier(desired.user)}`);
    }
  });

  it('names the failed step and leaves nothing half-done when a statement fails', async () => {
    const { database, admin } = await freshDatabase();
    await admin.query(
      'CREATE SCHEMA datastore; CREATE TABLE datastore.data_tbl (id bigint PRIMARY KEY, val varchar)',
    );
    const locker = await pg.connect(database);
    await locker.query('BEGIN; LOCK TABLE datastore.data_tbl IN ACCESS EXCLUSIVE MODE');
    const desired = tutorialState({
      tables: [{ schema: 'datastore', name: 'data_tbl', replicaIdentity: 'full' }],
    });
    try {
      await admin.query("SET lock_timeout = '200ms'");
      const failure = setupReplication(admin, desired);
      await expect(failure).rejects.toThrow(StepFailedError);
      await expect(failure).rejects.toThrow(
        /^Step ".+" failed: .*lock timeout.*\[SQLSTATE 55P03\]\. Another session holds a lock/,
      );
      // One transaction: the role created before the failing step was rolled back.
      expect((await inspect(admin, desired)).role).toBeNull();
    } finally {
      await locker.query('ROLLBACK');
      await admin.query('RESET lock_timeout');
    }
    await setupReplication(admin, desired);
    expect((await inspect(admin, desired)).published).toEqual(['data_tbl']);
  });
});

describe('preflight', () => {
  it('gives WalLevelError, with the reboot advice, when wal_level is replica', async () => {
    const server = await startTestPostgres({ settings: { wal_level: 'replica' } });
    const client = new Client(server.connectionConfig());
    try {
      await client.connect();
      const desired = tutorialState();
      await expect(setupReplication(client, desired)).rejects.toThrow(WalLevelError);
      await expect(setupReplication(client, desired)).rejects.toThrow(
        /wal_level is "replica".*rds\.logical_replication=1.*reboot/,
      );
      const schemas = await client.query(
        "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'datastore'",
      );
      expect(schemas.rows[0].n).toBe(0);
    } finally {
      await client.end();
      await server.stop();
    }
  });
});

describe('as a non-superuser master user (like the RDS master)', () => {
  // Without the rds_replication role: the REPLICATION-attribute path of plain PostgreSQL.
  const rdsLikeMaster = () => createRdsLikeDatabase(pg, { rdsReplication: false });

  it('sets up, re-runs to an empty plan and tears down without superuser rights', async () => {
    const admin = await pg.connect();
    const { client } = await rdsLikeMaster();
    const desired = tutorialState();
    if ((await serverVersionOf(client)) < 160000) {
      // Before 16 only a superuser may give the attribute: the setup changes nothing and says
      // what a superuser must run once; with that done, the master does the rest.
      const statement = `CREATE ROLE ${admin.escapeIdentifier(desired.user)} WITH LOGIN REPLICATION PASSWORD :'${PASSWORD_VARIABLE}';`;
      const refused = setupReplication(client, desired);
      await expect(refused).rejects.toThrow(SuperuserRequiredError);
      await expect(refused).rejects.toThrow(statement);
      expect((await inspect(admin, desired)).role).toBeNull();
      await admin.query(
        statement.replace(`:'${PASSWORD_VARIABLE}'`, admin.escapeLiteral(desired.password)),
      );
    }

    const applied = await setupReplication(client, desired);
    expect(applied.at(-1)?.kind).toBe('create-slot');
    expect(await setupReplication(client, desired)).toEqual([]);
    const removed = await teardownReplication(client, desired);
    expect(removed.map((step) => step.kind)).toContain('grant-role-to-current-user');
    expect(await teardownReplication(client, desired)).toEqual([]);
    expect((await inspect(admin, desired)).role).toBeNull();
  });

  it('grants and revokes rds_replication as a master holding it WITH ADMIN OPTION', async () => {
    const admin = await pg.connect();
    const { master, client } = await rdsLikeMaster();
    await admin.query('CREATE ROLE rds_replication NOLOGIN');
    const desired = tutorialState();
    try {
      await admin.query(
        `GRANT rds_replication TO ${admin.escapeIdentifier(master)} WITH ADMIN OPTION`,
      );
      const applied = await setupReplication(client, desired);
      expect(applied.map((step) => step.kind)).toContain('grant-rds-replication');
      expect(await setupReplication(client, desired)).toEqual([]);
      await teardownReplication(client, desired);
      expect((await inspect(admin, desired)).role).toBeNull();
    } finally {
      await admin.query(`REVOKE rds_replication FROM ${admin.escapeIdentifier(master)}`);
      await admin.query('DROP ROLE rds_replication');
    }
  });
});
