import {
  CatalogSnapshot,
  DesiredReplicationState,
  formatPlan,
  IndexState,
  MissingPrimaryKeyError,
  MissingTableError,
  PartitionConflictError,
  planReplicationSetup,
  planReplicationTeardown,
  PublicationConflictError,
  ReplicaIdentityIndexError,
  RoleConflictError,
  SlotConflictError,
  TableState,
  WalLevelError,
} from '../../../src/replication';
import type { ReplicaIdentity } from '../../../src/config';
import {
  SET_UP_ROLE as doneRole,
  SET_UP_SLOT,
  TUTORIAL_SETUP_STEPS,
  TUTORIAL_STATE,
} from './fixtures';

const desired = TUTORIAL_STATE;

/** Tables of schema "datastore" by name, as CatalogSnapshot.tables holds them. */
function inDatastore(
  tables: Record<string, Omit<TableState, 'schema'> | TableState>,
): CatalogSnapshot['tables'] {
  return {
    datastore: Object.fromEntries(
      Object.entries(tables).map(([name, table]) => [name, { ...table, schema: 'datastore' }]),
    ),
  };
}

/** A database nothing was done to. */
function emptyCatalog(overrides: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return {
    serverVersion: 170000,
    walLevel: 'logical',
    currentUser: 'master',
    currentUserIsSuperuser: false,
    currentDatabase: 'app',
    missingSchemas: ['datastore'],
    tables: inDatastore({ data_tbl: { name: 'data_tbl', exists: false, hasPrimaryKey: false } }),
    rdsReplicationRoleExists: false,
    ...overrides,
  };
}

/** A database setup has already brought to `desired`. */
function doneCatalog(overrides: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return emptyCatalog({
    missingSchemas: [],
    tables: inDatastore({
      data_tbl: { name: 'data_tbl', exists: true, hasPrimaryKey: true, replicaIdentity: 'default' },
    }),
    role: doneRole,
    publication: {
      allTables: false,
      publishesAllOperations: true,
      publishesViaPartitionRoot: true,
      tables: [{ schema: 'datastore', name: 'data_tbl' }],
    },
    slot: SET_UP_SLOT,
    ...overrides,
  });
}

const kinds = (steps: { kind: string }[]): string[] => steps.map((step) => step.kind);

