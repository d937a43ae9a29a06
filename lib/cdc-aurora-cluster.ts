import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as rds from 'aws-cdk-lib/aws-rds';
import { Construct } from 'constructs';
import { constructError } from './construct-error';
import {
  acknowledgeDatabaseChoices,
  addDatabaseLoginSecrets,
  addDatabasePrerequisites,
  type CdcDatabaseBaseProps,
  databaseChoices,
} from './database-companions';

/**
 * Log types the cluster exports to CloudWatch Logs. Aurora PostgreSQL has no `upgrade` log (an
 * RDS instance's major-upgrade log): its upgrade messages land in `postgresql`.
 */
const EXPORTED_LOG_TYPES = ['postgresql'] as const;

/** Aurora Replicas a cluster may have beside its writer. */
const MAX_READERS = 15;

/**
 * The provisioned class when none is given: the smallest Graviton class Aurora PostgreSQL runs on
 * (CDK's own default is the older x86 `t3.medium`). Burstable classes suit development and test;
 * production environments choose a memory-optimised class such as `r7g.large`.
 */
const DEFAULT_INSTANCE_TYPE = ec2.InstanceType.of(ec2.InstanceClass.T4G, ec2.InstanceSize.MEDIUM);

/** Aurora Serverless v2 capacity of the writer and every reader, in ACUs. */
export interface CdcServerlessV2Capacity {
  /**
   * The capacity each instance scales down to. Aurora pauses an instance at 0 only when no
   * connection is open, which a replication slot with a consumer never allows.
   */
  readonly minCapacity: number;
  /** The capacity each instance scales up to. */
  readonly maxCapacity: number;
}

export interface CdcAuroraClusterProps extends CdcDatabaseBaseProps {
  /**
   * Identifier of the Aurora cluster, also the prefix of its instances' identifiers
   * (`<id>-writer`, `<id>-reader-<n>`), its secrets' names and its log group.
   */
  readonly clusterIdentifier: string;
  /** The Aurora PostgreSQL version; its major names the cluster parameter group family. */
  readonly engineVersion: rds.AuroraPostgresEngineVersion;
  /**
   * The class of the writer and the readers when provisioned, without the `db.` prefix.
   * Unused with `serverlessV2`.
   *
   * @default - t4g.medium, the smallest Graviton class Aurora PostgreSQL offers
   */
  readonly instanceType?: ec2.InstanceType;
  /**
   * Reader instances beside the writer (0 to 15), placed by RDS across the subnets' availability
   * zones: a failover promotes one of them. Logical replication always reads from the writer.
   *
   * @default - 0: a writer only
   */
  readonly readers?: number;
  /**
   * Run the writer and the readers as Aurora Serverless v2 with this capacity instead of a
   * provisioned class; the readers then scale with the writer, so that a failover lands on an
   * instance of the writer's size.
   *
   * @default - provisioned instances of `instanceType`
   */
  readonly serverlessV2?: CdcServerlessV2Capacity;
}

/**
 * An Aurora PostgreSQL cluster ready for logical replication: its cluster parameter group turns
 * on `rds.logical_replication` and forces SSL from the first boot (both static, so attaching
 * them at creation avoids a reboot of the writer), storage is encrypted, credentials are
 * generated into Secrets Manager and attached to the cluster (their host is the writer
 * endpoint, which follows a failover), and only the configured peers may reach the port.
 */
export class CdcAuroraCluster extends Construct {
  /** The cluster. */
  public readonly cluster: rds.DatabaseCluster;
  /** The DB cluster parameter group that makes logical replication possible; attached at creation. */
  public readonly parameterGroup: rds.ParameterGroup;
  /** The master user's secret (generated). */
  public readonly masterSecret: rds.DatabaseSecret;
  /**
   * The replication user's secret: host (the writer endpoint), port, dbname, username and
   * password. The replication setup gives this user the password it holds.
   */
  public readonly replicationUserSecret: rds.DatabaseSecret;
  /** Username and password of the slot watchdog's role, when `monitoringUsername` is set. */
  public readonly monitoringUserSecret?: rds.DatabaseSecret;
  /** The engine major, e.g. `17`. */
  public readonly engineMajorVersion: string;
  /** The cluster's security group. */
  public readonly securityGroup: ec2.SecurityGroup;
  /** The port the cluster listens on, as a number known at synth. */
  public readonly port: number;

