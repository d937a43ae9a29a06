import { RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { addDatabaseLoginSecrets, POSTGRES_PORT } from './database-companions';
import { describeDatabaseStatement, type CdcDatabaseTarget } from './database-target';
import { acknowledgeFinding, managedPolicyFinding } from './nag-findings';
import type { DatabaseReference } from '../src/contract/database';

export interface ExistingCdcDatabaseProps {
  /** The RDS instance or Aurora cluster, by identifier. */
  readonly database: DatabaseReference;
  /** ARN of the secret with the master user's `username` and `password`. */
  readonly masterSecretArn: string;
  /**
   * The database's security group: the functions are admitted to it by one ingress rule each,
   * which this stack owns and removes on destroy.
   */
  readonly securityGroupId: string;
  /** The VPC the database lives in. */
  readonly vpc: ec2.IVpc;
  /**
   * The port the database listens on, for the ingress rules.
   *
   * @default - 5432
   */
  readonly port?: number;
  /** User name of the replication user whose secret this construct creates. */
  readonly replicationUsername: string;
  /**
   * Login role of the slot watchdog: gets a generated secret of its own.
   *
   * @default - no watchdog user and no secret for it
   */
  readonly monitoringUsername?: string;
  /**
   * What happens to the secrets this construct creates, and the lookup's logs, on `cdk destroy`.
   * The roles they log in as are dropped then, so nothing is left for them to open.
   *
   * @default - RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A database the stack does not own (docs/database-shapes.md): imported by identifier, with its
 * endpoint looked up when the stack deploys (a read-only `Describe` call, so that `cdk synth`
 * stays offline). The construct creates the login secrets of the replication user and the
 * watchdog and nothing in or around the database itself: no parameter group, no change to its
 * settings, no reboot.
 */
export class ExistingCdcDatabase extends Construct {
  /** The imported instance or cluster, for the CDC constructs. */
  public readonly database: CdcDatabaseTarget;
  /** The master user's secret (imported). */
  public readonly masterSecret: secretsmanager.ISecret;
  /** The replication user's secret: host, port, dbname, username and password. */
  public readonly replicationUserSecret: rds.DatabaseSecret;
  /** Username and password of the slot watchdog's role, when `monitoringUsername` is set. */
  public readonly monitoringUserSecret?: rds.DatabaseSecret;
  /**
   * Storage allocated to an existing instance in GiB, as RDS reported it to the lookup (a token,
   * the figure of the first deploy), for the free-storage alarm; undefined for a cluster, whose
   * volume grows by itself.
   */
  public readonly allocatedStorageGiB?: number;
  /** The port the database listens on, as a number known at synth. */
  public readonly port: number;

  constructor(scope: Construct, id: string, props: ExistingCdcDatabaseProps) {
    super(scope, id);
    const { kind, identifier } = props.database;
    const port = props.port ?? POSTGRES_PORT;
    this.port = port;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.DESTROY;
    const securityGroups = [
      ec2.SecurityGroup.fromSecurityGroupId(this, 'SecurityGroup', props.securityGroupId),
    ];
    this.masterSecret = secretsmanager.Secret.fromSecretCompleteArn(
      this,
      'MasterSecret',
      props.masterSecretArn,
    );

    const lookup = this.lookUp(props.database, removalPolicy);
    if (kind === 'cluster') {
      this.database = rds.DatabaseCluster.fromDatabaseClusterAttributes(this, 'Database', {
        clusterIdentifier: identifier,
        clusterEndpointAddress: lookup.getResponseField('DBClusters.0.Endpoint'),
        port,
        securityGroups,
        engine: rds.DatabaseClusterEngine.AURORA_POSTGRESQL,
      });
    } else {
      this.database = rds.DatabaseInstance.fromDatabaseInstanceAttributes(this, 'Database', {
        instanceIdentifier: identifier,
        instanceEndpointAddress: lookup.getResponseField('DBInstances.0.Endpoint.Address'),
        port,
        securityGroups,
        engine: rds.DatabaseInstanceEngine.POSTGRES,
      });
      this.allocatedStorageGiB = Token.asNumber(
        lookup.getResponseField('DBInstances.0.AllocatedStorage'),
      );
    }

    const secrets = addDatabaseLoginSecrets(this, {
      databaseIdentifier: identifier,
      masterSecret: this.masterSecret,
      database: this.database,
      replicationUsername: props.replicationUsername,
      monitoringUsername: props.monitoringUsername,
      removalPolicy,
    });
    this.replicationUserSecret = secrets.replicationUserSecret;
    this.monitoringUserSecret = secrets.monitoringUserSecret;
  }

  /**
   * The endpoint (and an instance's storage) as RDS reports them: read when the lookup is
   * created, and again only when its call changes (CloudFormation updates a custom resource
   * only then), so an instance's storage is the figure of the first deploy. The stack never
   * writes to the database's own configuration, only reads it.
   */
  private lookUp(database: DatabaseReference, removalPolicy: RemovalPolicy): cr.AwsCustomResource {
    const call: cr.AwsSdkCall =
      database.kind === 'cluster'
        ? {
            service: 'RDS',
            action: 'describeDBClusters',
            parameters: { DBClusterIdentifier: database.identifier },
            physicalResourceId: cr.PhysicalResourceId.of(`cluster/${database.identifier}`),
            outputPaths: ['DBClusters.0.Endpoint'],
          }
        : {
            service: 'RDS',
            action: 'describeDBInstances',
            parameters: { DBInstanceIdentifier: database.identifier },
            physicalResourceId: cr.PhysicalResourceId.of(`instance/${database.identifier}`),
            outputPaths: ['DBInstances.0.Endpoint.Address', 'DBInstances.0.AllocatedStorage'],
          };
    const lookup = new cr.AwsCustomResource(this, 'Lookup', {
      resourceType: 'Custom::ExistingDatabaseLookup',
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromStatements([
        describeDatabaseStatement(this, database),
      ]),
      // The SDK in the Lambda runtime answers a Describe; no download at deploy time.
      installLatestAwsSdk: false,
      logGroup: new logs.LogGroup(this, 'LookupLogs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy,
      }),
    });
    // One function serves every AwsCustomResource of the stack; it sits at the stack's root.
    const provider = Stack.of(this).node.findChild(
      `AWS${cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
    );
    acknowledgeFinding(
      provider,
      managedPolicyFinding(this, 'service-role/AWSLambdaBasicExecutionRole'),
      'AWS-managed minimum for the function behind AwsCustomResource: it writes its own logs; its Describe permission is scoped to the one database.',
    );
    return lookup;
  }
}
