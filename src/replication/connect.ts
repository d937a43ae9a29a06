import { Client, ClientConfig } from 'pg';
import { ConnectionFailureReason, DatabaseConnectionError, TlsFailureCause } from './errors';

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

/** Node.js verification codes for a chain that does not lead to a trusted CA. */
const UNTRUSTED_CA_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);

/** Node.js verification codes for a certificate outside its validity period. */
const EXPIRED_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** tls.checkServerIdentity's code: the certificate does not name the host. */
const HOST_MISMATCH_CODE = 'ERR_TLS_CERT_ALTNAME_INVALID';

/**
 * node-postgres's error when the server answers the SSLRequest with 'N' (`ssl = off`). It has
 * no code, so only the message tells it apart.
 */
const NO_TLS_MESSAGE = /does not support SSL connections/i;

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

/** Why a connection attempt failed: `reason`, and for TLS failures which TLS problem it was. */
export interface ConnectionFailure {
  readonly reason: ConnectionFailureReason;
  /** Set only when `reason` is `tls`. */
  readonly tlsCause?: TlsFailureCause;
}

/** The `code` of a Node.js / pg error, or '' without one. */
function codeOf(error: Error): string {
  const code: unknown = 'code' in error ? error.code : undefined;
  return typeof code === 'string' ? code : '';
}

function classifyTls(error: Error): TlsFailureCause | undefined {
  const code = codeOf(error);
  // pg's no-TLS error has no code and "SSL" in its message: recognise it before the generic
  // fallback below, which would otherwise word it as a certificate problem.
  if (NO_TLS_MESSAGE.test(error.message)) return 'no-tls';
  if (UNTRUSTED_CA_CODES.has(code)) return 'untrusted-ca';
  if (code === HOST_MISMATCH_CODE) return 'host-mismatch';
  if (EXPIRED_CODES.has(code)) return 'expired';
  if (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /SSL|certificate/i.test(error.message)
  )
    return 'other';
  return undefined;
}

/**
 * Classify a connection error from pg / Node.js (pure, so every cause can be tested without a
 * server that produces it).
 */
