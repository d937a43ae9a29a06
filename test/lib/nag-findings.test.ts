import { App, Fn, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
// Not part of cdk-nag's API: the function its IAM rules build finding ids with.
import { flattenCfnReference } from 'cdk-nag/lib/utils/flatten-cfn-reference';
import {
  acknowledgeFinding,
  managedPolicyFinding,
  wildcardResourceFinding,
} from '../../lib/nag-findings';

/** A function in a VPC whose role may write under one prefix of a bucket. */
function stackWithFindings(app = new App(), env?: { account: string; region: string }) {
  const stack = new Stack(app, 'Nag', { env });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const fn = new lambda.Function(stack, 'Function', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {};'),
    vpc,
  });
  const bucket = new s3.Bucket(stack, 'Bucket');
  // As AirbyteConnection writes its prefix ARN: the partition is whatever the stack's is.
  const bucketArn = stack.formatArn({
    service: 's3',
    region: '',
    account: '',
    resource: bucket.bucketName,
  });
  const prefixArn = `${bucketArn}/exports/*`;
  fn.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [prefixArn] }),
  );
  return { stack, fn, prefixArn };
}

/** The ids of cdk-nag's AwsSolutions findings on the stack's function. */
function functionFindings(stack: Stack): string[] {
  return new AwsSolutionsChecks()
    .validateScope(stack)
    .violations.filter((violation) =>
      violation.violatingResources.some((resource) =>
        (resource as { constructPath?: string }).constructPath?.startsWith('Nag/Function/'),
      ),
    )
    .map((violation) => violation.ruleName);
}

describe('cdk-nag finding ids', () => {
  it('are the ids cdk-nag reports for managed policies and wildcard resources', () => {
    const { stack, prefixArn } = stackWithFindings();
    expect(functionFindings(stack)).toEqual(
      expect.arrayContaining([
        managedPolicyFinding(stack, 'service-role/AWSLambdaBasicExecutionRole'),
        managedPolicyFinding(stack, 'service-role/AWSLambdaVPCAccessExecutionRole'),
        wildcardResourceFinding(stack, prefixArn),
      ]),
    );
    expect(wildcardResourceFinding(stack, prefixArn)).toMatch(
      /^AwsSolutions-IAM5\[Resource::arn:<AWS::Partition>:s3:::<Bucket[0-9A-F]+>\/exports\/\*\]$/,
    );
  });

  it('follow the partition the stack writes: a literal in a stack pinned to a region', () => {
    const app = new App({ context: { '@aws-cdk/core:enablePartitionLiterals': true } });
    const { stack, prefixArn } = stackWithFindings(app, {
      account: '123456789012',
      region: 'eu-west-1',
    });
    const wildcard = wildcardResourceFinding(stack, prefixArn);
    expect(wildcard).toMatch(
      /^AwsSolutions-IAM5\[Resource::arn:aws:s3:::<Bucket[0-9A-F]+>\/exports\/\*\]$/,
    );
    expect(functionFindings(stack)).toContain(wildcard);
  });

  it('flatten every intrinsic as cdk-nag does', () => {
    const { stack, fn } = stackWithFindings();
    const resources = [
      '*',
      `${fn.functionArn}:*`,
      stack.formatArn({ service: 's3', region: '', account: '', resource: 'bucket/*' }),
      Fn.sub('arn:${AWS::Partition}:s3:::bucket/${AWS::AccountId}/*'),
      Fn.importValue('SharedBucketArn'),
    ];
    for (const resource of resources) {
      expect(wildcardResourceFinding(stack, resource)).toBe(
        `AwsSolutions-IAM5[Resource::${flattenCfnReference(stack.resolve(resource))}]`,
      );
    }
  });

  it('silence exactly the finding acknowledged, on the scope and below', () => {
    const { stack, fn, prefixArn } = stackWithFindings();
    const wildcard = wildcardResourceFinding(stack, prefixArn);
    acknowledgeFinding(fn, wildcard, 'The function writes files it names itself.');
    const findings = functionFindings(stack);
    expect(findings).not.toContain(wildcard);
    expect(findings).toContain(
      managedPolicyFinding(stack, 'service-role/AWSLambdaBasicExecutionRole'),
    );
  });
});
