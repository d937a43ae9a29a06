import {
  ConcurrentRunError,
  REPLICATION_LOCK,
  setupReplication,
  StepFailedError,
  withReplicationLock,
} from '../../../src/replication';
import { usePostgres } from '../../support/postgres';
import { tutorialState } from './fixtures';

const pg = usePostgres();

describe('withReplicationLock', () => {
  it('is re-entrant on one session and released afterwards', async () => {
    const client = await pg.connect();
    const other = await pg.connect();
    await withReplicationLock(client, () => withReplicationLock(client, async () => undefined));
    // Free again: another session takes it at once.
    await expect(withReplicationLock(other, async () => 'taken', { waitMs: 100 })).resolves.toBe(
      'taken',
    );
  });

  it('gives up after waiting, naming the session that holds it, and changes nothing', async () => {
    const holder = await pg.connect();
    const waiter = await pg.connect();
    const { rows } = await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [REPLICATION_LOCK]);
    try {
      const lockTimeoutBefore = await waiter.query("SELECT current_setting('lock_timeout') AS v");
      const run = withReplicationLock(waiter, async () => 'ran', { waitMs: 200 });
      await expect(run).rejects.toThrow(ConcurrentRunError);
      await expect(run).rejects.toThrow(
        new RegExp(
          `session ${rows[0].pid} \\(user "${pg.server.user}".*Nothing was changed by this run`,
        ),
      );
      // The session's own lock_timeout is back.
      const lockTimeoutAfter = await waiter.query("SELECT current_setting('lock_timeout') AS v");
      expect(lockTimeoutAfter.rows).toEqual(lockTimeoutBefore.rows);
    } finally {
      await holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [REPLICATION_LOCK]);
    }
  });
});

describe('withReplicationLock and a shorter statement_timeout', () => {
  it('still waits the whole wait and says who holds the lock, then restores both timeouts', async () => {
    const holder = await pg.connect();
    // As the Lambda connects: a statement_timeout that would end the wait first.
    const waiter = await pg.connect(undefined, { statement_timeout: 300 });
    await holder.query('SELECT pg_advisory_lock(hashtextextended($1, 0))', [REPLICATION_LOCK]);
    try {
      const run = withReplicationLock(waiter, async () => 'ran', { waitMs: 900 });
      await expect(run).rejects.toThrow(ConcurrentRunError);
      const { rows } = await waiter.query(
        "SELECT current_setting('statement_timeout') AS statement",
      );
      expect(rows[0].statement).toBe('300ms');
    } finally {
      await holder.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [REPLICATION_LOCK]);
    }
  });
});

describe('a step that waits for a lock another session holds', () => {
  it("fails at the client's lock timeout, saying so, and the next run converges", async () => {
    const database = await pg.createDatabase('locked');
    const admin = await pg.connect(database);
    const desired = tutorialState();
    await setupReplication(admin, desired);
    // An application transaction holds the demo table while the setup changes its identity.
    const application = await pg.connect(database);
    await application.query('BEGIN');
    await application.query('LOCK TABLE datastore.data_tbl IN ACCESS EXCLUSIVE MODE');
    const impatient = await pg.connect(database, { lock_timeout: 300 });
    const full = {
      ...desired,
      tables: [{ schema: 'datastore', name: 'data_tbl', replicaIdentity: 'full' as const }],
    };
    try {
      const run = setupReplication(impatient, full);
      await expect(run).rejects.toThrow(StepFailedError);
      await expect(run).rejects.toThrow(
        /set REPLICA IDENTITY FULL .*lock timeout.*\[SQLSTATE 55P03\]\. Another session holds a lock on the table/,
      );
    } finally {
      await application.query('ROLLBACK');
    }
    const applied = await setupReplication(impatient, full);
    expect(applied.map((step) => step.kind)).toEqual(['set-replica-identity']);
    expect(await setupReplication(impatient, full)).toEqual([]);
  });
});
