import type { RemovalPolicy } from 'aws-cdk-lib';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct } from 'constructs';
import { loginSecretNameFor } from '../src/contract/aws-names';
import { acknowledgeFinding } from './nag-findings';

/**
 * Characters generated passwords leave out: JDBC URLs and Airbyte's forms are happier without
 * them.
 */
export const LOGIN_PASSWORD_EXCLUDED_CHARACTERS = ' %+~`#$&*()|[]{}:;<>?!\'/@"\\';

/**
 * Why a login secret has no rotation schedule (cdk-nag AwsSolutions-SMG4), unless the caller
 * says more about its role.
 */
export const LOGIN_PASSWORD_ROTATION_REASON =
  'The replication setup sets the role password from this secret at every deploy (and Airbyte keeps a copy of it), so a rotation Lambda would change it behind both; passwords change by deploy.';

export interface LoginSecretProps {
  /** The PostgreSQL role the secret holds a password for. */
  readonly username: string;
  /**
   * The instance or cluster identifier: the prefix of the secret's name
   * (`<identifier>/<user>`, see loginSecretNameFor).
   */
  readonly databaseIdentifier: string;
  /** The master user's secret, recorded in the login secret as RDS's multi-user secrets do. */
  readonly masterSecret: secretsmanager.ISecret;
  /**
   * The database whose host, port, dbname and engine the secret takes, once it exists.
   *
   * @default - none: the secret holds only username and password (and whatever the caller
   *   attaches later)
   */
  readonly attachTo?: secretsmanager.ISecretAttachmentTarget;
  /** What `cdk destroy` does with the secret (the database's companion policy). */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Why the secret has no rotation schedule, as the acknowledgement of cdk-nag's AwsSolutions-SMG4
   * on it reads.
   *
   * @default - LOGIN_PASSWORD_ROTATION_REASON: the replication setup sets the password at every
   *   deploy, so a rotation would change it behind the setup and Airbyte
   */
  readonly rotationReason?: string;
}

/**
 * A generated secret for a PostgreSQL login role (the replication user's, the slot watchdog's),
 * which the replication setup reads to give the role its password. Its name derives from the
 * database identifier and the user name, so that a redeploy never renames (and so replaces) it.
 * It has no rotation schedule: the replication setup, not a rotation Lambda, changes the password.
 */
export function addLoginSecret(
  scope: Construct,
  id: string,
  props: LoginSecretProps,
): rds.DatabaseSecret {
  const secret = new rds.DatabaseSecret(scope, id, {
    username: props.username,
    // The user name may hold spaces, quotes or unicode, which a secret name cannot.
    secretName: loginSecretNameFor(props.databaseIdentifier, props.username),
    masterSecret: props.masterSecret,
    excludeCharacters: LOGIN_PASSWORD_EXCLUDED_CHARACTERS,
  });
  secret.applyRemovalPolicy(props.removalPolicy);
  // Fills in host, port, dbname and engine once the database exists.
  if (props.attachTo) secret.attach(props.attachTo);
  acknowledgeFinding(
    secret,
    'AwsSolutions-SMG4',
    props.rotationReason ?? LOGIN_PASSWORD_ROTATION_REASON,
  );
  return secret;
}
