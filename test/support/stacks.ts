import { mkdtempSync, readFileSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { App, type AppProps } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  ENVIRONMENTS_CONTEXT_KEY,
  parseEnvironments,
  type EnvironmentInput,
} from '../../src/config';
import { stackNameFor } from '../../src/contract/outputs';
import type * as rds from 'aws-cdk-lib/aws-rds';
import { CdcDatabase } from '../../lib/cdc-database';
import { RdsAirbyteCdcStack } from '../../lib/rds-airbyte-cdc-stack';
import * as cdkJson from '../../cdk.json';

/** The environments exactly as cdk.json defines them. */
export const CDK_JSON_ENVIRONMENTS = cdkJson.context[ENVIRONMENTS_CONTEXT_KEY] as Record<
  string,
  EnvironmentInput
>;

/**
 * An App for tests that read templates: without the CloudFormation validation that `cdk synth`
 * runs on every template. Its rule engine costs about a second of CPU per synth (more than the
 * synth itself, most of the CPU the CDK suites took) and can only warn, never fail a synth; the
 * tests of its findings use synthesizeAndValidateEnvironment.
 */
export function appWithoutValidation(props: AppProps = {}): App {
  return new App({ ...props, builtinCloudFormationValidation: false });
}

export interface SynthesizedEnvironment {
  readonly stack: RdsAirbyteCdcStack;
  readonly template: Template;
}

export interface ValidatedEnvironment extends SynthesizedEnvironment {
  /** Findings of the CloudFormation validation that `cdk synth` runs (empty when clean). */
  readonly validationFindings: string[];
}

/**
 * Synthesize one environment's stack the way bin/app.ts does, from cdk.json's configuration or
 * from the given raw configuration (validated like cdk.json's), without the CloudFormation
 * validation (appWithoutValidation).
 */
export function synthesizeEnvironment(
  name: string,
  raw: EnvironmentInput = CDK_JSON_ENVIRONMENTS[name],
): SynthesizedEnvironment {
  return inScratchOutdir((outdir) => synthesize(appWithoutValidation({ outdir }), name, raw));
}

/**
 * synthesizeEnvironment with the CloudFormation validation that `cdk synth` runs, and its
 * findings. Throws when the validation did not run (CDK_VALIDATION=false in the environment),
 * so that "no findings" always means a template that passed.
 */
export function synthesizeAndValidateEnvironment(
  name: string,
  raw: EnvironmentInput = CDK_JSON_ENVIRONMENTS[name],
): ValidatedEnvironment {
  return inScratchOutdir((outdir) => {
    // The built-in validation, as bin/app.ts gets it: a plugin registered here instead would
    // add itself to the template's metadata.
    const synthesized = synthesize(new App({ outdir }), name, raw);
    return { ...synthesized, validationFindings: readValidationFindings(outdir) };
  });
}

function synthesize(app: App, name: string, raw: EnvironmentInput): SynthesizedEnvironment {
  const [config] = parseEnvironments({ [name]: raw }, name);
  const stack = new RdsAirbyteCdcStack(app, stackNameFor(name), { config });
  return { stack, template: Template.fromStack(stack) };
}

/** Run `synthesizeInto` on a temporary cloud assembly directory, removed afterwards. */
function inScratchOutdir<T>(synthesizeInto: (outdir: string) => T): T {
  const outdir = mkdtempSync(path.join(tmpdir(), 'cdk-test-'));
  try {
    return synthesizeInto(outdir);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

interface ValidationReport {
  pluginReports: { pluginName: string; violations: { ruleName: string; description: string }[] }[];
}

function readValidationFindings(outdir: string): string[] {
  const reportPath = path.join(outdir, 'validation-report.json');
  let text: string;
  try {
    text = readFileSync(reportPath, 'utf8');
  } catch {
    throw new Error(
      `The synth wrote no ${path.basename(reportPath)}: the CloudFormation validation did not run (is CDK_VALIDATION=false set?). Unset CDK_VALIDATION to run the tests of its findings.`,
    );
  }
  const report = JSON.parse(text) as ValidationReport;
  return report.pluginReports.flatMap((plugin) =>
    plugin.violations.map(
      (violation) => `${plugin.pluginName} ${violation.ruleName}: ${violation.description}`,
    ),
  );
}

/** The new RDS instance of a stack of the `instance` shape; throws for Aurora or an existing database. */
export function databaseInstanceOf(stack: RdsAirbyteCdcStack): rds.DatabaseInstance {
  if (!(stack.database instanceof CdcDatabase)) {
    throw new Error(`${stack.stackName} defines no new RDS instance`);
  }
  return stack.database.instance;
}
