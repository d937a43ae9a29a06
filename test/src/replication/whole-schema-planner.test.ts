import {
  MissingPrimaryKeyError,
  planReplicationSetup,
  withSchemaTables,
  type CatalogSnapshot,
  type DesiredReplicationState,
  type PublicationState,
  type TableState,
} from '../../../src/replication';
import { SET_UP_ROLE, SET_UP_SLOT, TUTORIAL_STATE } from './fixtures';

/** `replication.tables: "*"` with the section's identity `default`. */
const wholeSchema: DesiredReplicationState = {
  ...TUTORIAL_STATE,
  schemas: [{ name: 'datastore', wholeSchema: { replicaIdentity: 'default' } }],
  tables: [],
  createDemoTable: false,
};

const keyed = (name: string): TableState => ({
  schema: 'datastore',
  name,
  exists: true,
  hasPrimaryKey: true,
  replicaIdentity: 'default',
});

/** A set-up database whose schema holds `orders` and `items` and whose publication is `publication`. */
function catalog(
  serverVersion: number,
  publication?: PublicationState,
  currentUserIsSuperuser = serverVersion >= 150000,
): CatalogSnapshot {
  return {
    serverVersion,
    walLevel: 'logical',
    currentUser: 'master',
    // PostgreSQL lets only a superuser publish a schema; RDS's master user is none.
    currentUserIsSuperuser,
    currentDatabase: 'app',
    missingSchemas: [],
    tables: { datastore: { orders: keyed('orders'), items: keyed('items') } },
    schemaTables: { datastore: ['orders', 'items'] },
    role: SET_UP_ROLE,
    rdsReplicationRoleExists: false,
    ...(publication ? { publication } : {}),
    slot: SET_UP_SLOT,
  };
}

const publication = (contents: Pick<PublicationState, 'tables' | 'schemas'>): PublicationState => ({
  allTables: false,
  publishesAllOperations: true,
  publishesViaPartitionRoot: true,
  ...contents,
});

const listed = (...names: string[]) => names.map((name) => ({ schema: 'datastore', name }));

const publicationSql = (steps: { kind: string; sql: string }[]): string[] =>
  steps
    .filter((step) => step.kind === 'create-publication' || step.kind === 'set-publication-tables')
    .map((step) => step.sql);

describe('the whole schema on PostgreSQL 15 and later', () => {
  it('creates the publication FOR TABLES IN SCHEMA, via the partition root', () => {
    expect(publicationSql(planReplicationSetup(catalog(170000), wholeSchema))).toEqual([
      'CREATE PUBLICATION "airbyte_publication" FOR TABLES IN SCHEMA "datastore" WITH (publish_via_partition_root = true)',
    ]);
  });

  it('plans nothing on a re-run', () => {
    const done = catalog(150000, publication({ tables: [], schemas: ['datastore'] }));
    expect(planReplicationSetup(done, wholeSchema)).toEqual([]);
  });

  it('switches a publication with a table list to the schema in one statement', () => {
    const before = catalog(160000, publication({ tables: listed('orders'), schemas: [] }));
    expect(publicationSql(planReplicationSetup(before, wholeSchema))).toEqual([
      'ALTER PUBLICATION "airbyte_publication" SET TABLES IN SCHEMA "datastore"',
    ]);
  });

  it('switches back to a list when the config lists tables again', () => {
    const before = catalog(170000, publication({ tables: [], schemas: ['datastore'] }));
    const list: DesiredReplicationState = {
      ...wholeSchema,
      schemas: [{ name: 'datastore' }],
      tables: [{ schema: 'datastore', name: 'orders', replicaIdentity: 'default' }],
    };
    expect(publicationSql(planReplicationSetup(before, list))).toEqual([
      'ALTER PUBLICATION "airbyte_publication" SET TABLE "datastore"."orders"',
    ]);
  });

  it("gives each existing table the section's identity", () => {
    const full: DesiredReplicationState = {
      ...wholeSchema,
      schemas: [{ name: 'datastore', wholeSchema: { replicaIdentity: 'full' } }],
    };
    const done = catalog(170000, publication({ tables: [], schemas: ['datastore'] }));
    expect(
      planReplicationSetup(done, full)
        .filter((step) => step.kind === 'set-replica-identity')
        .map((step) => step.sql),
    ).toEqual([
      'ALTER TABLE "datastore"."orders" REPLICA IDENTITY FULL',
      'ALTER TABLE "datastore"."items" REPLICA IDENTITY FULL',
    ]);
  });

  it('refuses a table without primary key under identity default, as a listed one', () => {
    const keyless = catalog(170000);
    const withKeyless: CatalogSnapshot = {
      ...keyless,
      tables: {
        datastore: {
          ...keyless.tables.datastore,
          logs: { ...keyed('logs'), hasPrimaryKey: false },
        },
      },
      schemaTables: { datastore: ['orders', 'items', 'logs'] },
    };
    expect(() => planReplicationSetup(withKeyless, wholeSchema)).toThrow(MissingPrimaryKeyError);
  });
});

