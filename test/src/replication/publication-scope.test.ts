import type { Client } from 'pg';
import type {
  MessageDelete,
  MessageInsert,
  MessageUpdate,
} from 'pg-logical-replication/dist/output-plugins/pgoutput/pgoutput.types';
import {
  PartitionConflictError,
  ReplicaIdentityIndexError,
  setupReplication,
  type DesiredReplicationState,
} from '../../../src/replication';
import { usePostgres } from '../../support/postgres';
import { streamAsReplicationUser, tutorialState } from './fixtures';

const pg = usePostgres();

async function freshDatabase(setupSql: string): Promise<{ database: string; admin: Client }> {
  const database = await pg.createDatabase();
  const admin = await pg.connect(database);
  await admin.query(`CREATE SCHEMA datastore; ${setupSql}`);
  return { database, admin };
}

/** relreplident and the identity index of each relation, by name, as plain SQL sees them. */
async function identities(
  admin: Client,
  names: readonly string[],
): Promise<Record<string, string>> {
  const { rows } = await admin.query<{ relname: string; identity: string }>(
    `SELECT c.relname,
            c.relreplident::text || coalesce(':' || (SELECT x.relname FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid
                                               WHERE i.indrelid = c.oid AND i.indisreplident), '') AS identity
       FROM pg_class c WHERE c.relname = ANY ($1::text[])`,
    [names],
  );
  return Object.fromEntries(rows.map((row) => [row.relname, row.identity]));
}

async function roleExists(admin: Client, user: string): Promise<boolean> {
  const { rows } = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [user]);
  return rows.length > 0;
}

const MEASUREMENTS = `
  CREATE TABLE datastore.measurements (id int NOT NULL, region text NOT NULL, reading numeric,
    PRIMARY KEY (id, region)) PARTITION BY LIST (region);
  CREATE TABLE datastore.measurements_eu PARTITION OF datastore.measurements FOR VALUES IN ('eu');
  CREATE TABLE datastore.measurements_us PARTITION OF datastore.measurements FOR VALUES IN ('us');`;

