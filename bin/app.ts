#!/usr/bin/env node
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  ENVIRONMENTS_CONTEXT_KEY,
  parseEnvironments,
  SELECTED_ENVIRONMENT_CONTEXT_KEY,
} from '../src/config';
import { stackNameFor } from '../src/contract/outputs';
import { RdsAirbyteCdcStack } from '../lib/rds-airbyte-cdc-stack';

const app = new App();
const environments = parseEnvironments(
  app.node.tryGetContext(ENVIRONMENTS_CONTEXT_KEY),
  app.node.tryGetContext(SELECTED_ENVIRONMENT_CONTEXT_KEY),
);
for (const config of environments) {
  new RdsAirbyteCdcStack(app, stackNameFor(config.name), { config });
}
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
