import { existsSync, readdirSync, readFileSync, writeFileSync } from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { buildSync, version as esbuildVersion } from 'esbuild';
import { CacheEntry, sha256, synthCacheDir } from '../src/synth-cache';

/** What esbuild makes of one handler: the options NodejsFunction's `bundling` would take. */
export interface LambdaBundleOptions {
  /** The handler's entry file, relative to the project root. */
  readonly entry: string;
  /** esbuild's target, e.g. `node24`. */
  readonly target: string;
  /** Modules left out of the bundle (the runtime provides them, or they are never loaded). */
  readonly externals: readonly string[];
  readonly minify: boolean;
}

/** The project root: asset source, esbuild's working directory, what input paths are relative to. */
const PROJECT_ROOT = path.join(__dirname, '..');

/**
 * Files that change esbuild's output without being among the inputs it reports: the
 * dependency versions (module resolution reads the packages' package.json) and the TypeScript
 * settings it honours.
 */
const BUILD_CONFIG_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];

/** A bundle as the cache keeps it, with what it was made from. */
interface CachedBundle {
  readonly esbuildVersion: string;
  /** SHA-256 of every file esbuild read and of the build config files, by project path. */
  readonly inputs: Record<string, string>;
  /**
   * SHA-256 of the file names of each project directory (outside node_modules) holding an
   * input: a file added there (`handler.js` beside `handler.ts`) can change what an import
   * resolves to while no input changes.
   */
  readonly directories: Record<string, string>;
  /** The output files by name, base64. */
  readonly files: Record<string, string>;
}

/** Where a handler is bundled from and its bundle cached. */
export interface BundleSources {
  /** esbuild's working directory, what the entry and the recorded input paths are relative to. */
  readonly projectRoot: string;
  readonly cacheDir: string;
}

/** The project's own sources and synth cache. */
const PROJECT_SOURCES: BundleSources = { projectRoot: PROJECT_ROOT, cacheDir: synthCacheDir() };

function fileHash(projectRoot: string, projectPath: string): string | undefined {
  const file = path.join(projectRoot, projectPath);
  return existsSync(file) ? sha256(readFileSync(file)) : undefined;
}

function listingHash(projectRoot: string, projectDir: string): string | undefined {
  const dir = path.join(projectRoot, projectDir);
  return existsSync(dir) ? sha256(readdirSync(dir).sort().join('\n')) : undefined;
}

function isCurrent(bundle: CachedBundle, projectRoot: string): boolean {
  return (
    bundle.esbuildVersion === esbuildVersion &&
    Object.entries(bundle.inputs).every(([file, hash]) => fileHash(projectRoot, file) === hash) &&
    Object.entries(bundle.directories).every(
      ([dir, hash]) => listingHash(projectRoot, dir) === hash,
    )
  );
}

function build(options: LambdaBundleOptions, projectRoot: string): CachedBundle {
  const outfile = path.join(projectRoot, 'index.js');
  const result = buildSync({
    absWorkingDir: projectRoot,
    entryPoints: [options.entry],
    bundle: true,
    platform: 'node',
    target: options.target,
    minify: options.minify,
    external: [...options.externals],
    // Only the name counts: the files are returned, not written.
    outfile,
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const inputs: Record<string, string> = {};
  const directories: Record<string, string> = {};
  for (const input of [...Object.keys(result.metafile.inputs), ...BUILD_CONFIG_FILES]) {
    const hash = fileHash(projectRoot, input);
    if (hash === undefined) continue;
    inputs[input] = hash;
    const dir = path.dirname(input);
    if (!input.split('/').includes('node_modules')) {
      directories[dir] = listingHash(projectRoot, dir) ?? '';
    }
  }
  const files: Record<string, string> = {};
  for (const output of result.outputFiles) {
    const name = path.relative(path.dirname(outfile), output.path);
    files[name] = Buffer.from(output.contents).toString('base64');
  }
  return { esbuildVersion, inputs, directories, files };
}

/**
 * Write the bundle of a handler into `outputDir`: esbuild in this process, as NodejsFunction
 * would run it (the output is byte for byte the same), or the cached bundle when none of its
 * inputs changed. Says which.
 */
export function bundleHandler(
  options: LambdaBundleOptions,
  outputDir: string,
  { projectRoot, cacheDir }: BundleSources = PROJECT_SOURCES,
): 'built' | 'reused' {
  const entry = new CacheEntry<CachedBundle>('lambda-bundles', options, cacheDir);
  const cached = entry.read();
  const reused = cached !== undefined && isCurrent(cached, projectRoot);
  const bundle = reused ? cached : build(options, projectRoot);
  for (const [name, content] of Object.entries(bundle.files)) {
    writeFileSync(path.join(outputDir, name), Buffer.from(content, 'base64'));
  }
  if (!reused) entry.write(bundle);
  return reused ? 'reused' : 'built';
}

/**
 * The local bundling of a handler: without the cache, every `cdk synth` spent half a second of
 * CPU per handler on `npx esbuild` (mostly npx starting).
 */
class CachedEsbuild implements ILocalBundling {
  // A field, not a closure: AssetStaging tells assets apart by the JSON of their bundling
  // options, so each handler's options must be in it.
  constructor(readonly options: LambdaBundleOptions) {}

  tryBundle(outputDir: string): boolean {
    if (bundleHandler(this.options, outputDir) === 'reused') {
      process.stderr.write(`  ${this.options.entry}: inputs unchanged, cached bundle reused\n`);
    }
    return true;
  }
}

/**
 * The code of a Lambda handler: its entry bundled by esbuild, staged as an asset hashed by
 * its output (as NodejsFunction stages it, so templates do not change), from the synth cache
 * when none of its inputs changed.
 */
export function lambdaBundle(options: LambdaBundleOptions): lambda.Code {
  return lambda.Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Never pulled: the local bundling above always succeeds (or throws esbuild's error).
      image: DockerImage.fromRegistry('esbuild-runs-locally'),
      local: new CachedEsbuild(options),
    },
  });
}
