import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, CfnResource, CloudFormationValidatePlugin, Stack } from 'aws-cdk-lib';
import { cacheCloudFormationValidation } from '../../lib/cloudformation-validation-cache';
import { SYNTH_CACHE_DIR_ENV } from '../../src/synth-cache';

describe('cacheCloudFormationValidation', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'validation-cache-test-'));
  const previousCacheDir = process.env[SYNTH_CACHE_DIR_ENV];
  // Installed on top of the spy: the spy counts the validations that really ran.
  const engineRuns = jest.spyOn(CloudFormationValidatePlugin.prototype, 'validate');
  cacheCloudFormationValidation();
  // What the CDK prints about the findings, kept out of the test output.
  const printed = jest.spyOn(console, 'error').mockImplementation(() => {});

  beforeAll(() => {
    process.env[SYNTH_CACHE_DIR_ENV] = path.join(scratch, 'cache');
  });
  afterAll(() => {
    if (previousCacheDir === undefined) delete process.env[SYNTH_CACHE_DIR_ENV];
    else process.env[SYNTH_CACHE_DIR_ENV] = previousCacheDir;
    rmSync(scratch, { recursive: true, force: true });
  });

  /** The validation report of an app whose topic has a property CloudFormation does not know. */
  function validationReport(unknownProperty: string): string {
    const outdir = mkdtempSync(path.join(scratch, 'out-'));
    const app = new App({ outdir });
    const stack = new Stack(app, 'Validated');
    new CfnResource(stack, 'Topic', {
      type: 'AWS::SNS::Topic',
      properties: { TopicName: 'topic', [unknownProperty]: 1 },
    });
    app.synth();
    return readFileSync(path.join(outdir, 'validation-report.json'), 'utf8');
  }

  it('reuses the report of unchanged templates and validates a changed one again', () => {
    // Two output directories, the same template (and the same call site, in the stack traces).
    const [first, second] = ['NoSuchProperty', 'NoSuchProperty'].map(validationReport);
    expect(first).toContain("'NoSuchProperty' was unexpected");
    expect(first).toContain('"templatePath": "Validated.template.json"');
    expect(second).toBe(first);
    expect(engineRuns).toHaveBeenCalledTimes(1);
    // A finding from the cache is still shown to the user.
    const warnings = printed.mock.calls.map(([message]) => String(message));
    expect(warnings).toHaveLength(2);
    for (const warning of warnings) expect(warning).toContain("'NoSuchProperty' was unexpected");

    const changed = validationReport('OtherProperty');
    expect(engineRuns).toHaveBeenCalledTimes(2);
    expect(changed).toContain("'OtherProperty' was unexpected");
    expect(changed).not.toContain('NoSuchProperty');
  });

  it('validates again over a cache entry of another format, without failing', () => {
    validationReport('Malformed');
    const runs = engineRuns.mock.calls.length;
    const cacheDir = path.join(scratch, 'cache');
    const entries = readdirSync(cacheDir, { recursive: true, encoding: 'utf8' })
      .filter((file) => file.endsWith('.json'))
      .map((file) => path.join(cacheDir, file));
    expect(entries).not.toHaveLength(0);
    for (const file of entries) {
      // What an entry written by a revision of the code with another report format looks like.
      const entry = JSON.parse(readFileSync(file, 'utf8'));
      delete entry.report.violations;
      writeFileSync(file, JSON.stringify(entry));
    }
    expect(validationReport('Malformed')).toContain("'Malformed' was unexpected");
    expect(engineRuns).toHaveBeenCalledTimes(runs + 1);
  });
});