describe('planReplicationSetup', () => {
  it('orders the steps schema, table, user, grants, replication right, publication, slot', () => {
    expect(kinds(planReplicationSetup(emptyCatalog(), desired))).toEqual([...TUTORIAL_SETUP_STEPS]);
  });

  it('plans nothing when the database already matches', () => {
    expect(planReplicationSetup(doneCatalog(), desired)).toEqual([]);
  });

  it('hides the password: sensitive steps carry only a SCRAM verifier', () => {
    const [createRole] = planReplicationSetup(emptyCatalog(), desired).filter(
      (step) => step.kind === 'create-role',
    );
    expect(createRole.sensitive).toBe(true);
    expect(createRole.sql).toMatch(
      /^CREATE ROLE "airbyte" WITH LOGIN PASSWORD 'SCRAM-SHA-256\$4096:[^']+'$/,
    );
    expect(createRole.sql).not.toContain(desired.password);
    expect(createRole.description).not.toContain(desired.password);
    const printed = formatPlan(planReplicationSetup(emptyCatalog(), desired));
    expect(printed).not.toContain('SCRAM');
    expect(printed).toContain('statement hidden');
  });

  it('creates the slot outside the transaction, with its name as a bind parameter', () => {
    const slot = planReplicationSetup(emptyCatalog(), desired).at(-1);
    expect(slot).toMatchObject({
      kind: 'create-slot',
      sql: "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
      params: ['airbyte_slot'],
      outsideTransaction: true,
    });
  });

  it('default privileges name the master user as grantor (FOR ROLE)', () => {
    const step = planReplicationSetup(emptyCatalog(), desired).find(
      (s) => s.kind === 'grant-default-select',
    );
    expect(step?.sql).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "master" IN SCHEMA "datastore" GRANT SELECT ON TABLES TO "airbyte"',
    );
  });

  it('grants rds_replication instead of the REPLICATION attribute where the role exists', () => {
    const steps = kinds(
      planReplicationSetup(emptyCatalog({ rdsReplicationRoleExists: true }), desired),
    );
    expect(steps).toContain('grant-rds-replication');
    expect(steps).not.toContain('grant-replication-attribute');
    const member = { ...doneRole, replication: false, memberOfRdsReplication: true };
    expect(
      planReplicationSetup(doneCatalog({ rdsReplicationRoleExists: true, role: member }), desired),
    ).toEqual([]);
  });

  it('only updates the password when it changed', () => {
    const stale = doneCatalog({ role: { ...doneRole, passwordCurrent: false } });
    expect(kinds(planReplicationSetup(stale, desired))).toEqual(['update-role']);
  });

  it('changes the publication and identities in place, never the slot', () => {
    const withOrders: DesiredReplicationState = {
      ...desired,
      tables: [...desired.tables, { schema: 'datastore', name: 'orders', replicaIdentity: 'full' }],
    };
    const catalog = doneCatalog({
      tables: inDatastore({
        ...doneCatalog().tables.datastore,
        orders: { name: 'orders', exists: true, hasPrimaryKey: false, replicaIdentity: 'default' },
      }),
      publication: {
        allTables: false,
        publishesAllOperations: false,
        publishesViaPartitionRoot: true,
        tables: [{ schema: 'datastore', name: 'data_tbl' }],
      },
    });
    const steps = planReplicationSetup(catalog, withOrders);
    expect(kinds(steps)).toEqual([
      'set-replica-identity',
      'set-publication-tables',
      'set-publication-operations',
    ]);
    expect(steps[1].sql).toBe(
      'ALTER PUBLICATION "airbyte_publication" SET TABLE "datastore"."data_tbl", "datastore"."orders"',
    );
  });

  it('treats a same-named table in another schema as not published', () => {
    const catalog = doneCatalog({
      publication: {
        allTables: false,
        publishesAllOperations: true,
        publishesViaPartitionRoot: true,
        tables: [{ schema: 'other', name: 'data_tbl' }],
      },
    });
    expect(kinds(planReplicationSetup(catalog, desired))).toEqual(['set-publication-tables']);
  });

  it('quotes every identifier so names cannot inject SQL', () => {
    const hostile: DesiredReplicationState = {
      ...desired,
      schema: 'My "Schema"',
      schemas: [{ name: 'My "Schema"' }],
      tables: [{ schema: 'My "Schema"', name: 'x"; DROP TABLE y; --', replicaIdentity: 'full' }],
      user: "o'brien",
      createDemoTable: false,
    };
    const catalog = emptyCatalog({
      missingSchemas: [],
      tables: {
        'My "Schema"': {
          'x"; DROP TABLE y; --': {
            schema: 'My "Schema"',
            name: 'x"; DROP TABLE y; --',
            exists: true,
            hasPrimaryKey: false,
            replicaIdentity: 'default',
          },
        },
      },
    });
    const sql = planReplicationSetup(catalog, hostile).map((step) => step.sql);
    expect(sql).toContain(
      'ALTER TABLE "My ""Schema"""."x""; DROP TABLE y; --" REPLICA IDENTITY FULL',
    );
    expect(sql).toContain('GRANT USAGE ON SCHEMA "My ""Schema""" TO "o\'brien"');
  });

  describe('refuses', () => {
    it('wal_level other than logical', () => {
      expect(() => planReplicationSetup(emptyCatalog({ walLevel: 'replica' }), desired)).toThrow(
        WalLevelError,
      );
    });

    it('missing tables, naming all of them', () => {
      const wanted = {
        ...desired,
        createDemoTable: false,
        tables: [
          { schema: 'datastore', name: 'a', replicaIdentity: 'default' as const },
          { schema: 'datastore', name: 'b', replicaIdentity: 'default' as const },
        ],
      };
      expect(() => planReplicationSetup(emptyCatalog({ tables: inDatastore({}) }), wanted)).toThrow(
        MissingTableError,
      );
      expect(() => planReplicationSetup(emptyCatalog({ tables: inDatastore({}) }), wanted)).toThrow(
        'Tables "datastore"."a", "datastore"."b" do not exist in database "app"',
      );
    });

    it('a table without primary key under identity default', () => {
      const catalog = doneCatalog({
        tables: inDatastore({
          data_tbl: {
            name: 'data_tbl',
            exists: true,
            hasPrimaryKey: false,
            replicaIdentity: 'default',
          },
        }),
      });
      expect(() => planReplicationSetup(catalog, { ...desired, createDemoTable: false })).toThrow(
        MissingPrimaryKeyError,
      );
    });

    it('a slot with another plugin, of another database, or invalidated', () => {
      const slot = doneCatalog().slot!;
      for (const conflict of [
        { ...slot, plugin: 'wal2json' },
        { ...slot, plugin: null, slotType: 'physical', database: null },
        { ...slot, database: 'other' },
        { ...slot, walStatus: 'lost' },
      ]) {
        expect(() => planReplicationSetup(doneCatalog({ slot: conflict }), desired)).toThrow(
          SlotConflictError,
        );
      }
    });

    it('an existing heartbeat table without primary key (UPDATEs on it would fail once published)', () => {
      const catalog = doneCatalog({
        tables: inDatastore({
          ...doneCatalog().tables.datastore,
          hb: { name: 'hb', exists: true, hasPrimaryKey: false, replicaIdentity: 'default' },
        }),
      });
      expect(() => planReplicationSetup(catalog, { ...desired, heartbeatTable: 'hb' })).toThrow(
        MissingPrimaryKeyError,
      );
    });

    it('a FOR ALL TABLES publication', () => {
      const catalog = doneCatalog({
        publication: {
          allTables: true,
          publishesAllOperations: true,
          publishesViaPartitionRoot: true,
          tables: [],
        },
      });
      expect(() => planReplicationSetup(catalog, desired)).toThrow(PublicationConflictError);
    });

    it('a superuser or the master user itself as the replication user', () => {
      expect(() =>
        planReplicationSetup(doneCatalog({ role: { ...doneRole, superuser: true } }), desired),
      ).toThrow(RoleConflictError);
      expect(() => planReplicationSetup(emptyCatalog(), { ...desired, user: 'master' })).toThrow(
        RoleConflictError,
      );
    });
  });
});

