import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  ENVIRONMENTS_CONTEXT_KEY,
  parseEnvironments,
  type EnvironmentInput,
} from '../../src/config';
import { stackNameFor } from '../../src/contract/outputs';
import { RdsAirbyteCdcStack } from '../../lib/rds-airbyte-cdc-stack';
import * as cdkJson from '../../cdk.json';

/** The environments exactly as cdk.json defines them. */
export const CDK_JSON_ENVIRONMENTS = cdkJson.context[ENVIRONMENTS_CONTEXT_KEY] as Record<
  string,
  EnvironmentInput
>;

export interface SynthesizedEnvironment {
  readonly stack: RdsAirbyteCdcStack;
  readonly template: Template;
  /** Findings of the CloudFormation validation that `cdk synth` runs (empty when clean). */
  readonly validationFindings: string[];
}

/**
 * Synthesize one environment's stack the way bin/app.ts does, from cdk.json's configuration or
 * from the given raw configuration (validated like cdk.json's).
 */
export function synthesizeEnvironment(
  name: string,
  raw: EnvironmentInput = CDK_JSON_ENVIRONMENTS[name],
): SynthesizedEnvironment {
  const [config] = parseEnvironments({ [name]: raw }, name);
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-test-'));
  try {
    const app = new App({ outdir });
    const stack = new RdsAirbyteCdcStack(app, stackNameFor(name), { config });
    const template = Template.fromStack(stack);
    return { stack, template, validationFindings: readValidationFindings(outdir) };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; description: string }[] }[];
}

function readValidationFindings(outdir: string): string[] {
  const reportPath = path.join(outdir, 'validation-report.json');
  let report: ValidationReport;
  try {
    report = JSON.parse(readFileSync(reportPath, 'utf8')) as ValidationReport;
  } catch {
    return [];
  }
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map(
      (violation) => `${plugin.pluginName} ${violation.ruleName}: ${violation.description}`,
    ),
  );
}