describe('a partitioned table', () => {
  const measurements = (
    replicaIdentity: DesiredReplicationState['tables'][number]['replicaIdentity'],
  ): DesiredReplicationState =>
    tutorialState({
      createDemoTable: false,
      tables: [{ schema: 'datastore', name: 'measurements', replicaIdentity }],
    });

  it('streams changes in two partitions under the parent name, FULL on every partition', async () => {
    const { database, admin } = await freshDatabase(MEASUREMENTS);
    const desired = measurements('full');
    await setupReplication(admin, desired);
    expect(await identities(admin, ['measurements', 'measurements_eu', 'measurements_us'])).toEqual(
      { measurements: 'f', measurements_eu: 'f', measurements_us: 'f' },
    );
    const { rows } = await admin.query('SELECT pubviaroot FROM pg_publication WHERE pubname = $1', [
      desired.publicationName,
    ]);
    expect(rows[0].pubviaroot).toBe(true);
    expect(await setupReplication(admin, desired)).toEqual([]);

    const stream = await streamAsReplicationUser(pg.config(database), desired);
    try {
      await admin.query("INSERT INTO datastore.measurements VALUES (1, 'eu', 1.5), (2, 'us', 2.5)");
      await admin.query("UPDATE datastore.measurements SET reading = 3 WHERE region = 'us'");
      await admin.query("DELETE FROM datastore.measurements WHERE region = 'eu'");
      const changes = await stream.waitForChanges(4);
      expect(changes.map((change) => [change.tag, change.relation.name])).toEqual([
        ['insert', 'measurements'],
        ['insert', 'measurements'],
        ['update', 'measurements'],
        ['delete', 'measurements'],
      ]);
      expect(changes.map((change) => change.relation.schema)).toEqual(Array(4).fill('datastore'));
      expect((changes[0] as MessageInsert).new).toMatchObject({ id: 1, region: 'eu' });
      expect((changes[1] as MessageInsert).new).toMatchObject({ id: 2, region: 'us' });
      // FULL on the partition: the whole old row, converted to the parent's columns.
      expect((changes[2] as MessageUpdate).old).toEqual({ id: 2, region: 'us', reading: '2.5' });
      expect((changes[3] as MessageDelete).old).toEqual({ id: 1, region: 'eu', reading: '1.5' });
    } finally {
      await stream.stop();
    }
  });

  it('gives a partition created after the deploy the identity on the next run', async () => {
    const { admin } = await freshDatabase(MEASUREMENTS);
    const desired = measurements('full');
    await setupReplication(admin, desired);
    await admin.query(
      "CREATE TABLE datastore.measurements_ap PARTITION OF datastore.measurements FOR VALUES IN ('ap')",
    );
    const steps = await setupReplication(admin, desired);
    expect(steps.map((step) => step.sql)).toEqual([
      'ALTER TABLE "datastore"."measurements_ap" REPLICA IDENTITY FULL',
    ]);
    expect(await identities(admin, ['measurements_ap'])).toEqual({ measurements_ap: 'f' });
  });

  it('turns publish_via_partition_root on in a publication made without it', async () => {
    const { admin } = await freshDatabase(MEASUREMENTS);
    const desired = measurements('default');
    await admin.query(
      `CREATE PUBLICATION ${desired.publicationName} FOR TABLE datastore.measurements`,
    );
    const steps = await setupReplication(admin, desired);
    expect(steps.map((step) => step.kind)).toContain('set-publication-partition-root');
    const { rows } = await admin.query('SELECT pubviaroot FROM pg_publication WHERE pubname = $1', [
      desired.publicationName,
    ]);
    expect(rows[0].pubviaroot).toBe(true);
  });

  it('refuses the parent and one of its partitions together, naming both, changing nothing', async () => {
    const { admin } = await freshDatabase(MEASUREMENTS);
    const desired = tutorialState({
      createDemoTable: false,
      tables: [
        { schema: 'datastore', name: 'measurements', replicaIdentity: 'default' },
        { schema: 'datastore', name: 'measurements_eu', replicaIdentity: 'default' },
      ],
    });
    const setup = setupReplication(admin, desired);
    await expect(setup).rejects.toThrow(PartitionConflictError);
    await expect(setup).rejects.toThrow(
      /"datastore"\."measurements_eu" is a partition of "datastore"\."measurements", and both are configured to be published.*remove the partition from replication\.tables/,
    );
    expect(await roleExists(admin, desired.user)).toBe(false);
  });

  it('takes a unique index identity on the parent and the attached index on each partition', async () => {
    const { admin } = await freshDatabase(`${MEASUREMENTS}
      ALTER TABLE datastore.measurements DROP CONSTRAINT measurements_pkey;
      CREATE UNIQUE INDEX measurements_key ON datastore.measurements (id, region);`);
    const desired = measurements({ index: 'measurements_key' });
    await setupReplication(admin, desired);
    expect(await identities(admin, ['measurements', 'measurements_eu', 'measurements_us'])).toEqual(
      {
        measurements: 'i:measurements_key',
        measurements_eu: 'i:measurements_eu_id_region_idx',
        measurements_us: 'i:measurements_us_id_region_idx',
      },
    );
    expect(await setupReplication(admin, desired)).toEqual([]);
  });
});

