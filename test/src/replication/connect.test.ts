import { mkdtempSync, rmSync } from 'fs';
import { createServer, Server, Socket } from 'net';
import { tmpdir } from 'os';
import * as path from 'path';
import { createCertificateAuthority } from '../../../src/local/certificate-authority';
import { connect, ConnectOptions, DatabaseConnectionError } from '../../../src/replication';
import { classifyConnectionError, toConnectionError } from '../../../src/replication/connect';
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
      expect(error.tlsCause).toBe('untrusted-ca');
      expect(error.message).toContain('the server certificate is not signed by a trusted CA.');
      expect(error.message).toContain('NODE_EXTRA_CA_CERTS');
      expect(error.message).toContain('never disable verification');
      // Only the cause that applies: not the host-name or no-TLS advice as well.
      expect(error.message).not.toMatch(/does not name|does not offer TLS/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses the server with the system trust store alone (the throwaway CA is not trusted)', async () => {
    const error = await connectionError(connect(options({ tls: { mode: 'verify-full' } })));
    expect(error.reason).toBe('tls');
    expect(error.tlsCause).toBe('untrusted-ca');
  });

  it('says the certificate does not name the host, and which names it has', async () => {
    // The test certificate names 127.0.0.1 and localhost only; "127.1" is the same loopback
    // address in shorthand (getaddrinfo accepts it), so the same server answers under a name
    // its certificate lacks: a real ERR_TLS_CERT_ALTNAME_INVALID from Node's TLS.
    const error = await connectionError(connect(options({ host: '127.1' })));
    expect(error.reason).toBe('tls');
    expect(error.tlsCause).toBe('host-mismatch');
    expect(error.message).toContain(
      `TLS to 127.1:${pg.server.port} failed verification: the server certificate does not name 127.1 (it names 127.0.0.1, localhost).`,
    );
    expect(error.message).toContain('Connect by a name the certificate names');
    expect(error.message).not.toContain('trusted CA');
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

  describe('against a server without TLS (ssl = off)', () => {
    const plain = usePostgres();

    it('says the server offers no TLS instead of blaming the certificate', async () => {
      const error = await connectionError(
        connect({
          host: plain.server.host,
          port: plain.server.port,
          user: plain.server.user,
          password: plain.server.password,
          database: 'postgres',
          tls: { mode: 'verify-full', ca: pg.server.certificateAuthority?.certPem },
        }),
      );
      expect(error.reason).toBe('tls');
      expect(error.tlsCause).toBe('no-tls');
      expect(error.message).toMatch(
        /^PostgreSQL at 127\.0\.0\.1:\d+ does not offer TLS at all, and this client connects only with verified TLS\./,
      );
      expect(error.message).toContain('Amazon RDS always offers TLS');
      expect(error.message).toContain('ssl = on');
      expect(error.message).not.toMatch(/failed verification|trusted CA|does not name/);
    });
  });
});

describe('classifying connection errors', () => {
  const target: ConnectOptions = {
    host: 'db.example.com',
    port: 5432,
    user: 'admin',
    password: 'secret',
    database: 'app',
    tls: { mode: 'verify-full' },
  };

  /** An Error shaped like the ones Node.js TLS raises: message plus `code` (and extras). */
  function nodeError(message: string, code: string, extra: object = {}): Error {
    return Object.assign(new Error(message), { code }, extra);
  }

  it.each([
    'SELF_SIGNED_CERT_IN_CHAIN',
    'DEPTH_ZERO_SELF_SIGNED_CERT',
    'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    'UNABLE_TO_GET_ISSUER_CERT',
    'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  ])('%s is an untrusted CA', (code) => {
    expect(classifyConnectionError(nodeError('unable to verify', code))).toEqual({
      reason: 'tls',
      tlsCause: 'untrusted-ca',
    });
  });

  it('a server still starting up (57P03) refuses for now, like a closed port', () => {
    expect(
      classifyConnectionError(nodeError('the database system is starting up', '57P03')),
    ).toEqual({ reason: 'refused' });
  });

  it('node-postgres\'s "does not support SSL" is a server without TLS', () => {
    expect(
      classifyConnectionError(new Error('The server does not support SSL connections')),
    ).toEqual({ reason: 'tls', tlsCause: 'no-tls' });
  });

  it('names the host and the names in the certificate on a host mismatch', () => {
    const error = toConnectionError(
      nodeError(
        "Hostname/IP does not match certificate's altnames: Host: db.example.com. is not in the cert's altnames: DNS:mydb.abc123.eu-west-1.rds.amazonaws.com",
        'ERR_TLS_CERT_ALTNAME_INVALID',
        {
          host: 'db.example.com',
          cert: { subjectaltname: 'DNS:mydb.abc123.eu-west-1.rds.amazonaws.com' },
        },
      ),
      target,
    );
    expect(error.reason).toBe('tls');
    expect(error.tlsCause).toBe('host-mismatch');
    expect(error.message).toContain(
      'the server certificate does not name db.example.com (it names mydb.abc123.eu-west-1.rds.amazonaws.com).',
    );
  });

  it('falls back to the subject CN when the certificate has no alternative names', () => {
    const error = toConnectionError(
      nodeError(
        "Hostname/IP does not match certificate's altnames",
        'ERR_TLS_CERT_ALTNAME_INVALID',
        {
          cert: { subject: { CN: 'mydb.example.org' } },
        },
      ),
      target,
    );
    expect(error.message).toContain('does not name db.example.com (it names mydb.example.org).');
  });

  it('says an expired certificate has expired and to rotate the RDS CA', () => {
    const error = toConnectionError(
      nodeError('certificate has expired', 'CERT_HAS_EXPIRED'),
      target,
    );
    expect(error.reason).toBe('tls');
    expect(error.tlsCause).toBe('expired');
    expect(error.message).toContain(
      'TLS to db.example.com:5432 failed verification: the server certificate (or a CA certificate in its chain) has expired.',
    );
    expect(error.message).toContain("rotate the instance's CA certificate");
    expect(error.message).not.toMatch(/trusted CA\.|does not name/);
  });

  it('says a certificate that is not valid yet is not valid yet', () => {
    const error = toConnectionError(
      nodeError('certificate is not yet valid', 'CERT_NOT_YET_VALID'),
      target,
    );
    expect(error.tlsCause).toBe('expired');
    expect(error.message).toContain('the server certificate is not valid yet.');
    expect(error.message).toContain("Check this machine's clock first");
  });

  it('keeps other TLS failures as tls with cause "other"', () => {
    const error = toConnectionError(
      nodeError('wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'),
      target,
    );
    expect(error.reason).toBe('tls');
    expect(error.tlsCause).toBe('other');
  });

  it('sets no tlsCause for failures that are not TLS', () => {
    const error = toConnectionError(nodeError('connect ECONNREFUSED', 'ECONNREFUSED'), target);
    expect(error.reason).toBe('refused');
    expect(error.tlsCause).toBeUndefined();
  });
});
