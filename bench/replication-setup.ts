/**
 * npm run bench: how long the replication setup takes on a local PostgreSQL, against `psql -f`
 * of the equivalent hand-written SQL. Every table gets REPLICA IDENTITY FULL so the plan holds
 * one statement per table (the worst case). Targets: 500 tables <= 1 s, no-op re-run <= 100 ms;
 * 10,000 tables, in one schema and in 100 tenant schemas of 100, within 2x psql, no-op re-run
 * <= 200 ms; a table-set change (one table added to either) is one publication statement,
 * within 2x psql running the same statements.
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
  type QualifiedTable,
  type Step,
} from '../src/replication';
import { qualifiedName } from '../src/replication/names';
import {
  caseName,
  machineLoad,
  median,
  ratio,
  targetLines,
  timingTable,
  type SetupTimings,
  type TargetCheck,
} from './figures';
import { locatePsql } from './psql';

/** How a case's tables lie: each of `schemas` holds tables t0 .. t<tablesPerSchema - 1>. */
interface Layout {
  readonly schemas: readonly string[];
  readonly tablesPerSchema: number;
}

const oneSchema = (tables: number): Layout => ({ schemas: ['datastore'], tablesPerSchema: tables });

/** tenant_000 .. tenant_<count - 1>: the several-schemas pipeline of issue 13 item 1. */
const tenantSchemas = (count: number, tablesPerSchema: number): Layout => ({
  schemas: Array.from({ length: count }, (_, i) => `tenant_${String(i).padStart(3, '0')}`),
  tablesPerSchema,
});

/** Every table of a layout, schema by schema. */
const tablesOf = (layout: Layout): QualifiedTable[] =>
  layout.schemas.flatMap((schema) =>
    Array.from({ length: layout.tablesPerSchema }, (_, i) => ({ schema, name: `t${i}` })),
  );

/** The count the scale targets are for, in one schema and in tenant schemas. */
const SCALE = 10000;

interface BenchCase {
  readonly layout: Layout;
  /** How many runs it gets: a 10,000-table database takes seconds to make. */
  readonly runs: number;
  /**
   * A table-set change measured after the setup: one more table, t<tablesPerSchema>, in
   * `schema`, one of the layout's; `title` names it in the figures.
   */
  readonly tableAdded?: { readonly schema: string; readonly title: string };
}

const TENANTS = tenantSchemas(100, SCALE / 100);

const CASES: readonly BenchCase[] = [
  { layout: oneSchema(1), runs: 5 },
  { layout: oneSchema(100), runs: 5 },
  { layout: oneSchema(500), runs: 5 },
  {
    layout: oneSchema(SCALE),
    runs: 3,
    tableAdded: { schema: 'datastore', title: `1 table added to ${SCALE}` },
  },
  {
    layout: TENANTS,
    runs: 3,
    tableAdded: {
      schema: TENANTS.schemas[TENANTS.schemas.length - 1],
      title: '1 table added in a tenant schema',
    },
  },
];
/** CREATE TABLEs per query: one implicit transaction of 10,000 overflows the lock table. */
const DDL_CHUNK = 500;

let sequence = 0;

/** A fresh database holding the layout's schemas and tables. */
async function prepareDatabase(
  server: RunningPostgres,
  admin: Client,
  layout: Layout,
): Promise<string> {
  sequence += 1;
  const database = `bench_${sequence}`;
  await admin.query(`CREATE DATABASE ${database}`);
  const client = new Client(server.connectionConfig(database));
  await client.connect();
  await client.query(
    layout.schemas.map((schema) => `CREATE SCHEMA ${escapeIdentifier(schema)}`).join(';'),
  );
  await createTables(client, tablesOf(layout));
  await client.end();
  return database;
}

/** The tables, each (id bigint primary key, val text), in schemas that exist. */
async function createTables(client: Client, tables: readonly QualifiedTable[]): Promise<void> {
  for (let start = 0; start < tables.length; start += DDL_CHUNK) {
    const ddl = tables
      .slice(start, start + DDL_CHUNK)
      .map(
        (table) =>
          `CREATE TABLE ${qualifiedName(table.schema, table.name)} (id bigint PRIMARY KEY, val text)`,
      );
    await client.query(ddl.join(';'));
  }
}

