import { Client, escapeIdentifier } from 'pg';
import { RDS_REPLICATION_ROLE } from '../../src/replication';
import { uniqueName, type TestPostgres } from './postgres';

/**
 * A database on the test server laid out as Amazon RDS lays one out: the master user is not a
 * superuser, owns the database, may create roles, and holds `rds_replication` WITH ADMIN OPTION
 * so that it can grant logical replication to the replication user.
 */
export interface RdsLikeDatabase {
  readonly database: string;
  readonly master: string;
  readonly masterPassword: string;
  /** Connected as the master user to `database` (closed with the file's other clients). */
  readonly client: Client;
}

/**
 * Stock PostgreSQL lets a role open a replication connection or create a slot only through the
 * REPLICATION attribute, which role membership never passes on; RDS's server also honours
 * membership in `rds_replication`. The test plays RDS's part here, as the superuser: every member
 * of `rds_replication` gets the attribute and every other login role that the RDS-like layout
 * made loses it again. Call it after each change to the membership (the replication setup
 * grants it, a test revokes it), never instead of the setup.
 */
export async function honourRdsReplicationMembership(admin: Client): Promise<void> {
  const { rows } = await admin.query<{ rolname: string; member: boolean; attribute: boolean }>(
    `SELECT r.rolname, pg_has_role(r.oid, $1, 'MEMBER') AS member, r.rolreplication AS attribute
       FROM pg_roles r
      WHERE r.rolcanlogin AND NOT r.rolsuper AND r.rolname <> $1`,
    [RDS_REPLICATION_ROLE],
  );
  for (const role of rows) {
    if (role.member === role.attribute) continue;
    await admin.query(
      `ALTER ROLE ${escapeIdentifier(role.rolname)} ${role.member ? 'REPLICATION' : 'NOREPLICATION'}`,
    );
  }
}

/**
 * Create an RDS-like master user and a database it owns. With `rdsReplication` (the default) the
 * server gets an `rds_replication` role, as every RDS instance has, and the master holds it WITH
 * ADMIN OPTION; the setup then grants that role, not the attribute.
 */
export async function createRdsLikeDatabase(
  pg: Pick<TestPostgres, 'connect'>,
  options: { readonly rdsReplication?: boolean } = {},
): Promise<RdsLikeDatabase> {
  const admin = await pg.connect();
  const master = uniqueName('master');
  const masterPassword = `${master}-Secret-1`;
  const quotedMaster = escapeIdentifier(master);
  // REPLICATION: creating the slot as the master needs it on stock PostgreSQL (see above).
  await admin.query(
    `CREATE ROLE ${quotedMaster} LOGIN CREATEROLE CREATEDB REPLICATION PASSWORD '${masterPassword}'`,
  );
  if (options.rdsReplication ?? true) {
    await admin.query(
      `DO $$ BEGIN
         IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${RDS_REPLICATION_ROLE}') THEN
           CREATE ROLE ${RDS_REPLICATION_ROLE} NOLOGIN;
         END IF;
       END $$`,
    );
    await admin.query(`GRANT ${RDS_REPLICATION_ROLE} TO ${quotedMaster} WITH ADMIN OPTION`);
  }
  const database = uniqueName('rdslike');
  await admin.query(`CREATE DATABASE ${escapeIdentifier(database)} OWNER ${quotedMaster}`);
  const client = await pg.connect(database, { user: master, password: masterPassword });
  return { database, master, masterPassword, client };
}
