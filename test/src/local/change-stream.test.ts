import type { Client } from 'pg';
import type {
  MessageDelete,
  MessageInsert,
  MessageRelation,
  MessageUpdate,
} from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput.types';
import {
  isoFromMicroseconds,
  openChangeStream,
  toCapturedChange,
} from '../../../src/local/change-stream';
import { setupReplication } from '../../../src/replication';
import { uniqueName, usePostgres } from '../../support/postgres';
import { tutorialState } from '../replication/fixtures';

const relation: MessageRelation = {
  tag: 'relation',
  relationOid: 1,
  schema: 'datastore',
  name: 'data_tbl',
  replicaIdentity: 'default',
  columns: [],
  keyColumns: ['id'],
};
// 2026-01-02T03:04:05.123456Z in microseconds since the Unix epoch.
const COMMIT_MICROS = BigInt(Date.UTC(2026, 0, 2, 3, 4, 5, 123)) * 1000n + 456n;
const begin = { commitTime: COMMIT_MICROS };

describe('isoFromMicroseconds', () => {
  it('keeps all six fractional digits, zero-padded', () => {
    expect(isoFromMicroseconds(COMMIT_MICROS)).toBe('2026-01-02T03:04:05.123456Z');
    expect(isoFromMicroseconds(BigInt(Date.UTC(2026, 0, 1)) * 1000n + 7n)).toBe(
      '2026-01-01T00:00:00.000007Z',
    );
  });
});

describe('toCapturedChange', () => {
  it('turns an insert into an after-image only', () => {
    const insert: MessageInsert = { tag: 'insert', relation, new: { id: '3', val: 'c' } };
    expect(toCapturedChange(insert, '0/16B3748', begin)).toEqual({
      op: 'insert',
      schema: 'datastore',
      table: 'data_tbl',
      lsn: '0/16B3748',
      commitTime: '2026-01-02T03:04:05.123456Z',
      before: null,
      after: { id: '3', val: 'c' },
    });
  });

  it('uses the key as before-image of a delete under REPLICA IDENTITY DEFAULT', () => {
    // The parser builds key tuples without a prototype; the output must be a plain object.
    const key = Object.assign(Object.create(null) as Record<string, unknown>, { id: '2' });
    const remove: MessageDelete = { tag: 'delete', relation, key, old: null };
    const captured = toCapturedChange(remove, '0/1', begin);
    expect(captured).toMatchObject({ op: 'delete', before: { id: '2' }, after: null });
    expect(Object.getPrototypeOf(captured.before)).toBe(Object.prototype);
  });

  it('prefers the whole old row (REPLICA IDENTITY FULL) and has no before for a key-preserving update', () => {
    const full: MessageUpdate = {
      tag: 'update',
      relation,
      key: null,
      old: { id: '1', val: 'a' },
      new: { id: '1', val: 'd' },
    };
    expect(toCapturedChange(full, '0/1', begin)).toMatchObject({
      before: { id: '1', val: 'a' },
      after: { id: '1', val: 'd' },
    });
    const keyKept: MessageUpdate = { ...full, old: null };
    expect(toCapturedChange(keyKept, '0/1', begin).before).toBeNull();
  });
});

