import { execFile, execFileSync, spawn } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { promisify } from 'util';
import { isCloudAssembly } from './assembly';

const execFileAsync = promisify(execFile);

/**
 * Context the cdk CLI passes to every app: without the path metadata the report could only name
 * resources by logical id. Version reporting is off on both sides: it only adds noise.
 */
const CLI_CONTEXT = {
  'aws:cdk:enable-path-metadata': true,
  'aws:cdk:enable-asset-metadata': true,
  'aws:cdk:version-reporting': false,
  'aws:cdk:bundling-stacks': ['**'],
};

/** Lines of the app's output kept in the error when synth fails. */
const ERROR_TAIL_LINES = 40;

interface CdkJson {
  readonly app?: string;
  readonly context?: Record<string, unknown>;
}

function readJson<T>(file: string): T | undefined {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as T) : undefined;
}

/**
 * Synthesize the CDK app of `projectDir` into `outdir` the way `cdk synth --no-validation`
 * does (the `app` command and context of its cdk.json, plus cdk.context.json), without the
 * CLI: no AWS credentials, no notices, no telemetry, nothing read from the network. No
 * validation: the CDK's template checks and cdk-nag (bin/app.ts) never change a template, and
 * they cost most of a synth; `cdk synth` and the tests run them.
 */
export async function synthesizeProject(
  projectDir: string,
  outdir: string,
  extraContext: Record<string, unknown> = {},
): Promise<void> {
  const cdkJson = readJson<CdkJson>(path.join(projectDir, 'cdk.json'));
  if (!cdkJson?.app) {
    throw new Error(`${projectDir} has no cdk.json with an "app" command: cannot synthesize it`);
  }
  const context = {
    ...cdkJson.context,
    ...readJson<Record<string, unknown>>(path.join(projectDir, 'cdk.context.json')),
    ...CLI_CONTEXT,
    ...extraContext,
  };
  const child = spawn(cdkJson.app, {
    cwd: projectDir,
    shell: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      CDK_VALIDATION: 'false',
    },
  });
  const output: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => output.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => output.push(chunk));
  const exitCode = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (exitCode !== 0 || !isCloudAssembly(outdir)) {
    const tail = Buffer.concat(output)
      .toString('utf8')
      .trimEnd()
      .split('\n')
      .slice(-ERROR_TAIL_LINES)
      .join('\n');
    throw new Error(
      `Synthesizing ${projectDir} (${cdkJson.app}) failed with exit code ${exitCode}:\n${tail}`,
    );
  }
}

async function git(cwd: string, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('git', args, { cwd, maxBuffer: 16 * 1024 * 1024 });
  return stdout.trim();
}

/** The commit a ref names, or undefined when it names none in the repository of `dir`. */
export async function resolveCommit(dir: string, ref: string): Promise<string | undefined> {
  try {
    return await git(dir, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    return undefined;
  }
}

/**
 * Run `use` on the project as it was at `commit`, checked out in a temporary git worktree that
 * borrows `projectDir`'s node_modules (no install: the base is synthesized with today's
 * dependencies), and remove the worktree afterwards.
 */
export async function withWorktree<T>(
  projectDir: string,
  commit: string,
  use: (worktreeProjectDir: string) => Promise<T>,
): Promise<T> {
  const topLevel = await git(projectDir, 'rev-parse', '--show-toplevel');
  const scratch = mkdtempSync(path.join(tmpdir(), 'cdk-diff-base-'));
  const worktree = path.join(scratch, 'tree');
  // Ctrl-C ends the process without running `finally`: remove the worktree on the way out.
  const onSignal = (signal: NodeJS.Signals) => {
    try {
      // Twice forced: `worktree add` keeps the worktree locked until its checkout is done.
      execFileSync('git', ['worktree', 'remove', '--force', '--force', worktree], {
        cwd: topLevel,
        stdio: 'ignore',
      });
    } catch {
      // `git worktree prune` clears the registration once the directory is gone.
    }
    rmSync(scratch, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  // Listening before the worktree exists: a signal during `worktree add` must clean up too.
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await git(topLevel, 'worktree', 'add', '--quiet', '--detach', worktree, commit);
    const worktreeProjectDir = path.join(worktree, path.relative(topLevel, projectDir));
    const nodeModules = path.join(projectDir, 'node_modules');
    if (existsSync(nodeModules) && !existsSync(path.join(worktreeProjectDir, 'node_modules'))) {
      symlinkSync(nodeModules, path.join(worktreeProjectDir, 'node_modules'), 'dir');
    }
    return await use(worktreeProjectDir);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await git(topLevel, 'worktree', 'remove', '--force', worktree).catch(() =>
      git(topLevel, 'worktree', 'prune'),
    );
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** A synthesized app, ready to be read, and how to name it in the report. */
export interface AssembledApp {
  readonly assemblyDir: string;
  readonly description: string;
}

/**
 * Turn what the user named into a cloud assembly: a `cdk.out` directory is used as it is, a
 * directory with a cdk.json is synthesized, anything else must be a git ref of the project's
 * repository, synthesized from a temporary worktree. Synthesized output goes under `scratch`.
 * `say` hears what is being done, before the wait.
 */
export async function assemble(
  spec: string,
  projectDir: string,
  scratch: string,
  context: Record<string, unknown> = {},
  say: (message: string) => void = () => {},
): Promise<AssembledApp> {
  if (isCloudAssembly(spec)) {
    const description = `cloud assembly ${spec}`;
    say(`reading ${description}`);
    return { assemblyDir: path.resolve(spec), description };
  }
  const outdir = mkdtempSync(path.join(scratch, 'cdk.out-'));
  if (existsSync(path.join(spec, 'cdk.json'))) {
    const description = spec === projectDir ? 'working tree' : `project ${spec}`;
    say(`synthesizing ${description} …`);
    await synthesizeProject(path.resolve(spec), outdir, context);
    return { assemblyDir: outdir, description };
  }
  const commit = await resolveCommit(projectDir, spec);
  if (!commit) {
    throw new Error(
      `"${spec}" is neither a cdk.out directory (manifest.json), a project directory (cdk.json) nor a git ref of ${projectDir}. ` +
        'In CI, fetch the base first (actions/checkout with fetch-depth: 0).',
    );
  }
  const description = `${spec} (${commit.slice(0, 7)})`;
  say(`synthesizing ${description} in a git worktree …`);
  await withWorktree(projectDir, commit, (worktreeProjectDir) =>
    synthesizeProject(worktreeProjectDir, outdir, context),
  );
  return { assemblyDir: outdir, description };
}
