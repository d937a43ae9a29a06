import { Client, ClientConfig } from 'pg';
import { ConnectionFailureReason, DatabaseConnectionError } from './errors';

/** How the connection is encrypted. */
export type TlsOptions =
  /**
   * Verify the certificate chain and that it names `host`. `ca` PEM(s) to trust; without it, the
   * Node.js trust store plus NODE_EXTRA_CA_CERTS (the Lambda runtime points it at the RDS CAs).
   */
  | { readonly mode: 'verify-full'; readonly ca?: string | readonly string[] }
  /** Plain TCP: only for a local server on 127.0.0.1. */
  | { readonly mode: 'disable' };

export interface ConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  readonly tls: TlsOptions;
  /** Give up connecting after this long. Default: 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /** Server-side statement_timeout. Default: 60 000 ms. */
  readonly statementTimeoutMs?: number;
  /**
   * Server-side lock_timeout: ALTER TABLE ... REPLICA IDENTITY queues behind long transactions
   * and blocks every later query on the table meanwhile, so give up instead. Default: 10 000 ms.
   */
  readonly lockTimeoutMs?: number;
  /** Client-side limit for any query, in case the server stops answering. Default: 120 000 ms. */
  readonly queryTimeoutMs?: number;
  /** application_name shown in pg_stat_activity. Default: `rds-airbyte-cdc`. */
  readonly applicationName?: string;
}

const TLS_ERROR_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** pg ClientConfig for the options (exported so replication connections reuse the same TLS rules). */
export function clientConfig(options: ConnectOptions): ClientConfig {
  const ssl: ClientConfig['ssl'] =
    options.tls.mode === 'disable'
      ? false
      : {
          rejectUnauthorized: true,
          // pg hands `host` to tls.connect, which checks it against the certificate: verify-full.
          ...(options.tls.ca === undefined ? {} : { ca: [options.tls.ca].flat() }),
        };
  return {
    host: options.host,
    port: options.port,
    user: options.user,
    password: options.password,
    database: options.database,
    ssl,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10000,
    statement_timeout: options.statementTimeoutMs ?? 60000,
    lock_timeout: options.lockTimeoutMs ?? 10000,
    query_timeout: options.queryTimeoutMs ?? 120000,
    application_name: options.applicationName ?? 'rds-airbyte-cdc',
    keepAlive: true,
  };
}

function classify(error: Error & { code?: string }): ConnectionFailureReason {
  const code = error.code ?? '';
  if (code === 'ECONNREFUSED') return 'refused';
  if (
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    /timeout/i.test(error.message)
  ) {
    return 'timeout';
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host-not-found';
  if (code === '28P01' || code === '28000') return 'authentication';
  if (code === '3D000') return 'database-missing';
  if (
    TLS_ERROR_CODES.has(code) ||
    code.startsWith('ERR_TLS') ||
    /SSL|certificate/i.test(error.message)
  )
    return 'tls';
  return 'other';
}

function explain(
  reason: ConnectionFailureReason,
  options: ConnectOptions,
  timeoutMs: number,
): string {
  const where = `${options.host}:${options.port}`;
  switch (reason) {
    case 'refused':
      return `Connection to PostgreSQL at ${where} was refused: nothing listens there. Check the host and port, and that the database is running.`;
    case 'timeout':
      return `No answer from PostgreSQL at ${where} within ${timeoutMs} ms: check that the security group allows this client on port ${options.port}, the route to the host, and that the instance is available.`;
    case 'host-not-found':
      return `Host ${options.host} not found (DNS): check the endpoint address.`;
    case 'authentication':
      return `PostgreSQL at ${where} refused user "${options.user}": the password is wrong or the user may not log in. Check the credentials (for RDS, the master user's secret).`;
    case 'database-missing':
      return `Database "${options.database}" does not exist on ${where}: check the database name.`;
    case 'tls':
      return `TLS to ${where} failed verification: the server certificate is not signed by a trusted CA or does not name ${options.host}. For RDS, trust the RDS CA bundle (NODE_EXTRA_CA_CERTS); never disable verification for a remote database.`;
    default:
      return `Could not connect to PostgreSQL at ${where} as "${options.user}".`;
  }
}

/**
 * Open a pg Client with verified TLS and timeouts. Failures become DatabaseConnectionError whose
 * message names host, port and user and says what to check next.
 */
export async function connect(options: ConnectOptions): Promise<Client> {
  const config = clientConfig(options);
  const client = new Client(config);
  // A connection that dies between queries (failover, reboot, terminated backend) emits
  // 'error'; unheard, that kills the process before callers can clean up or explain. The next
  // query on the client rejects with the cause instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    const cause = error as Error & { code?: string };
    const reason = classify(cause);
    throw new DatabaseConnectionError(
      reason,
      options.host,
      options.port,
      options.user,
      `${explain(reason, options, config.connectionTimeoutMillis ?? 0)} (user "${options.user}"; ${cause.message})`,
      cause,
    );
  }
  return client;
}
