import { CustomResource, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { constructError } from './construct-error';
import { describeDatabaseStatement } from './database-target';
import { HandlerFunction } from './handler-function';
import {
  acknowledgeFinding,
  acknowledgeVpcFunctionManagedPolicies,
  wildcardResourceFinding,
} from './nag-findings';
import {
  PRE_UPGRADE_CHECK_ATTRIBUTES,
  PRE_UPGRADE_CHECK_RESOURCE_TYPE,
  type PreUpgradeCheckProperties,
} from '../src/contract/pre-upgrade-check';
import type { DatabaseReference } from '../src/contract/database';
import { databaseIdentifierProperties } from '../src/contract/database-identifier';
import { parseEngineVersion } from '../src/upgrade/slot-fate';

export interface PreUpgradeCheckProps {
  /**
   * The RDS instance or Aurora cluster, by identifier as a plain string: the database depends on
   * this check, so the check may not reference it (its endpoint and version are looked up when
   * the check runs).
   */
  readonly database: DatabaseReference;
  /** The master user's secret: the check logs in with it to peek at and drop the slot. */
  readonly masterSecret: secretsmanager.ISecret;
  /** The database (dbname) the slot belongs to. */
  readonly databaseName: string;
  /** The logical replication slot the stack manages. */
  readonly slotName: string;
  /** The publication Airbyte streams, for the check for unconfirmed changes. */
  readonly publicationName: string;
  /** The engine version the instance is given (`database.engineVersion`), e.g. `17`. */
  readonly engineVersion: string;
  /**
   * Whether a major upgrade may drop the slot, making Airbyte resync
   * (`replication.allowSlotRecreation`); without it such an upgrade fails before anything changes.
   *
   * @default - false
   */
  readonly allowSlotRecreation?: boolean;
  /** The VPC of the database; the function runs in it. */
  readonly vpc: ec2.IVpc;
  /** Subnets for the function (those the database admits connections from). */
  readonly vpcSubnets: ec2.SubnetSelection;
  /**
   * What happens to the log groups on `cdk destroy`.
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * The step before an engine upgrade (docs/upgrading.md): a custom resource the database instance
 * depends on, so that CloudFormation runs it before it modifies the instance. From the deployed
 * version (found at run time) and `engineVersion` it decides what the upgrade does to the slot,
 * drops the slot where it has to go (with the acknowledgement), and otherwise fails the deploy
 * with what to do. `slotGeneration` changes exactly when it dropped the slot.
 *
 * The function's security group opens nothing: admit it to the database port
 * (`instance.connections.allowDefaultPortFrom(check)`; the rule is a resource of its own, so its
 * reference to the instance's port is no cycle) and to the AWS API endpoints.
 */
export class PreUpgradeCheck extends Construct implements ec2.IConnectable {
  /** The custom resource; the database instance must depend on it. */
  public readonly resource: CustomResource;
  /** The function that checks (and may drop) the slot. */
  public readonly handler: HandlerFunction;
  /** The function's network access: egress to nothing until it is allowed somewhere. */
  public readonly connections: ec2.Connections;
  /** Changes exactly when the check dropped the slot: a token for the resources that follow. */
  public readonly slotGeneration: string;
  /** `"true"` when this deploy's check dropped the slot, else `"false"`. */
  public readonly slotDropped: string;

  constructor(scope: Construct, id: string, props: PreUpgradeCheckProps) {
    super(scope, id);
    const { identifier } = props.database;
    if (Token.isUnresolved(identifier)) {
      throw constructError(
        this,
        'database.identifier must be a plain string known at synth: the database depends on this check, so a reference to it would be a cycle',
      );
    }
    try {
      parseEngineVersion(props.engineVersion);
    } catch (error) {
      throw constructError(this, `engineVersion: ${(error as Error).message}`);
    }
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description:
        'Pre-upgrade check function: egress to PostgreSQL and the AWS API endpoints only',
      allowAllOutbound: false,
    });
    this.handler = new HandlerFunction(this, 'Function', {
      handlerDirectory: 'pre-upgrade-check',
      description: `Checks replication slot ${props.slotName} before an engine upgrade of ${identifier}`,
      // Above the client's limits (10 s connect, 60 s statement, 70 s query), so that they end a
      // stuck run with an explanation; minutes, never CloudFormation's hour.
      timeout: Duration.minutes(5),
      logRemovalPolicy,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [securityGroup],
      trustsRdsCertificates: true,
    });
    this.connections = this.handler.connections;
    props.masterSecret.grantRead(this.handler);
    this.handler.addToRolePolicy(describeDatabaseStatement(this, props.database));

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: logRemovalPolicy,
      }),
    });
    const properties: PreUpgradeCheckProperties = {
      ...databaseIdentifierProperties(props.database),
      MasterSecretArn: props.masterSecret.secretArn,
      Database: props.databaseName,
      SlotName: props.slotName,
      PublicationName: props.publicationName,
      EngineVersion: props.engineVersion,
      AllowSlotRecreation: props.allowSlotRecreation ? 'true' : 'false',
    };
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: PRE_UPGRADE_CHECK_RESOURCE_TYPE,
      properties,
    });
    this.slotGeneration = this.resource.getAttString(PRE_UPGRADE_CHECK_ATTRIBUTES.slotGeneration);
    this.slotDropped = this.resource.getAttString(PRE_UPGRADE_CHECK_ATTRIBUTES.slotDropped);

    this.acknowledgeNagFindings(this.handler);
  }

  private acknowledgeNagFindings(invoked: lambda.IFunction): void {
    acknowledgeVpcFunctionManagedPolicies(this);
    acknowledgeFinding(
      this,
      wildcardResourceFinding(this, `${invoked.functionArn}:*`),
      'The CDK Provider framework invokes this function with any version qualifier; only lambda:InvokeFunction is granted.',
    );
  }
}
