import { execFileSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import type { TarballFetcher } from '../../src/local/npm-package-cache';

/** One file of a fake npm package, by its path inside the package. */
export interface FakePackageFile {
  readonly content: string | Buffer;
  readonly executable?: boolean;
}

/**
 * A TarballFetcher that serves, without npm or network, a tarball laid out as `npm pack` makes
 * it (everything under `package/`) holding `files`; `whileFetching` runs before the tarball is
 * in place (a test moves its clock there, as if the download took that long).
 */
export function fakeTarballFetcher(
  files: Readonly<Record<string, FakePackageFile>>,
  whileFetching: (spec: string) => void = () => undefined,
): TarballFetcher & { readonly specs: string[] } {
  const specs: string[] = [];
  const fetch = async (spec: string, destination: string): Promise<void> => {
    specs.push(spec);
    whileFetching(spec);
    const source = mkdtempSync(path.join(tmpdir(), 'fake-package-'));
    try {
      for (const [file, { content, executable }] of Object.entries(files)) {
        const target = path.join(source, 'package', file);
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, content);
        if (executable) chmodSync(target, 0o755);
      }
      const name = `${spec.replace(/^@/, '').replace(/[/@]/g, '-')}.tgz`;
      execFileSync('tar', ['-czf', path.join(destination, name), '-C', source, 'package']);
    } finally {
      rmSync(source, { recursive: true, force: true });
    }
  };
  return Object.assign(fetch, { specs });
}
