import { spawnSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { VALIDATION_CACHE_KIND } from '../../lib/cloudformation-validation-cache';
import { SYNTH_CACHE_DIR_ENV } from '../../src/synth-cache';
import * as cdkJson from '../../cdk.json';

const PROJECT_ROOT = path.join(__dirname, '..', '..');

describe('cdk synth of bin/app.ts', () => {
  const scratch = mkdtempSync(path.join(tmpdir(), 'app-checks-test-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('runs cdk-nag and the cached CloudFormation validation', () => {
    const outdir = path.join(scratch, 'cdk.out');
    const cacheDir = path.join(scratch, 'cache');
    // What `cdk synth -c env=dev` hands the app (version reporting is on by default).
    const context = { ...cdkJson.context, env: 'dev', 'aws:cdk:version-reporting': true };
    const result = spawnSync(cdkJson.app, {
      cwd: PROJECT_ROOT,
      shell: true,
      encoding: 'utf8',
      env: {
        ...process.env,
        CDK_OUTDIR: outdir,
        CDK_CONTEXT_JSON: JSON.stringify(context),
        [SYNTH_CACHE_DIR_ENV]: cacheDir,
      },
    });
    expect(result.stderr).not.toMatch(/^\s+at /m);
    expect(result.status).toBe(0);

    // The stack's CDKMetadata lists the validation plugins the app registered.
    const template = JSON.parse(
      readFileSync(path.join(outdir, 'RdsAirbyteCdc-dev.template.json'), 'utf8'),
    ) as { Resources: { CDKMetadata: { Properties: { Analytics: string } } } };
    const [, , compressed] = template.Resources.CDKMetadata.Properties.Analytics.split(':');
    expect(gunzipSync(Buffer.from(compressed, 'base64')).toString()).toContain(
      'policyValidation.AwsSolutions',
    );
    expect(readdirSync(path.join(cacheDir, VALIDATION_CACHE_KIND))).toHaveLength(1);
    const report = JSON.parse(readFileSync(path.join(outdir, 'validation-report.json'), 'utf8'));
    expect(report).toMatchObject({ pluginReports: [] });
  });
});
