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
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  app.synth();
});
