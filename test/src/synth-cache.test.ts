import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { z } from 'zod';
import {
  CacheEntry,
  matchesSchema,
  SYNTH_CACHE_DIR_ENV,
  synthCacheDir,
} from '../../src/synth-cache';

describe('synthCacheDir', () => {
  it("is under the project's node_modules unless the environment says otherwise", () => {
    expect(synthCacheDir({})).toBe(
      path.join(__dirname, '..', '..', 'node_modules', '.cache', 'rds-airbyte-cdc-synth'),
    );
    expect(synthCacheDir({ [SYNTH_CACHE_DIR_ENV]: '/elsewhere' })).toBe('/elsewhere');
  });
});

describe('CacheEntry', () => {
  const cacheDir = mkdtempSync(path.join(tmpdir(), 'synth-cache-test-'));
  afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));
  const isValue = matchesSchema(z.object({ value: z.number() }));

  it('keeps one value per identity, replacing it, and leaves no temporary file', () => {
    const entry = new CacheEntry<{ value: number }>('kind', { name: 'one' }, cacheDir);
    expect(entry.read(isValue)).toBeUndefined();
    entry.write({ value: 1 });
    entry.write({ value: 2 });
    expect(new CacheEntry('kind', { name: 'one' }, cacheDir).read(isValue)).toEqual({ value: 2 });
    expect(new CacheEntry('kind', { name: 'two' }, cacheDir).read(isValue)).toBeUndefined();
    expect(readdirSync(path.join(cacheDir, 'kind'))).toHaveLength(1);
  });

  it('reads a damaged entry as none', () => {
    const entry = new CacheEntry<{ value: number }>('damaged', 'identity', cacheDir);
    entry.write({ value: 1 });
    const [file] = readdirSync(path.join(cacheDir, 'damaged'));
    writeFileSync(path.join(cacheDir, 'damaged', file), '{"half');
    expect(entry.read(isValue)).toBeUndefined();
  });

  it('reads an entry of another shape (another revision of the code wrote it) as none', () => {
    const writtenElsewhere = new CacheEntry<{ count: string }>(
      'other-revision',
      'identity',
      cacheDir,
    );
    writtenElsewhere.write({ count: 'one' });
    expect(new CacheEntry('other-revision', 'identity', cacheDir).read(isValue)).toBeUndefined();
  });
});
