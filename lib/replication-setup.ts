import { CustomResource, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { HandlerFunction } from './handler-function';
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
  tablesProperty,
} from '../src/contract/replication-setup';

/**
 * How long a reboot for a `pending-reboot` parameter group may take before the deploy fails.
 * A small instance reboots in 2 to 5 minutes; Multi-AZ can take longer.
 */
const REBOOT_TIMEOUT = Duration.minutes(30);

export interface ReplicationSetupProps {
  /** The instance to configure; the resource runs after it is available. */
  readonly instance: rds.DatabaseInstance;
  /** The database (dbname) inside the instance. */
  readonly databaseName: string;
  /** The master user's secret: the setup logs in with it. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The replication user's secret: the password the user gets. */
  readonly replicationUserSecret: secretsmanager.ISecret;
  /** The replication user to create, read-only with the replication right. */
  readonly replicationUsername: string;
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
  /** The schema, tables, publication and slot to create; Airbyte streams from them. */
  readonly replication: StreamedPublication;
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
   * or about to go.
   */
  readonly databaseRemovalPolicy: RemovalPolicy;
  /** The VPC of the database; the functions run in it. */
  readonly vpc: ec2.IVpc;
  /** Subnets for the functions (isolated: they reach AWS APIs through interface endpoints). */
  readonly vpcSubnets: ec2.SubnetSelection;
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
 * keeps the data.
 */
export class ReplicationSetup extends Construct {
  /** The custom resource. */
  public readonly resource: CustomResource;
  /** The function that runs the SQL (its security group is the one the database admits). */
  public readonly handler: HandlerFunction;

  constructor(scope: Construct, id: string, props: ReplicationSetupProps) {
    super(scope, id);
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description:
        'Replication setup function: egress to PostgreSQL and the AWS API endpoints only',
      allowAllOutbound: false,
    });
    props.instance.connections.allowDefaultPortFrom(securityGroup, 'Replication setup function');

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
        vpc: props.vpc,
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
      props.replicationUserSecret.grantRead(fn);
      props.monitoringUser?.secret.grantRead(fn);
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['rds:DescribeDBInstances', 'rds:RebootDBInstance'],
          resources: [props.instance.instanceArn],
        }),
      );
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
      DbInstanceIdentifier: props.instance.instanceIdentifier,
      Host: props.instance.dbInstanceEndpointAddress,
      Port: props.instance.dbInstanceEndpointPort,
      Database: props.databaseName,
      MasterSecretArn: props.masterSecret.secretArn,
      ReplicationUserSecretArn: props.replicationUserSecret.secretArn,
      Schema: props.replication.schema,
      Tables: JSON.stringify(tablesProperty(props.replication.schemas)),
      User: props.replicationUsername,
      SlotName: props.replication.slotName,
      PublicationName: props.replication.publicationName,
      CreateDemoTable: String(props.createDemoTable ?? false),
      HeartbeatTable: props.heartbeatTable,
      MonitoringUser: props.monitoringUser?.username,
      MonitoringUserSecretArn: props.monitoringUser?.secret.secretArn,
      SlotGeneration: props.slotGeneration,
      RebootIfPending: String(props.rebootIfPending ?? false),
      RemovalPolicy: databaseRemovalPolicyProperty(props.databaseRemovalPolicy),
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: REPLICATION_SETUP_RESOURCE_TYPE,
      properties,
    });
    // The secret's host/port/dbname are filled in by its attachment; read them only after that.
    this.resource.node.addDependency(props.instance);

    this.acknowledgeNagFindings(provider, [
      this.handler,
      isCompleteHandler,
      ...['framework-isComplete', 'framework-onTimeout'].map(
        (id) => provider.node.findChild(id) as lambda.Function,
      ),
    ]);
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
