/**
 * What `npm pack` puts into the package beside package.json and the README (its prepack script
 * runs this; postpack runs it with `--clean`): lib/index.ts and what it imports compiled to
 * JavaScript with declarations (tsconfig.build.json), and every Lambda handler bundled, as an
 * app that installs the package has neither esbuild nor the handlers' TypeScript. HandlerFunction
 * takes these bundles when they are there (PREBUILT_BUNDLES_DIR); they are what a synth in this
 * project would bundle, byte for byte, so an app gets the same assets.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'fs';
import * as path from 'path';
import { handlerBundleOptions, PREBUILT_BUNDLES_DIR } from '../lib/handler-function';
import { bundleHandler, handlerBuildSettings } from '../lib/lambda-bundle';

const PROJECT_ROOT = path.join(__dirname, '..');
const BUILD_TSCONFIG = path.join(PROJECT_ROOT, 'tsconfig.build.json');

/** The build's output directory: tsconfig.build.json's `outDir`, which `files` packs. */
function outputDir(): string {
  const tsconfig = JSON.parse(readFileSync(BUILD_TSCONFIG, 'utf8')) as {
    compilerOptions: { outDir: string };
  };
  return path.join(PROJECT_ROOT, tsconfig.compilerOptions.outDir);
}

/** The handlers: each directory of lambda/ with an index.ts. */
function handlerDirectories(): string[] {
  const lambdaRoot = path.join(PROJECT_ROOT, 'lambda');
  return readdirSync(lambdaRoot, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .filter((name) => existsSync(path.join(lambdaRoot, name, 'index.ts')))
    .sort();
}

function build(outDir: string): void {
  rmSync(outDir, { recursive: true, force: true });
  execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', BUILD_TSCONFIG], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
  });
  // The compiled handler-function.js sits in outDir as lib/ sits in the project, so its
  // PREBUILT_BUNDLES_DIR is this directory.
  const bundlesDir = path.join(outDir, path.relative(PROJECT_ROOT, PREBUILT_BUNDLES_DIR));
  for (const handlerDirectory of handlerDirectories()) {
    const handlerOutDir = path.join(bundlesDir, handlerDirectory);
    mkdirSync(handlerOutDir, { recursive: true });
    bundleHandler(handlerBuildSettings(handlerBundleOptions(handlerDirectory)), handlerOutDir);
    process.stderr.write(`  bundled lambda/${handlerDirectory}\n`);
  }
}

const outDir = outputDir();
if (process.argv.includes('--clean')) {
  // The build output stays out of the source tree: lint, format and git never see it.
  rmSync(outDir, { recursive: true, force: true });
} else {
  build(outDir);
}
