import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import {
  acknowledgeDatabaseChoices,
  addDatabaseLoginSecrets,
  addDatabasePrerequisites,
  type CdcDatabaseBaseProps,
  databaseChoices,
} from './database-companions';

/** Log types the instance exports to CloudWatch Logs. */
const EXPORTED_LOG_TYPES = ['postgresql', 'upgrade'] as const;

export interface CdcDatabaseProps extends CdcDatabaseBaseProps {
  /** Identifier of the RDS instance, also the prefix of its secrets' names and log groups. */
  readonly instanceIdentifier: string;
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
    const choices = databaseChoices(props);
    const { port, publiclyAccessible, deletionProtection } = choices;
    this.port = port;
    const databaseIdentifier = props.instanceIdentifier;

    const prerequisites = addDatabasePrerequisites(this, {
      kind: 'instance',
      engineName: 'PostgreSQL',
      engine,
      databaseIdentifier,
      exportedLogTypes: EXPORTED_LOG_TYPES,
      props,
      choices,
    });
    this.parameterGroup = prerequisites.parameterGroup;
    this.securityGroup = prerequisites.securityGroup;
    this.masterSecret = prerequisites.masterSecret;

    this.instance = new rds.DatabaseInstance(this, 'Instance', {
      instanceIdentifier: props.instanceIdentifier,
      engine,
      instanceType: props.instanceType,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.securityGroup],
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
      removalPolicy: choices.removalPolicy,
      cloudwatchLogsExports: [...EXPORTED_LOG_TYPES],
      iamAuthentication: true,
      autoMinorVersionUpgrade: true,
      // A new major in the configuration is an upgrade, not a failed deploy: the pre-upgrade
      // check (lib/pre-upgrade-check.ts) runs first and decides about the replication slot.
      allowMajorVersionUpgrade: true,
      copyTagsToSnapshot: true,
    });
    for (const logGroup of prerequisites.logGroups) this.instance.node.addDependency(logGroup);

    const logins = addDatabaseLoginSecrets(this, {
      databaseIdentifier,
      masterSecret: this.masterSecret,
      database: this.instance,
      replicationUsername: props.replicationUsername,
      monitoringUsername: props.monitoringUsername,
      removalPolicy: choices.companionRemovalPolicy,
    });
    this.replicationUserSecret = logins.replicationUserSecret;
    this.monitoringUserSecret = logins.monitoringUserSecret;

    acknowledgeDatabaseChoices(this.instance, {
      publiclyAccessible,
      deletionProtection,
      multiAz: props.multiAz ?? false,
    });
  }
}
