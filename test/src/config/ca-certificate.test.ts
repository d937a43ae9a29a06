import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { PROJECT_ROOT, readCaCertificateFile } from '../../../src/config/ca-certificate';
import { InputError } from '../../../src/input-error';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ca-certificate-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readCaCertificateFile', () => {
  it('reads a relative path from the given root, an absolute one as it is', () => {
    writeFileSync(path.join(dir, 'ca.pem'), 'PEM');
    expect(readCaCertificateFile('ca.pem', { namedBy: '--ca-file', projectRoot: dir })).toBe('PEM');
    expect(readCaCertificateFile(path.join(dir, 'ca.pem'), { namedBy: '--ca-file' })).toBe('PEM');
  });

  it('resolves relative paths from the project root by default, as cdk.json paths are', () => {
    expect(PROJECT_ROOT).toBe(path.resolve(__dirname, '..', '..', '..'));
    const packageJson = readCaCertificateFile('package.json', {
      namedBy: 'airbyte.caCertificateFile',
    });
    expect(JSON.parse(packageJson).name).toBe('rds-airbyte-cdc');
  });

  it('an unreadable file is an input error naming where it was given and the resolved file', () => {
    const read = () =>
      readCaCertificateFile('missing.pem', {
        namedBy: 'airbyte.caCertificateFile',
        projectRoot: dir,
      });
    expect(read).toThrow(InputError);
    expect(read).toThrow(
      `Cannot read airbyte.caCertificateFile ${path.join(dir, 'missing.pem')}: ENOENT: no such file or directory`,
    );
  });
});
