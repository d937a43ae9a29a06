import { type Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Construct, IConstruct } from 'constructs';
import { masterSecretNameFor } from '../src/contract/aws-names';
import { type DatabaseKind, MASTER_USERNAME } from '../src/contract/database';
import { addLoginSecret } from './login-secret';
import { acknowledgeFinding } from './nag-findings';

/**
 * What CdcDatabase (an RDS instance) and CdcAuroraCluster (an Aurora cluster) build alike around
 * the database: the props both take, its security group, master secret, login secrets, owned
 * log groups, parameter group and the findings their common choices raise. Functions, not
 * constructs: each adds its resources to the calling construct under the ids it always had, so
 * that the logical ids (and the templates) stay those of the construct.
 */

/** The port PostgreSQL, Airbyte and every client assume. */
export const POSTGRES_PORT = 5432;

/** The props CdcDatabase and CdcAuroraCluster both take. */
export interface CdcDatabaseBaseProps {
  /** The VPC the database lives in. */
  readonly vpc: ec2.IVpc;
  /** Subnets for the database's instances (an RDS instance, or the cluster's writer and readers). */
  readonly vpcSubnets: ec2.SubnetSelection;
  /**
   * How long automated backups are kept.
   *
   * @default - the RDS default of one day
   */
  readonly backupRetention?: Duration;
  /** Database (dbname) created with the database, where the replication setup runs. */
  readonly databaseName: string;
  /**
   * Port the database listens on.
   *
   * @default - 5432
   */
  readonly port?: number;
  /**
   * Server parameters for the parameter group (for Aurora, the DB cluster parameter group) beside
   * the two the construct always sets (`rds.logical_replication`, `rds.force_ssl`): replication
   * slot and WAL sender sizing. They are passed as given; RDS refuses at deploy a parameter the
   * group's family does not hold.
   *
   * @default - none: the engine's defaults
   */
  readonly parameters?: Record<string, string>;
  /**
   * What `cdk destroy` does with the database. The secrets, log groups and parameter group are
   * destroyed with a destroyed database and retained otherwise (companionRemovalPolicy).
   *
   * @default - RemovalPolicy.SNAPSHOT
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse to delete the database until this is turned off.
   *
   * @default - true
   */
  readonly deletionProtection?: boolean;
  /**
   * Give the database's instances public addresses (`vpcSubnets` must then select public
   * subnets).
   *
   * @default - false
   */
  readonly publiclyAccessible?: boolean;
  /**
   * IPv4 CIDRs admitted to the database port.
   *
   * @default - none: only peers given access through the database's `connections`
   */
  readonly allowedCidrs?: string[];
  /** User name of the replication user whose secret the construct creates. */
  readonly replicationUsername: string;
  /**
   * Login role of the slot watchdog: gets a generated secret of its own, like the replication user.
   *
   * @default - no watchdog user and no secret for it
   */
  readonly monitoringUsername?: string;
}

/** The choices of CdcDatabaseBaseProps with their defaults filled in. */
export interface DatabaseChoices {
  readonly port: number;
  readonly removalPolicy: RemovalPolicy;
  readonly deletionProtection: boolean;
  readonly publiclyAccessible: boolean;
  /** What the secrets, log groups and parameter group do on removal. */
  readonly companionRemovalPolicy: RemovalPolicy;
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

/** The props' choices, defaulted: a protected, private database on 5432 that is snapshotted. */
export function databaseChoices(
  props: Pick<
    CdcDatabaseBaseProps,
    'port' | 'removalPolicy' | 'deletionProtection' | 'publiclyAccessible'
  >,
): DatabaseChoices {
  const removalPolicy = props.removalPolicy ?? RemovalPolicy.SNAPSHOT;
  return {
    port: props.port ?? POSTGRES_PORT,
    removalPolicy,
    deletionProtection: props.deletionProtection ?? true,
    publiclyAccessible: props.publiclyAccessible ?? false,
    companionRemovalPolicy: companionRemovalPolicy(removalPolicy),
  };
}

/**
 * The parameter group that makes logical replication possible, attached at creation: both
 * switches are static, so setting them from the first boot avoids a reboot. Given an instance
 * engine it is an AWS::RDS::DBParameterGroup, given a cluster engine a DBClusterParameterGroup.
 */
function addReplicationParameterGroup(
  scope: Construct,
  options: {
    engine: rds.IEngine;
    databaseIdentifier: string;
    parameters?: Record<string, string>;
    removalPolicy: RemovalPolicy;
  },
): rds.ParameterGroup {
  return new rds.ParameterGroup(scope, 'ParameterGroup', {
    engine: options.engine,
    description: `Logical replication for Airbyte CDC (${options.databaseIdentifier})`,
    parameters: {
      'rds.logical_replication': '1',
      'rds.force_ssl': '1',
      ...options.parameters,
    },
    removalPolicy: options.removalPolicy,
  });
}

/**
 * The database's security group: no outbound rules (PostgreSQL opens no connections) and the
 * port open to nothing but the allowed CIDRs; peers such as the replication setup are admitted
 * through the database's `connections`.
 */
function addDatabaseSecurityGroup(
  scope: Construct,
  options: {
    vpc: ec2.IVpc;
    engineName: string;
    databaseIdentifier: string;
    port: number;
    allowedCidrs?: string[];
  },
): ec2.SecurityGroup {
  const securityGroup = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: options.vpc,
    description: `${options.engineName} ${options.databaseIdentifier}: only the replication setup and allowed CIDRs`,
    allowAllOutbound: false,
  });
  for (const cidr of options.allowedCidrs ?? []) {
    securityGroup.addIngressRule(
      ec2.Peer.ipv4(cidr),
      ec2.Port.tcp(options.port),
      `PostgreSQL from ${cidr} (allowedCidrs)`,
    );
  }
  return securityGroup;
}

