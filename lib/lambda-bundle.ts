import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import * as path from 'path';
import { AssetHashType, DockerImage, type ILocalBundling } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { type BuildOptions, buildSync, version as esbuildVersion } from 'esbuild';
import { z } from 'zod';
import { CacheEntry, matchesSchema, sha256, synthCacheDir } from '../src/synth-cache';

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

/**
 * esbuild's options for one handler but for what bundleHandler sets itself: the paths (the
 * project root, the output file in it) and that the output comes back as a metafile and files
 * in memory.
 */
export type HandlerBuildSettings = Omit<
  BuildOptions,
  'absWorkingDir' | 'outfile' | 'outdir' | 'write' | 'metafile'
>;

/** The project root: asset source, esbuild's working directory, what input paths are relative to. */
const PROJECT_ROOT = path.join(__dirname, '..');

/** The bundle's file name: NodejsFunction's, which the functions' `handler` names. */
const OUTPUT_FILE = 'index.js';

/**
 * Files that change esbuild's output without being among the inputs it reports: the
 * dependency versions (module resolution reads the packages' package.json) and the TypeScript
 * settings it honours.
 */
const BUILD_CONFIG_FILES = ['package.json', 'package-lock.json', 'tsconfig.json'];

/**
 * The kind of cache entry, with the version of its format (see CacheEntry): raise it when
 * CachedBundle or the meaning of its fields changes.
 */
const CACHE_KIND = 'lambda-bundles-v2';

/**
 * How far a file's modification time may lag behind the clock of the process that saved it:
 * the kernel stamps files from a clock that runs up to a tick behind, and some file systems
 * round times down to the second, or to two (FAT).
 */
const FILE_TIME_SLACK_MS = 2000;

/** A bundle as the cache keeps it, with what it was made from. */
const cachedBundleSchema = z.object({
  esbuildVersion: z.string(),
  /** SHA-256 of every file esbuild read and of the build config files, by project path. */
  inputs: z.record(z.string(), z.string()),
  /**
   * SHA-256 of the file names of each project directory (outside node_modules) holding an
   * input: a file added there (`handler.js` beside `handler.ts`) can change what an import
   * resolves to while no input changes.
   */
  directories: z.record(z.string(), z.string()),
  /** The output files by name, base64. */
  files: z.record(z.string(), z.string()),
});
type CachedBundle = z.infer<typeof cachedBundleSchema>;
const isCachedBundle = matchesSchema(cachedBundleSchema);

/** Where a handler is bundled from and its bundle cached. */
export interface BundleSources {
  /** esbuild's working directory, what the entry and the recorded input paths are relative to. */
  readonly projectRoot: string;
  readonly cacheDir: string;
}

/** The project's own sources and synth cache. */
const PROJECT_SOURCES: BundleSources = { projectRoot: PROJECT_ROOT, cacheDir: synthCacheDir() };

/**
 * esbuild's settings for a handler: what NodejsFunction passes to esbuild for these options
 * (with `sourceMap: false`), so that the bundle is byte for byte the same.
 */
export function handlerBuildSettings(options: LambdaBundleOptions): HandlerBuildSettings {
  return {
    entryPoints: [options.entry],
    bundle: true,
    platform: 'node',
    target: options.target,
    minify: options.minify,
    external: [...options.externals],
    logLevel: 'warning',
  };
}

/** What esbuild is run with: the settings, in `projectRoot`, the output returned in memory. */
function buildOptionsFor(settings: HandlerBuildSettings, projectRoot: string) {
  return {
    ...settings,
    absWorkingDir: projectRoot,
    // Only the name counts: the files are returned, not written.
    outfile: path.join(projectRoot, OUTPUT_FILE),
    write: false,
    metafile: true,
  } as const satisfies BuildOptions;
}
type HandlerBuildOptions = ReturnType<typeof buildOptionsFor>;

/**
 * The cache key of a build: every option esbuild is run with, so that any change to them
 * rebuilds, with the paths relative to the project root, so that checkouts of the same code
 * (the base worktree of npm run diff) share the entry.
 */
function cacheIdentity({ absWorkingDir, outfile, ...options }: BuildOptions): unknown {
  return {
    ...options,
    outfile: outfile === undefined ? undefined : path.relative(absWorkingDir ?? '', outfile),
  };
}

