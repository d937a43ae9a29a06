/**
 * Synth diff for pull requests: what deploying this tree would change, per environment, against
 * a base (git ref, project directory or cdk.out), as Markdown. No AWS credentials involved.
 *
 *   npm run diff -- --base <git-ref|dir> [--head <dir>] [--env <name>] [--out <dir>] [--fail-on-destructive]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { SELECTED_ENVIRONMENT_CONTEXT_KEY } from '../src/config';
import { diffStacks, isDestructive } from '../src/diff/analyze';
import { readStacks } from '../src/diff/assembly';
import { DIFF_EXIT_CODES } from '../src/diff/exit-codes';
import { renderReport, renderStackDiff } from '../src/diff/markdown';
import { Progress } from '../src/diff/progress';
import { assemble } from '../src/diff/synthesize';
import { type CliIo, parseArguments, parseFlags, processIo, runMain, UsageError } from './support';

/** GitHub refuses comments longer than 65536 characters. */
const MAX_COMMENT_LENGTH = 60000;

const USAGE = `Usage: npm run diff -- --base <git-ref|dir> [options]

  --base <ref|dir>        what to compare against: a git ref (origin/main, HEAD~1), a project
                          directory (cdk.json) or a synthesized cdk.out directory
  --head <dir>            the new side (default: this project's working tree)
  --env <name>            only this environment (cdk.json context "env")
  --out <dir>             where the Markdown goes (default: cdk.out/diff): report.md, comment.md
                          (cut to fit a GitHub comment) and one <stack>.md per environment
  --fail-on-destructive   exit ${DIFF_EXIT_CODES.destructive} when a change replaces or deletes the database instance,
                          its parameter group or the replication setup

Progress goes to stderr, the report to stdout and --out. Exit codes: ${DIFF_EXIT_CODES.ok} no destructive
change (or not asked), ${DIFF_EXIT_CODES.failed} the diff failed, ${DIFF_EXIT_CODES.usage} usage error, ${DIFF_EXIT_CODES.destructive} destructive change found.`;

interface DiffOptions {
  readonly base: string;
  readonly head?: string;
  readonly env?: string;
  readonly out?: string;
  readonly failOnDestructive: boolean;
}

function parseCli(argv: string[]): DiffOptions {
  const { values, camelCased } = parseFlags({
    args: argv,
    options: {
      base: { type: 'string' },
      head: { type: 'string' },
      env: { type: 'string' },
      out: { type: 'string' },
      'fail-on-destructive': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (!values.base) throw new UsageError('--base is required.');
  return { ...camelCased, base: values.base };
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  const parsed = parseArguments(() => parseCli(argv), USAGE, io);
  if ('exitCode' in parsed) return parsed.exitCode;
  try {
    return await diff(parsed.options, io);
  } catch (error) {
    io.stderr(error instanceof Error ? error.message : String(error));
    return DIFF_EXIT_CODES.failed;
  }
}

async function diff(options: DiffOptions, io: CliIo): Promise<number> {
  const projectDir = process.cwd();
  const outDir = path.resolve(options.out ?? path.join('cdk.out', 'diff'));
  const context = options.env ? { [SELECTED_ENVIRONMENT_CONTEXT_KEY]: options.env } : {};
  const scratch = mkdtempSync(path.join(tmpdir(), 'cdk-diff-'));
  // Ctrl-C exits through the worktree's signal handler, skipping `finally`; 'exit' still runs.
  const removeScratch = () => rmSync(scratch, { recursive: true, force: true });
  process.once('exit', removeScratch);
  try {
    const progress = new Progress(io.stderr);
    const side = (name: 'base' | 'head', spec: string) =>
      progress.step(name, () =>
        assemble(spec, projectDir, scratch, context, (message) =>
          progress.say(`${name}: ${message}`),
        ),
      );
    // Both sides synthesize at once: each is one node process, mostly waiting on its own CPU.
    const [base, head] = await Promise.all([
      side('base', options.base),
      side('head', options.head ?? projectDir),
    ]);
    progress.say('comparing …');
    const diffs = diffStacks(readStacks(base.assemblyDir), readStacks(head.assemblyDir));
    const report = renderReport(diffs, { base: base.description, head: head.description });

    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'report.md'), report);
    writeFileSync(path.join(outDir, 'comment.md'), fitComment(report));
    for (const stackDiff of diffs)
      writeFileSync(path.join(outDir, `${stackDiff.stackName}.md`), renderStackDiff(stackDiff));
    io.stdout(report);
    progress.say(`${diffs.length} stack(s) compared; report written to ${shownPath(outDir)}`);

    if (options.failOnDestructive && isDestructive(diffs)) {
      io.stderr(
        'Destructive change found (--fail-on-destructive): see the CAUTION blocks in the report.',
      );
      return DIFF_EXIT_CODES.destructive;
    }
    return DIFF_EXIT_CODES.ok;
  } finally {
    process.off('exit', removeScratch);
    removeScratch();
  }
}

/** Where the report is, relative to the working directory when it is inside. */
function shownPath(outDir: string): string {
  const relative = path.relative(process.cwd(), outDir);
  const dir = relative === '' ? '.' : relative.startsWith('..') ? outDir : relative;
  return path.join(dir, 'report.md');
}

/** The report cut at a line boundary to fit one GitHub comment, saying where the rest is. */
function fitComment(report: string): string {
  if (report.length <= MAX_COMMENT_LENGTH) return report;
  const cut = report.lastIndexOf('\n', MAX_COMMENT_LENGTH);
  return `${report.slice(0, cut)}\n\n… cut to fit a comment: the full report is in the workflow run's artifacts.\n`;
}

if (require.main === module) runMain(() => main(process.argv.slice(2), processIo));
