/**
 * The TOAST check: which columns an UPDATE may leave out of the change (the rule, pure), and the
 * doctor's verdict on tables of a real PostgreSQL.
 */
import type { Client } from 'pg';
import {
  exitCodeOf,
  runDoctor,
  type CheckResult,
  type DoctorReport,
  type StoredColumn,
  type StoredRelation,
} from '../../../src/doctor';
import { columnsLostOnUpdate } from '../../../src/doctor/checks/toast';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import { applyFixStatements, replicationConfig, superuserConnection } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';

/** A column as readServerFacts reports it; `maxBytes` null is unbounded. */
function column(
  name: string,
  storage: StoredColumn['storage'],
  maxBytes: number | null,
  extra: Partial<StoredColumn> = {},
): StoredColumn {
  return {
    name,
    storage,
    variableLength: storage !== 'p',
    maxBytes,
    inIdentityKey: false,
    generated: false,
    ...extra,
  };
}

const ID = column('id', 'p', 8, { inIdentityKey: true });

function relation(
  columns: StoredColumn[],
  overrides: Partial<StoredRelation> = {},
): StoredRelation {
  return {
    schema: 'datastore',
    name: 'docs',
    replicaIdentity: 'default',
    hasToastTable: true,
    columns: [ID, ...columns],
    ...overrides,
  };
}

describe('columnsLostOnUpdate (which columns TOAST may move out of line)', () => {
  it('unbounded extended/external/main columns under DEFAULT or an index; none under FULL or NOTHING', () => {
    const columns = [column('body', 'x', null), column('blob', 'e', null), column('n', 'm', null)];
    expect(columnsLostOnUpdate(relation(columns))).toEqual(['body', 'blob', 'n']);
    expect(columnsLostOnUpdate(relation(columns, { replicaIdentity: 'index' }))).toEqual([
      'body',
      'blob',
      'n',
    ]);
    expect(columnsLostOnUpdate(relation(columns, { replicaIdentity: 'full' }))).toEqual([]);
    expect(columnsLostOnUpdate(relation(columns, { replicaIdentity: 'nothing' }))).toEqual([]);
  });

  it('nothing in a table without a TOAST table (PostgreSQL found its row cannot outgrow 2 kB)', () => {
    expect(
      columnsLostOnUpdate(relation([column('code', 'x', 404)], { hasToastTable: false })),
    ).toEqual([]);
  });

  it('not the identity key, a generated column, a plain column or one no larger than a pointer', () => {
    expect(
      columnsLostOnUpdate(
        relation([
          column('key', 'x', null, { inIdentityKey: true }),
          column('derived', 'x', null, { generated: true }),
          column('vector', 'p', null),
          column('short', 'x', 16),
          column('amount', 'm', 18),
          column('address', 'm', 22),
          column('body', 'x', null),
        ]),
      ),
    ).toEqual(['body']);
  });

  it('a bounded column only when it can be the largest value of a row wider than 2 kB', () => {
    // TOAST moves body out first; the row then fits, title stays.
    expect(
      columnsLostOnUpdate(relation([column('title', 'x', 324), column('body', 'x', null)])),
    ).toEqual(['body']);
    // Six varchar(100): each can be the largest of a 2.4 kB row.
    const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((name) => column(name, 'x', 404));
    expect(columnsLostOnUpdate(relation(six))).toEqual(['a', 'b', 'c', 'd', 'e', 'f']);
    // An unbounded main value (numeric) keeps the row wide through the first rounds.
    expect(
      columnsLostOnUpdate(relation([column('title', 'x', 324), column('n', 'm', null)])),
    ).toEqual(['title', 'n']);
  });

  it('a bounded main column (numeric(p,s)) only in a row still wider than 8160 bytes once the rest is out', () => {
    expect(
      columnsLostOnUpdate(relation([column('price', 'm', 30), column('body', 'x', null)])),
    ).toEqual(['body']);
    const wide = Array.from({ length: 20 }, (_, index) => column(`n${index}`, 'm', 510));
    expect(columnsLostOnUpdate(relation(wide))).toHaveLength(20);
  });
});

const pg = usePostgres();
const PASSWORD = 'Toast-Secret-1';

/** A database with `ddl` run, set up for `tables`, and the doctor's report on it. */
async function doctorOn(
  ddl: string,
  replication: Record<string, unknown>,
): Promise<{ report: DoctorReport; toast: CheckResult; database: string; admin: Client }> {
  const database = await pg.createDatabase('toast');
  const admin = await pg.connect(database);
  await admin.query(`CREATE SCHEMA datastore; ${ddl}`);
  const config = replicationConfig(replication);
  await setupReplication(admin, desiredStateFromConfig(config, PASSWORD));
  const report = await runDoctor({
    connection: superuserConnection(pg, database),
    replication: config,
    replicationPassword: PASSWORD,
    slotLagWarnBytes: 1024 ** 3,
  });
  const toast = report.checks.find((check) => check.id === 'toast');
  if (!toast) throw new Error('no toast check in the report');
  return { report, toast, database, admin };
}

