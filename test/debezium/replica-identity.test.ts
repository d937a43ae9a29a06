/**
 * What Debezium emits for the tables that surprise Airbyte users: a table without a primary key
 * (REPLICA IDENTITY FULL) and a large TOASTed value that an update leaves unchanged, under
 * REPLICA IDENTITY DEFAULT and FULL.
 */
import type { Client } from 'pg';
import { qualifiedName } from '../../src/replication';
import { usePipelineServer } from './pipeline';
import type { ChangeEvent } from './probe';
import { finishStreaming, streamedFrom, streamingPipeline, type StreamingRun } from './streaming';

const pg = usePipelineServer();

const SCHEMA = 'datastore';
/** Debezium's `unavailable.value.placeholder`: what stands for a TOASTed value it was not sent. */
const UNAVAILABLE = '__debezium_unavailable_value';

describe('a table without a primary key, REPLICA IDENTITY FULL', () => {
  let run: StreamingRun | undefined;
  afterEach(() => finishStreaming(run));

  it('delivers the whole old row with updates and deletes', async () => {
    const table = qualifiedName(SCHEMA, 'audit_log');
    run = await streamingPipeline(
      pg,
      { tables: ['data_tbl', { name: 'audit_log', replicaIdentity: 'full' }] },
      async (master) => {
        await master.query(`CREATE SCHEMA ${SCHEMA}`);
        await master.query(`CREATE TABLE ${table} (actor text, action text, at bigint)`);
      },
    );
    const { pipeline, debezium } = run;
    await pipeline.rds.client.query(`INSERT INTO ${table} VALUES ('ann', 'login', 1)`);
    await pipeline.rds.client.query(`UPDATE ${table} SET action = 'logout' WHERE actor = 'ann'`);
    await pipeline.rds.client.query(`DELETE FROM ${table} WHERE actor = 'ann'`);

    const events = await debezium.waitForEvents(3, streamedFrom('audit_log'));
    expect(events.map((event) => [event.op, event.before, event.after])).toEqual([
      ['c', null, { actor: 'ann', action: 'login', at: 1 }],
      ['u', { actor: 'ann', action: 'login', at: 1 }, { actor: 'ann', action: 'logout', at: 1 }],
      ['d', { actor: 'ann', action: 'logout', at: 1 }, null],
    ]);
  });
});

describe('a TOASTed value an update leaves unchanged', () => {
  let run: StreamingRun | undefined;
  afterEach(() => finishStreaming(run));

  /** About 128 KiB, stored out of line (STORAGE EXTERNAL: TOASTed, never compressed inline). */
  async function prepareDocuments(master: Client, name: string): Promise<void> {
    const table = qualifiedName(SCHEMA, name);
    await master.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
    await master.query(`CREATE TABLE ${table} (id bigint PRIMARY KEY, title text, body text)`);
    await master.query(`ALTER TABLE ${table} ALTER COLUMN body SET STORAGE EXTERNAL`);
  }

  async function updateTitleOnly(run: StreamingRun, name: string): Promise<ChangeEvent> {
    const table = qualifiedName(SCHEMA, name);
    const client = run.pipeline.rds.client;
    await client.query(
      `INSERT INTO ${table} SELECT 1, 'draft', string_agg(md5(i::text), '') FROM generate_series(1, 4000) i`,
    );
    await client.query(`UPDATE ${table} SET title = 'final' WHERE id = 1`);
    const [insert, update] = await run.debezium.waitForEvents(2, streamedFrom(name));
    expect(insert.op).toBe('c');
    expect(String(insert.after?.body)).toHaveLength(4000 * 32);
    expect(update.op).toBe('u');
    return update;
  }

  it("arrives as Debezium's placeholder under REPLICA IDENTITY DEFAULT", async () => {
    run = await streamingPipeline(
      pg,
      { tables: ['data_tbl', { name: 'documents', replicaIdentity: 'default' }] },
      (master) => prepareDocuments(master, 'documents'),
    );
    const update = await updateTitleOnly(run, 'documents');
    // pgoutput does not resend an unchanged out-of-line value; Debezium fills in its placeholder.
    expect(update.after).toEqual({ id: 1, title: 'final', body: UNAVAILABLE });
    expect(update.before).toBeNull();
  });

  it('arrives whole under REPLICA IDENTITY FULL', async () => {
    run = await streamingPipeline(
      pg,
      { tables: ['data_tbl', { name: 'documents_full', replicaIdentity: 'full' }] },
      (master) => prepareDocuments(master, 'documents_full'),
    );
    const update = await updateTitleOnly(run, 'documents_full');
    // The old row is logged whole (detoasted); Debezium takes the unchanged value from it.
    expect(update.before?.body).toHaveLength(4000 * 32);
    expect(update.after?.title).toBe('final');
    expect(update.after?.body).toBe(update.before?.body);
  });
});