describe('replica identity by unique index', () => {
  const EVENTS = `CREATE TABLE datastore.events (code text NOT NULL, payload text);
    CREATE UNIQUE INDEX events_code_key ON datastore.events (code);`;
  const events = (index: string): DesiredReplicationState =>
    tutorialState({
      createDemoTable: false,
      tables: [{ schema: 'datastore', name: 'events', replicaIdentity: { index } }],
    });

  it('publishes a table without primary key, its index columns as the key of updates and deletes', async () => {
    const { database, admin } = await freshDatabase(EVENTS);
    const desired = events('events_code_key');
    const steps = await setupReplication(admin, desired);
    expect(steps.map((step) => step.sql)).toContain(
      'ALTER TABLE "datastore"."events" REPLICA IDENTITY USING INDEX "events_code_key"',
    );
    expect(await identities(admin, ['events'])).toEqual({ events: 'i:events_code_key' });
    expect(await setupReplication(admin, desired)).toEqual([]);

    const stream = await streamAsReplicationUser(pg.config(database), desired);
    try {
      await admin.query("INSERT INTO datastore.events VALUES ('a', 'first')");
      await admin.query("UPDATE datastore.events SET code = 'b', payload = 'second'");
      await admin.query('DELETE FROM datastore.events');
      const [, update, remove] = await stream.waitForChanges(3);
      expect((update as MessageUpdate).key).toEqual({ code: 'a' });
      expect((update as MessageUpdate).new).toEqual({ code: 'b', payload: 'second' });
      expect((remove as MessageDelete).key).toEqual({ code: 'b' });
    } finally {
      await stream.stop();
    }
  });

  const refusals: [string, string, string, RegExp][] = [
    ['a missing index', '', 'nope', /schema "datastore" has no index "nope"/],
    [
      "another table's index",
      'CREATE TABLE datastore.other (code text NOT NULL UNIQUE);',
      'other_code_key',
      /index "other_code_key" belongs to table "datastore"\."other"/,
    ],
    [
      'a non-unique index',
      'CREATE INDEX events_plain ON datastore.events (code);',
      'events_plain',
      /index "events_plain" is not unique/,
    ],
    [
      'a partial index',
      "CREATE UNIQUE INDEX events_partial ON datastore.events (code) WHERE code <> '';",
      'events_partial',
      /index "events_partial" is partial/,
    ],
    [
      'a deferrable constraint',
      'ALTER TABLE datastore.events ADD CONSTRAINT events_deferred UNIQUE (code) DEFERRABLE;',
      'events_deferred',
      /index "events_deferred" is deferrable/,
    ],
    [
      'an expression index',
      'CREATE UNIQUE INDEX events_lower ON datastore.events (lower(code));',
      'events_lower',
      /index "events_lower" indexes an expression/,
    ],
    [
      'a nullable column',
      'CREATE UNIQUE INDEX events_payload ON datastore.events (payload);',
      'events_payload',
      /column payload is nullable: ALTER TABLE "datastore"\."events" ALTER COLUMN "payload" SET NOT NULL, or pick another index/,
    ],
  ];
  it.each(refusals)(
    'refuses %s before changing anything, naming table and index',
    async (_what, extraSql, index, message) => {
      const { admin } = await freshDatabase(`${EVENTS} ${extraSql}`);
      const desired = events(index);
      const setup = setupReplication(admin, desired);
      await expect(setup).rejects.toThrow(ReplicaIdentityIndexError);
      await expect(setup).rejects.toThrow(
        new RegExp(`^"datastore"\\."events" cannot use index "${index}" as its replica identity: `),
      );
      await expect(setup).rejects.toThrow(message);
      expect(await roleExists(admin, desired.user)).toBe(false);
      expect(await identities(admin, ['events'])).toEqual({ events: 'd' });
    },
  );

  it('refuses an invalid index (ON ONLY a partitioned table), which PostgreSQL itself accepts', async () => {
    const { admin } = await freshDatabase(`${MEASUREMENTS}
      CREATE UNIQUE INDEX measurements_only ON ONLY datastore.measurements (id, region);`);
    const desired = tutorialState({
      createDemoTable: false,
      tables: [
        {
          schema: 'datastore',
          name: 'measurements',
          replicaIdentity: { index: 'measurements_only' },
        },
      ],
    });
    await expect(setupReplication(admin, desired)).rejects.toThrow(
      /"datastore"\."measurements" cannot use index "measurements_only" as its replica identity: index "measurements_only" is invalid.*partition "datastore"\."measurements_eu" has no index attached/,
    );
  });
});
