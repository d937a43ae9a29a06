import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { CacheEntry, SYNTH_CACHE_DIR_ENV, synthCacheDir } from '../../src/synth-cache';

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

  it('keeps one value per identity, replacing it, and leaves no temporary file', () => {
    const entry = new CacheEntry<{ value: number }>('kind', { name: 'one' }, cacheDir);
    expect(entry.read()).toBeUndefined();
    entry.write({ value: 1 });
    entry.write({ value: 2 });
    expect(new CacheEntry('kind', { name: 'one' }, cacheDir).read()).toEqual({ value: 2 });
    expect(new CacheEntry('kind', { name: 'two' }, cacheDir).read()).toBeUndefined();
    expect(readdirSync(path.join(cacheDir, 'kind'))).toHaveLength(1);
  });

  it('reads a damaged entry as none', () => {
    const entry = new CacheEntry<object>('damaged', 'identity', cacheDir);
    entry.write({});
    const [file] = readdirSync(path.join(cacheDir, 'damaged'));
    writeFileSync(path.join(cacheDir, 'damaged', file), '{"half');
    expect(entry.read()).toBeUndefined();
  });
});
