import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RebootDBInstanceCommand,
  type DBCluster,
  type DBInstance,
  type RDSClient,
} from '@aws-sdk/client-rds';
import type { DatabaseReference } from '../contract/database';

/** What RDS says about the database (an instance or an Aurora cluster) and its parameter group. */
export interface DatabaseStatus {
  /** `available`, `rebooting`, `modifying`, `deleting`, ... (the cluster's status for a cluster). */
  readonly status: string;
  /** The attached DB parameter group, or for a cluster its DB cluster parameter group. */
  readonly parameterGroupName: string;
  /**
   * `in-sync`, `applying` or `pending-reboot`; for a cluster, the writer instance's
   * `DBClusterParameterGroupStatus` (the writer is what a reboot restarts and what the
   * replication setup connects to).
   */
  readonly parameterApplyStatus: string;
  /** RDS refuses to delete the database while this is on. */
  readonly deletionProtection: boolean;
  /** The engine, e.g. `postgres` or `aurora-postgresql`; undefined if RDS did not say. */
  readonly engine?: string;
  /** The engine version it runs, e.g. `16.4`; undefined if RDS did not say. */
  readonly engineVersion?: string;
  /**
   * Where it listens (for a cluster, the writer endpoint); undefined while it has no endpoint
   * yet (being created).
   */
  readonly endpoint?: { readonly address: string; readonly port: number };
  /** For a cluster, its writer instance; undefined for an instance, or a cluster without one. */
  readonly writerInstanceIdentifier?: string;
}

/** Describe the database; undefined when it does not exist (any more). */
export async function describeDatabase(
  rds: RDSClient,
  ref: DatabaseReference,
): Promise<DatabaseStatus | undefined> {
  try {
    if (ref.kind === 'cluster') {
      const { DBClusters: clusters } = await rds.send(
        new DescribeDBClustersCommand({ DBClusterIdentifier: ref.identifier }),
      );
      return clusters?.[0] ? clusterStatus(clusters[0]) : undefined;
    }
    const { DBInstances: instances } = await rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: ref.identifier }),
    );
    return instances?.[0] ? instanceStatus(instances[0]) : undefined;
  } catch (error) {
    const name = (error as Error).name;
    if (name === 'DBInstanceNotFoundFault' || name === 'DBClusterNotFoundFault') return undefined;
    throw error;
  }
}

function instanceStatus(instance: DBInstance): DatabaseStatus {
  const group = instance.DBParameterGroups?.[0];
  return {
    status: instance.DBInstanceStatus ?? 'unknown',
    parameterGroupName: group?.DBParameterGroupName ?? 'unknown',
    parameterApplyStatus: group?.ParameterApplyStatus ?? 'unknown',
    deletionProtection: instance.DeletionProtection ?? false,
    engine: instance.Engine,
    engineVersion: instance.EngineVersion,
    endpoint: endpointOf(instance.Endpoint?.Address, instance.Endpoint?.Port),
  };
}

function clusterStatus(cluster: DBCluster): DatabaseStatus {
  const writer = cluster.DBClusterMembers?.find((member) => member.IsClusterWriter === true);
  return {
    status: cluster.Status ?? 'unknown',
    parameterGroupName: cluster.DBClusterParameterGroup ?? 'unknown',
    parameterApplyStatus: writer?.DBClusterParameterGroupStatus ?? 'unknown',
    deletionProtection: cluster.DeletionProtection ?? false,
    engine: cluster.Engine,
    engineVersion: cluster.EngineVersion,
    endpoint: endpointOf(cluster.Endpoint, cluster.Port),
    writerInstanceIdentifier: writer?.DBInstanceIdentifier,
  };
}

function endpointOf(
  address: string | undefined,
  port: number | undefined,
): DatabaseStatus['endpoint'] {
  return address && port ? { address, port } : undefined;
}

