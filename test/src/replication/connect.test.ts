import { mkdtempSync, rmSync } from 'fs';
import { createServer, Server, Socket } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { createCertificateAuthority } from '../../../src/local/certificate-authority';
import { connect, ConnectOptions, DatabaseConnectionError } from '../../../src/replication';
import { usePostgres } from '../../support/postgres';

const pg = usePostgres({ ssl: true });

function options(overrides: Partial<ConnectOptions> = {}): ConnectOptions {
  const ca = pg.server.certificateAuthority?.certPem;
  return {
    host: pg.server.host,
    port: pg.server.port,
    user: pg.server.user,
    password: pg.server.password,
    database: 'postgres',
    tls: { mode: 'verify-full', ca },
    ...overrides,
  };
}

/** Rejects with a DatabaseConnectionError; returns it for further checks. */
async function connectionError(promise: Promise<unknown>): Promise<DatabaseConnectionError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(DatabaseConnectionError);
  return error as DatabaseConnectionError;
}

/** A TCP server that accepts connections and never answers: a database that hangs. */
async function silentServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets: Socket[] = [];
  const server: Server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        sockets.forEach((socket) => socket.destroy());
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: bind, read the number, close. */
async function closedPort(): Promise<number> {
  const probe = await silentServer();
  await probe.close();
  return probe.port;
}

describe('connect', () => {
  it('connects with TLS verified against the CA (verify-full) and sets the timeouts', async () => {
    const client = await connect(options({ statementTimeoutMs: 1234, lockTimeoutMs: 567 }));
    try {
      const { rows } = await client.query(
        `SELECT ssl, current_setting('statement_timeout') AS statement_timeout,
                current_setting('lock_timeout') AS lock_timeout
         FROM pg_stat_ssl WHERE pid = pg_backend_pid()`,
      );
      expect(rows[0]).toEqual({ ssl: true, statement_timeout: '1234ms', lock_timeout: '567ms' });
    } finally {
      await client.end();
    }
  });

  it('refuses a server whose certificate another CA signed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'wrong-ca-'));
    try {
      const wrongCa = await createCertificateAuthority(dir, 'wrong');
      const error = await connectionError(
        connect(options({ tls: { mode: 'verify-full', ca: wrongCa.certPem } })),
      );
      expect(error.reason).toBe('tls');
      expect(error.message).toMatch(/TLS to 127\.0\.0\.1:\d+ failed verification/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses the server with the system trust store alone (the throwaway CA is not trusted)', async () => {
    const error = await connectionError(connect(options({ tls: { mode: 'verify-full' } })));
    expect(error.reason).toBe('tls');
  });

  it('names host, port and user when the master password is wrong', async () => {
    const error = await connectionError(connect(options({ password: 'wrong' })));
    expect(error.reason).toBe('authentication');
    expect(error.message).toContain(`127.0.0.1:${pg.server.port}`);
    expect(error.message).toContain(`user "${pg.server.user}"`);
    expect(error.message).not.toContain(pg.server.password);
  });

  it('says when nothing listens on the port', async () => {
    const port = await closedPort();
    const error = await connectionError(connect(options({ port })));
    expect(error.reason).toBe('refused');
    expect(error.message).toContain(`127.0.0.1:${port} was refused`);
  });

  it('gives up on a server that never answers within the connect timeout', async () => {
    const hanging = await silentServer();
    try {
      const started = Date.now();
      const error = await connectionError(
        connect(options({ port: hanging.port, connectTimeoutMs: 500 })),
      );
      const elapsed = Date.now() - started;
      expect(error.reason).toBe('timeout');
      expect(error.message).toContain(
        `No answer from PostgreSQL at 127.0.0.1:${hanging.port} within 500 ms`,
      );
      // Functional bound, not a benchmark: it must not wait for the OS's minutes-long TCP timeout.
      expect(elapsed).toBeLessThan(5000);
    } finally {
      await hanging.close();
    }
  });

  it('says when the database does not exist', async () => {
    const error = await connectionError(connect(options({ database: 'no_such_db' })));
    expect(error.reason).toBe('database-missing');
  });
});
