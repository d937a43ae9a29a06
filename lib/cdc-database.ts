import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import type { DatabaseConfig, LifecycleConfig } from '../src/config';
import { replicationServerParameters } from '../src/config/server-parameters';

/** The master user RDS creates; the replication setup logs in as this user. */
export const MASTER_USERNAME = 'postgres';

/** Log types the instance exports to CloudWatch Logs. */
const EXPORTED_LOG_TYPES = ['postgresql', 'upgrade'] as const;

export interface CdcDatabaseProps {
  /** Identifier of the RDS instance, also the prefix of its log groups. */
  readonly instanceIdentifier: string;
  /** The VPC the instance lives in. */
  readonly vpc: ec2.IVpc;
  /** Subnets for the instance. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** Engine, sizing and parameters. */
  readonly database: DatabaseConfig;
  /** Removal policy and deletion protection. */
  readonly lifecycle: LifecycleConfig;
  /** Give the instance a public address. Default: false. */
  readonly publiclyAccessible?: boolean;
  /** IPv4 CIDRs admitted to the database port. Default: none. */
  readonly allowedCidrs?: string[];
  /** User name of the replication user whose secret this construct creates. */
  readonly replicationUsername: string;
  /** `max_slot_wal_keep_size` in GiB. */
  readonly maxSlotWalKeepSizeGiB: number;
}

/**
 * An RDS for PostgreSQL instance ready for logical replication: its parameter group turns on
 * `rds.logical_replication` and forces SSL from the first boot (both are static parameters, so
 * attaching them at creation avoids a reboot), storage is encrypted, credentials are generated
 * into Secrets Manager, and only the configured peers may reach the port.
 */
export class CdcDatabase extends Construct {
  /** The instance. */
  public readonly instance: rds.DatabaseInstance;
  /** Parameters that make logical replication possible; attached at creation. */
  public readonly parameterGroup: rds.ParameterGroup;
  /** The master user's secret (generated). */
  public readonly masterSecret: rds.DatabaseSecret;
  /**
   * The replication user's secret: host, port, dbname, username and password, as RDS secrets
   * hold them. The replication setup gives this user the password it holds.
   */
  public readonly replicationUserSecret: rds.DatabaseSecret;
  /** The engine major, e.g. `17`. */
  public readonly engineMajorVersion: string;