/**
 * Reboot the database so that a `pending-reboot` parameter group takes effect. An Aurora
 * cluster is rebooted through its writer instance: `RebootDBCluster` is documented as "Use this
 * operation only for a non-Aurora Multi-AZ DB cluster"
 * (https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_RebootDBCluster.html), and the
 * Aurora User Guide reboots a cluster by rebooting its writer, which applies cluster-wide
 * parameters (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-reboot-cluster.html).
 */
export async function rebootDatabase(
  rds: RDSClient,
  ref: DatabaseReference,
  status: DatabaseStatus,
): Promise<void> {
  const instance = ref.kind === 'cluster' ? status.writerInstanceIdentifier : ref.identifier;
  if (!instance) {
    throw new Error(
      `${databaseLabel(ref)} has no writer instance (status ${status.status}), so it cannot be rebooted: add a writer instance or wait until the cluster has one, then deploy again.`,
    );
  }
  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: instance }));
}

/** "RDS instance x" or "Aurora cluster x", for messages. */
export function databaseLabel(ref: DatabaseReference): string {
  return ref.kind === 'cluster'
    ? `Aurora cluster ${ref.identifier}`
    : `RDS instance ${ref.identifier}`;
}

/**
 * The AWS CLI command a user runs to do the same reboot by hand. For a cluster without a known
 * writer the command looks the writer up itself.
 */
export function rebootCommand(ref: DatabaseReference, status?: DatabaseStatus): string {
  if (ref.kind === 'instance') {
    return `aws rds reboot-db-instance --db-instance-identifier ${ref.identifier}`;
  }
  const writer =
    status?.writerInstanceIdentifier ??
    `"$(aws rds describe-db-clusters --db-cluster-identifier ${ref.identifier} --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter].DBInstanceIdentifier' --output text)"`;
  return `aws rds reboot-db-instance --db-instance-identifier ${writer}`;
}

/** The name {@link logicalReplicationFixCommands} gives the copy of a default parameter group. */
function logicalReplicationGroupName(ref: DatabaseReference): string {
  return `${ref.identifier}-logical-replication`;
}

/** The parameter change that turns logical replication on; it takes effect at the next reboot. */
const LOGICAL_REPLICATION_PARAMETER =
  '"ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot"';

/**
 * The AWS CLI commands, in order, that turn `rds.logical_replication` on for a database whose
 * parameter group does not set it: copy a default group first (RDS refuses to modify the
 * `default.*` groups), set the parameter, attach the copy, reboot.
 */
export function logicalReplicationFixCommands(
  ref: DatabaseReference,
  status: DatabaseStatus,
): string[] {
  const isDefault = status.parameterGroupName.startsWith('default.');
  const group = isDefault ? logicalReplicationGroupName(ref) : status.parameterGroupName;
  const commands: string[] = [];
  const description = `'Logical replication for ${ref.identifier}'`;
  if (ref.kind === 'cluster') {
    if (isDefault) {
      commands.push(
        `aws rds copy-db-cluster-parameter-group --source-db-cluster-parameter-group-identifier ${status.parameterGroupName} --target-db-cluster-parameter-group-identifier ${group} --target-db-cluster-parameter-group-description ${description}`,
      );
    }
    commands.push(
      `aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name ${group} --parameters ${LOGICAL_REPLICATION_PARAMETER}`,
    );
    if (isDefault) {
      commands.push(
        `aws rds modify-db-cluster --db-cluster-identifier ${ref.identifier} --db-cluster-parameter-group-name ${group} --apply-immediately`,
      );
    }
  } else {
    if (isDefault) {
      commands.push(
        `aws rds copy-db-parameter-group --source-db-parameter-group-identifier ${status.parameterGroupName} --target-db-parameter-group-identifier ${group} --target-db-parameter-group-description ${description}`,
      );
    }
    commands.push(
      `aws rds modify-db-parameter-group --db-parameter-group-name ${group} --parameters ${LOGICAL_REPLICATION_PARAMETER}`,
    );
    if (isDefault) {
      commands.push(
        `aws rds modify-db-instance --db-instance-identifier ${ref.identifier} --db-parameter-group-name ${group} --apply-immediately`,
      );
    }
  }
  commands.push(rebootCommand(ref, status));
  return commands;
}
