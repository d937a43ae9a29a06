/**
 * Plain PostgreSQL laid out as Amazon RDS lays out an instance, for `npm run local` and the
 * tests: RDS keeps its superuser to itself and gives you a master user that is none, which
 * grants logical replication through the `rds_replication` role. Everything here runs as the
 * local server's superuser, playing the part RDS's own software plays.
 */
import { Client, escapeIdentifier, escapeLiteral, type ClientBase, type ClientConfig } from 'pg';
import { RDS_REPLICATION_ROLE, scramSha256Verifier } from '../replication';

/** What an RDS-like master needs: its name and password, the database it owns. */
export interface RdsLikeMaster {
  readonly user: string;
  readonly password: string;
  readonly database: string;
}

/**
 * Create the master user as RDS does: LOGIN, CREATEROLE, CREATEDB, no superuser, holding
 * `rds_replication` WITH ADMIN OPTION, owner of its database. It also gets the REPLICATION
 * attribute, which stock PostgreSQL needs to create a slot where RDS honours the membership.
 * Before PostgreSQL 15 the database's `public` schema is handed to it, as RDS lets its master
 * revoke CREATE there (AWS's own advice for new databases).
 */
export async function createRdsLikeMaster(
  superuser: ClientBase,
  master: RdsLikeMaster,
  connect: (database: string) => ClientConfig,
): Promise<void> {
  const user = escapeIdentifier(master.user);
  await superuser.query(
    `DO $$ BEGIN
       IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${escapeLiteral(RDS_REPLICATION_ROLE)}) THEN
         CREATE ROLE ${escapeIdentifier(RDS_REPLICATION_ROLE)} NOLOGIN;
       END IF;
     END $$`,
  );
  await superuser.query(
    `CREATE ROLE ${user} LOGIN CREATEROLE CREATEDB REPLICATION PASSWORD ${escapeLiteral(scramSha256Verifier(master.password))}`,
  );
  await superuser.query(
    `GRANT ${escapeIdentifier(RDS_REPLICATION_ROLE)} TO ${user} WITH ADMIN OPTION`,
  );
  const database = escapeIdentifier(master.database);
  const { rowCount } = await superuser.query('SELECT 1 FROM pg_database WHERE datname = $1', [
    master.database,
  ]);
  await superuser.query(
    rowCount
      ? `ALTER DATABASE ${database} OWNER TO ${user}`
      : `CREATE DATABASE ${database} OWNER ${user}`,
  );
  const { rows } = await superuser.query<{ version: number }>(
    "SELECT current_setting('server_version_num')::int AS version",
  );
  if (rows[0].version < 150000) {
    const inDatabase = new Client(connect(master.database));
    await inDatabase.connect();
    try {
      await inDatabase.query(`ALTER SCHEMA public OWNER TO ${user}`);
    } finally {
      await inDatabase.end();
    }
  }
}

/**
 * Stock PostgreSQL lets a role open a replication connection only through the REPLICATION
 * attribute, which role membership never passes on; RDS also honours membership in
 * `rds_replication`. Play RDS's part: every member of `rds_replication` gets the attribute and
 * every other non-superuser login role loses it. Call it after each change to the membership
 * (the replication setup grants it), never instead of the setup. Returns the roles it changed.
 */
export async function honourRdsReplicationMembership(superuser: ClientBase): Promise<string[]> {
  const { rows } = await superuser.query<{ rolname: string; member: boolean; attribute: boolean }>(
    `SELECT r.rolname, pg_has_role(r.oid, $1, 'MEMBER') AS member, r.rolreplication AS attribute
       FROM pg_roles r
      WHERE r.rolcanlogin AND NOT r.rolsuper AND r.rolname <> $1`,
    [RDS_REPLICATION_ROLE],
  );
  const changed: string[] = [];
  for (const role of rows) {
    if (role.member === role.attribute) continue;
    await superuser.query(
      `ALTER ROLE ${escapeIdentifier(role.rolname)} ${role.member ? 'REPLICATION' : 'NOREPLICATION'}`,
    );
    changed.push(role.rolname);
  }
  return changed;
}
