/**
 * Many tables (issue 13, item 6): a table-set change is one publication statement however many
 * tables the pipeline has, and a setup of thousands of tables re-runs as a no-op against a real
 * PostgreSQL. Speed is measured by `npm run bench` only: nothing here depends on timing.
 */
import {
  CatalogSnapshot,
  DesiredReplicationState,
  planReplicationSetup,
  setupReplication,
  TableState,
  type Step,
} from '../../../src/replication';
import { usePostgres } from '../../support/postgres';
import { SET_UP_ROLE, SET_UP_SLOT, tutorialState } from './fixtures';

const SCALE = 10000;
const names = (count: number): string[] => Array.from({ length: count }, (_, i) => `t${i}`);

const desiredFor = (tables: readonly string[]): DesiredReplicationState =>
  tutorialState({
    createDemoTable: false,
    tables: tables.map((name) => ({
      schema: 'datastore',
      name,
      replicaIdentity: 'default' as const,
    })),
  });

/** A database set up for `published`, in which `existing` tables exist. */
function catalogOf(existing: readonly string[], published: readonly string[]): CatalogSnapshot {
  const tables: Record<string, TableState> = {};
  for (const name of existing)
    tables[name] = {
      schema: 'datastore',
      name,
      exists: true,
      hasPrimaryKey: true,
      replicaIdentity: 'default',
    };
  return {
    serverVersion: 170000,
    walLevel: 'logical',
    currentUser: 'master',
    currentUserIsSuperuser: false,
    currentDatabase: 'app',
    missingSchemas: [],
    tables: { datastore: tables },
    role: SET_UP_ROLE,
    rdsReplicationRoleExists: false,
    publication: {
      allTables: false,
      publishesAllOperations: true,
      publishesViaPartitionRoot: true,
      tables: published.map((name) => ({ schema: 'datastore', name })),
    },
    slot: SET_UP_SLOT,
  };
}

const publicationSteps = (steps: readonly Step[]): Step[] =>
  steps.filter((step) => step.kind.includes('publication'));

describe(`a table-set change with ${SCALE} tables`, () => {
  const all = names(SCALE + 1);
  const before = all.slice(0, SCALE);

  it('plans nothing when the publication already lists them', () => {
    expect(planReplicationSetup(catalogOf(before, before), desiredFor(before))).toEqual([]);
  });

  it('adding one is one ALTER PUBLICATION ... SET TABLE with the whole list', () => {
    const steps = planReplicationSetup(catalogOf(all, before), desiredFor(all));
    expect(steps.map((step) => step.kind)).toEqual(['set-publication-tables']);
    expect(steps[0].sql).toMatch(/^ALTER PUBLICATION "airbyte_publication" SET TABLE /);
    expect(steps[0].sql.split(', ')).toHaveLength(SCALE + 1);
    expect(steps[0].sql).toContain(`"datastore"."t${SCALE}"`);
  });

  it('removing one, or swapping one for another, is one statement too', () => {
    const fewer = before.slice(1);
    const removed = planReplicationSetup(catalogOf(before, before), desiredFor(fewer));
    expect(publicationSteps(removed).map((step) => step.kind)).toEqual(['set-publication-tables']);
    expect(publicationSteps(removed)[0].sql.split(', ')).toHaveLength(SCALE - 1);

    const swapped = [...fewer, `t${SCALE}`];
    const changed = planReplicationSetup(catalogOf(all, before), desiredFor(swapped));
    expect(changed).toHaveLength(1);
    expect(changed[0].kind).toBe('set-publication-tables');
  });

  it('a listed table in another schema makes the lists differ', () => {
    const catalog = catalogOf(before, before);
    const elsewhere: CatalogSnapshot = {
      ...catalog,
      publication: {
        ...catalog.publication!,
        tables: [...catalog.publication!.tables.slice(1), { schema: 'other', name: 't0' }],
      },
    };
    expect(planReplicationSetup(elsewhere, desiredFor(before)).map((s) => s.kind)).toEqual([
      'set-publication-tables',
    ]);
  });
});

describe('a setup of thousands of tables on PostgreSQL', () => {
  const pg = usePostgres();
  const COUNT = 3000;
  /** CREATE TABLEs per query: one implicit transaction of thousands overflows the lock table. */
  const CHUNK = 500;

  it('publishes them all, then re-runs as a no-op', async () => {
    const client = await pg.connect(await pg.createDatabase('scale'));
    const tables = names(COUNT);
    await client.query('CREATE SCHEMA datastore');
    for (let start = 0; start < COUNT; start += CHUNK) {
      await client.query(
        tables
          .slice(start, start + CHUNK)
          .map((name) => `CREATE TABLE datastore.${name} (id bigint PRIMARY KEY, val text)`)
          .join(';'),
      );
    }
    const desired = desiredFor(tables);

    const applied = await setupReplication(client, desired);
    expect(publicationSteps(applied).map((step) => step.kind)).toEqual(['create-publication']);
    const { rows } = await client.query<{ published: number }>(
      'SELECT count(*)::int AS published FROM pg_publication_tables WHERE pubname = $1',
      [desired.publicationName],
    );
    expect(rows[0].published).toBe(COUNT);

    expect(await setupReplication(client, desired)).toEqual([]);
  });
});
