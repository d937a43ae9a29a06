import { existsSync } from 'fs';
import * as path from 'path';
import { CloudAssembly } from 'aws-cdk-lib/cx-api';
import type { CloudFormationTemplate } from './analyze';

/** One synthesized stack: its deployed name and template. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly template: CloudFormationTemplate;
}

/** Whether `dir` holds a cloud assembly (the output of `cdk synth`). */
export function isCloudAssembly(dir: string): boolean {
  return existsSync(path.join(dir, 'manifest.json'));
}

/**
 * The stacks of a cloud assembly directory, keyed by stack name, stages included. The schema
 * version is not checked: a base synthesized by an older CDK is still a valid set of templates.
 */
export function readStacks(dir: string): Map<string, SynthesizedStack> {
  if (!isCloudAssembly(dir)) {
    throw new Error(`${dir} is not a cloud assembly (no manifest.json): pass a cdk.out directory`);
  }
  const assembly = new CloudAssembly(dir, { skipVersionCheck: true });
  const stacks = new Map<string, SynthesizedStack>();
  for (const artifact of assembly.stacksRecursively) {
    stacks.set(artifact.stackName, {
      stackName: artifact.stackName,
      template: artifact.template as CloudFormationTemplate,
    });
  }
  return stacks;
}