  constructor(scope: Construct, id: string, props: CdcDatabaseProps) {
    super(scope, id);
    const { database, lifecycle } = props;
    const engineMajorVersion = database.engineVersion.split('.')[0];
    this.engineMajorVersion = engineMajorVersion;
    const engine = rds.DatabaseInstanceEngine.postgres({
      version: rds.PostgresEngineVersion.of(database.engineVersion, engineMajorVersion),
    });
    const removalPolicy = toRemovalPolicy(lifecycle.removalPolicy);
    // Secrets and logs outlive a retained or snapshotted instance: without the master password a
    // retained database or a restored snapshot can only be reached after a password reset.
    const companionRemovalPolicy =
      removalPolicy === RemovalPolicy.DESTROY ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.parameterGroup = new rds.ParameterGroup(this, 'ParameterGroup', {
      engine,
      description: `Logical replication for Airbyte CDC (${props.instanceIdentifier})`,
      parameters: {
        'rds.logical_replication': '1',
        'rds.force_ssl': '1',
        ...replicationServerParameters({
          database,
          maxSlotWalKeepSizeGiB: props.maxSlotWalKeepSizeGiB,
        }),
      },
      removalPolicy: companionRemovalPolicy,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `PostgreSQL ${props.instanceIdentifier}: only the replication setup and allowed CIDRs`,
      allowAllOutbound: false,
    });
    for (const cidr of props.allowedCidrs ?? []) {
      securityGroup.addIngressRule(
        ec2.Peer.ipv4(cidr),
        ec2.Port.tcp(database.port),
        `PostgreSQL from ${cidr} (allowedCidrs)`,
      );
    }

    this.masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', {
      username: MASTER_USERNAME,
      secretName: `${props.instanceIdentifier}/master`,
    });
    this.masterSecret.applyRemovalPolicy(companionRemovalPolicy);

    // RDS creates these groups itself on first export and never deletes them; owning them here
    // lets `cdk destroy` remove them in environments that ask for that.
    const logGroups = EXPORTED_LOG_TYPES.map(
      (logType) =>
        new logs.LogGroup(this, `${logType}LogGroup`, {
          logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${logType}`,
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: companionRemovalPolicy,
        }),
    );

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier: props.instanceIdentifier,
      engine,
      instanceType: new ec2.InstanceType(database.instanceType),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [securityGroup],
      publiclyAccessible: props.publiclyAccessible ?? false,
      port: database.port,
      databaseName: database.databaseName,
      credentials: rds.Credentials.fromSecret(this.masterSecret),
      parameterGroup: this.parameterGroup,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: database.allocatedStorageGiB,
      maxAllocatedStorage: database.maxAllocatedStorageGiB,
      multiAz: database.multiAz,
      backupRetention: Duration.days(database.backupRetentionDays),
      deletionProtection: lifecycle.deletionProtection,
      removalPolicy,
      cloudwatchLogsExports: [...EXPORTED_LOG_TYPES],
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      copyTagsToSnapshot: true,
    });
    for (const logGroup of logGroups) this.instance.node.addDependency(logGroup);

    this.replicationUserSecret = new rds.DatabaseSecret(this, 'ReplicationUserSecret', {
      username: props.replicationUsername,
      secretName: `${props.instanceIdentifier}/${props.replicationUsername}`,
      masterSecret: this.masterSecret,
      // JDBC URLs and Airbyte's forms are happier without these.
      excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
    });
    this.replicationUserSecret.applyRemovalPolicy(companionRemovalPolicy);
    // Fills in host, port, dbname and engine once the instance exists.
    this.replicationUserSecret.attach(this.instance);

    this.addNagSuppressions(database, lifecycle, props.publiclyAccessible ?? false);
  }

  private addNagSuppressions(
    database: DatabaseConfig,
    lifecycle: LifecycleConfig,
    publiclyAccessible: boolean,
  ): void {
    const stackName = Stack.of(this).stackName;
    const instance = Validations.of(this.instance);
    if (publiclyAccessible) {
      instance.acknowledge({
        id: 'CloudFormation-Validate::W9011',
        reason:
          'publiclyAccessible is on by configuration for an Airbyte outside the VPC; the security group admits only allowedCidrs (validated non-empty, never 0.0.0.0/0) and rds.force_ssl requires TLS.',
      });
    }
    instance.acknowledge({
      id: 'AwsSolutions-RDS11',
      reason:
        'Airbyte and every PostgreSQL client default to 5432; a non-default port hides nothing from a scan, the security group is the control.',
    });
    if (!database.multiAz) {
      instance.acknowledge({
        id: 'AwsSolutions-RDS3',
        reason: `multiAz is off in ${stackName} by configuration (cost); production environments turn it on.`,
      });
    }
    if (!lifecycle.deletionProtection) {
      instance.acknowledge({
        id: 'AwsSolutions-RDS10',
        reason: `deletionProtection is off in ${stackName} by configuration so that cdk destroy can remove a non-production database; production environments must keep it on (validated).`,
      });
    }
    for (const secret of [this.masterSecret, this.replicationUserSecret]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'Airbyte keeps a copy of the replication password in its source configuration, so scheduled rotation would silently stop CDC; passwords change by deploy, which updates the role (and the Airbyte source) together. The master secret is read fresh at every deploy.',
      });
    }
  }
}

function toRemovalPolicy(policy: LifecycleConfig['removalPolicy']): RemovalPolicy {
  switch (policy) {
    case 'destroy':
      return RemovalPolicy.DESTROY;
    case 'snapshot':
      return RemovalPolicy.SNAPSHOT;
    case 'retain':
      return RemovalPolicy.RETAIN;
  }
}
