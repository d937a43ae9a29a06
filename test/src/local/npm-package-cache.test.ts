import { randomBytes } from 'crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'fs';
import { hostname, tmpdir } from 'os';
import * as path from 'path';
import {
  cachePackage,
  PackageDownloadError,
  PROGRESS_EVERY_MS,
  type CachedPackageRequest,
} from '../../../src/local/npm-package-cache';
import { FakeClock } from '../../support/fake-clock';
import { fakeTarballFetcher } from '../../support/fake-package';

const SPEC = '@example/package@1.0.0';
const ANNOUNCEMENT = 'Downloading @example/package@1.0.0 (2 MB) once into the cache.';

let cacheDir: string;
beforeEach(() => {
  cacheDir = mkdtempSync(path.join(tmpdir(), 'npm-package-cache-test-'));
});
afterEach(() => rmSync(cacheDir, { recursive: true, force: true }));

/** A request for @example/package@1.0.0 into the test's cache, printing into `lines`. */
function request(
  lines: string[],
  overrides: Partial<CachedPackageRequest> = {},
): CachedPackageRequest & { readonly targetDir: string } {
  return {
    packageName: '@example/package',
    version: '1.0.0',
    targetDir: path.join(cacheDir, 'example', '1.0.0'),
    announcement: ANNOUNCEMENT,
    prepare: () => undefined,
    print: (line) => void lines.push(line),
    ...overrides,
  };
}

/** Two megabytes that gzip cannot shrink, so that the tarball's size is known to the line. */
const PAYLOAD = { 'payload.bin': { content: randomBytes(2_000_000) } };

describe('cachePackage progress lines', () => {
  it('announces the download once, says every 10 s that it goes on, then each phase, then where it is', async () => {
    expect(PROGRESS_EVERY_MS).toBe(10_000);
    const clock = new FakeClock();
    const lines: string[] = [];
    const fetchTarball = fakeTarballFetcher(PAYLOAD, () => clock.advance(25_000));
    const req = request(lines, { clock, fetchTarball });

    await expect(cachePackage(req)).resolves.toBe('downloaded');

    expect(lines).toEqual([
      ANNOUNCEMENT,
      `  still downloading ${SPEC} (10.0 s)`,
      `  still downloading ${SPEC} (20.0 s)`,
      '  downloaded 2.0 MB in 25.0 s; unpacking and checking it',
      `Downloaded ${SPEC} in 25.0 s into ${req.targetDir}; later runs reuse it.`,
    ]);
    // Buffer.equals: toEqual would compare two million bytes one by one.
    expect(
      readFileSync(path.join(req.targetDir, 'payload.bin')).equals(PAYLOAD['payload.bin'].content),
    ).toBe(true);
    // Neither the partial copy nor the lock stays beside it.
    expect(readdirSync(path.dirname(req.targetDir))).toEqual(['1.0.0']);
  });

  it('prints no progress line for a download quicker than 10 s, and nothing once cached', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const fetchTarball = fakeTarballFetcher(PAYLOAD, () => clock.advance(9_999));
    const req = request(lines, { clock, fetchTarball });

    await cachePackage(req);
    expect(lines.filter((line) => line.includes('still downloading'))).toEqual([]);
    expect(lines).toHaveLength(3);

    lines.length = 0;
    await expect(cachePackage(req)).resolves.toBe('cached');
    expect(lines).toEqual([]);
    expect(fetchTarball.specs).toEqual([SPEC]);
  });

  it('stops the progress lines when the download fails, and leaves nothing behind', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const fetchTarball = async (): Promise<void> => {
      clock.advance(15_000);
      throw new PackageDownloadError('"npm pack" failed: E404', `npm pack ${SPEC}`);
    };
    const req = request(lines, { clock, fetchTarball });

    await expect(cachePackage(req)).rejects.toThrow(PackageDownloadError);
    clock.advance(60_000);
    expect(lines).toEqual([ANNOUNCEMENT, `  still downloading ${SPEC} (10.0 s)`]);
    expect(readdirSync(path.dirname(req.targetDir))).toEqual([]);
  });

  it('while another live process downloads, says every 10 s whom it waits for, then reuses its copy', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const fetchTarball = fakeTarballFetcher(PAYLOAD);
    const req = request(lines, { clock, fetchTarball });
    mkdirSync(path.dirname(req.targetDir), { recursive: true });
    // A lock held by a live process (this one, with another token): the holder's copy appears
    // at 25 s.
    const lock = JSON.stringify({ pid: process.pid, host: hostname(), token: 'other' });
    writeFileSync(`${req.targetDir}.lock`, lock);
    const stop = clock.every(25_000, () => {
      mkdirSync(req.targetDir);
      stop();
    });

    await expect(cachePackage(req)).resolves.toBe('cached');

    const waiting = (seconds: number): string =>
      `Waiting for process ${process.pid}, which is downloading ${SPEC} into ${req.targetDir} (${seconds} s so far).`;
    expect(lines).toEqual([waiting(0), waiting(10), waiting(20)]);
    expect(fetchTarball.specs).toEqual([]);
    expect(existsSync(`${req.targetDir}.lock`)).toBe(true);
  });

  it('gives up on a holder that takes longer than 15 minutes, says so, and downloads as well', async () => {
    const clock = new FakeClock();
    const lines: string[] = [];
    const fetchTarball = fakeTarballFetcher(PAYLOAD);
    const req = request(lines, { clock, fetchTarball });
    mkdirSync(path.dirname(req.targetDir), { recursive: true });
    const lock = JSON.stringify({ pid: process.pid, host: hostname(), token: 'other' });
    writeFileSync(`${req.targetDir}.lock`, lock);

    await expect(cachePackage(req)).resolves.toBe('downloaded');

    const waitingLines = lines.filter((line) => line.startsWith('Waiting for'));
    // One line at the start and one every 10 s: 91 over 15 minutes, not one per poll.
    expect(waitingLines).toHaveLength(91);
    expect(waitingLines.at(-1)).toContain('(900 s so far)');
    expect(lines[waitingLines.length]).toBe(
      `Gave up waiting after 901 s for the download that ${req.targetDir}.lock announces; downloading as well.`,
    );
    expect(lines[waitingLines.length + 1]).toBe(ANNOUNCEMENT);
    expect(fetchTarball.specs).toEqual([SPEC]);
  });
});