describe('planReplicationTeardown', () => {
  it('plans nothing when everything is already gone', () => {
    expect(planReplicationTeardown(emptyCatalog(), desired)).toEqual([]);
  });

  it('disconnects the reader, drops slot, publication, privileges, then the role', () => {
    const catalog = doneCatalog({ slot: { ...doneCatalog().slot!, active: true, activePid: 42 } });
    const steps = planReplicationTeardown(catalog, desired);
    expect(kinds(steps)).toEqual([
      'terminate-walsender',
      'drop-slot',
      'drop-publication',
      'revoke-default-privileges',
      'grant-role-to-current-user',
      'drop-owned',
      'drop-role',
    ]);
    expect(steps[3].sql).toBe(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "master" IN SCHEMA "datastore" REVOKE ALL ON TABLES FROM "airbyte"',
    );
  });

  it('hands objects the user owns to the master user before DROP OWNED, so no data is dropped', () => {
    const catalog = doneCatalog({
      currentUserIsSuperuser: true,
      role: { ...doneRole, ownedObjects: 2 },
    });
    const steps = kinds(planReplicationTeardown(catalog, desired));
    expect(steps.indexOf('reassign-owned')).toBeLessThan(steps.indexOf('drop-owned'));
    expect(steps).not.toContain('grant-role-to-current-user');
  });

  it('keeps the user when asked (clean-up of a replaced resource)', () => {
    expect(kinds(planReplicationTeardown(doneCatalog(), desired, { keepUser: true }))).toEqual([
      'drop-slot',
      'drop-publication',
    ]);
  });

  it('leaves a slot of the same name in another database alone', () => {
    const catalog = doneCatalog({ slot: { ...doneCatalog().slot!, database: 'other' } });
    expect(kinds(planReplicationTeardown(catalog, desired))).not.toContain('drop-slot');
  });
});

