/**
 * The tutorial, read by the real CDC engine: Debezium's PostgreSQL connector, configured as
 * Airbyte's source configures it, logs in as the replication user, snapshots data_tbl, streams
 * the tutorial's insert, delete and update from the setup's slot, and after Airbyte's LSN commit
 * resumes from its stored offset with exactly the one change made in between.
 */
import { appendFileSync, mkdirSync, writeFileSync } from 'fs';
import * as path from 'path';
import { runTutorialChanges, tutorialChanges } from '../../src/local/tutorial';
import { DEMO_TABLE_NAME, qualifiedName } from '../../src/replication';
import { loadConnectorValidators, postgresSourceErrors } from '../support/fake-airbyte-server';
import { usePipelineServer, deployPipeline, lsnToNumber, type Pipeline } from './pipeline';
import {
  commitStoredLsn,
  createProbeWorkspace,
  PROBE_MODULE_DIR,
  startDebezium,
  type ChangeEvent,
  type ProbeWorkspace,
} from './probe';

const pg = usePipelineServer();

/** Where the events are written, one JSON line each (inside the probe's build output). */
const EVENTS_FILE = path.join(PROBE_MODULE_DIR, 'target', 'tutorial-events.jsonl');

/** The fields of an event the tutorial is about, as one JSON object. */
function eventFields(event: ChangeEvent) {
  const { op, before, after, source } = event;
  const { lsn, schema, table, snapshot } = source;
  return { op, before, after, source: { lsn, schema, table, snapshot } };
}

/** Print the event and append it to EVENTS_FILE (one JSON object a line, with its run). */
function record(run: number, event: ChangeEvent): void {
  const fields = eventFields(event);
  process.stdout.write(`Debezium run ${run}: ${JSON.stringify(fields)}\n`);
  appendFileSync(EVENTS_FILE, `${JSON.stringify({ run, ...fields })}\n`);
}

const ofDemoTable = (event: ChangeEvent): boolean => event.source.table === DEMO_TABLE_NAME;

describe('Debezium reads the tutorial pipeline as Airbyte does', () => {
  let pipeline: Pipeline;
  let workspace: ProbeWorkspace;

  beforeAll(async () => {
    mkdirSync(path.dirname(EVENTS_FILE), { recursive: true });
    writeFileSync(EVENTS_FILE, '');
    process.stdout.write(`Debezium events are written to ${EVENTS_FILE}\n`);
    pipeline = await deployPipeline(pg);
    workspace = createProbeWorkspace();
  });

  afterAll(async () => {
    workspace?.remove();
    await pipeline?.teardown();
  });

  it('feeds Debezium a source configuration that Airbyte accepts', () => {
    expect(postgresSourceErrors(loadConnectorValidators(), pipeline.sourceConfiguration)).toEqual(
      [],
    );
    const properties = pipeline.debeziumProperties(workspace);
    expect(properties).toMatchObject({
      'plugin.name': 'pgoutput',
      'slot.name': pipeline.desired.slotName,
      'publication.name': pipeline.desired.publicationName,
      'publication.autocreate.mode': 'disabled',
      'snapshot.mode': 'initial',
      'database.user': pipeline.desired.user,
      'database.sslmode': 'verify-full',
      'flush.lsn.source': 'false',
    });
  });

  it('snapshots (1,a) and (2,b), streams insert, delete and update, and resumes after the LSN commit', async () => {
    const { desired, rds } = pipeline;
    const properties = pipeline.debeziumProperties(workspace);
    const slotAtStart = await pipeline.slotPosition();

    // Run 1: Airbyte's first sync.
    const first = startDebezium(workspace, properties, pipeline.password, (report) => {
      if (report.type === 'event') record(1, report);
    });
    try {
      const snapshot = await first.waitForEvents(2, ofDemoTable);
      expect(snapshot.map((event) => [event.op, event.after])).toEqual([
        ['r', { id: 1, val: 'a' }],
        ['r', { id: 2, val: 'b' }],
      ]);
      // The snapshot transaction began before the first read, so these are streamed.
      await runTutorialChanges(rds.client, tutorialChanges(desired.schema));
      const all = await first.waitForEvents(5, ofDemoTable);
      const streamed = all.slice(2);
      expect(streamed.map((event) => [event.op, event.before, event.after])).toEqual([
        ['c', null, { id: 3, val: 'c' }],
        // REPLICA IDENTITY DEFAULT: the old row carries the key only.
        ['d', { id: 2, val: null }, null],
        ['u', null, { id: 1, val: 'd' }],
      ]);
      for (const event of streamed) {
        expect(event.source).toMatchObject({
          schema: desired.schema,
          table: DEMO_TABLE_NAME,
          snapshot: 'false',
        });
        expect(event.source.lsn).toEqual(expect.any(Number));
      }
      const lsns = streamed.map((event) => event.source.lsn ?? 0);
      expect([...lsns].sort((a, b) => a - b)).toEqual(lsns);
    } finally {
      await first.stop();
    }
    // Airbyte confirms nothing while reading (flush.lsn.source=false).
    expect((await pipeline.slotPosition()).confirmedFlushLsn).toBe(slotAtStart.confirmedFlushLsn);

    // Before the next sync, Airbyte commits the stored offset's LSN to the slot.
    const committed = await commitStoredLsn(workspace, properties, pipeline.password);
    const afterCommit = await pipeline.slotPosition();
    expect(afterCommit.confirmedFlushLsn).toBe(committed.lsnText);
    expect(lsnToNumber(committed.lsnText)).toBeGreaterThan(
      lsnToNumber(slotAtStart.confirmedFlushLsn!),
    );

    // One change while no sync runs, then run 2 resumes from the stored offset.
    const table = qualifiedName(desired.schema, DEMO_TABLE_NAME);
    await rds.client.query(`INSERT INTO ${table} (id, val) VALUES (4, 'e')`);
    const second = startDebezium(workspace, properties, pipeline.password, (report) => {
      if (report.type === 'event') record(2, report);
    });
    try {
      await second.waitForEvents(1, ofDemoTable);
    } finally {
      await second.stop();
    }
    // Anything resent from before the offset, or a second snapshot, would have come first:
    // Debezium delivers in WAL order, so the first event being the new insert proves it.
    expect(second.events.map((event) => [event.op, event.after, event.source.snapshot])).toEqual([
      ['c', { id: 4, val: 'e' }, 'false'],
    ]);
  });
});
