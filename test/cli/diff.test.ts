import { execFileSync, spawn, spawnSync } from 'child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');
const TSX = path.join(ROOT, 'node_modules', '.bin', 'tsx');
const CLI = path.join(ROOT, 'cli', 'diff.ts');

/**
 * A tiny CDK app whose parameter group family comes from cdk.json context, so that editing
 * cdk.json in the working tree changes the synthesized template against the committed one.
 */
const APP = `
const { App, Stack, CfnResource } = require('aws-cdk-lib');
// Lets a test see whether the diff asked for validation (cdk-nag and the CDK's checks).
if (process.env.VALIDATION_MARKER) {
  require('fs').appendFileSync(process.env.VALIDATION_MARKER, process.env.CDK_VALIDATION + '\\n');
}
// Lets a test interrupt the diff while a side is synthesizing: say so, then take a while.
if (process.env.SLOW_SYNTH_MARKER) {
  require('fs').appendFileSync(process.env.SLOW_SYNTH_MARKER, process.cwd() + '\\n');
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000);
}
const app = new App();
const stack = new Stack(app, 'Tiny-dev');
new CfnResource(stack, 'ParameterGroup', {
  type: 'AWS::RDS::DBParameterGroup',
  properties: { Family: app.node.tryGetContext('family'), Description: 'tiny' },
});
`;

function cdkJson(family: string): string {
  return JSON.stringify({ app: 'node app.js', context: { family } });
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  );
}

function runDiff(cwd: string, ...args: string[]) {
  return runDiffWith({}, cwd, ...args);
}