describe('planReplicationSetup, by PostgreSQL major', () => {
  const superuserOnly = (catalog: CatalogSnapshot) =>
    planReplicationSetup(catalog, desired)
      .filter((step) => step.requiresSuperuser)
      .map((step) => step.kind);

  it('marks the REPLICATION attribute as superuser-only before 16 on plain PostgreSQL', () => {
    for (const serverVersion of [140000, 150000]) {
      expect(superuserOnly(emptyCatalog({ serverVersion }))).toEqual(['create-role']);
      const create = planReplicationSetup(emptyCatalog({ serverVersion }), desired).find(
        (step) => step.kind === 'create-role',
      );
      expect(create?.sql).toMatch(/^CREATE ROLE "airbyte" WITH LOGIN REPLICATION PASSWORD /);
      const withoutAttribute = doneCatalog({
        serverVersion,
        role: { ...doneRole, replication: false },
      });
      expect(superuserOnly(withoutAttribute)).toEqual(['grant-replication-attribute']);
      // A role that has the attribute: only a superuser may change its password.
      const stalePassword = doneCatalog({
        serverVersion,
        role: { ...doneRole, passwordCurrent: false },
      });
      expect(superuserOnly(stalePassword)).toEqual(['update-role']);
    }
  });

  it('needs no superuser from 16 on, as a superuser, or where rds_replication exists', () => {
    expect(superuserOnly(emptyCatalog({ serverVersion: 160000 }))).toEqual([]);
    expect(superuserOnly(emptyCatalog({ serverVersion: 180000 }))).toEqual([]);
    expect(
      superuserOnly(emptyCatalog({ serverVersion: 140000, currentUserIsSuperuser: true })),
    ).toEqual([]);
    expect(
      superuserOnly(emptyCatalog({ serverVersion: 140000, rdsReplicationRoleExists: true })),
    ).toEqual([]);
  });

  it('revokes CREATE on "public" from PUBLIC before 15 only, when PUBLIC has it', () => {
    const kinds = (catalog: CatalogSnapshot) =>
      planReplicationSetup(catalog, desired).map((step) => step.kind);
    const open = { createGrantedToPublic: true };
    expect(
      kinds(
        emptyCatalog({ serverVersion: 140000, publicSchema: open, rdsReplicationRoleExists: true }),
      ),
    ).toContain('revoke-public-create');
    expect(
      kinds(doneCatalog({ serverVersion: 140000, publicSchema: { createGrantedToPublic: false } })),
    ).toEqual([]);
    // 15 and later decide it themselves (a grant to PUBLIC there was someone's choice).
    expect(
      kinds(
        emptyCatalog({ serverVersion: 150000, publicSchema: open, currentUserIsSuperuser: true }),
      ),
    ).not.toContain('revoke-public-create');
  });
});

