import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { StackOutputs } from '../contract/outputs';

/** A deployed stack could not be read, or lacks an output this version needs. */
export class StackInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StackInputError';
  }
}

/** The outputs of a deployed stack, by key. */
export async function readStackOutputs(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<Record<string, string>> {
  let outputs;
  try {
    const { Stacks } = await cloudFormation.send(
      new DescribeStacksCommand({ StackName: stackName }),
    );
    outputs = Stacks?.[0]?.Outputs;
  } catch (error) {
    throw new StackInputError(
      `Cannot read stack ${stackName}: ${(error as Error).message}. Deploy it first (npx cdk deploy ${stackName}), check AWS credentials and region, or pass --host/--password-env for a database of your own.`,
    );
  }
  return Object.fromEntries(
    (outputs ?? [])
      .filter((output) => output.OutputKey && output.OutputValue !== undefined)
      .map((output) => [output.OutputKey as string, output.OutputValue as string]),
  );
}

export function requireOutput(
  outputs: Record<string, string>,
  key: string,
  stackName: string,
): string {
  const value = outputs[key];
  if (value === undefined || value === '') {
    throw new StackInputError(
      `Stack ${stackName} has no output ${key}: redeploy it with this version of the project (npx cdk deploy ${stackName})`,
    );
  }
  return value;
}

/** Where a deployed environment's database is, and which secrets hold its users. */
export interface DeployedDatabase {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly replicationUserSecretArn: string;
}

export function deployedDatabaseOf(
  outputs: Record<string, string>,
  stackName: string,
): DeployedDatabase {
  const port = Number(requireOutput(outputs, StackOutputs.databasePort, stackName));
  return {
    host: requireOutput(outputs, StackOutputs.databaseEndpoint, stackName),
    port,
    database: requireOutput(outputs, StackOutputs.databaseName, stackName),
    replicationUserSecretArn: requireOutput(
      outputs,
      StackOutputs.replicationUserSecretArn,
      stackName,
    ),
  };
}
