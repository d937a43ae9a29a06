/**
 * npm run bench:upgrade: how long the pre-upgrade check's look at a slot takes (from 17 on it
 * peeks, without consuming, for a change Airbyte has not confirmed: pendingChanges), by how much
 * WAL lies behind the slot. The worst case is WAL that holds no published change (writes to a
 * table outside the publication): pgoutput decodes all of it and finds nothing. The check's
 * statement_timeout (PRE_UPGRADE_TIMEOUTS, 60 s) bounds what it can look at in one deploy; the
 * figures say how much WAL that is on this machine.
 */
import { performance } from 'perf_hooks';
import { Client } from 'pg';
import { PRE_UPGRADE_TIMEOUTS } from '../lambda/pre-upgrade-check/handler';
import { startPostgres } from '../src/local/postgres-server';
import { parseEnvironment } from '../src/config';
import { desiredStateFromConfig, setupReplication } from '../src/replication';
import { pendingChanges } from '../src/upgrade/pre-upgrade';
import { machineLoad, median } from './figures';

const MIB = 1024 * 1024;
/** WAL behind the slot, in MiB, per case. */
const WAL_SIZES_MIB = [16, 64, 256];
const RUNS = 3;

/** The tutorial's objects, as an environment with the defaults and the demo table gets them. */
const DESIRED = desiredStateFromConfig(
  parseEnvironment('bench', { replication: { createDemoTable: true } }).replication,
  'bench-Secret-1',
);

/** Write about `mib` MiB of WAL into a table the publication does not hold. */
async function writeUnpublishedWal(client: Client, mib: number): Promise<number> {
  const { rows: before } = await client.query<{ lsn: string }>(
    'SELECT pg_current_wal_lsn()::text AS lsn',
  );
  await client.query('CREATE TABLE IF NOT EXISTS public.unpublished (id bigint, payload text)');
  // Rows of ~1 KiB in batches of 8 MiB, each batch one transaction as an application writes.
  const rowsPerBatch = 8 * 1024;
  for (let written = 0; written < mib; written += 8) {
    await client.query(
      "INSERT INTO public.unpublished SELECT g, repeat('x', 1000) FROM generate_series(1, $1) g",
      [rowsPerBatch],
    );
  }
  const { rows } = await client.query<{ bytes: string }>(
    'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::bigint AS bytes',
    [before[0].lsn],
  );
  return Number(rows[0].bytes);
}

async function main(): Promise<void> {
  const server = await startPostgres({
    settings: { wal_level: 'logical', max_wal_size: '4GB' },
  });
  const load = machineLoad();
  const rows: string[] = [];
  try {
    for (const mib of WAL_SIZES_MIB) {
      const timings: number[] = [];
      let walBytes = 0;
      for (let run = 0; run < RUNS; run++) {
        const database = `bench_${mib}_${run}`;
        const admin = new Client(server.connectionConfig());
        await admin.connect();
        await admin.query(`CREATE DATABASE ${database}`);
        await admin.end();
        const client = new Client(server.connectionConfig(database));
        await client.connect();
        try {
          await setupReplication(client, { ...DESIRED, slotName: database });
          walBytes = await writeUnpublishedWal(client, mib);
          const started = performance.now();
          const pending = await pendingChanges(client, database, DESIRED.publicationName);
          timings.push(performance.now() - started);
          if (pending) throw new Error('a change outside the publication counted as pending');
          await client.query('SELECT pg_drop_replication_slot($1)', [database]);
        } finally {
          await client.end();
        }
      }
      const ms = median(timings);
      const mibPerSecond = walBytes / MIB / (ms / 1000);
      rows.push(
        `| ${(walBytes / MIB).toFixed(0)} MiB | ${ms.toFixed(0)} ms | ${mibPerSecond.toFixed(0)} MiB/s | ${((mibPerSecond * PRE_UPGRADE_TIMEOUTS.statementTimeoutMs) / 1000 / 1024).toFixed(1)} GiB |`,
      );
    }
  } finally {
    await server.stop();
  }
  console.log(
    `Pre-upgrade check's peek (pendingChanges) over WAL with no published change, median of ${RUNS} runs (${load}; at the end: ${machineLoad()})`,
  );
  console.log('| WAL behind the slot | peek | decoded | fits in the 60 s statement_timeout |');
  console.log('| --- | --- | --- | --- |');
  for (const row of rows) console.log(row);
}

main().catch((error: Error) => {
  console.error(`npm run bench:upgrade failed: ${error.message}`);
  process.exitCode = 1;
});
