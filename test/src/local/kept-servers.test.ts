import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Client } from 'pg';
import {
  listKeptServers,
  recordKeptServer,
  stopKeptServers,
} from '../../../src/local/kept-servers';
import { stopDetachedPostgres } from '../../../src/local/detached-server';
import { type RunningPostgres } from '../../../src/local/postgres-server';
import { startTestPostgres } from '../../support/postgres';

describe('kept servers', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'kept-servers-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a detached server outlives stop hooks, is recorded, and --stop ends it and removes its directory', async () => {
    const server = await startTestPostgres();
    server.detach();
    try {
      await detachedServerLifecycle(server);
    } finally {
      await stopDetachedPostgres(server.pid, server.rootDir); // if an assertion failed first
    }
  });

  async function detachedServerLifecycle(server: RunningPostgres): Promise<void> {
    await server.stop(); // no effect once detached: the server now belongs to the record
    const client = new Client(server.connectionConfig());
    await client.connect();
    await client.end();

    const record = {
      pid: server.pid,
      port: server.port,
      rootDir: server.rootDir,
      environment: 'dev',
      startedAt: new Date().toISOString(),
    };
    recordKeptServer(record, dir);
    expect(listKeptServers(dir)).toEqual([record]);

    expect(await stopKeptServers(server.port + 1, dir)).toEqual([]);
    const stopped = await stopKeptServers(server.port, dir);
    expect(stopped).toEqual([{ server: record, wasRunning: true }]);
    expect(existsSync(server.rootDir)).toBe(false);
    expect(listKeptServers(dir)).toEqual([]);
    const late = new Client({ ...server.connectionConfig(), connectionTimeoutMillis: 2000 });
    await expect(late.connect()).rejects.toThrow(/ECONNREFUSED/);
  }

  it('never signals a process whose command line does not name the recorded directory', async () => {
    const victim = mkdtempSync(path.join(tmpdir(), 'rds-airbyte-cdc-pg-'));
    // Our own pid stands in for a reused pid: it must survive, only the directory goes.
    recordKeptServer(
      { pid: process.pid, port: 1, rootDir: victim, environment: 'dev', startedAt: '' },
      dir,
    );
    const [stopped] = await stopKeptServers(1, dir);
    expect(stopped.wasRunning).toBe(false);
    expect(existsSync(victim)).toBe(false);
  });

  it('ignores records that do not name a directory npm run local created', () => {
    writeFileSync(
      path.join(dir, '2.json'),
      JSON.stringify({ pid: 1, port: 2, rootDir: '/home', environment: 'dev', startedAt: '' }),
    );
    // Named like ours, but outside the temporary directory: a planted record.
    writeFileSync(
      path.join(dir, '4.json'),
      JSON.stringify({
        pid: 1,
        port: 4,
        rootDir: '/home/someone/rds-airbyte-cdc-pg-x',
        environment: 'dev',
        startedAt: '',
      }),
    );
    writeFileSync(path.join(dir, '3.json'), 'not json');
    expect(listKeptServers(dir)).toEqual([]);
  });
});
