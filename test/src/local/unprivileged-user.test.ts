import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import {
  chownToRunAs,
  runAsServiceUserIfRoot,
  spawnAs,
} from '../../../src/local/unprivileged-user';

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

describe('runAsServiceUserIfRoot', () => {
  it('is the postgres OS user as root and nobody else otherwise', () => {
    const runAs = runAsServiceUserIfRoot();
    if (isRoot) {
      const id = (flag: string): number =>
        Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
      expect(runAs).toEqual({ uid: id('-u'), gid: id('-g') });
    } else {
      expect(runAs).toBeUndefined();
    }
  });
});

describe('chownToRunAs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'unprivileged-user-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('leaves files alone without a user to run as', () => {
    const file = path.join(dir, 'untouched');
    writeFileSync(file, '');
    const before = statSync(file);
    chownToRunAs(undefined, file);
    expect(statSync(file)).toMatchObject({ uid: before.uid, gid: before.gid });
  });

  (isRoot ? it : it.skip)('hands every file to the user to run as (root only)', () => {
    const files = [path.join(dir, 'a'), path.join(dir, 'b')];
    for (const file of files) writeFileSync(file, '');
    chownToRunAs({ uid: 4321, gid: 8765 }, ...files);
    for (const file of files) expect(statSync(file)).toMatchObject({ uid: 4321, gid: 8765 });
  });
});

describe('spawnAs', () => {
  it('is the uid and gid to spawn with, both unset without a user to run as', () => {
    expect(spawnAs({ uid: 1, gid: 2 })).toEqual({ uid: 1, gid: 2 });
    expect(spawnAs(undefined)).toEqual({ uid: undefined, gid: undefined });
  });
});
