/**
 * What Debezium emits for a partitioned table (changes in every partition under the parent's
 * name, through publish_via_partition_root) and for a table identified by a unique index (the
 * index columns as the key of updates and deletes).
 */
import { qualifiedName } from '../../src/replication';
import { usePipelineServer } from './pipeline';
import { finishStreaming, streamedFrom, streamingPipeline, type StreamingRun } from './streaming';

const pg = usePipelineServer();

const SCHEMA = 'datastore';

describe('a partitioned table', () => {
  let run: StreamingRun | undefined;
  afterEach(() => finishStreaming(run));

  it('streams inserts into two partitions under the parent name', async () => {
    const parent = qualifiedName(SCHEMA, 'measurements');
    run = await streamingPipeline(
      pg,
      { tables: ['data_tbl', { name: 'measurements', replicaIdentity: 'full' }] },
      async (master) => {
        await master.query(`CREATE SCHEMA ${SCHEMA}`);
        await master.query(
          `CREATE TABLE ${parent} (id bigint, region text, reading numeric) PARTITION BY LIST (region)`,
        );
        for (const region of ['eu', 'us']) {
          await master.query(
            `CREATE TABLE ${qualifiedName(SCHEMA, `measurements_${region}`)} PARTITION OF ${parent} FOR VALUES IN ('${region}')`,
          );
        }
      },
    );
    const { pipeline, debezium } = run;
    await pipeline.rds.client.query(`INSERT INTO ${parent} VALUES (1, 'eu', 1), (2, 'us', 2)`);
    await pipeline.rds.client.query(`DELETE FROM ${parent} WHERE region = 'us'`);

    const events = await debezium.waitForEvents(3, streamedFrom('measurements'));
    expect(
      events.map((event) => [event.op, event.source.table, event.before, event.after]),
    ).toEqual([
      ['c', 'measurements', null, { id: 1, region: 'eu', reading: expect.anything() }],
      ['c', 'measurements', null, { id: 2, region: 'us', reading: expect.anything() }],
      ['d', 'measurements', { id: 2, region: 'us', reading: expect.anything() }, null],
    ]);
    expect(
      debezium.events.filter((event) => event.source.table.startsWith('measurements_')),
    ).toEqual([]);
  });
});

describe('a table without a primary key, REPLICA IDENTITY USING INDEX', () => {
  let run: StreamingRun | undefined;
  afterEach(() => finishStreaming(run));

  it('keys updates and deletes by the index columns, the old key in the before image', async () => {
    const table = qualifiedName(SCHEMA, 'events');
    run = await streamingPipeline(
      pg,
      { tables: ['data_tbl', { name: 'events', replicaIdentity: { index: 'events_code_key' } }] },
      async (master) => {
        await master.query(`CREATE SCHEMA ${SCHEMA}`);
        await master.query(`CREATE TABLE ${table} (code text NOT NULL, payload text)`);
        await master.query(`CREATE UNIQUE INDEX events_code_key ON ${table} (code)`);
      },
    );
    const { pipeline, debezium } = run;
    const client = pipeline.rds.client;
    await client.query(`INSERT INTO ${table} VALUES ('a', 'first')`);
    await client.query(`UPDATE ${table} SET payload = 'second'`);
    await client.query(`UPDATE ${table} SET code = 'b'`);
    await client.query(`DELETE FROM ${table}`);

    const events = await debezium.waitForEvents(5, streamedFrom('events'));
    expect(events.map((event) => [event.op, event.before, event.after])).toEqual([
      ['c', null, { code: 'a', payload: 'first' }],
      // The old key is logged only when the key changes, as under DEFAULT with a primary key.
      ['u', null, { code: 'a', payload: 'second' }],
      // Debezium keys the records by the index columns: a key change is a delete of the old key
      // and a create under the new one, as for a primary key.
      ['d', { code: 'a', payload: null }, null],
      ['c', null, { code: 'b', payload: 'second' }],
      ['d', { code: 'b', payload: null }, null],
    ]);
  });
});