describe('planReplicationSetup, partitioned tables', () => {
  const partitioned: TableState = {
    schema: 'datastore',
    name: 'measurements',
    exists: true,
    hasPrimaryKey: true,
    replicaIdentity: 'default',
    partitioned: true,
    partitions: [
      { schema: 'datastore', name: 'measurements_eu', replicaIdentity: 'default' },
      { schema: 'archive', name: 'measurements_old', replicaIdentity: 'full' },
    ],
  };
  const withMeasurements = (replicaIdentity: ReplicaIdentity): DesiredReplicationState => ({
    ...desired,
    tables: [...desired.tables, { schema: 'datastore', name: 'measurements', replicaIdentity }],
  });
  const catalogWith = (measurements: TableState): CatalogSnapshot =>
    doneCatalog({
      tables: inDatastore({ ...doneCatalog().tables.datastore, measurements }),
      publication: {
        ...doneCatalog().publication!,
        tables: [
          { schema: 'datastore', name: 'data_tbl' },
          { schema: 'datastore', name: 'measurements' },
        ],
      },
    });

  it('creates the publication to publish via the partition root', () => {
    const create = planReplicationSetup(emptyCatalog(), desired).find(
      (step) => step.kind === 'create-publication',
    );
    expect(create?.sql).toBe(
      'CREATE PUBLICATION "airbyte_publication" FOR TABLE "datastore"."data_tbl" WITH (publish_via_partition_root = true)',
    );
  });

  it('turns publish_via_partition_root on in an existing publication', () => {
    const catalog = doneCatalog({
      publication: { ...doneCatalog().publication!, publishesViaPartitionRoot: false },
    });
    const steps = planReplicationSetup(catalog, desired);
    expect(kinds(steps)).toEqual(['set-publication-partition-root']);
    expect(steps[0].sql).toBe(
      'ALTER PUBLICATION "airbyte_publication" SET (publish_via_partition_root = true)',
    );
  });

  it('sets FULL on the parent and on each partition that lacks it, in its own schema', () => {
    const steps = planReplicationSetup(catalogWith(partitioned), withMeasurements('full'));
    expect(steps.map((step) => step.sql)).toEqual([
      'ALTER TABLE "datastore"."measurements" REPLICA IDENTITY FULL',
      'ALTER TABLE "datastore"."measurements_eu" REPLICA IDENTITY FULL',
    ]);
    expect(steps[1].description).toBe(
      'set REPLICA IDENTITY FULL on partition "datastore"."measurements_eu" of "datastore"."measurements"',
    );
  });

  it('resets partitions to DEFAULT when the parent is configured with it', () => {
    const steps = planReplicationSetup(catalogWith(partitioned), withMeasurements('default'));
    expect(steps.map((step) => step.sql)).toEqual([
      'ALTER TABLE "archive"."measurements_old" REPLICA IDENTITY DEFAULT',
    ]);
  });

  it('uses on each partition the index attached to the configured one', () => {
    const catalog = {
      ...catalogWith({
        ...partitioned,
        hasPrimaryKey: false,
        partitions: [
          {
            schema: 'datastore',
            name: 'measurements_eu',
            replicaIdentity: 'default',
            identityIndex: 'measurements_eu_code_idx',
          },
          {
            schema: 'archive',
            name: 'measurements_old',
            replicaIdentity: 'index',
            replicaIdentityIndex: 'measurements_old_code_idx',
            identityIndex: 'measurements_old_code_idx',
          },
        ],
      }),
      identityIndexes: {
        datastore: { measurements: validIndex('measurements_code_key', 'measurements') },
      },
    };
    const steps = planReplicationSetup(
      catalog,
      withMeasurements({ index: 'measurements_code_key' }),
    );
    expect(steps.map((step) => step.sql)).toEqual([
      'ALTER TABLE "datastore"."measurements" REPLICA IDENTITY USING INDEX "measurements_code_key"',
      'ALTER TABLE "datastore"."measurements_eu" REPLICA IDENTITY USING INDEX "measurements_eu_code_idx"',
    ]);
  });

  it('refuses a parent and one of its partitions together, naming both', () => {
    const catalog = doneCatalog({
      tables: inDatastore({
        ...catalogWith(partitioned).tables.datastore,
        measurements_eu: {
          name: 'measurements_eu',
          exists: true,
          hasPrimaryKey: true,
          replicaIdentity: 'default',
          partitionOf: [{ schema: 'datastore', name: 'measurements' }],
        },
      }),
    });
    const both = {
      ...withMeasurements('default'),
      tables: [
        ...withMeasurements('default').tables,
        { schema: 'datastore', name: 'measurements_eu', replicaIdentity: 'default' as const },
      ],
    };
    expect(() => planReplicationSetup(catalog, both)).toThrow(PartitionConflictError);
    expect(() => planReplicationSetup(catalog, both)).toThrow(
      /"datastore"\."measurements_eu" is a partition of "datastore"\."measurements", and both are configured.*remove the partition from replication\.tables/,
    );
  });
});

