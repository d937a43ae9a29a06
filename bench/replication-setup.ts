/**
 * npm run bench: how long the replication setup takes on a local PostgreSQL, against `psql -f`
 * of the equivalent hand-written SQL. Every table gets REPLICA IDENTITY FULL so the plan holds
 * one statement per table (the worst case). Targets: 500 tables <= 1 s, no-op re-run <= 100 ms;
 * 10,000 tables within 2x psql, no-op re-run <= 200 ms; a table-set change (one table added to
 * 10,000) is one publication statement, within 2x psql running the same statements.
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
import {
  DesiredReplicationState,
  printableSql,
  setupReplication,
  teardownReplication,
  type Step,
} from '../src/replication';
import {
  machineLoad,
  median,
  ratio,
  targetLines,
  timingTable,
  type SetupTimings,
  type TargetCheck,
} from './figures';
import { locatePsql } from './psql';

/** Table counts and how many runs each gets (a 10,000-table database takes seconds to make). */
const CASES = [
  { tables: 1, runs: 5 },
  { tables: 100, runs: 5 },
  { tables: 500, runs: 5 },
  { tables: 10000, runs: 3 },
];
/** The count the scale targets are for, and the one the table-set change is measured on. */
const SCALE = 10000;
/** CREATE TABLEs per query: one implicit transaction of 10,000 overflows the lock table. */
const DDL_CHUNK = 500;

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
  await client.query('CREATE SCHEMA datastore');
  await createTables(client, 0, count);
  await client.end();
  return database;
}

/** Tables t<from> .. t<to - 1> (id bigint primary key, val text) in `datastore`. */
async function createTables(client: Client, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += DDL_CHUNK) {
    const ddl: string[] = [];
    for (let i = start; i < Math.min(start + DDL_CHUNK, to); i++)
      ddl.push(`CREATE TABLE datastore.t${i} (id bigint PRIMARY KEY, val text)`);
    await client.query(ddl.join(';'));
  }
}