function fileHash(projectRoot: string, projectPath: string): string | undefined {
  const file = path.join(projectRoot, projectPath);
  return existsSync(file) ? sha256(readFileSync(file)) : undefined;
}

function listingHash(projectRoot: string, projectDir: string): string | undefined {
  const dir = path.join(projectRoot, projectDir);
  return existsSync(dir) ? sha256(readdirSync(dir).sort().join('\n')) : undefined;
}

/** A file's or a directory's hash, and when it was last changed. */
interface Snapshot {
  readonly hash: string;
  readonly modifiedMs: number;
}

/**
 * The hash, then the modification time: stat'ed after the read, so that a change the hash saw
 * is in the time too. A file gone meanwhile counts as changed now.
 */
function snapshot(
  projectRoot: string,
  projectPath: string,
  hashOf: (projectRoot: string, projectPath: string) => string | undefined,
): Snapshot | undefined {
  const hash = hashOf(projectRoot, projectPath);
  if (hash === undefined) return undefined;
  const stats = statSync(path.join(projectRoot, projectPath), { throwIfNoEntry: false });
  return { hash, modifiedMs: stats?.mtimeMs ?? Infinity };
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

interface Build {
  readonly bundle: CachedBundle;
  /**
   * Whether the recorded inputs are what esbuild read: false when one of them changed since the
   * build started (saved during it: cdk watch synthesizes on save), as its hash may be of the
   * new content while the bundle holds the old.
   */
  readonly inputsSettled: boolean;
}

function build(buildOptions: HandlerBuildOptions, projectRoot: string): Build {
  // A change saved from here on is stamped later than this, however coarse the stamps.
  const changesMissedFromMs = Date.now() - FILE_TIME_SLACK_MS;
  const result = buildSync(buildOptions);
  const inputs: Record<string, string> = {};
  const directories: Record<string, string> = {};
  const snapshots: Snapshot[] = [];
  for (const input of [...Object.keys(result.metafile.inputs), ...BUILD_CONFIG_FILES]) {
    const file = snapshot(projectRoot, input, fileHash);
    if (file === undefined) continue;
    inputs[input] = file.hash;
    snapshots.push(file);
    const dir = path.dirname(input);
    if (!input.split('/').includes('node_modules') && !(dir in directories)) {
      const listing = snapshot(projectRoot, dir, listingHash);
      directories[dir] = listing?.hash ?? '';
      if (listing !== undefined) snapshots.push(listing);
    }
  }
  const files: Record<string, string> = {};
  for (const output of result.outputFiles) {
    const name = path.relative(path.dirname(buildOptions.outfile), output.path);
    files[name] = Buffer.from(output.contents).toString('base64');
  }
  return {
    bundle: { esbuildVersion, inputs, directories, files },
    inputsSettled: snapshots.every(({ modifiedMs }) => modifiedMs < changesMissedFromMs),
  };
}

/**
 * Write the bundle of a handler into `outputDir`: esbuild in this process, as NodejsFunction
 * would run it (the output is byte for byte the same), or the cached bundle when none of its
 * inputs and none of the settings changed. Says which.
 */
export function bundleHandler(
  settings: HandlerBuildSettings,
  outputDir: string,
  { projectRoot, cacheDir }: BundleSources = PROJECT_SOURCES,
): 'built' | 'reused' {
  // The key is taken from the options esbuild runs with, so that the two cannot drift apart.
  const buildOptions = buildOptionsFor(settings, projectRoot);
  const entry = new CacheEntry<CachedBundle>(CACHE_KIND, cacheIdentity(buildOptions), cacheDir);
  const cached = entry.read(isCachedBundle);
  if (cached !== undefined && isCurrent(cached, projectRoot)) {
    writeFiles(cached, outputDir);
    return 'reused';
  }
  const { bundle, inputsSettled } = build(buildOptions, projectRoot);
  writeFiles(bundle, outputDir);
  // An unsettled build is right for this synth, but not proven to match its recorded inputs.
  if (inputsSettled) entry.write(bundle);
  return 'built';
}

function writeFiles(bundle: CachedBundle, outputDir: string): void {
  for (const [name, content] of Object.entries(bundle.files)) {
    writeFileSync(path.join(outputDir, name), Buffer.from(content, 'base64'));
  }
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
    if (bundleHandler(handlerBuildSettings(this.options), outputDir) === 'reused') {
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
