/**
 * npm run bench:synth: the CPU time of the inner loop's slow commands against their targets.
 *  - `cdk synth` of all environments: at most 1.3 times bench/bare-app.ts (a VPC, the parameter
 *    group and the instance per environment), run by the same cdk.json `app` command.
 *  - `npm run diff` of one environment against HEAD: at most 2 times one `cdk synth` of it.
 * Each command runs with the synth cache (src/synth-cache.ts) empty ("cold": the first synth
 * after a change) and filled ("warm": nothing changed since the last one). CPU time is user +
 * system of the command and every process it waited for, read from /proc (Linux): unlike wall
 * time it hardly depends on what else the machine runs. Commands take turns, run by run, so
 * that a change of load weighs on all of them alike; the figures are medians.
 *
 *   npm run bench:synth [-- --runs <n>]
 */
import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { performance } from 'perf_hooks';
import { processIo, runMain } from '../cli/support';
import { SYNTH_CACHE_DIR_ENV } from '../src/synth-cache';
import { machineLoad, median } from './figures';
import { parseRunsArgument } from './runs-argument';

const PROJECT_ROOT = path.join(__dirname, '..');
const DEFAULT_RUNS = 5;
/** The environment of the one-environment synth and of the diff. */
const ONE_ENVIRONMENT = 'dev';

const USAGE = `Usage: npm run bench:synth [-- --runs <n>]

  --runs <n>   runs of each command, 1 to 50 (default ${DEFAULT_RUNS}); the figures are medians`;

/** CPU seconds of this process's finished (waited-for) children and theirs. */
function childrenCpuSeconds(): number {
  const stat = '/proc/self/stat';
  if (!existsSync(stat)) {
    throw new Error(
      `bench:synth reads the CPU time of finished child processes from ${stat}, which only Linux has.`,
    );
  }
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(stat, 'utf8').split(') ')[1].split(' ');
  // cutime and cstime: fields 16 and 17 of proc(5), 14 and 15 after the name.
  return (Number(fields[13]) + Number(fields[14])) / clockTicksPerSecond;
}

const clockTicksPerSecond = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));

interface Measurement {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
}

