/**
 * npm run bench:debezium [-- runs]: the real CDC engine against our slot. Deploys the tutorial
 * pipeline on a local PostgreSQL (TLS, dev's settings, RDS-like master), then measures
 *   1. startup: from launching the JVM, and from the engine's start, to the first change event
 *      of Airbyte's first sync (Debezium's snapshot of data_tbl);
 *   2. throughput: 100,000 single-row inserts (one transaction each), streamed from the slot by
 *      Debezium as Airbyte's next sync would (resuming from the stored offset), beside the same
 *      WAL streamed through pg-logical-replication as `npm run local` uses it, from a second slot
 *      created at the same position.
 * Each run starts from the same offset and its own pgoutput slot; prints each run, the medians,
 * and the load average, since other work on the machine skews the figures. Needs JDK 17+ and
 * Maven, like npm run test:debezium.
 */
import { copyFileSync } from 'fs';
import { cpus, loadavg } from 'os';
import { Client, type ClientConfig } from 'pg';
import { openChangeStream } from '../src/local/change-stream';
import { startPostgres } from '../src/local/postgres-server';
import { clientConfig, DEMO_TABLE_NAME, qualifiedName } from '../src/replication';
import { withProbeSettings } from '../test/debezium/airbyte-debezium-properties';
import { deployPipeline, localLikeServer, type PostgresAccess } from '../test/debezium/pipeline';
import {
  buildProbe,
  createProbeWorkspace,
  startDebezium,
  type ProbeWorkspace,
} from '../test/debezium/probe';

const INSERTS = 100000;
const runs = Number(process.argv[2] ?? 3);
const PROGRESS_EVERY = 10000;

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const elapsedMs = (since: bigint): number => Number(process.hrtime.bigint() - since) / 1e6;
const load = (): string =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

async function main(): Promise<void> {
  buildProbe();
  const loadAtStart = load();
  const server = await startPostgres(localLikeServer());
  const clients: Client[] = [];
  const pg: PostgresAccess = {
    server,
    config: (database) => server.connectionConfig(database),
    connect: async (database?: string, overrides: Partial<ClientConfig> = {}) => {
      const client = new Client({ ...server.connectionConfig(database), ...overrides });
      await client.connect();
      clients.push(client);
      return client;
    },
  };
  const workspaces: ProbeWorkspace[] = [];
  const workspace = (): ProbeWorkspace => {
    const created = createProbeWorkspace();
    workspaces.push(created);
    return created;
  };
  try {
    const pipeline = await deployPipeline(pg);
    const { rds, desired } = pipeline;
    const first = workspace();
    const properties = pipeline.debeziumProperties(first);

    // 1. Startup, as Airbyte's first sync: Debezium snapshots data_tbl, then streams.
    const launched = process.hrtime.bigint();
    let firstEventWallMs: number | undefined;
    const startup = startDebezium(first, properties, pipeline.password, (report) => {
      if (report.type === 'event' && firstEventWallMs === undefined) {
        firstEventWallMs = elapsedMs(launched);
      }
    });
    await startup.waitForEvents(2);
    const startupStopped = await startup.stop();
    console.log(
      `startup: JVM launch to first change event ${firstEventWallMs!.toFixed(0)} ms; engine start to first change event ${startupStopped.firstEventMs!.toFixed(0)} ms`,
    );

    // 2. One pgoutput slot per pg-logical-replication run, at the position Debezium resumes from.
    const pglrSlots = Array.from({ length: runs }, (_, index) => `bench_pglr_${index + 1}`);
    for (const slot of pglrSlots) {
      await rds.client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slot]);
    }
    const table = qualifiedName(desired.schema, DEMO_TABLE_NAME);
    const inserting = process.hrtime.bigint();
    // Each insert its own transaction, as single-row application writes commit.
    await rds.client.query('SET synchronous_commit = off');
    await rds.client.query(
      `DO $$ BEGIN FOR i IN 1000..${1000 + INSERTS - 1} LOOP INSERT INTO ${table} (id, val) VALUES (i, 'v' || i); COMMIT; END LOOP; END $$`,
    );
    console.log(
      `wrote ${INSERTS} single-row insert transactions in ${(elapsedMs(inserting) / 1000).toFixed(1)} s`,
    );

    const debeziumRates: number[] = [];
    const debeziumFirst: number[] = [];
    const pglrRates: number[] = [];
    const pglrFirst: number[] = [];
    for (let run = 1; run <= runs; run++) {
      // Debezium resumes from the offset the startup run stored (a copy, so every run starts
      // at the same place; the slot itself never moves: flush.lsn.source=false).
      const resumed = workspace();
      copyFileSync(first.offsetFile, resumed.offsetFile);
      const streaming = startDebezium(
        resumed,
        withProbeSettings(pipeline.debeziumProperties(resumed), {
          printEvents: false,
          progressEvery: PROGRESS_EVERY,
        }),
        pipeline.password,
      );
      await streaming.waitFor(
        (reports) => reports.some((r) => r.type === 'progress' && r.events >= INSERTS),
        `${INSERTS} events`,
        600000,
      );
      const stopped = await streaming.stop();
      const debeziumMs = stopped.lastEventMs! - stopped.firstEventMs!;
      debeziumRates.push(INSERTS / (debeziumMs / 1000));
      debeziumFirst.push(stopped.firstEventMs!);

      // pg-logical-replication: the same WAL from its own slot, as the replication user.
      let firstAt: bigint | undefined;
      let lastAt: bigint | undefined;
      const opened = process.hrtime.bigint();
      const stream = await openChangeStream({
        connection: clientConfig({
          host: server.host,
          port: server.port,
          user: desired.user,
          password: pipeline.password,
          database: rds.database,
          tls: { mode: 'verify-full', ca: server.certificateAuthority!.certPem },
        }),
        slot: { name: pglrSlots[run - 1]! },
        publicationName: desired.publicationName,
        onChange: () => {
          const now = process.hrtime.bigint();
          firstAt ??= now;
          lastAt = now;
        },
      });
      try {
        await stream.waitForChanges(INSERTS, 600000);
      } finally {
        await stream.stop();
      }
      const pglrMs = Number(lastAt! - firstAt!) / 1e6;
      pglrRates.push(INSERTS / (pglrMs / 1000));
      pglrFirst.push(Number(firstAt! - opened) / 1e6);
      console.log(
        `run ${run}: Debezium ${debeziumRates.at(-1)!.toFixed(0)} events/s (first event ${stopped.firstEventMs!.toFixed(0)} ms after engine start); pg-logical-replication ${pglrRates.at(-1)!.toFixed(0)} changes/s (first change ${pglrFirst.at(-1)!.toFixed(0)} ms after connecting)`,
      );
    }
    console.log(
      `${INSERTS} single-row inserts, median of ${runs} on ${cpus().length} CPUs: Debezium ${median(debeziumRates).toFixed(0)} events/s, first streamed event ${median(debeziumFirst).toFixed(0)} ms after engine start; pg-logical-replication ${median(pglrRates).toFixed(0)} changes/s, first change ${median(pglrFirst).toFixed(0)} ms after connecting (load average ${loadAtStart} at start, ${load()} at the end)`,
    );
    for (const slot of pglrSlots) {
      await rds.client.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
    await pipeline.teardown();
  } finally {
    workspaces.forEach((created) => created.remove());
    await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
    await server.stop();
  }
}

main().catch((error: Error) => {
  console.error(error.message);
  process.exitCode = 1;
});
