/**
 * The Debezium heartbeat table: its shape and the query Airbyte runs on every heartbeat, kept
 * together so the table the setup creates and the query the connector runs cannot disagree.
 * No pg import here: the Airbyte function bundles this without the PostgreSQL driver.
 */

/** Double-quote an identifier the way PostgreSQL (and pg's escapeIdentifier) does. */
function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function qualified(schema: string, table: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(table)}`;
}

/** Create the heartbeat table: one row, rewritten on every heartbeat. */
export function createHeartbeatTableSql(schema: string, table: string): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(schema, table)} (id integer PRIMARY KEY, last_heartbeat timestamptz NOT NULL DEFAULT now())`;
}

/**
 * The heartbeat query: an idle database still produces a change in the publication, so the
 * slot's confirmed LSN advances and the slot stops holding WAL.
 */
export function heartbeatUpsertSql(schema: string, table: string): string {
  return `INSERT INTO ${qualified(schema, table)} (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat`;
}
