import { spawnSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { ConfigError, ENVIRONMENTS_CONTEXT_KEY } from '../../../src/config';
import { synthesizeReportingConfigErrors } from '../../../src/config/report';
import { InputError } from '../../../src/input-error';
import { CDK_JSON_ENVIRONMENTS } from '../../support/stacks';
import * as cdkJson from '../../../cdk.json';

const PROJECT_ROOT = path.join(__dirname, '..', '..', '..');

describe('synthesizeReportingConfigErrors', () => {
  it.each([
    ['a configuration mistake', new ConfigError('Invalid configuration for environment "dev"')],
    ['an unreadable file cdk.json names', new InputError('Cannot read airbyte.caCertificateFile')],
  ])('prints %s alone and asks for exit code 1', (_case, error) => {
    const printed: string[] = [];
    const code = synthesizeReportingConfigErrors(
      () => {
        throw error;
      },
      (text) => printed.push(text),
    );
    expect(code).toBe(1);
    expect(printed).toEqual([`${error.message}\n`]);
  });

  it('rethrows any other error, a bug, with its stack', () => {
    const bug = new TypeError('undefined is not a function');
    const printed: string[] = [];
    expect(() =>
      synthesizeReportingConfigErrors(
        () => {
          throw bug;
        },
        (text) => printed.push(text),
      ),
    ).toThrow(bug);
    expect(printed).toEqual([]);
  });

  it('asks for exit code 0 after a synth that went through', () => {
    expect(synthesizeReportingConfigErrors(() => undefined)).toBe(0);
  });
});

/**
 * Run the app the way `cdk synth` does: cdk.json's `app` command, with the context in
 * CDK_CONTEXT_JSON (the CLI merges cdk.json's context and `-c` into it) and CDK_OUTDIR set.
 */
function runApp(context: Record<string, unknown>): { status: number | null; stderr: string } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-app-test-'));
  try {
    const result = spawnSync(cdkJson.app, {
      cwd: PROJECT_ROOT,
      shell: true,
      encoding: 'utf8',
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify(context) },
    });
    return { status: result.status, stderr: result.stderr };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

function expectNoStackTrace(stderr: string): void {
  expect(stderr).not.toMatch(/^\s+at /m);
  expect(stderr).not.toContain('Node.js v');
}

describe('bin/app.ts with a configuration mistake', () => {
  it('prints the invalid and the misspelled field alone, with a suggestion, and fails', () => {
    const dev = CDK_JSON_ENVIRONMENTS.dev;
    const { status, stderr } = runApp({
      [ENVIRONMENTS_CONTEXT_KEY]: {
        ...CDK_JSON_ENVIRONMENTS,
        dev: {
          ...dev,
          replication: { ...dev.replication, slotName: 'Airbyte-Slot', slotNmae: 'x' },
        },
      },
    });
    expect(status).not.toBe(0);
    expect(stderr.trim().split('\n')).toEqual([
      'Invalid configuration for environment "dev" (cdk.json context "environments.dev"):',
      '  - replication.slotName: must be 1 to 63 characters of lower-case letters, digits and underscores (PostgreSQL rejects anything else in a slot name)',
      '  - replication.slotNmae: unknown key; did you mean slotName?',
    ]);
    expectNoStackTrace(stderr);
  });

  it('names an unknown environment of -c env=, with the nearest one', () => {
    const { status, stderr } = runApp({
      [ENVIRONMENTS_CONTEXT_KEY]: CDK_JSON_ENVIRONMENTS,
      env: 'prd',
    });
    expect(status).not.toBe(0);
    expect(stderr.trim()).toBe(
      'Unknown environment "prd"; did you mean prod? cdk.json context "environments" defines dev, staging, prod, analytics, aurora, existing',
    );
    expectNoStackTrace(stderr);
  });
});