describe('openChangeStream on a real server', () => {
  const pg = usePostgres();

  async function setUp(overrides = {}) {
    const database = await pg.createDatabase('stream');
    const admin = await pg.connect(database);
    const desired = tutorialState(overrides);
    await setupReplication(admin, desired);
    const connection = { ...pg.config(database), user: desired.user, password: desired.password };
    return { admin, desired, connection };
  }

  const confirmedFlush = async (admin: Client, slot: string): Promise<string> =>
    (
      await admin.query(
        'SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1',
        [slot],
      )
    ).rows[0].lsn;

  it('streams from a temporary slot without moving the configured slot, which keeps the changes', async () => {
    const { admin, desired, connection } = await setUp();
    const before = await confirmedFlush(admin, desired.slotName);
    const temporarySlot = uniqueName('demo');
    const stream = await openChangeStream({
      connection,
      slot: { name: temporarySlot, temporary: true },
      publicationName: desired.publicationName,
    });
    try {
      const slots = await admin.query(
        'SELECT temporary, active FROM pg_replication_slots WHERE slot_name = $1',
        [temporarySlot],
      );
      expect(slots.rows).toEqual([{ temporary: true, active: true }]);
      await admin.query("INSERT INTO datastore.data_tbl VALUES (3, 'c')");
      await admin.query('DELETE FROM datastore.data_tbl WHERE id = 2');
      const changes = await stream.waitForChanges(2);
      expect(changes.map((change) => [change.op, change.before, change.after])).toEqual([
        ['insert', null, { id: '3', val: 'c' }],
        ['delete', { id: '2' }, null],
      ]);
      expect(changes[0].lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(Date.parse(changes[0].commitTime)).toBeGreaterThan(Date.now() - 60000);
    } finally {
      await stream.stop();
    }
    expect(await confirmedFlush(admin, desired.slotName)).toBe(before);
    // The changes are still there for the real consumer.
    const pending = await admin.query(
      `SELECT count(*)::int AS n FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL,
         'proto_version', '1', 'publication_names', $2)`,
      [desired.slotName, desired.publicationName],
    );
    expect(pending.rows[0].n).toBeGreaterThan(0);
    const left = await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
      temporarySlot,
    ]);
    expect(left.rowCount).toBe(0);
  });

  it('quotes a publication name that needs quoting and sends whole old rows with REPLICA IDENTITY FULL', async () => {
    const { admin, desired, connection } = await setUp({
      publicationName: 'Airbyte Pub, "quoted"',
      tables: [{ schema: 'datastore', name: 'data_tbl', replicaIdentity: 'full' }],
    });
    const stream = await openChangeStream({
      connection,
      slot: { name: uniqueName('demo'), temporary: true },
      publicationName: desired.publicationName,
    });
    try {
      await admin.query("UPDATE datastore.data_tbl SET val = 'd' WHERE id = 1");
      const [update] = await stream.waitForChanges(1);
      expect(update).toMatchObject({
        op: 'update',
        before: { id: '1', val: 'a' },
        after: { id: '1', val: 'd' },
      });
    } finally {
      await stream.stop();
    }
  });

  /** The pid of the WAL sender streaming `slot`, as the server reports it. */
  const walSenderOf = async (admin: Client, slot: string): Promise<number> =>
    (
      await admin.query<{ pid: number }>(
        'SELECT active_pid AS pid FROM pg_replication_slots WHERE slot_name = $1 AND active',
        [slot],
      )
    ).rows[0].pid;

  const backendExists = async (admin: Client, pid: number): Promise<boolean> =>
    (await admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).rowCount === 1;

  it('resolves stop() only after the WAL sender has exited and the temporary slot is gone', async () => {
    const { admin, desired, connection } = await setUp();
    const temporarySlot = uniqueName('demo');
    const stream = await openChangeStream({
      connection,
      slot: { name: temporarySlot, temporary: true },
      publicationName: desired.publicationName,
    });
    const walSender = await walSenderOf(admin, temporarySlot);
    await stream.stop();
    // Asked right away, with no waiting: stop() itself must have waited for the server side.
    expect(await backendExists(admin, walSender)).toBe(false);
    const slots = await admin.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [
      temporarySlot,
    ]);
    expect(slots.rowCount).toBe(0);
  });

  it('does not report stop() done while the WAL sender cannot exit (frozen with SIGSTOP)', async () => {
    const { admin, desired, connection } = await setUp();
    const slot = uniqueName('demo');
    const stream = await openChangeStream({
      connection,
      slot: { name: slot, temporary: true },
      publicationName: desired.publicationName,
      // Only bounds this test: a frozen WAL sender never answers, whatever the value.
      stopTimeoutMs: 300,
    });
    const walSender = await walSenderOf(admin, slot);
    // Frozen, the WAL sender can neither answer nor exit, however long stop() runs: a stop()
    // that resolves now returned while the server side was still there, which is the race.
    process.kill(walSender, 'SIGSTOP');
    let outcome: string;
    try {
      outcome = await stream.stop().then(
        () => 'resolved',
        (error: Error) => error.message,
      );
      expect(await backendExists(admin, walSender)).toBe(true);
    } finally {
      process.kill(walSender, 'SIGCONT');
    }
    expect(outcome).toMatch(
      new RegExp(`did not close the replication connection of slot "${slot}" within 300 ms`),
    );
    // Safe to call twice: the same outcome, no second attempt.
    await expect(stream.stop()).rejects.toThrow(/within 300 ms/);
  });

  it('fails to open with the server error when the slot does not exist', async () => {
    const { desired, connection } = await setUp();
    await expect(
      openChangeStream({
        connection,
        slot: { name: 'no_such_slot' },
        publicationName: desired.publicationName,
      }),
    ).rejects.toThrow(/no_such_slot/);
  });

  it('rejects waitForChanges after the timeout, saying what arrived', async () => {
    const { desired, connection } = await setUp();
    const stream = await openChangeStream({
      connection,
      slot: { name: uniqueName('demo'), temporary: true },
      publicationName: desired.publicationName,
    });
    try {
      await expect(stream.waitForChanges(1, 200)).rejects.toThrow(
        /Expected 1 change\(s\) within 200 ms, got 0/,
      );
    } finally {
      await stream.stop();
    }
  });
});