/** An index REPLICA IDENTITY USING INDEX accepts. */
function validIndex(name: string, table: string): IndexState {
  return {
    name,
    table,
    unique: true,
    partial: false,
    immediate: true,
    expression: false,
    valid: true,
    columns: ['code'],
    nullableColumns: [],
  };
}

describe('planReplicationSetup, replica identity by unique index', () => {
  const keyless: TableState = {
    schema: 'datastore',
    name: 'events',
    exists: true,
    hasPrimaryKey: false,
    replicaIdentity: 'default',
  };
  const wanted: DesiredReplicationState = {
    ...desired,
    createDemoTable: false,
    tables: [
      { schema: 'datastore', name: 'events', replicaIdentity: { index: 'events_code_key' } },
    ],
  };
  const catalogWith = (events: TableState, index?: IndexState): CatalogSnapshot =>
    doneCatalog({
      tables: inDatastore({ events }),
      ...(index ? { identityIndexes: { datastore: { events: index } } } : {}),
      publication: {
        ...doneCatalog().publication!,
        tables: [{ schema: 'datastore', name: 'events' }],
      },
    });

  it('sets REPLICA IDENTITY USING INDEX on a table without primary key', () => {
    const steps = planReplicationSetup(
      catalogWith(keyless, validIndex('events_code_key', 'events')),
      wanted,
    );
    expect(steps).toEqual([
      {
        kind: 'set-replica-identity',
        description: 'set REPLICA IDENTITY USING INDEX "events_code_key" on "datastore"."events"',
        sql: 'ALTER TABLE "datastore"."events" REPLICA IDENTITY USING INDEX "events_code_key"',
      },
    ]);
  });

  it('plans nothing when the table already uses that index, and switches from another one', () => {
    const index = validIndex('events_code_key', 'events');
    const using = (name: string): TableState => ({
      ...keyless,
      replicaIdentity: 'index',
      replicaIdentityIndex: name,
    });
    expect(planReplicationSetup(catalogWith(using('events_code_key'), index), wanted)).toEqual([]);
    expect(
      kinds(planReplicationSetup(catalogWith(using('events_other_key'), index), wanted)),
    ).toEqual(['set-replica-identity']);
  });

  const refusals: [string, Partial<IndexState> | undefined, RegExp][] = [
    [
      'a missing index',
      undefined,
      /schema "datastore" has no index "events_code_key": create a unique index/,
    ],
    [
      "another table's index",
      { table: 'orders' },
      /index "events_code_key" belongs to table "datastore"\."orders": name an index of "datastore"\."events"/,
    ],
    ['a non-unique index', { unique: false }, /index "events_code_key" is not unique/],
    ['a partial index', { partial: true }, /index "events_code_key" is partial/],
    ['a deferrable index', { immediate: false }, /index "events_code_key" is deferrable/],
    ['an expression index', { expression: true }, /indexes an expression/],
    ['an invalid index', { valid: false }, /index "events_code_key" is invalid/],
    [
      'a nullable column',
      { nullableColumns: ['code'] },
      /column code is nullable: ALTER TABLE "datastore"\."events" ALTER COLUMN "code" SET NOT NULL, or pick another index/,
    ],
  ];
  it.each(refusals)('refuses %s, naming table and index', (_what, facts, message) => {
    const index = facts && { ...validIndex('events_code_key', 'events'), ...facts };
    const catalog = catalogWith(keyless, index);
    expect(() => planReplicationSetup(catalog, wanted)).toThrow(ReplicaIdentityIndexError);
    expect(() => planReplicationSetup(catalog, wanted)).toThrow(
      /^"datastore"\."events" cannot use index "events_code_key" as its replica identity: /,
    );
    expect(() => planReplicationSetup(catalog, wanted)).toThrow(message);
  });

  it('still refuses DEFAULT without a primary key', () => {
    const catalog = catalogWith(keyless);
    expect(() =>
      planReplicationSetup(catalog, {
        ...wanted,
        tables: [{ schema: 'datastore', name: 'events', replicaIdentity: 'default' }],
      }),
    ).toThrow(MissingPrimaryKeyError);
  });
});
