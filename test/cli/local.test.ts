import { ChildProcess, spawn, spawnSync } from 'child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Client } from 'pg';

const ROOT = path.join(__dirname, '..', '..');
const CLI = path.join(ROOT, 'cli', 'local.ts');
/** What `npm run local` runs (package.json): `node --import tsx cli/local.ts`. */
const NODE_FLAGS = ['--import', 'tsx'];

/**
 * Each run gets its own TMPDIR, so the data directory, the default changes file and the kept
 * server records can be checked without seeing other test files' servers.
 */
function privateTmpdir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'local-cli-test-'));
  chmodSync(dir, 0o755); // as root the server runs as `postgres`, which must reach its data dir
  return dir;
}

interface Run {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  stdout(): string;
  /** Resolves once a stdout line matches. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or signal) and the whole output. */
  readonly exited: Promise<{ code: number | null; signal: string | null; stderr: string }>;
}

/**
 * A module for `node --import` that sends the CLI Ctrl-C the instant the server's directory
 * exists, before the CLI runs another statement: the widest a gap between creating the directory
 * and arming its clean-up can be, so that a gap of any size shows as a directory left behind.
 */
const CTRL_C_ONCE_SERVER_DIRECTORY_EXISTS = `data:text/javascript,${encodeURIComponent(`
  import fs from 'node:fs';
  import path from 'node:path';
  const mkdtempSync = fs.mkdtempSync;
  fs.mkdtempSync = (...args) => {
    const dir = mkdtempSync(...args);
    if (path.basename(dir).startsWith('rds-airbyte-cdc-pg-')) process.kill(process.pid, 'SIGINT');
    return dir;
  };
`)}`;

function startCli(tmp: string, ...args: string[]): Run {
  return startCliWith([], tmp, ...args);
}

/** startCli with extra Node flags before the script (e.g. `--import` of a test hook). */
function startCliWith(nodeFlags: readonly string[], tmp: string, ...args: string[]): Run {
  const child = spawn(process.execPath, [...NODE_FLAGS, ...nodeFlags, CLI, ...args], {
    cwd: ROOT,
    // Its own process group, so that the tests can send Ctrl-C as a terminal does: to the group.
    detached: true,
    env: { ...process.env, TMPDIR: tmp },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: string | null; stderr: string }>(
    (resolve) => child.once('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  return {
    child,
    stdout: () => stdout,
    exited,
    waitFor: (pattern) =>
      new Promise((resolve, reject) => {
        const check = (): boolean => {
          const match = pattern.exec(stdout);
          if (match) {
            child.stdout?.removeListener('data', check);
            resolve(match);
          }
          return Boolean(match);
        };
        if (check()) return;
        child.stdout?.on('data', check);
        void exited.then(({ stderr: errors }) => {
          if (!check()) reject(new Error(`exited before ${pattern}:\n${stdout}\n${errors}`));
        });
      }),
  };
}

async function runCli(tmp: string, ...args: string[]) {
  const run = startCli(tmp, ...args);
  const { code, stderr } = await run.exited;
  return { code, stdout: run.stdout(), stderr };
}

/** Directories npm run local created under `tmp` (its servers' data, TLS and password files). */
const serverDirs = (tmp: string): string[] =>
  readdirSync(tmp).filter((name) => name.startsWith('rds-airbyte-cdc-pg-'));

/** Processes whose command line mentions `tmp`: the postgres servers started there. */
function processesUnder(tmp: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(tmp);
      } catch {
        return false;
      }
    })
    .map(Number);
}