function runDiffWith(env: NodeJS.ProcessEnv, cwd: string, ...args: string[]) {
  const result = spawnSync(TSX, [CLI, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The progress lines on stderr, without their elapsed-time stamps. */
function progressLines(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => /^\[ *\d+\.\d s\] /.test(line))
    .map((line) => line.replace(/^\[[^\]]*\] /, ''));
}

describe('npm run diff', () => {
  const repo = mkdtempSync(path.join(tmpdir(), 'diff-cli-test-'));
  const out = path.join(repo, 'report');
  beforeAll(() => {
    writeFileSync(path.join(repo, 'app.js'), APP);
    writeFileSync(path.join(repo, 'cdk.json'), cdkJson('postgres16'));
    writeFileSync(path.join(repo, '.gitignore'), 'node_modules\nreport\n');
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(repo, 'node_modules'), 'dir');
    git(repo, 'init', '--quiet');
    git(repo, 'add', '.');
    git(repo, 'commit', '--quiet', '-m', 'base');
  });
  afterAll(() => rmSync(repo, { recursive: true, force: true }));

  it('reports no change between the working tree and HEAD, and removes its worktree', () => {
    const result = runDiff(repo, '--base', 'HEAD', '--out', out, '--fail-on-destructive');
    expect(result.stderr).toContain('report written to report/report.md');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Base: HEAD \([0-9a-f]{7}\) · Head: working tree$/m);
    expect(result.stdout).toContain('## Tiny-dev\n\nNo changes.');
    expect(git(repo, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
  });

  it('synthesizes a git ref in a worktree and fails on a destructive change only when asked', () => {
    writeFileSync(path.join(repo, 'cdk.json'), cdkJson('postgres17'));
    const lenient = runDiff(repo, '--base', 'HEAD', '--out', out);
    expect(lenient.status).toBe(0);
    const strict = runDiff(repo, '--base', 'HEAD', '--out', out, '--fail-on-destructive');
    expect(strict.status).toBe(3);
    expect(strict.stderr).toContain('Destructive change found');

    const report = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(report).toContain(
      '**The database parameter group `Tiny-dev/ParameterGroup` (ParameterGroup) will be replaced.**',
    );
    expect(report).toContain('`Family`: `postgres16` → `postgres17` (**replace**)');
    expect(readFileSync(path.join(out, 'Tiny-dev.md'), 'utf8')).toContain('## Tiny-dev');
    expect(readFileSync(path.join(out, 'comment.md'), 'utf8')).toBe(report);
    expect(git(repo, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
  });

  it('compares two cdk.out directories without synthesizing', () => {
    const base = path.join(repo, 'base.out');
    const head = path.join(repo, 'head.out');
    for (const [dir, family] of [
      [base, 'postgres16'],
      [head, 'postgres17'],
    ]) {
      execFileSync('node', ['app.js'], {
        cwd: repo,
        env: { ...process.env, CDK_OUTDIR: dir, CDK_CONTEXT_JSON: JSON.stringify({ family }) },
      });
    }
    const result = runDiff(
      repo,
      '--base',
      base,
      '--head',
      head,
      '--out',
      out,
      '--fail-on-destructive',
    );
    expect(result.status).toBe(3);
    expect(result.stdout).toContain(`Base: cloud assembly ${base} · Head: cloud assembly ${head}`);
    // Without path metadata (a plain app run) the report falls back to logical ids.
    expect(result.stdout).toContain(
      '**The database parameter group `ParameterGroup` will be replaced.**',
    );
  });

  it('says what it accepts when the base is neither a directory nor a ref', () => {
    const result = runDiff(repo, '--base', 'no-such-ref');
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(
      '"no-such-ref" is neither a cdk.out directory (manifest.json), a project directory (cdk.json) nor a git ref',
    );
    expect(existsSync(path.join(repo, 'cdk.out'))).toBe(false);
  });

  it('removes its worktree when interrupted', async () => {
    const marker = path.join(repo, 'synth-started');
    const scratchParent = mkdtempSync(path.join(tmpdir(), 'diff-interrupt-'));
    const child = spawn(TSX, [CLI, '--base', 'HEAD', '--out', out], {
      cwd: repo,
      env: { ...process.env, SLOW_SYNTH_MARKER: marker, TMPDIR: scratchParent },
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    const worktrees = () => git(repo, 'worktree', 'list').trim().split('\n').length;
    // Both sides synthesize at once; the base's app runs in the worktree.
    const baseStarted = () =>
      existsSync(marker) && readFileSync(marker, 'utf8').includes('cdk-diff-base-');
    for (let waited = 0; !baseStarted(); waited += 100) {
      if (waited > 30000) throw new Error('the base never started synthesizing');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(worktrees()).toBe(2);
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(worktrees()).toBe(1);
    // Neither the worktree's scratch nor the report's is left in the temporary directory.
    expect(readdirSync(scratchParent).filter((name) => name.startsWith('cdk-diff'))).toEqual([]);
    rmSync(scratchParent, { recursive: true, force: true });
  });

  it('says what it is doing while it works, and synthesizes without validation', () => {
    const marker = path.join(repo, 'validation');
    const result = runDiffWith({ VALIDATION_MARKER: marker }, repo, '--base', 'HEAD', '--out', out);
    expect(result.status).toBe(0);
    const lines = progressLines(result.stderr);
    const commit = git(repo, 'rev-parse', '--short=7', 'HEAD').trim();
    // The sides run at once: in whichever order, each starts before it is done.
    const started = (side: string, what: string) =>
      lines.indexOf(`${side}: synthesizing ${what} …`);
    const done = (side: string) => lines.findIndex((line) => line.startsWith(`${side}: done in `));
    const baseStarted = started('base', `HEAD (${commit}) in a git worktree`);
    const headStarted = started('head', 'working tree');
    expect(baseStarted).toBeGreaterThanOrEqual(0);
    expect(headStarted).toBeGreaterThanOrEqual(0);
    expect(done('base')).toBeGreaterThan(baseStarted);
    expect(done('head')).toBeGreaterThan(headStarted);
    const comparing = lines.indexOf('comparing …');
    expect(comparing).toBeGreaterThan(Math.max(done('base'), done('head')));
    expect(lines.slice(comparing + 1)).toEqual([
      '1 stack(s) compared; report written to report/report.md',
    ]);
    // cdk-nag and the CDK's template checks never change a template: the diff skips them.
    expect(readFileSync(marker, 'utf8')).toBe('false\nfalse\n');
  });

  it('exits with the usage on a command-line mistake', () => {
    for (const args of [[], ['--base', 'HEAD', '--no-such-flag']]) {
      const result = runDiff(repo, ...args);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain('Usage: npm run diff -- --base <git-ref|dir> [options]');
    }
    expect(runDiff(repo).stderr).toContain('--base is required.');
  });

  it('documents its exit codes in --help', () => {
    const result = runDiff(repo, '--help');
    expect(result.status).toBe(0);
    expect(result.stdout.replace(/\s+/g, ' ')).toContain(
      'Exit codes: 0 no destructive change (or not asked), 1 the diff failed, 2 usage error, 3 destructive change found.',
    );
  });
});
