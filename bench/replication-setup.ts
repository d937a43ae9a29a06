/**
 * npm run bench: how long the replication setup takes on a local PostgreSQL, against `psql -f`
 * of the equivalent hand-written SQL. Every table gets REPLICA IDENTITY FULL so the plan holds
 * one statement per table (the worst case). Targets: 500 tables <= 1 s, no-op re-run <= 100 ms.
 * Without a psql (bench/psql.ts) the baseline is skipped, and says so.
 */
import { execFileSync } from 'child_process';
import { build } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { Client, escapeIdentifier, escapeLiteral } from 'pg';
import { RunningPostgres, startPostgres } from '../src/local/postgres-server';
import { DesiredReplicationState, setupReplication, teardownReplication } from '../src/replication';
import { machineLoad, median, timingTable, type SetupTimings } from './figures';
import { locatePsql } from './psql';

const TABLE_COUNTS = [1, 100, 500];
const RUNS = 5;

let sequence = 0;

/** A fresh database holding `count` tables (id bigint primary key, val text) in `datastore`. */
async function prepareDatabase(
  server: RunningPostgres,
  admin: Client,
  count: number,
): Promise<string> {
  sequence += 1;
  const database = `bench_${sequence}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const client = new Client(server.connectionConfig(database));
  await client.connect();
  const ddl = ['CREATE SCHEMA datastore'];
  for (let i = 0; i < count; i++)
    ddl.push(`CREATE TABLE datastore.t${i} (id bigint PRIMARY KEY, val text)`);
  await client.query(ddl.join(';'));
  await client.end();
  return database;
}

function desiredFor(count: number): DesiredReplicationState {
  return {
    schema: 'datastore',
    tables: Array.from({ length: count }, (_, i) => ({
      name: `t${i}`,
      replicaIdentity: 'full' as const,
    })),
    user: `bench_user_${sequence}`,
    password: 'bench-Password-1',
    slotName: `bench_slot_${sequence}`,
    publicationName: 'bench_publication',
    createDemoTable: false,
  };
}

/** The SQL a person would type for the same end state. */
function handWrittenSql(desired: DesiredReplicationState): string {
  const schema = escapeIdentifier(desired.schema);
  const user = escapeIdentifier(desired.user);
  const tables = desired.tables.map((table) => `${schema}.${escapeIdentifier(table.name)}`);
  return [
    `CREATE SCHEMA IF NOT EXISTS ${schema};`,
    `CREATE ROLE ${user} WITH LOGIN PASSWORD ${escapeLiteral(desired.password)};`,
    `GRANT USAGE ON SCHEMA ${schema} TO ${user};`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${user};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schema} GRANT SELECT ON TABLES TO ${user};`,
    `ALTER ROLE ${user} WITH REPLICATION;`,
    ...tables.map((table) => `ALTER TABLE ${table} REPLICA IDENTITY FULL;`),
    `CREATE PUBLICATION ${escapeIdentifier(desired.publicationName)} FOR TABLE ${tables.join(', ')};`,
    `SELECT pg_create_logical_replication_slot(${escapeLiteral(desired.slotName)}, 'pgoutput');`,
    '',
  ].join('\n');
}

async function time(action: () => Promise<unknown> | unknown): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

async function bundleSize(): Promise<number> {
  const result = await build({
    entryPoints: [path.join(__dirname, '..', 'src', 'replication', 'index.ts')],
    bundle: true,
    minify: true,
    platform: 'node',
    target: 'node22',
    external: ['pg-native'],
    write: false,
  });
  return result.outputFiles[0].contents.byteLength;
}

async function main(): Promise<void> {
  const location = locatePsql(process.env);
  const psqlPath = location.found ? location.psql : undefined;
  if (!location.found) console.log(location.skipped);
  const server = await startPostgres({
    settings: { max_replication_slots: 64, max_wal_senders: 64 },
  });
  const scratch = mkdtempSync(path.join(tmpdir(), 'bench-sql-'));
  const admin = new Client(server.connectionConfig());
  await admin.connect();
  const timings: SetupTimings[] = [];
  try {
    for (const count of TABLE_COUNTS) {
      const apply: number[] = [];
      const noop: number[] = [];
      const teardown: number[] = [];
      const psql: number[] = [];
      let steps = 0;
      for (let run = 0; run < RUNS; run++) {
        const database = await prepareDatabase(server, admin, count);
        const desired = desiredFor(count);
        const client = new Client(server.connectionConfig(database));
        await client.connect();
        apply.push(
          await time(async () => (steps = (await setupReplication(client, desired)).length)),
        );
        noop.push(
          await time(async () => {
            const again = await setupReplication(client, desired);
            if (again.length > 0)
              throw new Error(`re-run planned ${again.length} step(s), expected none`);
          }),
        );
        teardown.push(await time(() => teardownReplication(client, desired)));
        await client.end();

        if (psqlPath === undefined) continue;
        const baselineDatabase = await prepareDatabase(server, admin, count);
        const sqlFile = path.join(scratch, `setup_${sequence}.sql`);
        writeFileSync(sqlFile, handWrittenSql(desiredFor(count)));
        psql.push(
          await time(() =>
            execFileSync(
              psqlPath,
              [
                '-X',
                '-q',
                '-v',
                'ON_ERROR_STOP=1',
                '-h',
                server.host,
                '-p',
                String(server.port),
                '-U',
                server.user,
                '-d',
                baselineDatabase,
                '-f',
                sqlFile,
              ],
              {
                // Quiet NOTICEs ("schema already exists") so the figures are what the terminal shows.
                env: {
                  ...process.env,
                  PGPASSWORD: server.password,
                  PGOPTIONS: '-c client_min_messages=warning',
                },
                stdio: ['ignore', 'ignore', 'inherit'],
              },
            ),
          ),
        );
      }
      timings.push({
        tables: count,
        steps,
        setup: median(apply),
        noop: median(noop),
        teardown: median(teardown),
        psql: psqlPath === undefined ? undefined : median(psql),
      });
    }
  } finally {
    await admin.end();
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }

  console.log(
    `Replication setup on a local PostgreSQL, median of ${RUNS} runs${psqlPath === undefined ? '' : `, psql: ${psqlPath}`} (${machineLoad()})`,
  );
  timingTable(timings).forEach((line) => console.log(line));
  console.log('Targets: 500 tables <= 1000 ms, no-op re-run <= 100 ms.');
  console.log(
    `src/replication + pg bundled and minified (esbuild): ${((await bundleSize()) / 1024).toFixed(1)} KiB`,
  );
}

main().catch((error: unknown) => {
  // A message, not a stack trace: the errors here (server start, setup steps, psql) say what failed.
  console.error(`npm run bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