/** One command, its output discarded; its error output is shown if it fails. */
function measure(command: readonly string[], env: NodeJS.ProcessEnv): Measurement {
  const cpuBefore = childrenCpuSeconds();
  const started = performance.now();
  const result = spawnSync(command[0], command.slice(1), {
    cwd: PROJECT_ROOT,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const wallSeconds = (performance.now() - started) / 1000;
  if (result.status !== 0) {
    const tail = result.stderr.toString('utf8').trimEnd().split('\n').slice(-20).join('\n');
    throw new Error(`${command.join(' ')} failed (exit ${result.status}):\n${tail}`);
  }
  return { cpuSeconds: childrenCpuSeconds() - cpuBefore, wallSeconds };
}

/**
 * Whether a scenario starts each run with an empty synth cache or with a filled one (tsx's
 * transpile cache is left filled: it is no part of this project). The bare app has none.
 */
type CacheState = 'cold' | 'warm' | 'none';

interface Scenario {
  readonly name: string;
  readonly command: readonly string[];
  readonly cache: CacheState;
}

/** cdk.json's `app` command with bench/bare-app.ts in place of bin/app.ts. */
function bareAppCommand(): string {
  const cdkJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    app: string;
  };
  if (!cdkJson.app.includes('bin/app.ts')) {
    throw new Error(`cdk.json's app command "${cdkJson.app}" does not name bin/app.ts`);
  }
  return cdkJson.app.replace('bin/app.ts', 'bench/bare-app.ts');
}

/** package.json's `diff` script, run without npm (whose own start-up is not the diff's). */
function diffScriptCommand(): string[] {
  const packageJson = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return packageJson.scripts.diff.split(' ');
}

function scenarios(scratch: string): Scenario[] {
  const cdk = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
  // Into the scratch directory, not the project's cdk.out; no notices fetched from the network.
  const synth = (...args: string[]) => [cdk, 'synth', '--quiet', '--no-notices', ...args];
  const out = (name: string) => ['--output', path.join(scratch, name)];
  const diff = [
    ...diffScriptCommand(),
    ...['--base', 'HEAD', '--env', ONE_ENVIRONMENT, '--out', path.join(scratch, 'diff')],
  ];
  const oneEnvironment = ['-c', `env=${ONE_ENVIRONMENT}`];
  return [
    {
      name: 'bare app, all environments',
      command: synth(...out('bare'), '--app', bareAppCommand()),
      cache: 'none',
    },
    { name: 'cdk synth, all environments', command: synth(...out('all')), cache: 'cold' },
    { name: 'cdk synth, all environments', command: synth(...out('all')), cache: 'warm' },
    {
      name: `cdk synth -c env=${ONE_ENVIRONMENT}`,
      command: synth(...out('one'), ...oneEnvironment),
      cache: 'cold',
    },
    {
      name: `cdk synth -c env=${ONE_ENVIRONMENT}`,
      command: synth(...out('one'), ...oneEnvironment),
      cache: 'warm',
    },
    { name: `npm run diff --env ${ONE_ENVIRONMENT} --base HEAD`, command: diff, cache: 'cold' },
    { name: `npm run diff --env ${ONE_ENVIRONMENT} --base HEAD`, command: diff, cache: 'warm' },
  ];
}

interface Figures {
  readonly scenario: Scenario;
  readonly cpu: number;
  readonly wall: number;
  readonly runs: readonly number[];
}

function runScenarios(runs: number, log: (line: string) => void): Figures[] {
  const scratch = mkdtempSync(path.join(tmpdir(), 'bench-synth-'));
  const warmCache = path.join(scratch, 'warm-cache');
  try {
    const all = scenarios(scratch);
    const envFor = (cache: CacheState): NodeJS.ProcessEnv => {
      const cacheDir = cache === 'warm' ? warmCache : path.join(scratch, 'cold-cache');
      if (cache === 'cold') rmSync(cacheDir, { recursive: true, force: true });
      return { ...process.env, [SYNTH_CACHE_DIR_ENV]: cacheDir, CDK_DISABLE_CLI_TELEMETRY: 'true' };
    };
    // Fills the warm cache (and tsx's own) before anything is measured.
    for (const scenario of all) measure(scenario.command, envFor('warm'));
    const measured = all.map(() => [] as Measurement[]);
    for (let run = 1; run <= runs; run++) {
      log(`run ${run} of ${runs} (${machineLoad()})`);
      all.forEach((scenario, index) =>
        measured[index].push(measure(scenario.command, envFor(scenario.cache))),
      );
    }
    return all.map((scenario, index) => ({
      scenario,
      cpu: median(measured[index].map((m) => m.cpuSeconds)),
      wall: median(measured[index].map((m) => m.wallSeconds)),
      runs: measured[index].map((m) => m.cpuSeconds),
    }));
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const seconds = (value: number) => `${value.toFixed(2)} s`;

function report(figures: readonly Figures[], print: (line: string) => void): void {
  const label = (f: Figures) =>
    f.scenario.cache === 'none'
      ? f.scenario.name
      : `${f.scenario.name} (cache ${f.scenario.cache})`;
  const width = Math.max(...figures.map((f) => label(f).length));
  print(`${'command'.padEnd(width)} | CPU median | wall median | CPU of each run`);
  for (const f of figures) {
    print(
      `${label(f).padEnd(width)} | ${seconds(f.cpu).padStart(10)} | ${seconds(f.wall).padStart(11)} | ${f.runs.map((cpu) => cpu.toFixed(2)).join(' ')}`,
    );
  }
  const find = (name: string, cache: CacheState): Figures => {
    const found = figures.find(
      (f) => f.scenario.name.startsWith(name) && f.scenario.cache === cache,
    );
    if (!found) throw new Error(`no figures for "${name}" with the cache ${cache}`);
    return found;
  };
  const bare = find('bare app', 'none');
  const target = (what: string, ratio: number, limit: number) =>
    print(
      `${what}: ${ratio.toFixed(2)}x (target <= ${limit}x) ${ratio <= limit ? 'met' : 'NOT met'}`,
    );
  print('');
  for (const cache of ['cold', 'warm'] as const) {
    target(
      `synth of all environments / bare app, cache ${cache}`,
      find('cdk synth, all', cache).cpu / bare.cpu,
      1.3,
    );
  }
  for (const cache of ['cold', 'warm'] as const) {
    target(
      `diff of ${ONE_ENVIRONMENT} / one synth of ${ONE_ENVIRONMENT}, cache ${cache}`,
      find('npm run diff', cache).cpu / find('cdk synth -c', cache).cpu,
      2,
    );
  }
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseRunsArgument(argv, USAGE, DEFAULT_RUNS);
  if ('exitCode' in parsed) return parsed.exitCode;
  const print = processIo.stdout;
  print(`Before: ${machineLoad()}`);
  // The flags of cdk.json's app command (V8's, for the validator's WebAssembly) weigh on both
  // apps alike: shown so that a figure is read with the command that produced it.
  print(`Both apps run as: ${bareAppCommand().replace('bench/bare-app.ts', '<app>')}`);
  try {
    report(runScenarios(parsed.runs, processIo.stderr), print);
  } catch (error) {
    processIo.stderr(error instanceof Error ? error.message : String(error));
    return 1;
  }
  print(`After: ${machineLoad()}`);
  return 0;
}

runMain(() => main(process.argv.slice(2)));
