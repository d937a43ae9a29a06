import { CfnResource, CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { companionRemovalPolicy } from './database-companions';
import { constructError } from './construct-error';
import {
  resolveDatabaseTarget,
  type CdcDatabaseTarget,
  type ResolvedDatabaseTarget,
} from './database-target';
import { HandlerFunction } from './handler-function';
import { addLoginSecret } from './login-secret';
import {
  acknowledgeFinding,
  acknowledgeVpcFunctionManagedPolicies,
  wildcardResourceFinding,
} from './nag-findings';
import type { StreamedPublication } from '../src/airbyte/settings';
import {
  type DATABASE_REMOVAL_POLICIES,
  REPLICATION_SETUP_RESOURCE_TYPE,
  type ReplicationSetupProperties,
  type SchemaSelection,
  tablesProperty,
} from '../src/contract/replication-setup';
import { databaseIdentifierProperties } from '../src/contract/database-identifier';

/**
 * How long a reboot for a `pending-reboot` parameter group may take before the deploy fails.
 * A small instance reboots in 2 to 5 minutes; Multi-AZ can take longer.
 */
const REBOOT_TIMEOUT = Duration.minutes(30);

/** The replication user, slot and publication an app gets unless it names its own. */
const DEFAULT_REPLICATION_USERNAME = 'airbyte';
const DEFAULT_SLOT_NAME = 'airbyte_slot';
const DEFAULT_PUBLICATION_NAME = 'airbyte_publication';
/**
 * The database RDS creates in every PostgreSQL instance and Aurora PostgreSQL cluster, beside
 * the one named by its `databaseName`, if any.
 */
const ALWAYS_CREATED_DATABASE = 'postgres';

/**
 * What to publish and stream: a StreamedPublication whose names have defaults (any
 * StreamedPublication is one). The construct's `replication` is the resolved form.
 */
export interface CdcPublication {
  /**
   * Every schema to publish, in order: its listed tables, or all of them. The first holds the
   * demo and heartbeat tables.
   */
  readonly schemas: readonly SchemaSelection[];
  /**
   * The first published schema; when given, it must be the first of `schemas`.
   *
   * @default - the name of the first of `schemas`
   */
  readonly schema?: string;
  /**
   * The pgoutput replication slot Airbyte reads.
   *
   * @default 'airbyte_slot'
   */
  readonly slotName?: string;
  /**
   * The publication of the tables.
   *
   * @default 'airbyte_publication'
   */
  readonly publicationName?: string;
}

export interface ReplicationSetupProps {
  /**
   * The RDS instance or Aurora cluster to configure (its writer endpoint, for a cluster). A
   * database defined in the same app is configured after it is available.
   */
  readonly database: CdcDatabaseTarget;
  /**
   * The database exists outside this app: the setup never reboots it (unless `rebootIfPending`),
   * never asks about its deletion protection on Delete, and, when the parameter group does not
   * turn on logical replication, fails with the commands to do it by hand.
   *
   * @default - false: the app defines the database
   */
  readonly existingDatabase?: boolean;
  /**
   * On Delete, drop the slot even while a consumer reads it (an existing database only; a
   * database the app defines goes with the stack anyway).
   *
   * @default - false: Delete of an existing database refuses, dropping nothing, while it is read
   */
  readonly dropActiveSlotOnDelete?: boolean;
  /**
   * The database (dbname) inside the instance or cluster that holds the published tables.
   *
   * @default - the `databaseName` an `rds.DatabaseInstance` or `rds.DatabaseCluster` of this app
   *   was created with; otherwise `postgres`, which RDS creates in every PostgreSQL database
   */
  readonly databaseName?: string;
  /** The master user's secret: the setup logs in with it. */
  readonly masterSecret: secretsmanager.ISecret;
  /**
   * The replication user's secret: the password the user gets (read by Airbyte too).
   *
   * @default - a generated secret named `<identifier>/<replicationUsername>`, attached to the
   *   database, kept on removal unless `databaseRemovalPolicy` is DESTROY (see the construct's
   *   `replicationUserSecret`)
   */
  readonly replicationUserSecret?: secretsmanager.ISecret;
  /**
   * The replication user to create, read-only with the replication right.
   *
   * @default 'airbyte'
   */
  readonly replicationUsername?: string;
  /**
   * The slot watchdog's login role and its secret: the setup creates the role (no privileges,
   * read-only by default) with the secret's password, and drops it with the rest.
   *
   * @default - no watchdog role
   */
  readonly monitoringUser?: { readonly username: string; readonly secret: secretsmanager.ISecret };
  /**
   * Changes when the slot was dropped before an engine upgrade (PreUpgradeCheck.slotGeneration):
   * the setup then runs again after the upgrade and recreates it.
   *
   * @default - the setup runs only when its own properties change
   */
  readonly slotGeneration?: string;
  /** The schemas, tables, publication and slot to create; Airbyte streams from them. */
  readonly replication: CdcPublication;
  /**
   * Create the tutorial's `data_tbl (id bigint primary key, val varchar)` in the schema with two
   * rows on first deploy.
   *
   * @default - false
   */
  readonly createDemoTable?: boolean;
  /**
   * A Debezium heartbeat table in the schema, created, published and writable by the
   * replication user, so that the slot advances while the published tables are idle.
   *
   * @default - no heartbeat table
   */
  readonly heartbeatTable?: string;
  /**
   * When the parameter group is `pending-reboot`, reboot the instance during deploy instead of
   * failing with the command to run.
   *
   * @default - false
   */
  readonly rebootIfPending?: boolean;
  /**
   * The database's removal policy: on Delete, what the setup may skip when the database is gone
   * or about to go. Tell a database that is deleted with the stack (DESTROY) so that a Delete
   * that cannot reach it succeeds.
   *
   * @default - RemovalPolicy.RETAIN: a Delete that cannot reach the database fails, with the SQL
   *   that drops the slot and publication by hand
   */
  readonly databaseRemovalPolicy?: RemovalPolicy;
  /**
   * The VPC the functions run in: the database's, or one that reaches it.
   *
   * @default - the VPC of an `rds.DatabaseInstance` or `rds.DatabaseCluster` defined in this app;
   *   required for an imported database
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the functions: they must reach the database and the Secrets Manager and RDS APIs
   * (through a NAT gateway or interface endpoints).
   *
   * @default - the VPC's private subnets, as lambda.Function chooses them
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * What happens to the functions' log groups on `cdk destroy`.
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Brings the database to the state Airbyte CDC needs: schema, read-only replication user with
 * the replication right, replica identities, the publication and the pgoutput slot. Runs as a
 * custom resource after the instance is up; Delete drops the slot, publication and user and
 * keeps the data. A database defined in the app needs only itself, its master secret and the
 * schemas to publish: the rest (user `airbyte` with a generated secret, `airbyte_slot`,
 * `airbyte_publication`, the database's VPC) has defaults.
 */
export class ReplicationSetup extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The function that runs the SQL (its security group is the one the database admits). */
  public readonly handler: HandlerFunction;
  /**
   * The replication user's secret (given or generated): give it to AirbyteConnection or to
   * whoever configures the Airbyte source.
   */
  public readonly replicationUserSecret: secretsmanager.ISecret;
  /** The replication user's name. */
  public readonly replicationUsername: string;
  /** The publication and slot with their defaults resolved, as AirbyteConnection takes them. */
  public readonly replication: StreamedPublication;
  /** The database (dbname) that holds the published tables. */
  public readonly databaseName: string;

  constructor(scope: Construct, id: string, props: ReplicationSetupProps) {
    super(scope, id);
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;
    const databaseRemovalPolicy = props.databaseRemovalPolicy ?? RemovalPolicy.RETAIN;
    const database = resolveDatabaseTarget(this, props.database);
    const vpc = props.vpc ?? vpcOfDefinedDatabase(props.database);
    if (!vpc) {
      throw constructError(
        this,
        `cannot tell which VPC reaches the imported database ${database.identifier}: pass \`vpc\` (and \`vpcSubnets\` if its private subnets cannot reach it).`,
      );
    }
    this.replication = resolvePublication(this, props.replication);
    this.databaseName =
      props.databaseName ?? createdDatabaseNameOf(props.database) ?? ALWAYS_CREATED_DATABASE;
    this.replicationUsername = props.replicationUsername ?? DEFAULT_REPLICATION_USERNAME;
    this.replicationUserSecret =
      props.replicationUserSecret ??
      this.generateReplicationUserSecret(props, database.identifier, databaseRemovalPolicy);

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc,
      description:
        'Replication setup function: egress to PostgreSQL and the AWS API endpoints only',
      allowAllOutbound: false,
    });
    database.connections.allowDefaultPortFrom(securityGroup, 'Replication setup function');

    const newFunction = (id: string, handler: 'onEvent' | 'isComplete', description: string) =>
      new HandlerFunction(this, id, {
        handlerDirectory: 'replication-setup',
        handler,
        description,
        // Above the client's own limits (10 s connect, 60 s statement, 120 s query) so that they,
        // not Lambda, end a stuck run with an explanation and the clean-up of a failed Create;
        // still minutes, never CloudFormation's hour.
        timeout: Duration.minutes(5),
        logRemovalPolicy,
        vpc,
        vpcSubnets: props.vpcSubnets,
        securityGroups: [securityGroup],
        trustsRdsCertificates: true,
      });
    this.handler = newFunction(
      'Function',
      'onEvent',
      'Runs the replication setup SQL for Airbyte CDC',
    );
    const isCompleteHandler = newFunction(
      'IsCompleteFunction',
      'isComplete',
      'Waits for a reboot that turns on logical replication, then runs the setup',
    );
    for (const fn of [this.handler, isCompleteHandler]) {
      props.masterSecret.grantRead(fn);
      this.replicationUserSecret.grantRead(fn);
      props.monitoringUser?.secret.grantRead(fn);
      for (const statement of rdsStatements(database, props.rebootIfPending ?? false)) {
        fn.addToRolePolicy(statement);
      }
    }

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler,
      isCompleteHandler,
      queryInterval: Duration.seconds(30),
      totalTimeout: REBOOT_TIMEOUT,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: logRemovalPolicy,
      }),
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: {
        destination: new logs.LogGroup(this, 'WaiterLogs', {
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: logRemovalPolicy,
        }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });

    const properties: ReplicationSetupProperties = {
      ...databaseIdentifierProperties(database),
      ...(props.existingDatabase ? { ExistingDatabase: 'true' } : {}),
      ...(props.dropActiveSlotOnDelete ? { DropActiveSlotOnDelete: 'true' } : {}),
      Host: database.hostname,
      Port: database.port,
      Database: this.databaseName,
      MasterSecretArn: props.masterSecret.secretArn,
      ReplicationUserSecretArn: this.replicationUserSecret.secretArn,
      Schema: this.replication.schema,
      Tables: JSON.stringify(tablesProperty(this.replication.schemas)),
      User: this.replicationUsername,
      SlotName: this.replication.slotName,
      PublicationName: this.replication.publicationName,
      CreateDemoTable: String(props.createDemoTable ?? false),
      HeartbeatTable: props.heartbeatTable,
      MonitoringUser: props.monitoringUser?.username,
      MonitoringUserSecretArn: props.monitoringUser?.secret.secretArn,
      SlotGeneration: props.slotGeneration,
      RebootIfPending: String(props.rebootIfPending ?? false),
      RemovalPolicy: databaseRemovalPolicyProperty(databaseRemovalPolicy),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: REPLICATION_SETUP_RESOURCE_TYPE,
      properties,
    });
    // The secret's host/port/dbname are filled in by its attachment; read them only after that
    // (a cluster's construct holds its instances: the writer must be up too).
    this.resource.node.addDependency(props.database);

    this.acknowledgeNagFindings(provider, [
      this.handler,
      isCompleteHandler,
      ...['framework-isComplete', 'framework-onTimeout'].map(
        (id) => provider.node.findChild(id) as lambda.Function,
      ),
    ]);
  }

  /**
   * The replication user's secret when the app brings none: named after the database and the
   * user (so a redeploy never replaces it), filled in with the database's endpoint, and kept
   * with a database that outlives the stack.
   */
  private generateReplicationUserSecret(
    props: ReplicationSetupProps,
    databaseIdentifier: string,
    databaseRemovalPolicy: RemovalPolicy,
  ): rds.DatabaseSecret {
    return addLoginSecret(this, 'ReplicationUserSecret', {
      username: this.replicationUsername,
      databaseIdentifier,
      masterSecret: props.masterSecret,
      attachTo: props.database,
      removalPolicy: companionRemovalPolicy(databaseRemovalPolicy),
    });
  }

  private acknowledgeNagFindings(
    provider: cr.Provider,
    invokedFunctions: lambda.IFunction[],
  ): void {
    acknowledgeVpcFunctionManagedPolicies(this);
    // The Provider framework invokes the handlers, and its state machine the framework functions,
    // by ARN with any version qualifier (`<arn>:*`); nothing else is granted.
    for (const fn of invokedFunctions) {
      acknowledgeFinding(
        this,
        wildcardResourceFinding(this, `${fn.functionArn}:*`),
        'The CDK Provider framework invokes this function with any version qualifier; only lambda:InvokeFunction is granted.',
      );
    }
    acknowledgeFinding(
      provider.node.findChild('waiter-state-machine'),
      wildcardResourceFinding(this, '*'),
      'Step Functions log delivery (logs:CreateLogDelivery and friends) does not support resource-level permissions; the role only delivers the waiter state machine logs.',
    );
    acknowledgeFinding(
      this,
      'AwsSolutions-SF2',
      'The Provider framework waiter state machine only polls isComplete; its executions are logged (SF1) and X-Ray tracing cannot be enabled through the framework.',
    );
  }
}

