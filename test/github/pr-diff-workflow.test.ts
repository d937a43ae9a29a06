import { readFileSync } from 'fs';
import * as path from 'path';
import { parse } from 'yaml';
import { DIFF_EXIT_CODES } from '../../src/diff/exit-codes';

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly if?: string;
  readonly with?: Record<string, unknown>;
}
interface Workflow {
  readonly on: { pull_request?: unknown };
  readonly jobs: Record<string, { steps: Step[]; permissions?: Record<string, string> }>;
}

/** Published actions the workflow may use, each pinned to a major version that exists. */
const KNOWN_ACTIONS = new Set([
  'actions/checkout@v4',
  'actions/setup-node@v4',
  'actions/upload-artifact@v4',
  'aws-actions/configure-aws-credentials@v4',
  'marocchino/sticky-pull-request-comment@v2',
]);

const workflow = parse(
  readFileSync(path.join(__dirname, '..', '..', '.github', 'workflows', 'pr-diff.yml'), 'utf8'),
) as Workflow;
const steps = Object.values(workflow.jobs).flatMap((job) => job.steps);

describe('.github/workflows/pr-diff.yml', () => {
  it('runs on pull requests and uses only known actions pinned to a major version', () => {
    expect(workflow.on.pull_request).toBeDefined();
    const used = steps.flatMap((step) => (step.uses ? [step.uses] : []));
    expect(used.filter((action) => !KNOWN_ACTIONS.has(action))).toEqual([]);
  });

  it('checks out the full history, tests, then diffs against the base commit', () => {
    const checkout = steps.find((step) => step.uses?.startsWith('actions/checkout@'));
    expect(checkout?.with).toMatchObject({ 'fetch-depth': 0 });
    const runs = steps.flatMap((step) => (step.run ? [step.run] : []));
    const testIndex = runs.findIndex((run) => run.trim() === 'npm test');
    const diffIndex = runs.findIndex((run) =>
      run.includes('npm run --silent diff -- --base "$BASE_SHA"'),
    );
    expect(testIndex).toBeGreaterThanOrEqual(0);
    expect(diffIndex).toBeGreaterThan(testIndex);
  });

  it("tells a destructive change from a failed diff by npm run diff's exit codes", () => {
    const diffStep = steps.find((step) => step.run?.includes('npm run --silent diff'));
    const destructive = String(DIFF_EXIT_CODES.destructive);
    // Every exit code but success and destructive fails the step.
    expect(diffStep?.run).toContain(
      `if [ "$code" -ne ${DIFF_EXIT_CODES.ok} ] && [ "$code" -ne ${destructive} ]; then exit "$code"; fi`,
    );
    const refusal = steps.find((step) => step.if?.includes('steps.diff.outputs.exit-code'));
    expect(refusal?.if).toContain(`steps.diff.outputs.exit-code == '${destructive}'`);
    expect(refusal?.run).toContain('exit 1');
  });

  it('posts one sticky comment and assumes an AWS role only when one is configured', () => {
    expect(
      steps.filter((step) => step.uses?.startsWith('marocchino/sticky-pull-request-comment@')),
    ).toHaveLength(1);
    const aws = steps.find((step) =>
      step.uses?.startsWith('aws-actions/configure-aws-credentials@'),
    );
    expect(aws?.if).toContain("vars.AWS_DIFF_ROLE_ARN != ''");
    expect(aws?.with).toMatchObject({ 'role-to-assume': '${{ vars.AWS_DIFF_ROLE_ARN }}' });
    expect(Object.values(workflow.jobs)[0].permissions).toMatchObject({
      'id-token': 'write',
      'pull-requests': 'write',
    });
  });
});