describe('the whole schema on PostgreSQL 15 and later, set up by a user that is no superuser', () => {
  it('lists the tables that exist, as on 14: only a superuser may publish a schema', () => {
    expect(
      publicationSql(planReplicationSetup(catalog(170000, undefined, false), wholeSchema)),
    ).toEqual([
      'CREATE PUBLICATION "airbyte_publication" FOR TABLE "datastore"."orders", "datastore"."items" WITH (publish_via_partition_root = true)',
    ]);
  });
});

describe('the whole schema on PostgreSQL 14', () => {
  it('lists the tables that exist, and the heartbeat table, in one statement', () => {
    const withHeartbeat = { ...wholeSchema, heartbeatTable: 'heartbeat' };
    const state = catalog(140000);
    const before: CatalogSnapshot = {
      ...state,
      tables: { datastore: { ...state.tables.datastore, heartbeat: keyed('heartbeat') } },
      schemaTables: { datastore: ['orders', 'items', 'heartbeat'] },
    };
    expect(publicationSql(planReplicationSetup(before, withHeartbeat))).toEqual([
      'CREATE PUBLICATION "airbyte_publication" FOR TABLE "datastore"."orders", "datastore"."items", "datastore"."heartbeat" WITH (publish_via_partition_root = true)',
    ]);
  });

  it('adds a table created since with one SET TABLE, and nothing on a re-run', () => {
    const before = catalog(140000, publication({ tables: listed('orders'), schemas: [] }));
    expect(publicationSql(planReplicationSetup(before, wholeSchema))).toEqual([
      'ALTER PUBLICATION "airbyte_publication" SET TABLE "datastore"."orders", "datastore"."items"',
    ]);
    const after = catalog(140000, publication({ tables: listed('items', 'orders'), schemas: [] }));
    expect(planReplicationSetup(after, wholeSchema)).toEqual([]);
  });

  it('creates an empty publication for an empty schema', () => {
    const empty: CatalogSnapshot = {
      ...catalog(140000),
      tables: {},
      schemaTables: { datastore: [] },
    };
    expect(publicationSql(planReplicationSetup(empty, wholeSchema))).toEqual([
      'CREATE PUBLICATION "airbyte_publication" WITH (publish_via_partition_root = true)',
    ]);
  });
});

describe('withSchemaTables', () => {
  it('keeps the tables already resolved and adds the others with the section identity', () => {
    const resolved = withSchemaTables(
      {
        ...wholeSchema,
        tables: [{ schema: 'datastore', name: 'orders', replicaIdentity: 'full' }],
      },
      { schemaTables: { datastore: ['orders', 'items'] } },
    );
    expect(resolved.tables).toEqual([
      { schema: 'datastore', name: 'orders', replicaIdentity: 'full' },
      { schema: 'datastore', name: 'items', replicaIdentity: 'default' },
    ]);
    expect(withSchemaTables(resolved, { schemaTables: { datastore: ['orders', 'items'] } })).toBe(
      resolved,
    );
  });

  it('leaves a listed desired state alone', () => {
    expect(withSchemaTables(TUTORIAL_STATE, { schemaTables: { datastore: ['orders'] } })).toBe(
      TUTORIAL_STATE,
    );
  });
});
