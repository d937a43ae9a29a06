import type { Client } from 'pg';
import {
  MONITORING_ROLE_CONNECTION_LIMIT,
  RoleConflictError,
  setupReplication,
  teardownReplication,
  type DesiredReplicationState,
} from '../../../src/replication';
import { readSlotHealth } from '../../../src/watchdog';
import { uniqueName, usePostgres } from '../../support/postgres';
import { createRdsLikeDatabase } from '../../support/rds-like';
import { tutorialState } from './fixtures';

const pg = usePostgres();

/** The tutorial with a heartbeat table and the slot watchdog's role. */
function withWatchdog(overrides: Partial<DesiredReplicationState> = {}): DesiredReplicationState {
  const name = uniqueName('airbyte_watchdog');
  return tutorialState({
    heartbeatTable: 'airbyte_heartbeat',
    monitoringUser: { name, password: `${name}-Secret-1` },
    ...overrides,
  });
}

async function loginAs(database: string, desired: DesiredReplicationState): Promise<Client> {
  const login = desired.monitoringUser!;
  return pg.connect(database, { user: login.name, password: login.password });
}

/** The error of `query`'s statement (SQLSTATE and message), or undefined when it succeeded. */
async function failureOf(client: Client, sql: string): Promise<string | undefined> {
  try {
    await client.query(sql);
    return undefined;
  } catch (error) {
    return `${(error as { code?: string }).code}: ${(error as Error).message}`;
  }
}

describe.each([
  ['a superuser', false],
  ['an RDS-like master user', true],
])('the slot watchdog role, set up by %s', (_who, rdsLike) => {
  async function database(): Promise<{ name: string; admin: Client }> {
    if (rdsLike) {
      const rds = await createRdsLikeDatabase(pg);
      return { name: rds.database, admin: rds.client };
    }
    const name = await pg.createDatabase();
    return { name, admin: await pg.connect(name) };
  }

  it('is a read-only login with no privileges that reads the slot health, and a rerun changes nothing', async () => {
    const { name, admin } = await database();
    const desired = withWatchdog();
    const steps = await setupReplication(admin, desired);
    expect(steps.map((step) => step.kind)).toEqual(
      expect.arrayContaining(['create-monitoring-role', 'set-monitoring-role-read-only']),
    );
    expect(steps.find((step) => step.kind === 'create-monitoring-role')?.sensitive).toBe(true);

    const { rows } = await admin.query(
      `SELECT rolcanlogin, rolsuper, rolreplication, rolinherit, rolconnlimit, rolconfig,
              (SELECT count(*)::int FROM pg_auth_members WHERE member = r.oid) AS memberships
         FROM pg_roles r WHERE rolname = $1`,
      [desired.monitoringUser!.name],
    );
    expect(rows).toEqual([
      {
        rolcanlogin: true,
        rolsuper: false,
        rolreplication: false,
        rolinherit: false,
        rolconnlimit: MONITORING_ROLE_CONNECTION_LIMIT,
        rolconfig: ['default_transaction_read_only=on'],
        memberships: 0,
      },
    ]);

    const watchdog = await loginAs(name, desired);
    const health = await readSlotHealth(watchdog, desired.slotName);
    expect(health.slot).toEqual(expect.objectContaining({ active: false, walStatus: 'reserved' }));
    // No data access: not the published table, not the heartbeat table the replication user writes.
    expect(await failureOf(watchdog, 'SELECT * FROM datastore.data_tbl')).toMatch(
      /^42501: permission denied/,
    );
    expect(
      await failureOf(watchdog, 'INSERT INTO datastore.airbyte_heartbeat (id) VALUES (1)'),
    ).toMatch(/^(42501|25006)/);
    // Read-only by default: not even a table of its own where PUBLIC may create (before 15).
    expect(await failureOf(watchdog, 'CREATE TEMP TABLE scratch (id int)')).toMatch(
      /^25006: cannot execute CREATE TABLE in a read-only transaction/,
    );

    expect(await setupReplication(admin, desired)).toEqual([]);
  });

  it('gets its new password when the secret changes, and is dropped by teardown', async () => {
    const { name, admin } = await database();
    const desired = withWatchdog();
    await setupReplication(admin, desired);
    const rotated: DesiredReplicationState = {
      ...desired,
      monitoringUser: { ...desired.monitoringUser!, password: 'rotated-Secret-2' },
    };
    expect((await setupReplication(admin, rotated)).map((step) => step.kind)).toEqual([
      'update-monitoring-role',
    ]);
    const watchdog = await loginAs(name, rotated);
    expect((await readSlotHealth(watchdog, rotated.slotName)).slot).toBeDefined();
    await watchdog.end();

    const removed = await teardownReplication(admin, rotated);
    expect(removed.map((step) => step.kind)).toContain('drop-monitoring-role');
    const left = await admin.query('SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1', [
      rotated.monitoringUser!.name,
    ]);
    expect(left.rows[0].n).toBe(0);
    expect(await teardownReplication(admin, rotated)).toEqual([]);
  });
});

describe('a monitoring role that would be more than a login', () => {
  it('is refused when it exists as a member of another role, naming the setting, and nothing changes', async () => {
    const database = await pg.createDatabase();
    const admin = await pg.connect(database);
    const desired = withWatchdog();
    const name = desired.monitoringUser!.name;
    await admin.query(`CREATE ROLE "${name}" LOGIN IN ROLE pg_read_all_data`);

    const failure = setupReplication(admin, desired);
    await expect(failure).rejects.toThrow(RoleConflictError);
    await expect(failure).rejects.toThrow(
      /Role "airbyte_watchdog_\d+_\d+" exists with membership of pg_read_all_data.*monitoring\.watchdogUser/,
    );
    const { rows } = await admin.query(
      'SELECT count(*)::int AS n FROM pg_roles WHERE rolname = $1',
      [desired.user],
    );
    expect(rows[0].n).toBe(0);
  });

  it('is refused when it is the replication user', async () => {
    const database = await pg.createDatabase();
    const admin = await pg.connect(database);
    const desired = withWatchdog();
    await expect(
      setupReplication(admin, {
        ...desired,
        monitoringUser: { name: desired.user, password: 'x-Secret-1' },
      }),
    ).rejects.toThrow(/is also the replication user: choose another monitoring\.watchdogUser/);
  });
});