/**
 * The publication with its defaults. `schema` is the first of `schemas` (a single schema's
 * `Tables` property does not name it), so a different one is refused rather than published.
 */
function resolvePublication(scope: Construct, publication: CdcPublication): StreamedPublication {
  const [first] = publication.schemas;
  if (!first) {
    throw constructError(
      scope,
      '`replication.schemas` is empty: name at least one schema to publish.',
    );
  }
  if (publication.schema !== undefined && publication.schema !== first.name) {
    throw constructError(
      scope,
      `\`replication.schema\` is "${publication.schema}" but the first of \`replication.schemas\` is "${first.name}": list "${publication.schema}" first, or leave \`schema\` out.`,
    );
  }
  return {
    schema: first.name,
    slotName: publication.slotName ?? DEFAULT_SLOT_NAME,
    publicationName: publication.publicationName ?? DEFAULT_PUBLICATION_NAME,
    schemas: publication.schemas,
  };
}

/**
 * The VPC of an `rds.DatabaseInstance` or `rds.DatabaseCluster` defined in the app: the classes
 * have it, their interfaces (and so imported databases) do not. Looked for by shape, not by
 * class: the app's aws-cdk-lib may be another copy than the one this package loads.
 */
function vpcOfDefinedDatabase(database: CdcDatabaseTarget): ec2.IVpc | undefined {
  if (!('vpc' in database)) return undefined;
  const { vpc } = database;
  return typeof vpc === 'object' && vpc !== null && 'vpcId' in vpc && 'selectSubnets' in vpc
    ? (vpc as ec2.IVpc)
    : undefined;
}

