import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { HandlerFunction } from '../../lib/handler-function';
import {
  bundleHandler,
  type BundleSources,
  handlerBuildSettings,
  type HandlerBuildSettings,
  type LambdaBundleOptions,
} from '../../lib/lambda-bundle';

/** The S3 keys of the functions' code, by logical id. */
function codeKeys(stack: Stack): Record<string, string> {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  return Object.fromEntries(
    Object.entries(functions).map(([id, resource]) => [
      id,
      (resource as { Properties: { Code: { S3Key: string } } }).Properties.Code.S3Key,
    ]),
  );
}

describe('HandlerFunction bundling', () => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'lambda-bundle-test-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('stages the asset NodejsFunction would, byte for byte, and one per handler', () => {
    const app = new App({ outdir });
    const stack = new Stack(app, 'Bundles');
    const props = { description: 'test', timeout: Duration.minutes(1) };
    new HandlerFunction(stack, 'Replication', { ...props, handlerDirectory: 'replication-setup' });
    new HandlerFunction(stack, 'Airbyte', { ...props, handlerDirectory: 'airbyte-setup' });
    // What HandlerFunction passed to NodejsFunction before it bundled on its own.
    new NodejsFunction(stack, 'Reference', {
      entry: path.join(__dirname, '..', '..', 'lambda', 'replication-setup', 'index.ts'),
      handler: 'onEvent',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      bundling: {
        minify: true,
        sourceMap: false,
        target: 'node24',
        externalModules: ['pg-native', '@aws-sdk/*'],
      },
    });
    const keys = Object.entries(codeKeys(stack));
    const key = (prefix: string) => keys.find(([id]) => id.startsWith(prefix))?.[1];
    expect(key('Replication')).toBe(key('Reference'));
    expect(key('Airbyte')).toMatch(/\.zip$/);
    expect(key('Airbyte')).not.toBe(key('Replication'));
  });
});

describe('bundleHandler', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'lambda-bundle-cache-test-'));
  const projectRoot = path.join(scratch, 'project');
  const sources: BundleSources = { projectRoot, cacheDir: path.join(scratch, 'cache') };
  const options: LambdaBundleOptions = {
    entry: 'lambda/handler/index.ts',
    target: 'node24',
    externals: [],
    minify: true,
  };
  const settings = handlerBuildSettings(options);
  // A build is cached only when no input changed since it started (one saved during the build
  // may be hashed with its new content): the files are dated well before, as if saved earlier.
  const savedEarlier = new Date('2024-01-01T00:00:00Z');
  /** Date the file or directory, and the directories above it in the project, `when`. */
  const dateFrom = (projectPath: string, when: Date) => {
    for (let location = path.join(projectRoot, projectPath); ; location = path.dirname(location)) {
      utimesSync(location, when, when);
      if (location === projectRoot) return;
    }
  };
  const write = (file: string, content: string) => {
    mkdirSync(path.dirname(path.join(projectRoot, file)), { recursive: true });
    writeFileSync(path.join(projectRoot, file), content);
    dateFrom(file, savedEarlier);
  };
  let runs = 0;
  /** Bundle into a fresh directory: how the bundle was made, and what it holds. */
  const bundle = (buildSettings: HandlerBuildSettings = settings) => {
    const outputDir = path.join(scratch, `out-${++runs}`);
    mkdirSync(outputDir);
    const how = bundleHandler(buildSettings, outputDir, sources);
    return { how, code: readFileSync(path.join(outputDir, 'index.js'), 'utf8') };
  };

  beforeAll(() => {
    write(options.entry, "import { value } from './value';\nexport const onEvent = () => value;\n");
    write('lambda/handler/value.ts', "export const value = 'first';\n");
    write('tsconfig.json', '{}\n');
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('reuses the bundle while no input changed, and rebuilds when one did', () => {
    const first = bundle();
    expect(first).toEqual({ how: 'built', code: expect.stringContaining('"first"') });
    expect(bundle()).toEqual({ how: 'reused', code: first.code });

    write('lambda/handler/value.ts', "export const value = 'second';\n");
    expect(bundle()).toEqual({ how: 'built', code: expect.stringContaining('"second"') });
    expect(bundle().how).toBe('reused');
  });

  it('rebuilds when a new file changes what an import resolves to', () => {
    bundle();
    // esbuild tries .tsx before .ts: `./value` is now this file, though no input changed.
    write('lambda/handler/value.tsx', "export const value = 'shadowing';\n");
    expect(bundle()).toEqual({ how: 'built', code: expect.stringContaining('"shadowing"') });
  });

  it('rebuilds when the build configuration or the options change', () => {
    bundle();
    write('tsconfig.json', '{ "compilerOptions": {} }\n');
    expect(bundle().how).toBe('built');
    const readable = bundle(handlerBuildSettings({ ...options, minify: false }));
    expect(readable.how).toBe('built');
    expect(readable.code).toContain('onEvent');
    expect(bundle().how).toBe('reused');
  });

  it('rebuilds when a setting bundleHandler itself gives esbuild changes', () => {
    bundle();
    const bannered = bundle({ ...settings, banner: { js: '// bannered' } });
    expect(bannered).toEqual({ how: 'built', code: expect.stringMatching(/^\/\/ bannered\n/) });
    const esm = bundle({ ...settings, format: 'esm' });
    expect(esm.how).toBe('built');
    expect(esm.code).toMatch(/\bexport\s*{/);
    expect(bundle().how).toBe('reused');
  });

  it.each([
    ['an input', options.entry],
    ['the directory of an input', 'lambda/handler'],
  ])('does not cache a build when %s changed while it ran', (what, changed) => {
    const value = `${what} saved during the build`;
    write(options.entry, `export const onEvent = () => '${value}';\n`);
    // What a save while esbuild runs leaves: a time after the build started.
    dateFrom(changed, new Date(Date.now() + 60_000));
    expect(bundle()).toEqual({ how: 'built', code: expect.stringContaining(value) });
    expect(bundle().how).toBe('built');

    dateFrom(changed, savedEarlier);
    expect(bundle().how).toBe('built');
    expect(bundle().how).toBe('reused');
  });

  it('rebuilds over a cache entry of another format, without failing', () => {
    bundle();
    const entries = readdirSync(sources.cacheDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.json'))
      .map((file) => path.join(sources.cacheDir, file));
    expect(entries).not.toHaveLength(0);
    for (const file of entries) {
      // What an entry written by a revision of the code without the field looks like.
      const entry = JSON.parse(readFileSync(file, 'utf8'));
      delete entry.directories;
      writeFileSync(file, JSON.stringify(entry));
    }
    expect(bundle().how).toBe('built');
    expect(bundle().how).toBe('reused');
  });
});
