/**
 * Synth diff for pull requests: what deploying this tree would change, per environment, against
 * a base (git ref, project directory or cdk.out), as Markdown. No AWS credentials involved.
 *
 *   npm run diff -- --base <git-ref|dir> [--head <dir>] [--env <name>] [--out <dir>] [--fail-on-destructive]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { SELECTED_ENVIRONMENT_CONTEXT_KEY } from '../src/config';
import { diffStacks, isDestructive } from '../src/diff/analyze';
import { readStacks } from '../src/diff/assembly';
import { renderReport, renderStackDiff } from '../src/diff/markdown';
import { assemble } from '../src/diff/synthesize';

/** Exit code when --fail-on-destructive is given and a destructive change is found. */
const EXIT_DESTRUCTIVE = 2;
/** GitHub refuses comments longer than 65536 characters. */
const MAX_COMMENT_LENGTH = 60000;

const USAGE = `Usage: npm run diff -- --base <git-ref|dir> [options]

  --base <ref|dir>        what to compare against: a git ref (origin/main, HEAD~1), a project
                          directory (cdk.json) or a synthesized cdk.out directory
  --head <dir>            the new side (default: this project's working tree)
  --env <name>            only this environment (cdk.json context "env")
  --out <dir>             where the Markdown goes (default: cdk.out/diff): report.md, comment.md
                          (cut to fit a GitHub comment) and one <stack>.md per environment
  --fail-on-destructive   exit ${EXIT_DESTRUCTIVE} when a change replaces or deletes the database instance,
                          its parameter group or the replication setup`;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      env: { type: 'string' },
      out: { type: 'string' },
      'fail-on-destructive': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.base) {
    console.error(`--base is required.\n\n${USAGE}`);
    return 1;
  }
  const projectDir = process.cwd();
  const outDir = path.resolve(values.out ?? path.join('cdk.out', 'diff'));
  const context = values.env ? { [SELECTED_ENVIRONMENT_CONTEXT_KEY]: values.env } : {};
  const scratch = mkdtempSync(path.join(tmpdir(), 'cdk-diff-'));
  // Ctrl-C exits through the worktree's signal handler, skipping `finally`; 'exit' still runs.
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  process.once('exit', removeScratch);
  try {
    const started = performance.now();
    const seconds = (since: number) => `${((performance.now() - since) / 1000).toFixed(1)} s`;
    const timed = async <T>(label: string, work: Promise<T>) => {
      const result = await work;
      console.error(`${label} synthesized in ${seconds(started)}`);
      return result;
    };
    // Both sides synthesize at once: each is one node process, mostly waiting on its own CPU.
    const [base, head] = await Promise.all([
      timed('base', assemble(values.base, projectDir, scratch, context)),
      timed('head', assemble(values.head ?? projectDir, projectDir, scratch, context)),
    ]);
    const diffStarted = performance.now();
    const diffs = diffStacks(readStacks(base.assemblyDir), readStacks(head.assemblyDir));
    const report = renderReport(diffs, { base: base.description, head: head.description });
    console.error(
      `diffed ${diffs.length} stack(s) in ${seconds(diffStarted)}; total ${seconds(started)}`,
    );

    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'report.md'), report);
    writeFileSync(path.join(outDir, 'comment.md'), fitComment(report));
    for (const diff of diffs)
      writeFileSync(path.join(outDir, `${diff.stackName}.md`), renderStackDiff(diff));
    console.log(report);
    console.error(`report written to ${path.relative(projectDir, outDir) || '.'}/report.md`);

    if (values['fail-on-destructive'] && isDestructive(diffs)) {
      console.error(
        'Destructive change found (--fail-on-destructive): see the CAUTION blocks in the report.',
      );
      return EXIT_DESTRUCTIVE;
    }
    return 0;
  } finally {
    process.off('exit', removeScratch);
    removeScratch();
  }
}

/** The report cut at a line boundary to fit one GitHub comment, saying where the rest is. */
function fitComment(report: string): string {
  if (report.length <= MAX_COMMENT_LENGTH) return report;
  const cut = report.lastIndexOf('\n', MAX_COMMENT_LENGTH);
  return `${report.slice(0, cut)}\n\n… cut to fit a comment: the full report is in the workflow run's artifacts.\n`;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
