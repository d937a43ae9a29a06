import { execFileSync } from 'child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'fs';
import { builtinModules } from 'module';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, type CfnElement, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { HandlerFunction } from '../../lib/handler-function';

/**
 * The package as another CDK app gets it: `npm pack` (whose prepack compiles lib/ and bundles
 * the handlers), the tarball installed into an app of its own outside this project, and that
 * app synthesized by plain Node.js. Slow: the pack compiles and bundles everything once.
 */

const PROJECT_ROOT = path.join(__dirname, '..', '..');
const PACKAGE_NAME = 'rds-airbyte-cdc';
/** npm pack runs tsc over lib/ and src/ and esbuild over every handler: minutes on 2 busy cores. */
const PACK_TIMEOUT_MS = 8 * 60_000;
/** One synth or compile of the foreign app. */
const APP_TIMEOUT_MS = 3 * 60_000;

/** The handlers the package must bring bundles of: each directory of lambda/ with an index.ts. */
const HANDLER_DIRECTORIES = readdirSync(path.join(PROJECT_ROOT, 'lambda')).filter((name) =>
  existsSync(path.join(PROJECT_ROOT, 'lambda', name, 'index.ts')),
);

interface PackageJson {
  readonly main?: string;
  readonly types?: string;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

interface CfnResource {
  readonly Type: string;
  readonly Properties: Record<string, unknown> & {
    readonly Code?: { readonly S3Key?: unknown };
    readonly Description?: string;
  };
}

/** This process's environment without what would let the app load modules from elsewhere. */
function isolatedEnvironment(): NodeJS.ProcessEnv {
  const { NODE_PATH: _path, NODE_OPTIONS: _options, ...environment } = process.env;
  return environment;
}

function run(command: string, args: string[], cwd: string, timeout: number): string {
  try {
    return execFileSync(command, args, {
      cwd,
      env: isolatedEnvironment(),
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout,
    });
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`, {
      cause: error,
    });
  }
}

/** Link a package of this project's node_modules into the app's, as npm would install it. */
function linkFromProject(appDir: string, name: string): void {
  const target = path.join(appDir, 'node_modules', name);
  mkdirSync(path.dirname(target), { recursive: true });
  symlinkSync(path.join(PROJECT_ROOT, 'node_modules', name), target, 'dir');
}

const scratch = mkdtempSync(path.join(tmpdir(), 'npm-pack-test-'));
const appDir = path.join(scratch, 'app');
const installedDir = path.join(appDir, 'node_modules', PACKAGE_NAME);
let tarballEntries: string[] = [];
let installedPackage: PackageJson = {};

beforeAll(() => {
  // Scripts on even where npm is told to skip them: prepack is what builds the package.
  run(
    'npm',
    ['pack', '--ignore-scripts=false', '--pack-destination', scratch],
    PROJECT_ROOT,
    PACK_TIMEOUT_MS,
  );
  const tarballs = readdirSync(scratch).filter((file) => file.endsWith('.tgz'));
  expect(tarballs).toHaveLength(1);
  const tarball = path.join(scratch, tarballs[0]);
  tarballEntries = run('tar', ['-tzf', tarball], scratch, APP_TIMEOUT_MS)
    .split('\n')
    .filter(Boolean);

  // What `npm install <tarball>` makes of it, without a registry or npm's cache: the tarball
  // unpacked as the app's dependency, and each package it declares (dependencies and peers)
  // linked from this project's node_modules, the app's own aws-cdk-lib and constructs among
  // them. Nothing else is on the app's module path: a package the built code loads without
  // declaring it (esbuild, say) fails the synth.
  mkdirSync(installedDir, { recursive: true });
  run(
    'tar',
    ['-xzf', tarball, '--strip-components=1', '--no-same-owner', '-C', installedDir],
    scratch,
    APP_TIMEOUT_MS,
  );
  writeFileSync(
    path.join(appDir, 'package.json'),
    JSON.stringify({
      name: 'foreign-app',
      private: true,
      dependencies: { [PACKAGE_NAME]: `file:../${tarballs[0]}` },
    }),
  );
  installedPackage = JSON.parse(readFileSync(path.join(installedDir, 'package.json'), 'utf8'));
  for (const name of Object.keys({
    ...installedPackage.dependencies,
    ...installedPackage.peerDependencies,
  })) {
    linkFromProject(appDir, name);
  }
}, PACK_TIMEOUT_MS);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the packed package', () => {
  it('holds the compiled constructs with their declarations and a bundle of every handler', () => {
    expect(tarballEntries).toEqual(
      expect.arrayContaining([
        'package/package.json',
        `package/${installedPackage.main}`,
        `package/${installedPackage.types}`,
        ...HANDLER_DIRECTORIES.map((handler) => `package/dist/lambda-bundles/${handler}/index.js`),
      ]),
    );
    expect(HANDLER_DIRECTORIES).toContain('replication-setup');
  });

  it('holds no TypeScript sources, tests or build leftovers', () => {
    const sources = tarballEntries.filter(
      (entry) =>
        (entry.endsWith('.ts') && !entry.endsWith('.d.ts')) ||
        /^package\/(lib|src|lambda|test|bin|cli|node_modules)\//.test(entry),
    );
    expect(sources).toEqual([]);
  });

  it('asks the app for aws-cdk-lib and constructs instead of bringing its own', () => {
    expect(Object.keys(installedPackage.peerDependencies ?? {}).sort()).toEqual([
      'aws-cdk-lib',
      'constructs',
    ]);
    expect(installedPackage.dependencies).not.toHaveProperty('aws-cdk-lib');
    expect(installedPackage.dependencies).not.toHaveProperty('constructs');
    expect(installedPackage.dependencies).not.toHaveProperty('esbuild');
  });

  it('declares every package its type declarations refer to', () => {
    const declared = new Set([
      ...Object.keys(installedPackage.dependencies ?? {}),
      ...Object.keys(installedPackage.peerDependencies ?? {}),
      ...builtinModules,
    ]);
    const undeclared = [
      ...packagesReferencedFrom(path.join(installedDir, installedPackage.types ?? '')),
    ].filter((name) => !declared.has(name));
    expect(undeclared).toEqual([]);
  });
});

describe('a plain Node.js app that installed the package', () => {
  const outdir = path.join(scratch, 'cluster-app.out');
  let resources: Record<string, CfnResource> = {};

  beforeAll(() => {
    copyFileSync(path.join(__dirname, 'cluster-app.js'), path.join(appDir, 'cluster-app.js'));
    run(process.execPath, ['cluster-app.js', outdir], appDir, APP_TIMEOUT_MS);
    resources = JSON.parse(
      readFileSync(path.join(outdir, 'ClusterApp.template.json'), 'utf8'),
    ).Resources;
  }, APP_TIMEOUT_MS);

  it('synthesizes the replication setup on its own Aurora cluster', () => {
    const setups = Object.values(resources).filter(
      ({ Type }) => Type === 'Custom::ReplicationSetup',
    );
    expect(setups).toHaveLength(1);
    const [clusterId] =
      Object.entries(resources).find(([, { Type }]) => Type === 'AWS::RDS::DBCluster') ?? [];
    expect(setups[0].Properties).toMatchObject({
      DbClusterIdentifier: { Ref: clusterId },
      Host: { 'Fn::GetAtt': [clusterId, 'Endpoint.Address'] },
    });
  });

  it("stages the package's prebuilt bundle: the asset a synth in this project builds", () => {
    const setupFunction = Object.values(resources).find(
      ({ Type, Properties }) =>
        Type === 'AWS::Lambda::Function' &&
        Properties.Description === REPLICATION_SETUP_DESCRIPTION,
    );
    const s3Key = setupFunction?.Properties.Code?.S3Key;
    expect(s3Key).toEqual(expect.stringMatching(/^[0-9a-f]{64}\.zip$/));
    const staged = path.join(outdir, `asset.${String(s3Key).replace(/\.zip$/, '')}`, 'index.js');
    expect(readFileSync(staged)).toEqual(
      readFileSync(
        path.join(installedDir, 'dist', 'lambda-bundles', 'replication-setup', 'index.js'),
      ),
    );
    expect(s3Key).toBe(sourceBundleKey('replication-setup'));
  });
});

describe("the README's example in a TypeScript app that installed the package", () => {
  it(
    'compiles against the package and synthesizes',
    () => {
      const example = readFileSync(path.join(__dirname, 'readme-example.ts'), 'utf8');
      const fromPackage = example.replace(/from '\.\.\/\.\.\/lib';/, `from '${PACKAGE_NAME}';`);
      expect(fromPackage).not.toBe(example);
      writeFileSync(path.join(appDir, 'orders-stack.ts'), fromPackage);
      // The compiler set up as `cdk init app --language typescript` does, emitting JavaScript.
      writeFileSync(
        path.join(appDir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            target: 'ES2022',
            module: 'NodeNext',
            moduleResolution: 'NodeNext',
            lib: ['es2022'],
            strict: true,
            noImplicitReturns: true,
            isolatedModules: true,
            skipLibCheck: true,
            typeRoots: ['./node_modules/@types'],
            types: ['node'],
            outDir: 'out',
          },
          files: ['orders-stack.ts'],
        }),
      );
      linkFromProject(appDir, '@types/node');
      run(
        process.execPath,
        [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.json'],
        appDir,
        APP_TIMEOUT_MS,
      );
      const outdir = path.join(scratch, 'orders.out');
      run(
        process.execPath,
        [
          '-e',
          `const { App } = require('aws-cdk-lib');
         const { OrdersStack } = require('./out/orders-stack.js');
         const app = new App({ outdir: process.argv[1] });
         new OrdersStack(app, 'Orders');
         app.synth();`,
          outdir,
        ],
        appDir,
        APP_TIMEOUT_MS,
      );
      const template = Template.fromJSON(
        JSON.parse(readFileSync(path.join(outdir, 'Orders.template.json'), 'utf8')),
      );
      template.resourceCountIs('Custom::ReplicationSetup', 1);
      template.resourceCountIs('AWS::RDS::DBInstance', 1);
    },
    2 * APP_TIMEOUT_MS,
  );
});

/** ReplicationSetup's function, by its description in the template. */
const REPLICATION_SETUP_DESCRIPTION = 'Runs the replication setup SQL for Airbyte CDC';

/** The S3 key of a handler's code as a synth of this project's sources stages it (esbuild). */
function sourceBundleKey(handlerDirectory: string): unknown {
  const app = new App({
    outdir: path.join(scratch, 'source.out'),
    builtinCloudFormationValidation: false,
  });
  const stack = new Stack(app, 'Source');
  const fn = new HandlerFunction(stack, 'Handler', {
    handlerDirectory,
    description: 'reference',
    timeout: Duration.minutes(1),
  });
  const resource =
    Template.fromStack(stack).toJSON().Resources[
      stack.getLogicalId(fn.node.defaultChild as CfnElement)
    ];
  return resource.Properties.Code.S3Key;
}

/**
 * The packages (by name) the declaration files reachable from `entry` import: what an app's
 * compiler must find to type-check code that uses the package.
 */
function packagesReferencedFrom(entry: string): Set<string> {
  const packages = new Set<string>();
  const visited = new Set<string>();
  const visit = (file: string) => {
    if (visited.has(file)) return;
    visited.add(file);
    for (const [, specifier] of readFileSync(file, 'utf8').matchAll(
      /(?:from|import\()\s*'([^']+)'/g,
    )) {
      if (!specifier.startsWith('.')) {
        const [scopeOrName, name] = specifier.split('/');
        packages.add(scopeOrName.startsWith('@') ? `${scopeOrName}/${name}` : scopeOrName);
        continue;
      }
      const base = path.resolve(path.dirname(file), specifier);
      const declaration = [`${base}.d.ts`, path.join(base, 'index.d.ts')].find((candidate) =>
        existsSync(candidate),
      );
      if (declaration === undefined)
        throw new Error(`${file} imports ${specifier}, which the package does not hold`);
      visit(declaration);
    }
  };
  visit(entry);
  return packages;
}