const DOCS = `CREATE TABLE datastore.docs (
  id bigint PRIMARY KEY, title varchar(80), body text, meta jsonb, amount numeric(12,2), seen timestamptz)`;

describe('the toast check on a real PostgreSQL', () => {
  it('text and jsonb under DEFAULT: ⚠️ naming them, FULL as the fix; the fix makes it pass', async () => {
    const { report, toast, database } = await doctorOn(DOCS, {
      tables: ['docs'],
      createDemoTable: false,
    });
    expect(toast.status).toBe('warn');
    expect(toast.detail).toMatch(
      /^"datastore"\."docs" \(body, meta\) under REPLICA IDENTITY DEFAULT: .*"__debezium_unavailable_value"/,
    );
    expect(toast.fix?.sql).toEqual([
      { sql: 'ALTER TABLE "datastore"."docs" REPLICA IDENTITY FULL;' },
    ]);
    expect(toast.fix?.notes.join('\n')).toMatch(
      /"replicaIdentity": "full" for "datastore"\."docs" in replication\.tables \(or replication\.schemas\)/,
    );
    expect(toast.fix?.notes.join('\n')).toMatch(/whole old row to the WAL/);
    // A warning: the other checks pass and the run does not fail.
    expect(report.checks.filter((check) => check.status === 'fail')).toEqual([]);
    expect(exitCodeOf(report)).toBe(0);

    await applyFixStatements(pg, database, toast.fix?.sql ?? [], PASSWORD);
    const admin = await pg.connect(database);
    const { rows } = await admin.query(
      `SELECT relreplident FROM pg_class WHERE oid = 'datastore.docs'::regclass`,
    );
    expect(rows).toEqual([{ relreplident: 'f' }]);
  });

  it('the same table configured FULL passes', async () => {
    const { toast } = await doctorOn(DOCS, {
      tables: [{ name: 'docs', replicaIdentity: 'full' }],
      createDemoTable: false,
    });
    expect(toast).toMatchObject({ status: 'pass', detail: '"datastore"."docs" (FULL)' });
  });

  it('only fixed-width and small bounded columns: passes under DEFAULT', async () => {
    const { report, toast } = await doctorOn(
      `CREATE TABLE datastore.codes (id bigint PRIMARY KEY, code varchar(100), amount numeric(12,2), ip inet, at timestamptz)`,
      { tables: ['codes'], createDemoTable: false },
    );
    expect(toast).toMatchObject({
      status: 'pass',
      detail: '"datastore"."codes" (no column stored out of line)',
    });
    expect(report.checks.filter((check) => check.status === 'warn')).toEqual([]);
  });

  it("the tutorial's data_tbl (val varchar, unbounded) warns: its values can outgrow a page", async () => {
    const { toast } = await doctorOn('', {});
    expect(toast.status).toBe('warn');
    expect(toast.detail).toMatch(/^"datastore"\."data_tbl" \(val\) under REPLICA IDENTITY DEFAULT/);
  });

  it('a partitioned table: its partitions decide, and the planned fix sets each of them', async () => {
    const { toast, database } = await doctorOn(
      `CREATE TABLE datastore.events (id bigint PRIMARY KEY, payload jsonb) PARTITION BY RANGE (id);
       CREATE TABLE datastore.events_low PARTITION OF datastore.events FOR VALUES FROM (0) TO (100);
       CREATE TABLE datastore.events_high PARTITION OF datastore.events FOR VALUES FROM (100) TO (200);`,
      { tables: ['events'], createDemoTable: false },
    );
    expect(toast.status).toBe('warn');
    expect(toast.detail).toMatch(
      /^"datastore"\."events" \(payload; partitions "datastore"\."events_high", "datastore"\."events_low"\) under REPLICA IDENTITY DEFAULT/,
    );
    await applyFixStatements(pg, database, toast.fix?.sql ?? [], PASSWORD);
    const admin = await pg.connect(database);
    const { rows } = await admin.query(
      `SELECT relname, relreplident FROM pg_class WHERE relname LIKE 'events%' AND relkind IN ('r', 'p') ORDER BY relname`,
    );
    expect(rows).toEqual([
      { relname: 'events', relreplident: 'f' },
      { relname: 'events_high', relreplident: 'f' },
      { relname: 'events_low', relreplident: 'f' },
    ]);
  });
});