/**
 * Why neither the master secret nor the replication user's has a rotation schedule (cdk-nag
 * AwsSolutions-SMG4).
 */
const REPLICATION_PASSWORD_ROTATION_REASON =
  'Airbyte keeps a copy of the replication password in its source configuration, so scheduled rotation would silently stop CDC; passwords change by deploy, which updates the role (and the Airbyte source) together. The master secret is read fresh at every deploy.';

/** Why the slot watchdog's secret has no rotation schedule (cdk-nag AwsSolutions-SMG4). */
const WATCHDOG_PASSWORD_ROTATION_REASON =
  "A rotation Lambda would change the watchdog role's password behind the replication setup, which sets it at every deploy from this secret; the role can read nothing but catalog views.";

/**
 * The master user's generated secret, named after the database; the database takes its
 * credentials from it.
 */
function addMasterSecret(
  scope: Construct,
  options: { databaseIdentifier: string; removalPolicy: RemovalPolicy },
): rds.DatabaseSecret {
  const masterSecret = new rds.DatabaseSecret(scope, 'MasterSecret', {
    username: MASTER_USERNAME,
    secretName: masterSecretNameFor(options.databaseIdentifier),
  });
  masterSecret.applyRemovalPolicy(options.removalPolicy);
  acknowledgeFinding(masterSecret, 'AwsSolutions-SMG4', REPLICATION_PASSWORD_ROTATION_REASON);
  return masterSecret;
}

/**
 * The log groups RDS would create itself on first export and never delete
 * (`/aws/rds/<instance|cluster>/<identifier>/<type>`), owned here so that `cdk destroy` removes
 * them in environments that ask for that. The database must depend on them, so that RDS does
 * not create them first without a retention.
 */
function addExportedLogGroups(
  scope: Construct,
  options: {
    kind: DatabaseKind;
    databaseIdentifier: string;
    logTypes: readonly string[];
    removalPolicy: RemovalPolicy;
  },
): logs.LogGroup[] {
  return options.logTypes.map(
    (logType) =>
      new logs.LogGroup(scope, `${logType}LogGroup`, {
        logGroupName: `/aws/rds/${options.kind}/${options.databaseIdentifier}/${logType}`,
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: options.removalPolicy,
      }),
  );
}

/** What the database is built from, created before it. */
export interface DatabasePrerequisites {
  readonly parameterGroup: rds.ParameterGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly masterSecret: rds.DatabaseSecret;
  /** The owned log groups of the exported logs: the database must depend on them. */
  readonly logGroups: logs.LogGroup[];
}

/**
 * The parameter group, security group, master secret and log groups of a new instance or
 * cluster, in this order (the order of the template's resources), under the ids
 * `ParameterGroup`, `SecurityGroup`, `MasterSecret` and `<logType>LogGroup`.
 */