const jsonLines = (text: string): Array<Record<string, unknown>> =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe('npm run local', () => {
  const tmpDirs: string[] = [];
  const tmp = (): string => {
    const dir = privateTmpdir();
    tmpDirs.push(dir);
    return dir;
  };
  afterAll(() => {
    for (const dir of tmpDirs) rmSync(dir, { recursive: true, force: true });
  });

  it('runs the tutorial: setup steps, three captured changes as JSON lines and in the file, Airbyte settings, exit 0, nothing left behind', async () => {
    const dir = tmp();
    const changesFile = path.join(dir, 'out', 'changes.jsonl');
    const { code, stdout, stderr } = await runCli(dir, '--changes-file', changesFile);
    expect(stderr).not.toContain('failed');
    expect(code).toBe(0);

    expect(stdout).toMatch(
      /wal_level=logical, max_replication_slots=10, max_wal_senders=10, wal_sender_timeout=60000, max_slot_wal_keep_size=4096, ssl=on/,
    );
    // dev's database.engineVersion defaults to "17": the major npm ci installs, no download.
    expect(stdout).toMatch(/^Starting PostgreSQL 17\.\d+ \(database\.engineVersion "17"\)/m);
    expect(stdout).not.toContain('downloading');
    const steps = [...stdout.matchAll(/^ {2}\[(\d+)\/(\d+)\] (.*)$/gm)].map((match) => match[3]);
    const expectedSteps = [
      /create schema "datastore"/,
      /create demo table "datastore"\."data_tbl"/,
      /create heartbeat table "datastore"\."airbyte_heartbeat"/,
      /create login role "airbyte"/,
      /grant USAGE on schema "datastore"/,
      /grant SELECT on all tables/,
      /grant INSERT, UPDATE on heartbeat table "datastore"\."airbyte_heartbeat" to "airbyte"/,
      /grant rds_replication to "airbyte"/,
      /create publication "airbyte_publication"/,
      /create logical replication slot "airbyte_slot" \(plugin pgoutput\)/,
    ];
    let position = -1;
    for (const pattern of expectedSteps) {
      const found = steps.findIndex((step, index) => index > position && pattern.test(step));
      expect({ pattern: String(pattern), found: found >= 0 }).toEqual({
        pattern: String(pattern),
        found: true,
      });
      position = found;
    }

    const printed = jsonLines(stdout);
    expect(
      printed.map(({ op, schema, table, before, after }) => ({ op, schema, table, before, after })),
    ).toEqual([
      {
        op: 'insert',
        schema: 'datastore',
        table: 'data_tbl',
        before: null,
        after: { id: '3', val: 'c' },
      },
      { op: 'delete', schema: 'datastore', table: 'data_tbl', before: { id: '2' }, after: null },
      {
        op: 'update',
        schema: 'datastore',
        table: 'data_tbl',
        before: null,
        after: { id: '1', val: 'd' },
      },
    ]);
    for (const change of printed) {
      expect(change.lsn).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);
      expect(Number.isNaN(Date.parse(String(change.commitTime)))).toBe(false);
    }
    expect(stdout).toContain(`written to ${changesFile}`);
    expect(jsonLines(readFileSync(changesFile, 'utf8'))).toEqual(printed);
    expect(stdout).toMatch(/REPLICA IDENTITY DEFAULT a delete carries only the primary key/);
    expect(stdout).toMatch(
      /✅ Slot "airbyte_slot" still at confirmed_flush_lsn [0-9A-F]+\/[0-9A-F]+/,
    );
    // The watchdog's own role, made by the same setup, reads the slot as the deployed one does.
    expect(stdout).toMatch(
      /Slot watchdog, as "airbyte_watchdog" \(a login with no privileges, read-only by default\), would publish: SlotExists=1 SlotActive=0 SlotWalStatus=0 /,
    );

    for (const field of [
      /Host +127\.0\.0\.1/,
      /Port +\d+/,
      /Database Name +app/,
      /Schemas +datastore/,
      /Username +airbyte/,
      /Password +<the replication user's random password: removed with the server; run with --keep/,
      /SSL Modes +verify-full/,
      /CA Certificate +<the local CA's certificate: removed with the server; run with --keep/,
      /Replication Slot +airbyte_slot/,
      /Publication +airbyte_publication/,
    ]) {
      expect(stdout).toMatch(field);
    }
    // The source the JSON describes writes the heartbeat table (on by default).
    const sourceJson = JSON.parse(/^ {2}As JSON: (.*)$/m.exec(stdout)?.[1] ?? '{}');
    expect(sourceJson.replication_method?.heartbeat_action_query).toMatch(
      /^INSERT INTO "datastore"\."airbyte_heartbeat" /,
    );
    // Without --keep the server's files are removed with it: no path to a password or the CA.
    expect(stdout).not.toMatch(/\.password\b|\.crt\b|contents of/);

    expect(serverDirs(dir)).toEqual([]);
    expect(processesUnder(dir)).toEqual([]);
  });

  it('with --keep leaves a server the replication user can stream from, with the changes still in the real slot, until --stop', async () => {
    const dir = tmp();
    const { code, stdout } = await runCli(dir, '--keep');
    expect(code).toBe(0);
    const port = Number(/keeps running on 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
    const passwordFile = /Replication user: +airbyte, password in (\S+)/.exec(stdout)?.[1] ?? '';
    const caFile = /CA certificate: +(\S+)/.exec(stdout)?.[1] ?? '';
    const slotLsn = /still at confirmed_flush_lsn (\S+):/.exec(stdout)?.[1];
    expect(stdout).toContain(`npm run local -- --stop --port ${port}`);
    // A kept server's files survive it: the Airbyte form names them.
    expect(stdout).toMatch(new RegExp(`Password +<contents of ${passwordFile}>`));
    expect(stdout).toMatch(new RegExp(`CA Certificate +<contents of ${caFile}>`));
    const doctor = /Check it: +(.*)$/m.exec(stdout)?.[1] ?? '';
    expect(doctor).toContain(
      `npm run doctor -- --env dev --host 127.0.0.1 --port ${port} --database app --user airbyte --password-env LOCAL_REPLICATION_PASSWORD --ca-file ${caFile}`,
    );

    try {
      expect(statSync(passwordFile).mode & 0o777).toBe(0o600);
      const password = readFileSync(passwordFile, 'utf8').trim();
      expect(password.length).toBeGreaterThanOrEqual(24);
      expect(stdout).not.toContain(password);

      const client = new Client({
        host: '127.0.0.1',
        port,
        user: 'airbyte',
        password,
        database: 'app',
        ssl: { ca: readFileSync(caFile, 'utf8'), rejectUnauthorized: true },
      });
      await client.connect();
      try {
        const slot = await client.query(
          `SELECT confirmed_flush_lsn::text AS lsn,
                  (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser
             FROM pg_replication_slots WHERE slot_name = 'airbyte_slot'`,
        );
        expect(slot.rows).toEqual([{ lsn: slotLsn, superuser: false }]);
        // The demo's three changes wait in the real slot for Airbyte.
        const pending = await client.query(
          `SELECT count(*)::int AS n FROM pg_logical_slot_peek_binary_changes('airbyte_slot', NULL,
             NULL, 'proto_version', '1', 'publication_names', 'airbyte_publication')
            WHERE substr(data, 1, 1) IN ('\\x49'::bytea, '\\x55'::bytea, '\\x44'::bytea)`,
        );
        expect(pending.rows[0].n).toBe(3);
      } finally {
        await client.end();
      }

      // The printed doctor line, run as printed: every check passes against the kept server.
      const doctorArgs = doctor.split(' npm run doctor -- ')[1].split(' ');
      const report = spawnSync(
        process.execPath,
        ['--import', 'tsx', path.join(ROOT, 'cli', 'doctor.ts'), ...doctorArgs],
        {
          cwd: ROOT,
          encoding: 'utf8',
          env: { ...process.env, LOCAL_REPLICATION_PASSWORD: password },
        },
      );
      expect(report.stdout).not.toMatch(/^❌/m);
      expect(report.stdout).toMatch(/ 0 ❌/);
      expect(report.status).toBe(0);
    } finally {
      const stopped = await runCli(dir, '--stop', '--port', String(port));
      expect(stopped.code).toBe(0);
      expect(stopped.stdout).toMatch(new RegExp(`Stopped PostgreSQL on port ${port}`));
    }
    expect(serverDirs(dir)).toEqual([]);
    expect(processesUnder(dir)).toEqual([]);
    expect((await runCli(dir, '--stop')).stdout).toMatch(/No server kept/);
  });

  it.each([
    ['while initdb runs', /^Starting PostgreSQL/m],
    ['during the replication setup', /^ {2}\[1\/\d+\]/m],
    ['while streaming', /^Streaming publication/m],
  ])('Ctrl-C %s leaves no server and no data directory', async (_when, trigger) => {
    const dir = tmp();
    const run = startCli(dir);
    await run.waitFor(trigger);
    process.kill(-(run.child.pid as number), 'SIGINT');
    const { code, signal } = await run.exited;
    expect(code === 0).toBe(false);
    expect({ code, signal }).not.toEqual({ code: 0, signal: null });
    expect(serverDirs(dir)).toEqual([]);
    expect(processesUnder(dir)).toEqual([]);
  });

  it('Ctrl-C the instant the data directory exists leaves no directory: its clean-up is armed first', async () => {
    const dir = tmp();
    const run = startCliWith(['--import', CTRL_C_ONCE_SERVER_DIRECTORY_EXISTS], dir);
    const { code, signal, stderr } = await run.exited;
    // Ended by the hook's Ctrl-C (the clean-up raises it again), not by running to the end.
    expect({ code, signal, stderr }).toMatchObject({ code: null, signal: 'SIGINT' });
    expect(serverDirs(dir)).toEqual([]);
    expect(processesUnder(dir)).toEqual([]);
  });

  it('refuses an unknown environment and bad flags with what to do', async () => {
    const dir = tmp();
    const unknown = await runCli(dir, '--env', 'nope');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(
      /Unknown environment "nope".*defines dev, staging, prod, analytics/,
    );
    const usage = await runCli(dir, '--port', 'abc');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--port must be a whole number/);
    expect(serverDirs(dir)).toEqual([]);
    expect(readdirSync(dir).filter((name) => name.startsWith('rds-airbyte-cdc-local'))).toEqual([]);
  });
});
