import { Client, escapeLiteral } from 'pg';
import { type EnvironmentConfig, parseEnvironment } from '../../src/config';
import { PASSWORD_VARIABLE, type FixStatement } from '../../src/doctor';
import type { ConnectOptions } from '../../src/replication';
import { uniqueName, type TestPostgres } from './postgres';

/**
 * An environment's replication config with cluster-unique user and slot names (roles and slots
 * are shared by every database of the test server), validated like cdk.json.
 */
export function replicationConfig(
  overrides: Record<string, unknown> = {},
): EnvironmentConfig['replication'] {
  return parseEnvironment('dev', {
    replication: {
      user: uniqueName('airbyte'),
      slotName: uniqueName('airbyte_slot'),
      createDemoTable: true,
      ...overrides,
    },
  }).replication;
}

/** The doctor's connection to `database` of the test server, as its superuser, over plain TCP. */
export function superuserConnection(pg: TestPostgres, database: string): ConnectOptions {
  const { host, port, user, password } = pg.server;
  return { host, port, user, password, database, tls: { mode: 'disable' } };
}

/**
 * Run fix statements as the doctor printed them, as the superuser (the master user's role), the
 * way a person pastes them into psql: the password variable set, each statement in its database.
 */
export async function applyFixStatements(
  pg: TestPostgres,
  database: string,
  statements: readonly FixStatement[],
  password: string,
): Promise<void> {
  const clients = new Map<string, Client>();
  try {
    for (const statement of statements) {
      const target = statement.database ?? database;
      let client = clients.get(target);
      if (!client) {
        client = new Client(pg.config(target));
        await client.connect();
        clients.set(target, client);
      }
      // psql's :'variable' interpolation: the value as a quoted literal.
      await client.query(
        statement.sql.split(`:'${PASSWORD_VARIABLE}'`).join(escapeLiteral(password)),
      );
    }
  } finally {
    await Promise.all([...clients.values()].map((client) => client.end()));
  }
}
