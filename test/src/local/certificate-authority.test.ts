import { execFileSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import {
  createCertificateAuthority,
  createServerCertificate,
} from '../../../src/local/certificate-authority';
import { PostgresStartError } from '../../../src/local/postgres-start-error';

/** What `openssl ...args` prints, run in `dir`: an independent look at the files made there. */
function openssl(dir: string, ...args: string[]): string {
  return execFileSync('openssl', args, { cwd: dir, encoding: 'utf8' });
}

describe('certificate authority', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'certificate-authority-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('creates a self-signed CA named after its files', async () => {
    const ca = await createCertificateAuthority(dir, 'test-ca');
    expect(ca.certPath).toBe(path.join(dir, 'test-ca.crt'));
    expect(ca.keyPath).toBe(path.join(dir, 'test-ca.key'));
    expect(ca.certPem).toBe(readFileSync(ca.certPath, 'utf8'));
    expect(ca.certPem).toMatch(/^-----BEGIN CERTIFICATE-----/);
    expect(openssl(dir, 'x509', '-in', ca.certPath, '-noout', '-subject')).toContain(
      'rds-airbyte-cdc throwaway test-ca',
    );
  });

  it('signs a server certificate for 127.0.0.1 and localhost that verifies against the CA', async () => {
    const ca = await createCertificateAuthority(dir);
    const server = await createServerCertificate(dir, ca);
    expect(server).toEqual({
      certPath: path.join(dir, 'server.crt'),
      keyPath: path.join(dir, 'server.key'),
    });
    expect(existsSync(server.keyPath)).toBe(true);
    expect(openssl(dir, 'verify', '-CAfile', ca.certPath, server.certPath)).toContain(': OK');
    expect(
      openssl(dir, 'x509', '-in', server.certPath, '-noout', '-ext', 'subjectAltName'),
    ).toMatch(/IP Address:127\.0\.0\.1, DNS:localhost/);
  });

  it('says which openssl step failed', async () => {
    const missing = path.join(dir, 'missing');
    const failure = createCertificateAuthority(missing);
    await expect(failure).rejects.toThrow(PostgresStartError);
    await expect(failure).rejects.toThrow(/^openssl req failed \(is openssl installed\?\): /);
  });
});
