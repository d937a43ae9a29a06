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

/** Take the lock, waiting up to `waitMs`; the session's lock_timeout is restored afterwards. */
async function acquire(client: ClientBase, waitMs: number): Promise<void> {
  const { rows } = await client.query<{ value: string }>(
    "SELECT current_setting('lock_timeout') AS value",
  );
  // pg_advisory_lock waits like any heavyweight lock: lock_timeout bounds the wait.
  await client.query("SELECT set_config('lock_timeout', $1, false)", [`${waitMs}ms`]);
  try {
    await client.query(`SELECT pg_advisory_lock(${KEY})`, [REPLICATION_LOCK]);
  } catch (error) {
    if ((error as { code?: string }).code !== '55P03') throw error;
    throw new ConcurrentRunError(await holderOf(client), waitMs);
  } finally {
    await client.query("SELECT set_config('lock_timeout', $1, false)", [rows[0].value]);
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