export function classifyConnectionError(error: Error): ConnectionFailure {
  const code = codeOf(error);
  // 57P03: the server is up but still starting (or shutting down): it refuses for now.
  if (code === 'ECONNREFUSED' || code === '57P03') return { reason: 'refused' };
  if (
    code === 'ETIMEDOUT' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    /timeout/i.test(error.message)
  ) {
    return { reason: 'timeout' };
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return { reason: 'host-not-found' };
  if (code === '28P01' || code === '28000') return { reason: 'authentication' };
  if (code === '3D000') return { reason: 'database-missing' };
  const tlsCause = classifyTls(error);
  if (tlsCause) return { reason: 'tls', tlsCause };
  return { reason: 'other' };
}

/**
 * The names a certificate in a host-mismatch error is valid for (Node.js attaches the peer
 * certificate as `cert`), so the message can say which name to connect by.
 */
function certificateNames(error: Error): readonly string[] {
  const cert: unknown = 'cert' in error ? error.cert : undefined;
  if (typeof cert !== 'object' || cert === null) return [];
  const altNames: unknown = 'subjectaltname' in cert ? cert.subjectaltname : undefined;
  if (typeof altNames === 'string' && altNames !== '') {
    // "DNS:a.example.com, IP Address:10.0.0.1": the names without their kind.
    return altNames.split(/,\s*/).map((entry) => entry.replace(/^(DNS|IP Address):/, ''));
  }
  // Node.js only falls back to the subject's CN when there are no DNS names.
  const subject: unknown = 'subject' in cert ? cert.subject : undefined;
  const commonName: unknown =
    typeof subject === 'object' && subject !== null && 'CN' in subject ? subject.CN : undefined;
  return typeof commonName === 'string' ? [commonName] : [];
}

/** Advice shared by every TLS message: the fix is never to turn verification off. */
const KEEP_VERIFYING = 'never disable verification for a remote database.';

function explainTls(cause: TlsFailureCause, error: Error, options: ConnectOptions): string {
  const where = `${options.host}:${options.port}`;
  switch (cause) {
    case 'no-tls':
      return `PostgreSQL at ${where} does not offer TLS at all, and this client connects only with verified TLS. Amazon RDS always offers TLS (rds.force_ssl only decides whether it is required), so ${options.host} is probably not the RDS database: check the endpoint address and port. On plain PostgreSQL, turn TLS on (ssl = on with ssl_cert_file and ssl_key_file in postgresql.conf, then reload).`;
    case 'untrusted-ca':
      return `TLS to ${where} failed verification: the server certificate is not signed by a trusted CA. For RDS, trust the RDS CA bundle (NODE_EXTRA_CA_CERTS, or the tls.ca option); ${KEEP_VERIFYING}`;
    case 'host-mismatch': {
      const names = certificateNames(error);
      const named = names.length > 0 ? ` (it names ${names.join(', ')})` : '';
      return `TLS to ${where} failed verification: the server certificate does not name ${options.host}${named}. Connect by a name the certificate names: for RDS, the instance or cluster endpoint (its *.rds.amazonaws.com name), not an IP address, a CNAME or a proxy of your own; ${KEEP_VERIFYING}`;
    }
    case 'expired': {
      const rotate = `rotate the instance's CA certificate (modify the DB instance to a current certificate authority such as rds-ca-rsa2048-g1) and trust the matching RDS CA bundle`;
      // A certificate whose start date is still ahead usually means this machine's clock is
      // behind, so that comes first there; an expired one usually really is expired.
      return codeOf(error) === 'CERT_NOT_YET_VALID'
        ? `TLS to ${where} failed verification: the server certificate is not valid yet. Check this machine's clock first; if it is right, for RDS, ${rotate}; ${KEEP_VERIFYING}`
        : `TLS to ${where} failed verification: the server certificate (or a CA certificate in its chain) has expired. For RDS, ${rotate}, and check this machine's clock; ${KEEP_VERIFYING}`;
    }
    default:
      return `TLS to ${where} failed: check that this is the PostgreSQL endpoint and that its certificate is valid and signed by a trusted CA (for RDS, the RDS CA bundle via NODE_EXTRA_CA_CERTS); ${KEEP_VERIFYING}`;
  }
}

function explain(
  failure: ConnectionFailure,
  error: Error,
  options: ConnectOptions,
  timeoutMs: number,
): string {
  const where = `${options.host}:${options.port}`;
  switch (failure.reason) {
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
      return explainTls(failure.tlsCause ?? 'other', error, options);
    default:
      return `Could not connect to PostgreSQL at ${where} as "${options.user}".`;
  }
}

/**
 * `error` as an Error, keeping its own properties (`code`, `cert`). Checked by shape, not
 * `instanceof`: errors from Node's TLS and net layers may come from another realm (as under
 * Jest), where `instanceof Error` is false and wrapping would lose the code.
 */
function asError(error: unknown): Error {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { message } = error;
    if (typeof message === 'string') return error as Error;
  }
  return new Error(String(error));
}

/**
 * The DatabaseConnectionError for a failed connection attempt: classified, with a message that
 * names host, port and user, the actual cause and what to do next (pure; `connect` throws it).
 */
export function toConnectionError(
  error: unknown,
  options: ConnectOptions,
): DatabaseConnectionError {
  const cause = asError(error);
  const failure = classifyConnectionError(cause);
  const timeoutMs = clientConfig(options).connectionTimeoutMillis ?? 0;
  return new DatabaseConnectionError(
    failure.reason,
    options.host,
    options.port,
    options.user,
    `${explain(failure, cause, options, timeoutMs)} (user "${options.user}"; ${cause.message})`,
    cause,
    failure.tlsCause,
  );
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
    throw toConnectionError(error, options);
  }
  return client;
}
