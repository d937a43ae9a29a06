#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  ENVIRONMENTS_CONTEXT_KEY,
  parseEnvironments,
  SELECTED_ENVIRONMENT_CONTEXT_KEY,
} from '../src/config';
import { synthesizeReportingConfigErrors } from '../src/config/report';
import { stackNameFor } from '../src/contract/aws-names';
import { cacheCloudFormationValidation } from '../lib/cloudformation-validation-cache';
import { RdsAirbyteCdcStack } from '../lib/rds-airbyte-cdc-stack';

process.exitCode = synthesizeReportingConfigErrors(() => {
  // Synthesized explicitly below, not when the process exits: a configuration mistake thrown
  // halfway through the stacks must not leave a half-built app to synthesize.
  const app = new App({ autoSynth: false });
  const environments = parseEnvironments(
    app.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY),
    app.node.tryGetContext(SELECTED_ENVIRONMENT_CONTEXT_KEY),
  );
  for (const config of environments) {
    new RdsAirbyteCdcStack(app, stackNameFor(config.name), { config });
  }
  // `cdk synth --no-validation` sets CDK_VALIDATION=false to skip the CDK's own template checks
  // (npm run diff synthesizes that way: checks never change a template); cdk-nag is one too.
  if (process.env.CDK_VALIDATION !== 'false') {
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
    cacheCloudFormationValidation();
  }
  app.synth();
});