/**
 * The `databaseName` an instance or cluster defined in the app was created with, read from its
 * CloudFormation resource (by type, not class, for the reason vpcOfDefinedDatabase gives).
 */
function createdDatabaseNameOf(database: CdcDatabaseTarget): string | undefined {
  const resource = database.node.defaultChild;
  if (!CfnResource.isCfnResource(resource)) return undefined;
  const name =
    resource.cfnResourceType === rds.CfnDBInstance.CFN_RESOURCE_TYPE_NAME && 'dbName' in resource
      ? resource.dbName
      : resource.cfnResourceType === rds.CfnDBCluster.CFN_RESOURCE_TYPE_NAME &&
          'databaseName' in resource
        ? resource.databaseName
        : undefined;
  return typeof name === 'string' ? name : undefined;
}

/**
 * What the functions may ask RDS about the database: describe it (its parameter group's status,
 * its deletion protection), and reboot it when `rebootIfPending` allows, an Aurora cluster
 * through its writer instance.
 */
function rdsStatements(
  database: ResolvedDatabaseTarget,
  mayReboot: boolean,
): iam.PolicyStatement[] {
  const rebootActions = mayReboot ? ['rds:RebootDBInstance'] : [];
  if (database.kind === 'instance') {
    return [
      new iam.PolicyStatement({
        actions: ['rds:DescribeDBInstances', ...rebootActions],
        resources: [database.arn],
      }),
    ];
  }
  const statements = [
    new iam.PolicyStatement({ actions: ['rds:DescribeDBClusters'], resources: [database.arn] }),
  ];
  // An imported cluster may not name its instances: then the function cannot reboot one and
  // says which command to run instead.
  if (rebootActions.length > 0 && database.instanceArns.length > 0) {
    statements.push(
      new iam.PolicyStatement({ actions: rebootActions, resources: [...database.instanceArns] }),
    );
  }
  return statements;
}

/**
 * The database's removal policy as the function reads it. RETAIN_ON_UPDATE_OR_DELETE keeps the
 * database on Delete just as RETAIN does, so the function treats it the same.
 */
function databaseRemovalPolicyProperty(
  policy: RemovalPolicy,
): (typeof DATABASE_REMOVAL_POLICIES)[number] {
  switch (policy) {
    case RemovalPolicy.DESTROY:
      return 'destroy';
    case RemovalPolicy.SNAPSHOT:
      return 'snapshot';
    case RemovalPolicy.RETAIN:
    case RemovalPolicy.RETAIN_ON_UPDATE_OR_DELETE:
      return 'retain';
  }
}
