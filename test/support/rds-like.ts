import { Client, escapeIdentifier } from 'pg';
import { createRdsLikeMaster } from '../../src/local/rds-emulation';
import { uniqueName, type TestPostgres } from './postgres';

export { honourRdsReplicationMembership } from '../../src/local/rds-emulation';

/**
 * A database on the test server laid out as Amazon RDS lays one out (src/local/rds-emulation):
 * the master user is not a superuser, owns the database, may create roles, and holds
 * `rds_replication` WITH ADMIN OPTION so that it can grant logical replication.
 */
export interface RdsLikeDatabase {
  readonly database: string;
  readonly master: string;
  readonly masterPassword: string;
  /** Connected as the master user to `database` (closed with the file's other clients). */
  readonly client: Client;
}

/**
 * Create an RDS-like master user and a database it owns. With `rdsReplication: false` there is
 * no `rds_replication` role: the plain-PostgreSQL path, where the setup gives the REPLICATION
 * attribute itself (a superuser's privilege before PostgreSQL 16).
 */
export async function createRdsLikeDatabase(
  pg: Pick<TestPostgres, 'connect' | 'config'>,
  options: { readonly rdsReplication?: boolean } = {},
): Promise<RdsLikeDatabase> {
  const admin = await pg.connect();
  const master = uniqueName('master');
  const masterPassword = `${master}-Secret-1`;
  const database = uniqueName('rdslike');
  if (options.rdsReplication ?? true) {
    await createRdsLikeMaster(admin, { user: master, password: masterPassword, database }, (name) =>
      pg.config(name),
    );
  } else {
    const quotedMaster = escapeIdentifier(master);
    // REPLICATION: on stock PostgreSQL creating the slot as the master needs it.
    await admin.query(
      `CREATE ROLE ${quotedMaster} LOGIN CREATEROLE CREATEDB REPLICATION PASSWORD '${masterPassword}'`,
    );
    await admin.query(`CREATE DATABASE ${escapeIdentifier(database)} OWNER ${quotedMaster}`);
    // As createRdsLikeMaster: before 15 the master owns "public", as RDS lets its master revoke
    // CREATE there.
    const inDatabase = await pg.connect(database);
    const { rows } = await inDatabase.query<{ version: number }>(
      "SELECT current_setting('server_version_num')::int AS version",
    );
    if (rows[0].version < 150000)
      await inDatabase.query(`ALTER SCHEMA public OWNER TO ${quotedMaster}`);
  }
  const client = await pg.connect(database, { user: master, password: masterPassword });
  return { database, master, masterPassword, client };
}
