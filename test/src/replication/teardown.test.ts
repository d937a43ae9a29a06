import { Client } from 'pg';
import { setupReplication, teardownReplication } from '../../../src/replication';
import { uniqueName, usePostgres } from '../../support/postgres';
import { streamAsReplicationUser, tutorialState } from './fixtures';

const pg = usePostgres();

async function freshDatabase(): Promise<{ database: string; admin: Client }> {
  const database = await pg.createDatabase();
  return { database, admin: await pg.connect(database) };
}

/** What teardown must remove, seen with plain SQL. */
async function leftovers(
  admin: Client,
  names: { user: string; slotName: string; publicationName: string },
) {
  const { rows } = await admin.query(
    `SELECT
       (SELECT count(*)::int FROM pg_roles WHERE rolname = $1) AS roles,
       (SELECT count(*)::int FROM pg_replication_slots WHERE slot_name = $2) AS slots,
       (SELECT count(*)::int FROM pg_publication WHERE pubname = $3) AS publications`,
    [names.user, names.slotName, names.publicationName],
  );
  return rows[0];
}

describe('teardownReplication', () => {
  it('removes slot, publication and user, keeps schema and data, and is safe to run twice', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);

    const removed = await teardownReplication(admin, desired);
    expect(removed.map((step) => step.kind)).toEqual([
      'drop-slot',
      'drop-publication',
      'revoke-default-privileges',
      'drop-owned',
      'drop-role',
    ]);
    expect(await leftovers(admin, desired)).toEqual({ roles: 0, slots: 0, publications: 0 });
    const data = await admin.query('SELECT id::int, val FROM datastore.data_tbl ORDER BY id');
    expect(data.rows).toEqual([
      { id: 1, val: 'a' },
      { id: 2, val: 'b' },
    ]);
    const defaults = await admin.query('SELECT count(*)::int AS n FROM pg_default_acl');
    expect(defaults.rows[0].n).toBe(0);

    expect(await teardownReplication(admin, desired)).toEqual([]);
  });

  it('succeeds while Airbyte is streaming the slot, disconnecting it first', async () => {
    const { database, admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    const stream = await streamAsReplicationUser(pg.config(database), desired);
    try {
      const active = await admin.query(
        'SELECT active FROM pg_replication_slots WHERE slot_name = $1',
        [desired.slotName],
      );
      expect(active.rows[0].active).toBe(true);
      const removed = await teardownReplication(admin, desired);
      expect(removed[0].kind).toBe('terminate-walsender');
      expect(await leftovers(admin, desired)).toEqual({ roles: 0, slots: 0, publications: 0 });
    } finally {
      await stream.stop().catch(() => undefined);
    }
  });

  it('with keepUser drops only the old slot and publication of a replaced resource', async () => {
    const { database, admin } = await freshDatabase();
    const old = tutorialState();
    await setupReplication(admin, old);
    const renamed = {
      ...old,
      slotName: uniqueName('renamed_slot'),
      publicationName: 'renamed_publication',
    };
    await setupReplication(admin, renamed);

    const removed = await teardownReplication(admin, old, { keepUser: true });
    expect(removed.map((step) => step.kind)).toEqual(['drop-slot', 'drop-publication']);
    expect(await leftovers(admin, old)).toEqual({ roles: 1, slots: 0, publications: 0 });
    expect(await leftovers(admin, renamed)).toEqual({ roles: 1, slots: 1, publications: 1 });
    expect(await setupReplication(admin, renamed)).toEqual([]);
    const user = await pg.connect(database, { user: renamed.user, password: renamed.password });
    await expect(user.query('SELECT * FROM datastore.data_tbl')).resolves.toBeDefined();
  });

  it('keeps objects the user owns (handed to the master user) and revokes grants made by others', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    const user = admin.escapeIdentifier(desired.user);
    await admin.query(
      `CREATE TABLE public.owned_by_user (id int); ALTER TABLE public.owned_by_user OWNER TO ${user}`,
    );
    await admin.query(
      `CREATE TABLE public.other (id int); GRANT SELECT ON public.other TO ${user}`,
    );
    const otherGrantor = admin.escapeIdentifier(uniqueName('app_owner'));
    await admin.query(`CREATE ROLE ${otherGrantor}`);
    await admin.query(
      `ALTER DEFAULT PRIVILEGES FOR ROLE ${otherGrantor} IN SCHEMA public GRANT SELECT ON TABLES TO ${user}`,
    );

    const removed = await teardownReplication(admin, desired);
    expect(removed.map((step) => step.kind)).toContain('reassign-owned');
    expect(await leftovers(admin, desired)).toEqual({ roles: 0, slots: 0, publications: 0 });
    const owner = await admin.query(
      "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'public.owned_by_user'::regclass",
    );
    expect(owner.rows[0].owner).toBe(pg.server.user);
    const defaults = await admin.query('SELECT count(*)::int AS n FROM pg_default_acl');
    expect(defaults.rows[0].n).toBe(0);
    await admin.query(`DROP ROLE ${otherGrantor}`);
  });

  it('leaves a slot of the same name in another database alone', async () => {
    const other = await freshDatabase();
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await other.admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [
      desired.slotName,
    ]);
    try {
      expect(await teardownReplication(admin, desired)).toEqual([]);
      expect((await leftovers(admin, desired)).slots).toBe(1);
    } finally {
      await other.admin.query('SELECT pg_drop_replication_slot($1)', [desired.slotName]);
    }
  });

  it('dryRun lists the steps without running them', async () => {
    const { admin } = await freshDatabase();
    const desired = tutorialState();
    await setupReplication(admin, desired);
    const planned = await teardownReplication(admin, desired, { dryRun: true });
    expect(planned.length).toBeGreaterThan(0);
    expect(await leftovers(admin, desired)).toEqual({ roles: 1, slots: 1, publications: 1 });
  });
});
