import { readdirSync, readFileSync } from 'fs';
import * as path from 'path';
import { parse } from 'yaml';

interface Step {
  readonly uses?: string;
  readonly run?: string;
  readonly with?: Record<string, unknown>;
}
interface Job {
  readonly strategy?: { matrix?: Record<string, unknown> };
  readonly steps: Step[];
}
interface Workflow {
  readonly jobs: Record<string, Job>;
}

/** Node.js 22 is the documented baseline; 24 is the current LTS. */
const TESTED_NODE_VERSIONS = ['22', '24'];
const BASELINE_NODE_MAJOR = 22;

const WORKFLOWS = path.join(__dirname, '..', '..', '.github', 'workflows');
const readWorkflow = (name: string): Workflow =>
  parse(readFileSync(path.join(WORKFLOWS, name), 'utf8')) as Workflow;

/** The Node.js versions a job runs on: its setup-node version, expanded over its matrix. */
function nodeVersions(job: Job): string[] {
  const setupNode = job.steps.find((step) => step.uses?.startsWith('actions/setup-node@'));
  const version = String(setupNode?.with?.['node-version'] ?? '');
  const matrixKey = /^\$\{\{\s*matrix\.([\w-]+)\s*\}\}$/.exec(version)?.[1];
  if (matrixKey === undefined) return version ? [version] : [];
  const values = job.strategy?.matrix?.[matrixKey];
  return Array.isArray(values) ? values.map(String) : [];
}

describe('.github/workflows/ci.yml', () => {
  const ci = readWorkflow('ci.yml');

  it('runs the test job, with npm test, on Node.js 22 and 24', () => {
    const testJob = ci.jobs.test;
    expect(testJob.steps.some((step) => step.run?.trim() === 'npm test')).toBe(true);
    expect(nodeVersions(testJob).sort()).toEqual(TESTED_NODE_VERSIONS);
  });
});

describe('every workflow', () => {
  const workflows = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));

  it.each(workflows)('%s runs no job on a Node.js older than the baseline', (name) => {
    const jobs = Object.entries(readWorkflow(name).jobs);
    const tooOld = jobs.flatMap(([jobName, job]) =>
      nodeVersions(job)
        .filter((version) => Number.parseInt(version, 10) < BASELINE_NODE_MAJOR)
        .map((version) => `${jobName}: Node.js ${version}`),
    );
    expect(tooOld).toEqual([]);
  });
});