export function addDatabasePrerequisites(
  scope: Construct,
  options: {
    kind: DatabaseKind;
    /** How the security group's description names the engine: `PostgreSQL`, `Aurora PostgreSQL`. */
    engineName: string;
    /** An instance engine for a DB parameter group, a cluster engine for a cluster one. */
    engine: rds.IEngine;
    databaseIdentifier: string;
    exportedLogTypes: readonly string[];
    props: CdcDatabaseBaseProps;
    choices: DatabaseChoices;
  },
): DatabasePrerequisites {
  const { databaseIdentifier, props, choices } = options;
  const removalPolicy = choices.companionRemovalPolicy;
  return {
    parameterGroup: addReplicationParameterGroup(scope, {
      engine: options.engine,
      databaseIdentifier,
      parameters: props.parameters,
      removalPolicy,
    }),
    securityGroup: addDatabaseSecurityGroup(scope, {
      vpc: props.vpc,
      engineName: options.engineName,
      databaseIdentifier,
      port: choices.port,
      allowedCidrs: props.allowedCidrs,
    }),
    masterSecret: addMasterSecret(scope, { databaseIdentifier, removalPolicy }),
    logGroups: addExportedLogGroups(scope, {
      kind: options.kind,
      databaseIdentifier,
      logTypes: options.exportedLogTypes,
      removalPolicy,
    }),
  };
}

/** The login secrets of the replication user and, when there is one, the slot watchdog. */
export interface DatabaseLoginSecrets {
  readonly replicationUserSecret: rds.DatabaseSecret;
  readonly monitoringUserSecret?: rds.DatabaseSecret;
}

/**
 * The replication user's and the watchdog's secrets, attached to the database: their host is
 * the instance's endpoint, or the cluster (writer) endpoint, which follows a failover.
 */
export function addDatabaseLoginSecrets(
  scope: Construct,
  options: {
    databaseIdentifier: string;
    masterSecret: secretsmanager.ISecret;
    database: secretsmanager.ISecretAttachmentTarget;
    replicationUsername: string;
    monitoringUsername?: string;
    removalPolicy: RemovalPolicy;
  },
): DatabaseLoginSecrets {
  const loginSecret = (id: string, username: string, rotationReason: string) =>
    addLoginSecret(scope, id, {
      username,
      databaseIdentifier: options.databaseIdentifier,
      masterSecret: options.masterSecret,
      attachTo: options.database,
      removalPolicy: options.removalPolicy,
      rotationReason,
    });
  return {
    replicationUserSecret: loginSecret(
      'ReplicationUserSecret',
      options.replicationUsername,
      REPLICATION_PASSWORD_ROTATION_REASON,
    ),
    monitoringUserSecret:
      options.monitoringUsername === undefined
        ? undefined
        : loginSecret(
            'MonitoringUserSecret',
            options.monitoringUsername,
            WATCHDOG_PASSWORD_ROTATION_REASON,
          ),
  };
}

/**
 * Accept the findings that the database's configured choices raise, on the construct that
 * raises them (an RDS instance, or a cluster whose instances are its children).
 */
export function acknowledgeDatabaseChoices(
  database: IConstruct,
  choices: {
    publiclyAccessible: boolean;
    deletionProtection: boolean;
    /** An instance's standby; undefined for a cluster, whose readers are its standbys. */
    multiAz?: boolean;
  },
): void {
  const stackName = Stack.of(database).stackName;
  if (choices.publiclyAccessible) {
    acknowledgeFinding(
      database,
      'CloudFormation-Validate::W9011',
      'publiclyAccessible is on by configuration for an Airbyte outside the VPC; the security group admits only allowedCidrs (validated non-empty, never 0.0.0.0/0) and rds.force_ssl requires TLS.',
    );
  }
  // cdk-nag 3.0 checks only 3306 for provisioned-mode Aurora clusters, so it does not raise this
  // for a cluster today; the port choice is the same and stays explained when it does.
  acknowledgeFinding(
    database,
    'AwsSolutions-RDS11',
    'Airbyte and every PostgreSQL client default to 5432; a non-default port hides nothing from a scan, the security group is the control.',
  );
  if (choices.multiAz === false) {
    acknowledgeFinding(
      database,
      'AwsSolutions-RDS3',
      `multiAz is off in ${stackName} by configuration (cost); production environments turn it on.`,
    );
  }
  if (!choices.deletionProtection) {
    acknowledgeFinding(
      database,
      'AwsSolutions-RDS10',
      `deletionProtection is off in ${stackName} by configuration so that cdk destroy can remove a non-production database; production environments must keep it on (validated).`,
    );
  }
}
