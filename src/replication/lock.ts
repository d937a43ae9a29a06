import type { ClientBase } from 'pg';
import { ConcurrentRunError } from './errors';

/**
 * The advisory lock every replication setup and teardown holds while it reads the catalog and
 * changes it, so that two runs (two deploys, a deploy and a retry of a timed-out invocation, a
 * deploy and a fix run by hand through this code) never plan from a catalog the other is
 * changing. One lock per server: roles and slots are shared by every database, and a setup takes
 * seconds. Session-level, so it survives the plan's own transactions, and re-entrant: a caller
 * that holds it may call setupReplication, which takes it again.
 */
export const REPLICATION_LOCK = 'rds-airbyte-cdc: replication setup';
/** How long a run waits for another to finish before it gives up. */
export const REPLICATION_LOCK_WAIT_MS = 60000;

const KEY = 'hashtextextended($1, 0)';

export interface ReplicationLockOptions {
  /** How long to wait for the lock. Default: REPLICATION_LOCK_WAIT_MS. */
  readonly waitMs?: number;
}

/** Who holds the lock, for the error of the run that waited in vain. */
async function holderOf(client: ClientBase): Promise<string> {
  const { rows } = await client.query<{
    pid: number;
    usename: string | null;
    application_name: string | null;
    since: string | null;
  }>(
    `SELECT a.pid, a.usename, a.application_name, a.xact_start::text AS since
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND ((l.classid::bigint << 32) | l.objid::bigint) = ${KEY}`,
    [REPLICATION_LOCK],
  );
  const holder = rows[0];
  if (!holder) return 'another session (it has finished meanwhile)';
  return `session ${holder.pid} (user "${holder.usename ?? '?'}", application "${holder.application_name ?? ''}")`;
}

/** lock_timeout and statement_timeout: 55P03 and 57014. */
const GAVE_UP_WAITING = new Set(['55P03', '57014']);

/**
 * Take the lock, waiting up to `waitMs`; the session's lock_timeout and statement_timeout are
 * restored afterwards.
 */
async function acquire(client: ClientBase, waitMs: number): Promise<void> {
  const { rows } = await client.query<{ lock: string; statement: string }>(
    "SELECT current_setting('lock_timeout') AS lock, current_setting('statement_timeout') AS statement",
  );
  // pg_advisory_lock waits like any heavyweight lock: lock_timeout bounds the wait. The
  // statement timeout must not end it first (its timer starts before the wait), so it gets a
  // margin for the statement's own work.
  await client.query(
    "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
    [`${waitMs}ms`, `${waitMs + 5000}ms`],
  );
  try {
    await client.query(`SELECT pg_advisory_lock(${KEY})`, [REPLICATION_LOCK]);
  } catch (error) {
    if (!GAVE_UP_WAITING.has((error as { code?: string }).code ?? '')) throw error;
    throw new ConcurrentRunError(await holderOf(client), REPLICATION_LOCK, waitMs);
  } finally {
    // On a session that died this fails too; the original error is the one to report.
    await client
      .query(
        "SELECT set_config('lock_timeout', $1, false), set_config('statement_timeout', $2, false)",
        [rows[0].lock, rows[0].statement],
      )
      .catch(() => undefined);
  }
}

/** Run `work` holding the replication lock on `client`'s session. */
export async function withReplicationLock<T>(
  client: ClientBase,
  work: () => Promise<T>,
  options: ReplicationLockOptions = {},
): Promise<T> {
  await acquire(client, options.waitMs ?? REPLICATION_LOCK_WAIT_MS);
  try {
    return await work();
  } finally {
    // A session that died took the lock with it; nothing to release then.
    await client
      .query(`SELECT pg_advisory_unlock(${KEY})`, [REPLICATION_LOCK])
      .catch(() => undefined);
  }
}
