/**
 * Wall-clock time of the whole `npm run local` (npm, node start-up, initdb, setup, stream, stop),
 * as a user runs it. Prints each run, then min/median/max and the load the machine was under,
 * since other work on it skews the figures.
 *
 *   npx tsx bench/local-run.ts [--runs <n>]
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { processIo, runMain } from '../cli/support';
import { machineLoad, median } from './figures';
import { parseRunsArgument } from './runs-argument';

const PROJECT_ROOT = path.join(__dirname, '..');
const DEFAULT_RUNS = 5;

const USAGE = `Usage: npx tsx bench/local-run.ts [--runs <n>]

  --runs <n>   runs of npm run local, 1 to 50 (default ${DEFAULT_RUNS})`;

/** Seconds each `npm run local` took, printing each; throws, with its output, if one fails. */
function timeRuns(runs: number, print: (line: string) => void): number[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-local-'));
  const seconds: number[] = [];
  try {
    for (let run = 1; run <= runs; run++) {
      const started = process.hrtime.bigint();
      const result = spawnSync(
        'npm',
        ['run', '-s', 'local', '--', '--changes-file', path.join(dir, 'changes.jsonl')],
        { cwd: PROJECT_ROOT, encoding: 'utf8' },
      );
      const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
      if (result.error) throw new Error(`run ${run} could not start npm: ${result.error.message}`);
      if (result.status !== 0) {
        throw new Error(
          `run ${run} of npm run local failed (exit ${result.status}):\n${result.stdout}${result.stderr}`,
        );
      }
      seconds.push(elapsed);
      print(`run ${run}: ${elapsed.toFixed(2)} s`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return seconds;
}

async function main(argv: string[]): Promise<number> {
  const parsed = parseRunsArgument(argv, USAGE, DEFAULT_RUNS);
  if ('exitCode' in parsed) return parsed.exitCode;
  const { runs } = parsed;
  const print = processIo.stdout;
  let seconds: number[];
  try {
    seconds = timeRuns(runs, print);
  } catch (error) {
    processIo.stderr(error instanceof Error ? error.message : String(error));
    return 1;
  }
  const figure = (value: number) => `${value.toFixed(2)} s`;
  print(
    `npm run local, ${runs} runs: min ${figure(Math.min(...seconds))}, median ${figure(median(seconds))}, max ${figure(Math.max(...seconds))} (${machineLoad()})`,
  );
  return 0;
}

runMain(() => main(process.argv.slice(2)));