function desiredFor(count: number): DesiredReplicationState {
  return {
    schema: 'datastore',
    schemas: [{ name: 'datastore' }],
    tables: Array.from({ length: count }, (_, i) => ({
      schema: 'datastore',
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

/** The steps that change the publication: a table-set change must be one, whatever the count. */
const publicationSteps = (steps: readonly Step[]): Step[] =>
  steps.filter(
    (step) => step.kind.endsWith('-publication') || step.kind.startsWith('set-publication'),
  );

/** The plan's statements as a psql script: the same statements, for the psql -f baseline. */
function planAsSql(steps: readonly Step[]): string {
  return `${steps.map((step) => printableSql(step) ?? '').join('\n')}\n`;
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

/** The figures of adding one table to a SCALE-table pipeline. */
interface ChangeTimings {
  readonly steps: number;
  readonly publicationStatements: number;
  readonly setup: number;
  readonly psql?: number;
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
  const runPsql = (psql: string, database: string, sql: string): number => {
    const sqlFile = path.join(scratch, `run_${sequence}.sql`);
    writeFileSync(sqlFile, sql);
    const started = performance.now();
    execFileSync(
      psql,
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
        database,
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
    );
    return performance.now() - started;
  };
  const timings: SetupTimings[] = [];
  const change = { setup: [] as number[], psql: [] as number[], steps: 0, publication: 0 };
  try {
    for (const { tables: count, runs } of CASES) {
      const apply: number[] = [];
      const noop: number[] = [];
      const teardown: number[] = [];
      const psql: number[] = [];
      let steps = 0;
      for (let run = 0; run < runs; run++) {
        const database = await prepareDatabase(server, admin, count);
        let desired = desiredFor(count);
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
        let changeSteps: Step[] = [];
        if (count === SCALE) {
          // A table-set change: one more table in the database and in the config.
          await createTables(client, count, count + 1);
          desired = { ...desired, tables: desiredFor(count + 1).tables };
          change.setup.push(
            await time(async () => (changeSteps = await setupReplication(client, desired))),
          );
          change.steps = changeSteps.length;
          change.publication = publicationSteps(changeSteps).length;
        }
        teardown.push(await time(() => teardownReplication(client, desired)));
        await client.end();

        if (psqlPath === undefined) continue;
        const baselineDatabase = await prepareDatabase(server, admin, count);
        psql.push(runPsql(psqlPath, baselineDatabase, handWrittenSql(desiredFor(count))));
        if (count === SCALE) {
          const baseline = new Client(server.connectionConfig(baselineDatabase));
          await baseline.connect();
          await createTables(baseline, count, count + 1);
          await baseline.end();
          change.psql.push(runPsql(psqlPath, baselineDatabase, planAsSql(changeSteps)));
        }
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

  const runs = CASES.map((c) => `${c.runs} (${c.tables})`).join(', ');
  console.log(
    `Replication setup on a local PostgreSQL, median of ${runs} runs, all tables in one schema (tenant schemas come with several schemas, issue 13 item 1)${psqlPath === undefined ? '' : `, psql: ${psqlPath}`} (${machineLoad()})`,
  );
  timingTable(timings).forEach((line) => console.log(line));
  const changed: ChangeTimings = {
    steps: change.steps,
    publicationStatements: change.publication,
    setup: median(change.setup),
    psql: psqlPath === undefined ? undefined : median(change.psql),
  };
  console.log(
    `Table-set change, 1 table added to ${SCALE}: ${changed.steps} step(s), ${changed.publicationStatements} publication statement(s), setup ${changed.setup.toFixed(1)} ms${changed.psql === undefined ? '' : `, psql -f of the same statements ${changed.psql.toFixed(1)} ms (${ratio(changed.setup, changed.psql)})`}`,
  );
  console.log('Targets:');
  targetLines(targetChecks(timings, changed)).forEach((line) => console.log(`  ${line}`));
  console.log(
    `src/replication + pg bundled and minified (esbuild): ${((await bundleSize()) / 1024).toFixed(1)} KiB`,
  );
}

/** The targets against the figures. */
function targetChecks(timings: readonly SetupTimings[], changed: ChangeTimings): TargetCheck[] {
  const at = (tables: number): SetupTimings => timings.find((t) => t.tables === tables)!;
  const withinTwiceThePsql = (setup: number, psql: number | undefined): TargetCheck['met'] =>
    psql === undefined ? undefined : setup <= 2 * psql;
  const small = at(500);
  const scale = at(SCALE);
  return [
    {
      target: '500 tables: setup <= 1000 ms',
      measured: `${small.setup.toFixed(1)} ms`,
      met: small.setup <= 1000,
    },
    {
      target: '500 tables: no-op re-run <= 100 ms',
      measured: `${small.noop.toFixed(1)} ms`,
      met: small.noop <= 100,
    },
    {
      target: `${SCALE} tables: setup <= 2x psql -f`,
      measured: scale.psql === undefined ? 'no psql' : ratio(scale.setup, scale.psql),
      met: withinTwiceThePsql(scale.setup, scale.psql),
    },
    {
      target: `${SCALE} tables: no-op re-run <= 200 ms`,
      measured: `${scale.noop.toFixed(1)} ms`,
      met: scale.noop <= 200,
    },
    {
      target: `1 table added to ${SCALE}: one publication statement`,
      measured: `${changed.publicationStatements}`,
      met: changed.publicationStatements === 1,
    },
    {
      target: `1 table added to ${SCALE}: setup <= 2x psql -f of the same statements`,
      measured: changed.psql === undefined ? 'no psql' : ratio(changed.setup, changed.psql),
      met: withinTwiceThePsql(changed.setup, changed.psql),
    },
  ];
}

main().catch((error: unknown) => {
  // A message, not a stack trace: the errors here (server start, setup steps, psql) say what failed.
  console.error(`npm run bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
