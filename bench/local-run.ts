/**
 * Wall-clock time of the whole `npm run local` (npm, node start-up, initdb, setup, stream, stop),
 * as a user runs it: `npx tsx bench/local-run.ts [runs]` (default 5). Prints each run, then
 * min/median/max and the load average, since other work on the machine skews the figures.
 */
import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { cpus, loadavg, tmpdir } from 'os';
import * as path from 'path';

const runs = Number(process.argv[2] ?? 5);
const dir = mkdtempSync(path.join(tmpdir(), 'bench-local-'));
const seconds: number[] = [];
try {
  for (let run = 1; run <= runs; run++) {
    const started = process.hrtime.bigint();
    const result = spawnSync(
      'npm',
      ['run', '-s', 'local', '--', '--changes-file', path.join(dir, 'changes.jsonl')],
      { cwd: path.join(__dirname, '..'), encoding: 'utf8' },
    );
    const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
    if (result.status !== 0) {
      throw new Error(`run ${run} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
    }
    seconds.push(elapsed);
    console.log(`run ${run}: ${elapsed.toFixed(2)} s`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const sorted = [...seconds].sort((a, b) => a - b);
console.log(
  `npm run local, ${runs} runs on ${cpus().length} CPUs: min ${sorted[0].toFixed(2)} s, median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} s, max ${sorted[sorted.length - 1].toFixed(2)} s (load average ${loadavg()
    .map((load) => load.toFixed(1))
    .join(' ')})`,
);
