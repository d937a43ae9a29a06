/**
 * cdk.json's `analytics` environment through Debezium: schema "sales" lists its tables (a
 * partitioned one, one identified by a unique index), schema "crm" is published whole. Changes
 * in two partitions arrive under the parent's name, those in "crm" under their own schema, and
 * a table the config does not publish sends nothing.
 */
import { ANALYTICS_TABLES_SQL } from '../support/analytics';
import { CDK_JSON_ENVIRONMENTS } from '../support/stacks';
import { usePipelineServer } from './pipeline';
import { finishStreaming, streamingPipeline, type StreamingRun } from './streaming';
import type { ChangeEvent } from './probe';

const pg = usePipelineServer();

const analytics = CDK_JSON_ENVIRONMENTS.analytics.replication as {
  schemas: Record<string, unknown[] | '*'>;
};

const streamed = (event: ChangeEvent): boolean => event.source.snapshot === 'false';

describe('several schemas, one of them whole', () => {
  let run: StreamingRun | undefined;
  afterEach(() => finishStreaming(run));

  it('streams each change under its schema, partitions under their parent', async () => {
    const sales = analytics.schemas.sales as unknown[];
    run = await streamingPipeline(
      pg,
      {
        ...analytics,
        // The demo table's rows end Debezium's snapshot: publish it in the first schema.
        schemas: { ...analytics.schemas, sales: ['data_tbl', ...sales] },
      },
      async (master) => {
        await master.query(ANALYTICS_TABLES_SQL);
      },
    );
    const { pipeline, debezium } = run;
    expect(pipeline.streams).toEqual(
      expect.arrayContaining([
        { namespace: 'sales', name: 'measurements' },
        { namespace: 'sales', name: 'events' },
        { namespace: 'crm', name: 'customers' },
      ]),
    );
    const client = pipeline.rds.client;
    await client.query('INSERT INTO sales.refunds VALUES (1)');
    await client.query(`INSERT INTO sales.measurements VALUES (1, 'eu', 1), (2, 'us', 2)`);
    await client.query(`INSERT INTO sales.events VALUES ('a', 'first')`);
    await client.query(`DELETE FROM sales.events WHERE code = 'a'`);
    await client.query(`INSERT INTO crm.customers VALUES (7, 'Ada')`);

    const events = await debezium.waitForEvents(5, streamed);
    expect(
      events.map((event) => [event.op, event.source.schema, event.source.table, event.after]),
    ).toEqual([
      ['c', 'sales', 'measurements', { id: 1, region: 'eu', reading: expect.anything() }],
      ['c', 'sales', 'measurements', { id: 2, region: 'us', reading: expect.anything() }],
      ['c', 'sales', 'events', { code: 'a', payload: 'first' }],
      ['d', 'sales', 'events', null],
      ['c', 'crm', 'customers', { id: 7, name: 'Ada' }],
    ]);
    // The delete is keyed by the unique index's column.
    expect(events[3].before).toEqual({ code: 'a', payload: null });
    expect(debezium.events.filter((event) => event.source.table === 'refunds')).toEqual([]);
    expect(
      debezium.events.filter((event) => event.source.table.startsWith('measurements_')),
    ).toEqual([]);
  });
});
