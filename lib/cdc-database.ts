import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { masterSecretNameFor, loginSecretNameFor } from '../src/contract/aws-names';
import { MASTER_USERNAME } from '../src/contract/database';
import { acknowledgeFinding } from './nag-findings';

export { MASTER_USERNAME } from '../src/contract/database';

/** The port PostgreSQL, Airbyte and every client assume. */
const POSTGRES_PORT = 5432;

/** Log types the instance exports to CloudWatch Logs. */
const EXPORTED_LOG_TYPES = ['postgresql', 'upgrade'] as const;

export interface CdcDatabaseProps {
  /** Identifier of the RDS instance, also the prefix of its secrets' names and log groups. */
  readonly instanceIdentifier: string;
  /** The VPC the instance lives in. */
  readonly vpc: ec2.IVpc;
  /** Subnets for the instance. */
  readonly vpcSubnets: ec2.SubnetSelection;
  /** The PostgreSQL version; its major names the parameter group family. */
  readonly engineVersion: rds.PostgresEngineVersion;
  /** The instance class, without the `db.` prefix (`t4g.micro`). */
  readonly instanceType: ec2.InstanceType;
  /** Storage allocated at creation, in GiB (gp3). */
  readonly allocatedStorageGiB: number;
  /**
   * Ceiling for storage autoscaling, in GiB.
   *
   * @default - no storage autoscaling
   */
  readonly maxAllocatedStorageGiB?: number;
  /**
   * Keep a standby in a second availability zone.
   *
   * @default - false
   */
  readonly multiAz?: boolean;
  /**
   * How long automated backups are kept.
   *
   * @default - the RDS default of one day
   */
  readonly backupRetention?: Duration;
  /** Database (dbname) created with the instance, where the replication setup runs. */
  readonly databaseName: string;
  /**
   * Port the instance listens on.
   *
   * @default - 5432
   */
  readonly port?: number;
  /**
   * Server parameters for the parameter group beside the two this construct always sets
   * (`rds.logical_replication`, `rds.force_ssl`): replication slot and WAL sender sizing.
   *
   * @default - none: PostgreSQL's defaults
   */
  readonly parameters?: Record<string, string>;
  /**
   * What `cdk destroy` does with the instance. The secrets, log groups and parameter group are
   * destroyed with a destroyed instance and retained otherwise.
   *
   * @default - RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse to delete the instance until this is turned off.
   *
   * @default - true
   */
  readonly deletionProtection?: boolean;
  /**
   * Give the instance a public address (`vpcSubnets` must then select public subnets).
   *
   * @default - false
   */
  readonly publiclyAccessible?: boolean;
  /**
   * IPv4 CIDRs admitted to the database port.
   *
   * @default - none: only peers given access through `instance.connections`
   */
  readonly allowedCidrs?: string[];
  /** User name of the replication user whose secret this construct creates. */
  readonly replicationUsername: string;
  /**
   * Login role of the slot watchdog: gets a generated secret of its own, like the replication user.
   *
   * @default - no watchdog user and no secret for it
   */
  readonly monitoringUsername?: string;
}

/**
 * What the database's companions (its secrets, logs and parameter group; in the stack also the
 * functions' logs and the Airbyte bucket) do on removal: they go with a destroyed database and
 * outlive a retained or snapshotted one, because without the master password a retained database
 * or a restored snapshot can only be reached after a password reset, and its logs and replicated
 * data are still wanted.
 */
