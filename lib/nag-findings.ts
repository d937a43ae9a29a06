import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * Accept one finding of a validation plugin (cdk-nag, or the CloudFormation validation that
 * `cdk synth` runs) on `scope` and every construct under it. The reason is what a reviewer reads
 * in the cloud assembly's metadata, so it says why the finding does not apply here.
 */
export function acknowledgeFinding(scope: IConstruct, findingId: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: findingId, reason });
}

/**
 * cdk-nag's id of the AwsSolutions-IAM4 finding for an AWS-managed policy on a role, e.g.
 * `service-role/AWSLambdaBasicExecutionRole`: the policy's ARN as CDK gives it to the role,
 * resolved in `scope`'s stack, so that the id follows CDK rather than a copy of its ARN format.
 */
export function managedPolicyFinding(scope: IConstruct, managedPolicyName: string): string {
  const { managedPolicyArn } = iam.ManagedPolicy.fromAwsManagedPolicyName(managedPolicyName);
  return `AwsSolutions-IAM4[Policy::${asNagPrintsIt(scope, managedPolicyArn)}]`;
}

/**
 * Accept, on `scope`, the AWS-managed policies every function in a VPC has: write its own logs,
 * and manage its network interfaces (which IAM cannot scope to resources).
 */
export function acknowledgeVpcFunctionManagedPolicies(scope: IConstruct): void {
  for (const managedPolicy of [
    'service-role/AWSLambdaBasicExecutionRole',
    'service-role/AWSLambdaVPCAccessExecutionRole',
  ]) {
    acknowledgeFinding(
      scope,
      managedPolicyFinding(scope, managedPolicy),
      'AWS-managed minimum for a Lambda function (write its own logs; in a VPC, manage its network interfaces, which IAM cannot scope to resources).',
    );
  }
}

/**
 * cdk-nag's id of the AwsSolutions-IAM5 finding for a wildcard in a policy statement's resource:
 * `resource` is the ARN exactly as the statement holds it, tokens included
 * (`` `${fn.functionArn}:*` ``, `` `${bucketArn}/prefix/*` ``, `'*'`).
 */
export function wildcardResourceFinding(scope: IConstruct, resource: string): string {
  return `AwsSolutions-IAM5[Resource::${asNagPrintsIt(scope, resource)}]`;
}

/**
 * A value as cdk-nag writes it into a finding id: resolved in its stack, then flattened like
 * cdk-nag's own `flattenCfnReference` (lib/utils/flatten-cfn-reference, not part of its API, so
 * test/lib/nag-findings.test.ts holds the two side by side): `Ref` becomes `<LogicalId>`,
 * `Fn::GetAtt` `<LogicalId.Attribute>`, `Fn::Join` its parts joined, `${...}` of `Fn::Sub`
 * `<...>`. Logical ids come out of the resolution, never rebuilt from construct paths.
 */
function asNagPrintsIt(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

function flatten(node: unknown): string {
  if (node === undefined) return '';
  if (typeof node === 'string') return node.replace(/\$\{/g, '<').replace(/\}/g, '>');
  if (typeof node === 'object' && node !== null) {
    const intrinsic = node as Record<string, unknown>;
    if (intrinsic['Fn::Join']) {
      const [delimiter, items] = intrinsic['Fn::Join'] as [string, unknown[]];
      return items.map(flatten).join(delimiter);
    }
    if (intrinsic['Fn::Sub']) return flatten(intrinsic['Fn::Sub']);
    if (intrinsic['Fn::GetAtt']) {
      const [resource, attribute] = intrinsic['Fn::GetAtt'] as [unknown, unknown];
      return `<${flatten(resource)}.${flatten(attribute)}>`;
    }
    if (intrinsic['Fn::ImportValue']) return flatten(intrinsic['Fn::ImportValue']);
    if (intrinsic.Ref) return `<${flatten(intrinsic.Ref)}>`;
  }
  return JSON.stringify(node);
}
