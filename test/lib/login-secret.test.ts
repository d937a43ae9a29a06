import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  addLoginSecret,
  LOGIN_PASSWORD_EXCLUDED_CHARACTERS,
  LOGIN_PASSWORD_ROTATION_REASON,
} from '../../lib/login-secret';
import { loginSecretNameFor } from '../../src/contract/aws-names';
import { appWithoutValidation } from '../support/stacks';

/** An imported cluster and its master secret, as for a database the stack does not own. */
function existingCluster() {
  const stack = new Stack(appWithoutValidation(), 'Existing');
  const cluster = rds.DatabaseCluster.fromDatabaseClusterAttributes(stack, 'Cluster', {
    clusterIdentifier: 'their-cluster',
    clusterEndpointAddress: 'their-cluster.cluster-abc.eu-west-1.rds.amazonaws.com',
    port: 5432,
    engine: rds.DatabaseClusterEngine.AURORA_POSTGRESQL,
    securityGroups: [ec2.SecurityGroup.fromSecurityGroupId(stack, 'Group', 'sg-12345678')],
  });
  const masterSecret = new rds.DatabaseSecret(stack, 'Master', { username: 'postgres' });
  return { stack, cluster, masterSecret };
}

describe('addLoginSecret', () => {
  it('names the secret after the database and the user, and leaves out awkward characters', () => {
    const { stack, masterSecret } = existingCluster();
    const secret = addLoginSecret(stack, 'Login', {
      username: 'cdc reader',
      databaseIdentifier: 'their-cluster',
      masterSecret,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const template = Template.fromStack(stack);
    template.hasResource('AWS::SecretsManager::Secret', {
      DeletionPolicy: 'Retain',
      Properties: {
        Name: loginSecretNameFor('their-cluster', 'cdc reader'),
        GenerateSecretString: {
          ExcludeCharacters: LOGIN_PASSWORD_EXCLUDED_CHARACTERS,
          SecretStringTemplate: {
            'Fn::Join': [
              '',
              [
                '{"username":"cdc reader","masterarn":"',
                stack.resolve(masterSecret.secretArn),
                '"}',
              ],
            ],
          },
        },
      },
    });
    // Without a target, nothing fills in host and port.
    template.resourceCountIs('AWS::SecretsManager::SecretTargetAttachment', 0);
    expect(secret.node.path).toBe('Existing/Login');
  });

  it('attaches the secret to the given database', () => {
    const { stack, cluster, masterSecret } = existingCluster();
    addLoginSecret(stack, 'Login', {
      username: 'airbyte',
      databaseIdentifier: cluster.clusterIdentifier,
      masterSecret,
      attachTo: cluster,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
      TargetId: 'their-cluster',
      TargetType: 'AWS::RDS::DBCluster',
    });
  });

  it('explains why it has no rotation schedule, so cdk-nag passes it', () => {
    const { stack, masterSecret } = existingCluster();
    const secrets = [undefined, 'Only the setup sets this password.'].map((rotationReason, index) =>
      addLoginSecret(stack, `Login${index}`, {
        username: `user${index}`,
        databaseIdentifier: 'their-cluster',
        masterSecret,
        removalPolicy: RemovalPolicy.DESTROY,
        rotationReason,
      }),
    );
    const acknowledged = secrets.map((secret) =>
      secret.node.metadata
        .filter((entry) => entry.type === 'aws:cdk:acknowledged-rules')
        .map((entry) => entry.data as Record<string, string>),
    );
    expect(acknowledged).toEqual([
      [{ 'Annotation::AwsSolutions-SMG4': LOGIN_PASSWORD_ROTATION_REASON }],
      [{ 'Annotation::AwsSolutions-SMG4': 'Only the setup sets this password.' }],
    ]);
    // The master secret, made here without an acknowledgement, shows the check is live.
    const rotationFindings = new AwsSolutionsChecks()
      .validateScope(stack)
      .violations.filter((violation) => violation.ruleName === 'AwsSolutions-SMG4')
      .flatMap((violation) => violation.violatingResources.map((r) => r.constructPath));
    expect(rotationFindings).toEqual(['Existing/Master/Resource']);
  });
});
