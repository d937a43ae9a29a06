import { readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { runHelper } from './helper-process';
import { PostgresStartError } from './postgres-start-error';

/** A throwaway certificate authority and the files it is stored in. */
export interface CertificateAuthority {
  /** PEM of the CA certificate, for `ssl.ca`. */
  readonly certPem: string;
  readonly certPath: string;
  readonly keyPath: string;
}

/** The files of a server certificate and its key. */
export interface ServerCertificate {
  readonly certPath: string;
  readonly keyPath: string;
}

/** `openssl req` arguments for a new, unencrypted P-256 key. */
const NEW_EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** Certificates live two days: long enough for any local run, useless if one leaks. */
const VALIDITY_DAYS = '2';

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
      ...NEW_EC_KEY,
      '-days',
      VALIDITY_DAYS,
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

/**
 * Create a server key and certificate for 127.0.0.1 and localhost, signed by `ca`, in `dir`
 * (files `server.key`, `server.crt`, and the request and extensions they were made from).
 */
export async function createServerCertificate(
  dir: string,
  ca: CertificateAuthority,
): Promise<ServerCertificate> {
  const keyPath = path.join(dir, 'server.key');
  const csrPath = path.join(dir, 'server.csr');
  const certPath = path.join(dir, 'server.crt');
  const extPath = path.join(dir, 'server.ext');
  writeFileSync(
    extPath,
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n',
  );
  await runOpenssl(
    ['req', ...NEW_EC_KEY, '-subj', '/CN=127.0.0.1', '-keyout', keyPath, '-out', csrPath],
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
      VALIDITY_DAYS,
      '-extfile',
      extPath,
      '-out',
      certPath,
    ],
    dir,
  );
  return { certPath, keyPath };
}
