import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { stopDetachedPostgres } from './detached-server';

/** A server `npm run local -- --keep` left running, as recorded for `--stop`. */
export interface KeptServer {
  readonly pid: number;
  readonly port: number;
  /** The temporary directory holding its data directory, TLS files and password files. */
  readonly rootDir: string;
  readonly environment: string;
  /** ISO 8601. */
  readonly startedAt: string;
}

/**
 * Where kept servers are recorded: one JSON file per port, in a directory of this user's own
 * (`<tmpdir>/rds-airbyte-cdc-local-<uid>`, mode 0700), so no other user can plant a record
 * that `--stop` would act on.
 */
export function keptServersDir(): string {
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return path.join(tmpdir(), `rds-airbyte-cdc-local-${uid}`);
}

function recordPath(port: number, dir: string): string {
  return path.join(dir, `${port}.json`);
}

/** Record a kept server so that `--stop` finds it; returns the record's path. */
export function recordKeptServer(server: KeptServer, dir = keptServersDir()): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = recordPath(server.port, dir);
  writeFileSync(file, `${JSON.stringify(server, null, 2)}\n`, { mode: 0o600 });
  return file;
}

function isKeptServer(value: unknown): value is KeptServer {
  const record = value as Partial<KeptServer> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    Number.isInteger(record.pid) &&
    Number.isInteger(record.port) &&
    typeof record.rootDir === 'string' &&
    path.dirname(record.rootDir) === tmpdir() &&
    path.basename(record.rootDir).startsWith('rds-airbyte-cdc-pg-')
  );
}

/** Every recorded kept server (records that do not parse are skipped). */
export function listKeptServers(dir = keptServersDir()): KeptServer[] {
  let files: string[];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.json'));
  } catch {
    return [];
  }
  return files.flatMap((file) => {
    try {
      const record: unknown = JSON.parse(readFileSync(path.join(dir, file), 'utf8'));
      return isKeptServer(record) ? [record] : [];
    } catch {
      return [];
    }
  });
}

/** The outcome of stopping one kept server. */
export interface StoppedServer {
  readonly server: KeptServer;
  /** False when the process had already gone (only its directory was left to remove). */
  readonly wasRunning: boolean;
}

/**
 * Stop the kept servers (only the one on `port` when given), remove their directories and
 * records.
 */
export async function stopKeptServers(
  port?: number,
  dir = keptServersDir(),
): Promise<StoppedServer[]> {
  const selected = listKeptServers(dir).filter(
    (server) => port === undefined || server.port === port,
  );
  const stopped: StoppedServer[] = [];
  for (const server of selected) {
    const wasRunning = await stopDetachedPostgres(server.pid, server.rootDir);
    rmSync(recordPath(server.port, dir), { force: true });
    stopped.push({ server, wasRunning });
  }
  return stopped;
}