export function companionRemovalPolicy(databaseRemovalPolicy: RemovalPolicy): RemovalPolicy {
  return databaseRemovalPolicy === RemovalPolicy.DESTROY
    ? RemovalPolicy.DESTROY
    : RemovalPolicy.RETAIN;
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
  /** Username and password of the slot watchdog's role, when `monitoringUsername` is set. */
  public readonly monitoringUserSecret?: rds.DatabaseSecret;
  /** The engine major, e.g. `17`. */
  public readonly engineMajorVersion: string;
  /** The instance's security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The port the instance listens on, as a number known at synth. */
  public readonly port: number;

  constructor(scope: Construct, id: string, props: CdcDatabaseProps) {
    super(scope, id);
    const engineVersion = props.engineVersion;
    this.engineMajorVersion = engineVersion.postgresMajorVersion;
    const engine = rds.DatabaseInstanceEngine.postgres({ version: engineVersion });
    const port = props.port ?? POSTGRES_PORT;
    this.port = port;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
    const deletionProtection = props.deletionProtection ?? true;
    const publiclyAccessible = props.publiclyAccessible ?? false;
    const companions = companionRemovalPolicy(removalPolicy);

    this.parameterGroup = new rds.ParameterGroup(this, 'ParameterGroup', {
      engine,
      description: `Logical replication for Airbyte CDC (${props.instanceIdentifier})`,
      parameters: {
        'rds.logical_replication': '1',
        'rds.force_ssl': '1',
        ...props.parameters,
      },
      removalPolicy: companions,
    });

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `PostgreSQL ${props.instanceIdentifier}: only the replication setup and allowed CIDRs`,
      allowAllOutbound: false,
    });
    this.securityGroup = securityGroup;
    for (const cidr of props.allowedCidrs ?? []) {
      securityGroup.addIngressRule(
        ec2.Peer.ipv4(cidr),
        ec2.Port.tcp(port),
        `PostgreSQL from ${cidr} (allowedCidrs)`,
      );
    }

    this.masterSecret = new rds.DatabaseSecret(this, 'MasterSecret', {
      username: MASTER_USERNAME,
      secretName: masterSecretNameFor(props.instanceIdentifier),
    });
    this.masterSecret.applyRemovalPolicy(companions);

    // RDS creates these groups itself on first export and never deletes them; owning them here
    // lets `cdk destroy` remove them in environments that ask for that.
    const logGroups = EXPORTED_LOG_TYPES.map(
      (logType) =>
        new logs.LogGroup(this, `${logType}LogGroup`, {
          logGroupName: `/aws/rds/instance/${props.instanceIdentifier}/${logType}`,
          retention: logs.RetentionDays.ONE_MONTH,
          removalPolicy: companions,
        }),
    );

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier: props.instanceIdentifier,
      engine,
      instanceType: props.instanceType,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [securityGroup],
      publiclyAccessible,
      port,
      databaseName: props.databaseName,
      credentials: rds.Credentials.fromSecret(this.masterSecret),
      parameterGroup: this.parameterGroup,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      storageEncrypted: true,
      storageType: rds.StorageType.GP3,
      allocatedStorage: props.allocatedStorageGiB,
      maxAllocatedStorage: props.maxAllocatedStorageGiB,
      multiAz: props.multiAz,
      backupRetention: props.backupRetention,
      deletionProtection,
      removalPolicy,
      cloudwatchLogsExports: [...EXPORTED_LOG_TYPES],
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      // A new major in the configuration is an upgrade, not a failed deploy: the pre-upgrade
      // check (lib/pre-upgrade-check.ts) runs first and decides about the replication slot.
      allowMajorVersionUpgrade: true,
      copyTagsToSnapshot: true,
    });
    for (const logGroup of logGroups) this.instance.node.addDependency(logGroup);

    const loginSecret = (id: string, username: string): rds.DatabaseSecret => {
      const secret = new rds.DatabaseSecret(this, id, {
        username,
        // The user name may hold spaces, quotes or unicode, which a secret name cannot.
        secretName: loginSecretNameFor(props.instanceIdentifier, username),
        masterSecret: this.masterSecret,
        // JDBC URLs and Airbyte's forms are happier without these.
        excludeCharacters: ' %+~`#$&*()|[]{}:;<>?!\'/@"\\',
      });
      secret.applyRemovalPolicy(companions);
      // Fills in host, port, dbname and engine once the instance exists.
      secret.attach(this.instance);
      return secret;
    };
    this.replicationUserSecret = loginSecret('ReplicationUserSecret', props.replicationUsername);
    if (props.monitoringUsername !== undefined) {
      this.monitoringUserSecret = loginSecret('MonitoringUserSecret', props.monitoringUsername);
    }

    this.acknowledgeFindings({
      publiclyAccessible,
      multiAz: props.multiAz ?? false,
      deletionProtection,
    });
  }

  private acknowledgeFindings(choices: {
    publiclyAccessible: boolean;
    multiAz: boolean;
    deletionProtection: boolean;
  }): void {
    const stackName = Stack.of(this).stackName;
    if (choices.publiclyAccessible) {
      acknowledgeFinding(
        this.instance,
        'CloudFormation-Validate::W9011',
        'publiclyAccessible is on by configuration for an Airbyte outside the VPC; the security group admits only allowedCidrs (validated non-empty, never 0.0.0.0/0) and rds.force_ssl requires TLS.',
      );
    }
    acknowledgeFinding(
      this.instance,
      'AwsSolutions-RDS11',
      'Airbyte and every PostgreSQL client default to 5432; a non-default port hides nothing from a scan, the security group is the control.',
    );
    if (!choices.multiAz) {
      acknowledgeFinding(
        this.instance,
        'AwsSolutions-RDS3',
        `multiAz is off in ${stackName} by configuration (cost); production environments turn it on.`,
      );
    }
    if (!choices.deletionProtection) {
      acknowledgeFinding(
        this.instance,
        'AwsSolutions-RDS10',
        `deletionProtection is off in ${stackName} by configuration so that cdk destroy can remove a non-production database; production environments must keep it on (validated).`,
      );
    }
    for (const secret of [this.masterSecret, this.replicationUserSecret]) {
      acknowledgeFinding(
        secret,
        'AwsSolutions-SMG4',
        'Airbyte keeps a copy of the replication password in its source configuration, so scheduled rotation would silently stop CDC; passwords change by deploy, which updates the role (and the Airbyte source) together. The master secret is read fresh at every deploy.',
      );
    }
    if (this.monitoringUserSecret) {
      acknowledgeFinding(
        this.monitoringUserSecret,
        'AwsSolutions-SMG4',
        "A rotation Lambda would change the watchdog role's password behind the replication setup, which sets it at every deploy from this secret; the role can read nothing but catalog views.",
      );
    }
  }
}
