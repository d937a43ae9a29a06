import { Match, type Template } from 'aws-cdk-lib/assertions';
import { type EnvironmentInput } from '../../src/config';
import { CDK_JSON_ENVIRONMENTS, synthesizeEnvironment } from '../support/stacks';

/**
 * What `cdk destroy` must do per environment, from cdk.json's lifecycle settings. The instance's
 * own DeletionPolicy and deletion protection are tested with the stack (rds-airbyte-cdc-stack.test.ts).
 */
const expectations = {
  dev: { instancePolicy: 'Delete', companionPolicy: 'Delete' },
  staging: { instancePolicy: 'Snapshot', companionPolicy: 'Retain' },
  prod: { instancePolicy: 'Snapshot', companionPolicy: 'Retain' },
} as const;

/** Policies that leave something behind after `cdk destroy`. */
const LEAVES_SOMETHING = ['Retain', 'RetainExceptOnCreate', 'Snapshot'];

type Resources = Record<
  string,
  {
    Type: string;
    DeletionPolicy?: string;
    UpdateReplacePolicy?: string;
    Properties?: Record<string, unknown>;
  }
>;

function resourcesOf(template: Template): Resources {
  return template.toJSON().Resources as Resources;
}

/** DeletionPolicy of every resource of `type` (and matching `filter`), `Delete` when absent. */
function policiesOf(
  template: Template,
  type: string,
  filter: (properties: Record<string, unknown>) => boolean = () => true,
): string[] {
  return Object.values(resourcesOf(template))
    .filter((resource) => resource.Type === type && filter(resource.Properties ?? {}))
    .map((resource) => resource.DeletionPolicy ?? 'Delete');
}

/** Secrets Manager generated the value: a database password, needed to use a snapshot. */
const holdsGeneratedPassword = (properties: Record<string, unknown>) =>
  properties.GenerateSecretString !== undefined;

/** Each cdk.json environment synthesized once for the whole file (bundling makes synth slow). */
const synthesized = {
  dev: synthesizeEnvironment('dev'),
  staging: synthesizeEnvironment('staging'),
  prod: synthesizeEnvironment('prod'),
};

describe.each(Object.entries(expectations))('cdk destroy in %s', (name, expected) => {
  const { template } = synthesized[name as keyof typeof expectations];

  it('removes password secrets and log groups with the stack only when the database goes too', () => {
    // A snapshot restored later needs the master password: those secrets live as long as the data.
    for (const policies of [
      policiesOf(template, 'AWS::SecretsManager::Secret', holdsGeneratedPassword),
      policiesOf(template, 'AWS::Logs::LogGroup'),
    ]) {
      expect(policies.length).toBeGreaterThan(0);
      expect(new Set(policies)).toEqual(new Set([expected.companionPolicy]));
    }
  });

  it('gives every function an explicit log group, so that none is created outside the stack', () => {
    const functions = Object.entries(resourcesOf(template)).filter(
      ([, resource]) => resource.Type === 'AWS::Lambda::Function',
    );
    expect(functions.length).toBeGreaterThan(0);
    const withoutLogGroup = functions
      .filter(
        ([, resource]) =>
          !(resource.Properties?.LoggingConfig as { LogGroup?: unknown } | undefined)?.LogGroup,
      )
      .map(([logicalId]) => logicalId);
    expect(withoutLogGroup).toEqual([]);
  });

  it('empties and deletes buckets only where the configuration says destroy', () => {
    const resources = resourcesOf(template);
    const autoDeleted = Object.values(resources)
      .filter((resource) => resource.Type === 'Custom::S3AutoDeleteObjects')
      .map((resource) => JSON.stringify(resource.Properties?.BucketName));
    const buckets = Object.entries(resources).filter(
      ([, resource]) => resource.Type === 'AWS::S3::Bucket',
    );
    for (const [logicalId, bucket] of buckets) {
      const emptied = autoDeleted.includes(JSON.stringify({ Ref: logicalId }));
      expect({ logicalId, emptied, policy: bucket.DeletionPolicy ?? 'Delete' }).toEqual({
        logicalId,
        emptied: expected.instancePolicy === 'Delete',
        policy: expected.instancePolicy === 'Delete' ? 'Delete' : 'Retain',
      });
    }
    if (expected.instancePolicy !== 'Delete') expect(autoDeleted).toEqual([]);
  });

  it('runs the replication setup Delete before the instance goes, told what happens to the data', () => {
    const [setup] = Object.values(template.findResources('Custom::ReplicationSetup'));
    expect(setup).toBeDefined();
    // Referencing the instance orders the deletion: CloudFormation deletes dependents first, so the
    // slot is dropped while the database still answers and no retained database keeps a dangling slot.
    expect(setup.Properties).toMatchObject({
      Host: { 'Fn::GetAtt': [expect.stringMatching(/^DatabaseInstance/), 'Endpoint.Address'] },
      RemovalPolicy: CDK_JSON_ENVIRONMENTS[name].lifecycle?.removalPolicy,
    });
    expect(setup.DeletionPolicy ?? 'Delete').toBe('Delete');
  });
});

describe('cdk destroy in dev', () => {
  it('leaves nothing behind: no resource is retained or snapshotted', () => {
    const { template } = synthesized.dev;
    const leftBehind = Object.entries(resourcesOf(template))
      .filter(([, resource]) =>
        [resource.DeletionPolicy, resource.UpdateReplacePolicy].some(
          (policy) => policy && LEAVES_SOMETHING.includes(policy),
        ),
      )
      .map(
        ([logicalId, resource]) => `${logicalId} (${resource.Type}: ${resource.DeletionPolicy})`,
      );
    expect(leftBehind).toEqual([]);
  });
});

describe('an environment configured to retain its database', () => {
  it('retains the instance and keeps its secrets and logs', () => {
    const raw: EnvironmentInput = {
      ...CDK_JSON_ENVIRONMENTS.staging,
      lifecycle: { removalPolicy: 'retain', deletionProtection: true },
    };
    const { template } = synthesizeEnvironment('staging', raw);
    template.hasResource('AWS::RDS::DBInstance', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({ DeletionProtection: true }),
    });
    expect(
      new Set(policiesOf(template, 'AWS::SecretsManager::Secret', holdsGeneratedPassword)),
    ).toEqual(new Set(['Retain']));
    template.hasResourceProperties('Custom::ReplicationSetup', { RemovalPolicy: 'retain' });
  });
});
