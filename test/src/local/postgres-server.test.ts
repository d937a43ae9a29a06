import { ChildProcess, spawn, spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Client } from 'pg';
import { createCertificateAuthority } from '../../../src/local/certificate-authority';
import { startPostgres } from '../../../src/local/postgres-server';
import {
  startTestPostgres,
  startTimeoutFor,
  testPostgresMajor,
  usePostgres,
} from '../../support/postgres';

describe('startPostgres', () => {
  const pg = usePostgres({ ssl: true, settings: { max_replication_slots: 7 } });

  it('runs with logical replication and the caller-supplied settings', async () => {
    const client = await pg.connect();
    const { rows } = await client.query<{ wal_level: string; slots: string; listen: string }>(
      `SELECT current_setting('wal_level') AS wal_level,
              current_setting('max_replication_slots') AS slots,
              current_setting('listen_addresses') AS listen`,
    );
    expect(rows[0]).toEqual({ wal_level: 'logical', slots: '7', listen: '127.0.0.1' });
    expect(pg.server.dataDir.startsWith(tmpdir())).toBe(true);
  });

  it('runs the major $PG_MAJOR names (default 17)', async () => {
    const client = await pg.connect();
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    expect(rows[0].server_version).toMatch(new RegExp(`^${testPostgresMajor()}\\.\\d+`));
  });

  it('serves TLS that verifies against its CA (verify-full)', async () => {
    const client = await pg.connect();
    const { rows } = await client.query<{ ssl: boolean }>(
      'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()',
    );
    expect(rows[0].ssl).toBe(true);
  });

  it('refuses a server certificate signed by another CA', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'other-ca-'));
    try {
      const otherCa = await createCertificateAuthority(dir, 'other');
      const client = new Client({
        ...pg.config(),
        ssl: { ca: otherCa.certPem, rejectUnauthorized: true },
      });
      await expect(client.connect()).rejects.toThrow(/self-signed|unable to verify|certificate/i);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects a wrong superuser password', async () => {
    const client = new Client({ ...pg.config(), password: 'wrong' });
    await expect(client.connect()).rejects.toThrow(/password authentication failed/);
  });

  it('stop() shuts the server down and removes its data directory', async () => {
    const server = await startTestPostgres();
    const dataDir = server.dataDir;
    expect(existsSync(dataDir)).toBe(true);
    await server.stop();
    expect(existsSync(path.dirname(dataDir))).toBe(false);
    const client = new Client({ ...server.connectionConfig(), connectionTimeoutMillis: 2000 });
    await expect(client.connect()).rejects.toThrow(/ECONNREFUSED/);
    await server.stop(); // idempotent
  });

  it('fails with the server log when a setting is invalid', async () => {
    await expect(startTestPostgres({ settings: { wal_level: 'bogus' } })).rejects.toThrow(
      /PostgreSQL did not start[\s\S]*wal_level/,
    );
  });
});

describe('startPostgres({ major })', () => {
  it(
    'starts PostgreSQL 15 when asked for 15, downloading its binaries on first use',
    async () => {
      const server = await startPostgres({ major: '15' });
      try {
        const client = new Client(server.connectionConfig());
        await client.connect();
        try {
          const { rows } = await client.query<{ server_version: string; wal_level: string }>(
            "SELECT current_setting('server_version') AS server_version, current_setting('wal_level') AS wal_level",
          );
          expect(rows[0].server_version).toMatch(/^15\.\d+/);
          expect(rows[0].wal_level).toBe('logical');
        } finally {
          await client.end();
        }
      } finally {
        await server.stop();
      }
    },
    startTimeoutFor('15'),
  );
});

describe('cleanup when the process is interrupted', () => {
  /** A child Node process running `script`, in which `startPostgres` is defined. */
  function runInChild(script: string, stdout: 'pipe' | 'ignore'): ChildProcess {
    const source = `
      const { startPostgres } = require(${JSON.stringify(path.join(__dirname, '../../../src/local/postgres-server'))});
      ${script}
    `;
    return spawn(process.execPath, ['--require', 'tsx/cjs', '-e', source], {
      cwd: path.join(__dirname, '../../..'),
      stdio: ['ignore', stdout, 'inherit'],
    });
  }

  /** Start a server in a child Node process and wait for it to report its data directory. */
  function startInChild(): Promise<{ child: ChildProcess; dataDir: string; port: number }> {
    const child = runInChild(
      `startPostgres({ major: ${JSON.stringify(testPostgresMajor())} }).then((pg) => console.log(JSON.stringify({ dataDir: pg.dataDir, port: pg.port })));`,
      'pipe',
    );
    return new Promise((resolve, reject) => {
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('\n')) resolve({ child, ...JSON.parse(output) });
      });
      child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${output}`)));
    });
  }

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s stops the server and removes its data directory',
    async (signal) => {
      const { child, dataDir, port } = await startInChild();
      expect(existsSync(dataDir)).toBe(true);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
      expect(existsSync(path.dirname(dataDir))).toBe(false);
      const client = new Client({
        host: '127.0.0.1',
        port,
        user: 'postgres',
        connectionTimeoutMillis: 2000,
      });
      await expect(client.connect()).rejects.toThrow(/ECONNREFUSED/);
    },
  );

  it('SIGINT while initdb and openssl run leaves no process and no directory', async () => {
    const parentDir = mkdtempSync(path.join(tmpdir(), 'interrupted-start-'));
    chmodSync(parentDir, 0o755); // as root the server runs as `postgres`, which must reach it
    try {
      const child = runInChild(
        `startPostgres({ major: ${JSON.stringify(testPostgresMajor())}, ssl: true, parentDir: ${JSON.stringify(parentDir)} });`,
        'ignore',
      );
      const exited = new Promise<string | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      // initdb creates the data directory first thing: interrupt it as soon as it appears.
      const initdbStarted = (): boolean =>
        readdirSync(parentDir).some((root) => existsSync(path.join(parentDir, root, 'data')));
      for (let waited = 0; waited < 30000 && !initdbStarted(); waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(initdbStarted()).toBe(true);
      child.kill('SIGINT');
      expect(await exited).toBe('SIGINT');
      expect(readdirSync(parentDir)).toEqual([]);
      // pgrep -f matches whole command lines: initdb's and postgres' name their data directory.
      expect(spawnSync('pgrep', ['-f', parentDir], { encoding: 'utf8' }).stdout).toBe('');
    } finally {
      rmSync(parentDir, { recursive: true, force: true });
    }
  });
});
