/**
 * The heartbeat table on an idle database: another database on the same server writes WAL (as
 * RDS's own rdsadmin database does), the pipeline's tables stay quiet. A pgoutput slot confirms
 * only what it decoded from its own database, so without a heartbeat write there, Airbyte's LSN
 * commit cannot move the slot past the other database's WAL; with Airbyte's heartbeat query it can.
 */
import type { Client } from 'pg';
import { usePipelineServer, deployPipeline, lsnToNumber, type Pipeline } from './pipeline';
import { commitStoredLsn, createProbeWorkspace, startDebezium, type ProbeWorkspace } from './probe';

const pg = usePipelineServer();

/** The heartbeat table every environment has unless it sets `"heartbeatTable": false`. */
const HEARTBEAT_TABLE = 'airbyte_heartbeat';
/** Airbyte's own heartbeat interval in its tests (production: 10 s). */
const TEST_HEARTBEAT_INTERVAL_MS = '1000';
/** Debezium heartbeats to wait for after the busy writes, whatever the outcome. */
const HEARTBEATS_AFTER_BUSY_WRITES = 3;

/** A busy neighbour: a database of its own on the same server, writing WAL. */
async function busyNeighbour(): Promise<{ write: () => Promise<number> }> {
  const admin = await pg.connect();
  const database = `busy_${process.pid}_${Date.now()}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const busy: Client = await pg.connect(database);
  await busy.query('CREATE TABLE noise (id bigserial PRIMARY KEY, payload text)');
  return {
    /** Write WAL in the neighbour; returns the WAL position after it. */
    write: async () => {
      await busy.query(
        "INSERT INTO noise (payload) SELECT repeat('x', 200) FROM generate_series(1, 2000)",
      );
      const { rows } = await busy.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn');
      return lsnToNumber(rows[0]!.lsn);
    },
  };
}

/**
 * Stream the idle pipeline while the neighbour writes, wait for Debezium's heartbeats, stop and
 * commit as Airbyte does; returns the neighbour's WAL position and the slot's afterwards.
 */
async function idleSync(pipeline: Pipeline, workspace: ProbeWorkspace) {
  const neighbour = await busyNeighbour();
  const properties = pipeline.debeziumProperties(workspace, {
    'heartbeat.interval.ms': TEST_HEARTBEAT_INTERVAL_MS,
  });
  const debezium = startDebezium(workspace, properties, pipeline.password);
  let busyLsn: number;
  try {
    await debezium.waitFor(
      () => debezium.events.some((event) => event.source.snapshot === 'last'),
      'end of the snapshot',
    );
    busyLsn = await neighbour.write();
    const heartbeatsBefore = debezium.reports.filter((r) => r.type === 'heartbeat').length;
    await debezium.waitFor(
      (reports) =>
        reports.filter((r) => r.type === 'heartbeat').length >=
        heartbeatsBefore + HEARTBEATS_AFTER_BUSY_WRITES,
      `${HEARTBEATS_AFTER_BUSY_WRITES} heartbeats`,
    );
    if (pipeline.desired.heartbeatTable !== undefined) {
      // The heartbeat query's change is decoded after the neighbour's WAL. The table is no
      // stream of the connection (not in table.include.list), so Debezium emits no event for
      // it, but the offset that its heartbeat records carry moves past the neighbour's WAL.
      await debezium.waitFor(
        (reports) =>
          reports.some((report) => report.type === 'heartbeat' && (report.lsn ?? 0) > busyLsn),
        'a heartbeat past the busy writes',
      );
    }
  } finally {
    await debezium.stop();
  }
  await commitStoredLsn(workspace, properties, pipeline.password);
  const slot = await pipeline.slotPosition();
  return { busyLsn, slotLsn: lsnToNumber(slot.confirmedFlushLsn!), debezium };
}

describe('the slot of an idle database while another database writes WAL', () => {
  let pipeline: Pipeline | undefined;
  let workspace: ProbeWorkspace | undefined;
  afterEach(async () => {
    workspace?.remove();
    await pipeline?.teardown();
  });

  it('stays behind without a heartbeat table (turned off: it is on by default)', async () => {
    pipeline = await deployPipeline(pg, { replication: { heartbeatTable: false } });
    workspace = createProbeWorkspace();
    expect(pipeline.desired.heartbeatTable).toBeUndefined();
    expect(pipeline.debeziumProperties(workspace)['heartbeat.action.query']).toBeUndefined();
    const { busyLsn, slotLsn, debezium } = await idleSync(pipeline, workspace);
    expect(slotLsn).toBeLessThan(busyLsn);
    const heartbeatLsns = debezium.reports.flatMap((r) =>
      r.type === 'heartbeat' ? [r.lsn ?? 0] : [],
    );
    expect(Math.max(...heartbeatLsns)).toBeLessThan(busyLsn);
  });

  it("moves past it with the default heartbeat table and Airbyte's heartbeat query", async () => {
    // dev's config as it is: the heartbeat needs no setting.
    pipeline = await deployPipeline(pg);
    expect(pipeline.desired.heartbeatTable).toBe(HEARTBEAT_TABLE);
    workspace = createProbeWorkspace();
    const properties = pipeline.debeziumProperties(workspace);
    expect(properties['heartbeat.action.query']).toContain(HEARTBEAT_TABLE);
    expect(pipeline.streams.map((stream) => stream.name)).not.toContain(HEARTBEAT_TABLE);
    const { busyLsn, slotLsn, debezium } = await idleSync(pipeline, workspace);
    expect(slotLsn).toBeGreaterThan(busyLsn);
    expect(debezium.events.filter((event) => event.source.table === HEARTBEAT_TABLE)).toEqual([]);
  });
});