/** Every table of the layout published with REPLICA IDENTITY FULL: one statement per table. */
function desiredFor(layout: Layout): DesiredReplicationState {
  return {
    schema: layout.schemas[0],
    schemas: layout.schemas.map((name) => ({ name })),
    tables: tablesOf(layout).map((table) => ({ ...table, replicaIdentity: 'full' as const })),
    user: `bench_user_${sequence}`,
    password: 'bench-Password-1',
    slotName: `bench_slot_${sequence}`,
    publicationName: 'bench_publication',
    createDemoTable: false,
  };
}

/** The SQL a person would type for the same end state: each grant once, over all the schemas. */
function handWrittenSql(desired: DesiredReplicationState): string {
  const schemas = desired.schemas.map((schema) => escapeIdentifier(schema.name));
  const schemaList = schemas.join(', ');
  const user = escapeIdentifier(desired.user);
  const tables = desired.tables.map((table) => qualifiedName(table.schema, table.name));
  return [
    ...schemas.map((schema) => `CREATE SCHEMA IF NOT EXISTS ${schema};`),
    `CREATE ROLE ${user} WITH LOGIN PASSWORD ${escapeLiteral(desired.password)};`,
    `GRANT USAGE ON SCHEMA ${schemaList} TO ${user};`,
    `GRANT SELECT ON ALL TABLES IN SCHEMA ${schemaList} TO ${user};`,
    `ALTER DEFAULT PRIVILEGES IN SCHEMA ${schemaList} GRANT SELECT ON TABLES TO ${user};`,
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

/** The figures of adding one table to a case's pipeline. */
interface ChangeTimings {
  /** What the targets call it, e.g. `1 table added in a tenant schema`. */
  readonly title: string;
  /**
   * Where the table went, e.g. ` (tenant_099, of 10000 tables in 100 schemas)`; empty with one
   * schema, where the title says it.
   */
  readonly where: string;
  readonly steps: number;
  readonly publicationStatements: number;
  readonly setup: number;
  readonly psql?: number;
}

/** One case measured: the setup's medians, and the table-set change's when it has one. */
interface CaseResult {
  readonly timings: SetupTimings;
  readonly change?: ChangeTimings;
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
  const results: CaseResult[] = [];
  try {
    for (const { layout, runs, tableAdded } of CASES) {
      const apply: number[] = [];
      const noop: number[] = [];
      const teardown: number[] = [];
      const psql: number[] = [];
      const added: QualifiedTable | undefined =
        tableAdded === undefined
          ? undefined
          : { schema: tableAdded.schema, name: `t${layout.tablesPerSchema}` };
      const change = { setup: [] as number[], psql: [] as number[], steps: 0, publication: 0 };
      let steps = 0;
      for (let run = 0; run < runs; run++) {
        const database = await prepareDatabase(server, admin, layout);
        let desired = desiredFor(layout);
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
        if (added !== undefined) {
          // A table-set change: one more table in the database and in the config.
          await createTables(client, [added]);
          desired = {
            ...desired,
            tables: [...desired.tables, { ...added, replicaIdentity: 'full' }],
          };
          change.setup.push(
            await time(async () => (changeSteps = await setupReplication(client, desired))),
          );
          change.steps = changeSteps.length;
          change.publication = publicationSteps(changeSteps).length;
        }
        teardown.push(await time(() => teardownReplication(client, desired)));
        await client.end();

        if (psqlPath === undefined) continue;
        const baselineDatabase = await prepareDatabase(server, admin, layout);
        psql.push(runPsql(psqlPath, baselineDatabase, handWrittenSql(desiredFor(layout))));
        if (added !== undefined) {
          const baseline = new Client(server.connectionConfig(baselineDatabase));
          await baseline.connect();
          await createTables(baseline, [added]);
          await baseline.end();
          change.psql.push(runPsql(psqlPath, baselineDatabase, planAsSql(changeSteps)));
        }
      }
      const timings: SetupTimings = {
        tables: layout.schemas.length * layout.tablesPerSchema,
        schemas: layout.schemas.length,
        steps,
        setup: median(apply),
        noop: median(noop),
        teardown: median(teardown),
        psql: psqlPath === undefined ? undefined : median(psql),
      };
      results.push({
        timings,
        change:
          tableAdded === undefined
            ? undefined
            : {
                title: tableAdded.title,
                where:
                  timings.schemas === 1 ? '' : ` (${tableAdded.schema}, of ${caseName(timings)})`,
                steps: change.steps,
                publicationStatements: change.publication,
                setup: median(change.setup),
                psql: psqlPath === undefined ? undefined : median(change.psql),
              },
      });
    }
  } finally {
    await admin.end();
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }

  const runs = results
    .map(({ timings }, index) => `${CASES[index].runs} (${caseName(timings)})`)
    .join(', ');
  const where = [...new Set(CASES.map(({ layout }) => whereTablesAre(layout)))].join(', or ');
  console.log(
    `Replication setup on a local PostgreSQL, median of ${runs} runs; tables t0, t1, ... ${where}, each REPLICA IDENTITY FULL${psqlPath === undefined ? '' : `, psql: ${psqlPath}`} (${machineLoad()})`,
  );
  timingTable(results.map(({ timings }) => timings)).forEach((line) => console.log(line));
  const changes = results.flatMap(({ change }) => (change === undefined ? [] : [change]));
  for (const changed of changes) {
    console.log(
      `Table-set change, ${changed.title}${changed.where}: ${changed.steps} step(s), ${changed.publicationStatements} publication statement(s), setup ${changed.setup.toFixed(1)} ms${changed.psql === undefined ? '' : `, psql -f of the same statements ${changed.psql.toFixed(1)} ms (${ratio(changed.setup, changed.psql)})`}`,
    );
  }
  console.log('Targets:');
  targetLines(targetChecks(results)).forEach((line) => console.log(`  ${line}`));
  console.log(
    `src/replication + pg bundled and minified (esbuild): ${((await bundleSize()) / 1024).toFixed(1)} KiB`,
  );
}

/** `in datastore`, or `100 each in tenant_000 … tenant_099`. */
function whereTablesAre(layout: Layout): string {
  const { schemas } = layout;
  return schemas.length === 1
    ? `in ${schemas[0]}`
    : `${layout.tablesPerSchema} each in ${schemas[0]} … ${schemas[schemas.length - 1]}`;
}

/** The targets against the figures. */
function targetChecks(results: readonly CaseResult[]): TargetCheck[] {
  const at = (tables: number, schemas: number): CaseResult =>
    results.find(({ timings }) => timings.tables === tables && timings.schemas === schemas)!;
  const withinTwiceThePsql = (setup: number, psql: number | undefined): TargetCheck['met'] =>
    psql === undefined ? undefined : setup <= 2 * psql;
  const atScale = ({ timings }: CaseResult): TargetCheck[] => [
    {
      target: `${caseName(timings)}: setup <= 2x psql -f`,
      measured: timings.psql === undefined ? 'no psql' : ratio(timings.setup, timings.psql),
      met: withinTwiceThePsql(timings.setup, timings.psql),
    },
    {
      target: `${caseName(timings)}: no-op re-run <= 200 ms`,
      measured: `${timings.noop.toFixed(1)} ms`,
      met: timings.noop <= 200,
    },
  ];
  const tableSetChange = ({ change }: CaseResult): TargetCheck[] =>
    change === undefined
      ? []
      : [
          {
            target: `${change.title}: one publication statement`,
            measured: `${change.publicationStatements}`,
            met: change.publicationStatements === 1,
          },
          {
            target: `${change.title}: setup <= 2x psql -f of the same statements`,
            measured: change.psql === undefined ? 'no psql' : ratio(change.setup, change.psql),
            met: withinTwiceThePsql(change.setup, change.psql),
          },
        ];
  const small = at(500, 1).timings;
  const scale = at(SCALE, 1);
  const tenants = at(SCALE, TENANTS.schemas.length);
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
    ...atScale(scale),
    ...tableSetChange(scale),
    ...atScale(tenants),
    ...tableSetChange(tenants),
  ];
}

main().catch((error: unknown) => {
  // A message, not a stack trace: the errors here (server start, setup steps, psql) say what failed.
  console.error(`npm run bench failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