  constructor(scope: Construct, id: string, props: CdcAuroraClusterProps) {
    super(scope, id);
    const engineVersion = props.engineVersion;
    this.engineMajorVersion = engineVersion.auroraPostgresMajorVersion;
    const engine = rds.DatabaseClusterEngine.auroraPostgres({ version: engineVersion });
    const choices = databaseChoices(props);
    const { port, publiclyAccessible, deletionProtection } = choices;
    this.port = port;
    const readerCount = props.readers ?? 0;
    if (!Number.isInteger(readerCount) || readerCount < 0 || readerCount > MAX_READERS) {
      throw constructError(
        this,
        `readers is ${readerCount}, but an Aurora cluster holds 0 to ${MAX_READERS} readers beside its writer: give a whole number in that range`,
      );
    }
    const databaseIdentifier = props.clusterIdentifier;

    // Given the cluster engine, the parameter group is an AWS::RDS::DBClusterParameterGroup of
    // family aurora-postgresql<major>; the instances keep the default DB parameter group. The
    // log group is owned rather than left to the cluster's cloudwatchLogsRetention, which would
    // add a log-retention function instead.
    const prerequisites = addDatabasePrerequisites(this, {
      kind: 'cluster',
      engineName: 'Aurora PostgreSQL',
      engine,
      databaseIdentifier,
      exportedLogTypes: EXPORTED_LOG_TYPES,
      props,
      choices,
    });
    this.parameterGroup = prerequisites.parameterGroup;
    this.securityGroup = prerequisites.securityGroup;
    this.masterSecret = prerequisites.masterSecret;

    const instanceOptions = {
      publiclyAccessible,
      caCertificate: rds.CaCertificate.RDS_CA_RSA2048_G1,
      autoMinorVersionUpgrade: true,
    };
    const member = (constructId: string, instanceIdentifier: string): rds.IClusterInstance =>
      props.serverlessV2
        ? rds.ClusterInstance.serverlessV2(constructId, {
            ...instanceOptions,
            instanceIdentifier,
            // Readers only (promotion tier 1): a promoted reader has the writer's capacity.
            scaleWithWriter: true,
          })
        : rds.ClusterInstance.provisioned(constructId, {
            ...instanceOptions,
            instanceIdentifier,
            instanceType: props.instanceType ?? DEFAULT_INSTANCE_TYPE,
          });
    const readers = Array.from({ length: readerCount }, (_, index) =>
      member(`Reader${index + 1}`, `${props.clusterIdentifier}-reader-${index + 1}`),
    );

    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      clusterIdentifier: props.clusterIdentifier,
      engine,
      writer: member('Writer', `${props.clusterIdentifier}-writer`),
      readers,
      ...(props.serverlessV2
        ? {
            serverlessV2MinCapacity: props.serverlessV2.minCapacity,
            serverlessV2MaxCapacity: props.serverlessV2.maxCapacity,
          }
        : {}),
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [this.securityGroup],
      port,
      defaultDatabaseName: props.databaseName,
      credentials: rds.Credentials.fromSecret(this.masterSecret),
      parameterGroup: this.parameterGroup,
      storageEncrypted: true,
      iamAuthentication: true,
      backup: props.backupRetention ? { retention: props.backupRetention } : undefined,
      deletionProtection,
      removalPolicy: choices.removalPolicy,
      cloudwatchLogsExports: [...EXPORTED_LOG_TYPES],
      copyTagsToSnapshot: true,
      autoMinorVersionUpgrade: true,
      // A new major in the configuration is an upgrade, not a failed deploy: the pre-upgrade
      // check (lib/pre-upgrade-check.ts) runs first and decides about the replication slot.
      // AWS::RDS::DBCluster has no AllowMajorVersionUpgrade property: CloudFormation's handler
      // sets it on ModifyDBCluster itself whenever EngineVersion changes
      // (aws-cloudformation-resource-providers-rds, aws-rds-dbcluster Translator
      // .modifyDbClusterRequest), so there is nothing to allow here. The cluster parameter group
      // of the new family replaces the old one in the same update.
    });
    for (const logGroup of prerequisites.logGroups) this.cluster.node.addDependency(logGroup);

    // Attached to the cluster: their host is the cluster (writer) endpoint, which follows a
    // failover.
    const logins = addDatabaseLoginSecrets(this, {
      databaseIdentifier,
      masterSecret: this.masterSecret,
      database: this.cluster,
      replicationUsername: props.replicationUsername,
      monitoringUsername: props.monitoringUsername,
      removalPolicy: choices.companionRemovalPolicy,
    });
    this.replicationUserSecret = logins.replicationUserSecret;
    this.monitoringUserSecret = logins.monitoringUserSecret;

    // On the cluster: W9011 is raised on the instances, which are its children.
    acknowledgeDatabaseChoices(this.cluster, { publiclyAccessible, deletionProtection });
  }
}
