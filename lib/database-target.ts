import { Arn, ArnFormat, Stack, Tokenization } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { DatabaseReference } from '../src/contract/database';

/**
 * The database the CDC constructs work on: an RDS for PostgreSQL instance or an Aurora
 * PostgreSQL cluster, defined in the same app or imported (`fromDatabaseInstanceAttributes`,
 * `fromDatabaseClusterAttributes`).
 */
export type CdcDatabaseTarget = rds.IDatabaseInstance | rds.IDatabaseCluster;

/** What every CDC construct needs to know of its database, whatever its kind. */
export interface ResolvedDatabaseTarget {
  /** `instance` (RDS) or `cluster` (Aurora): which RDS APIs describe and reboot it. */
  readonly kind: 'instance' | 'cluster';
  /** The instance or cluster identifier. */
  readonly identifier: string;
  /** Its ARN, for IAM policies scoped to it. */
  readonly arn: string;
  /**
   * Where clients connect: the instance endpoint, or the cluster's writer endpoint, which follows
   * a failover.
   */
  readonly hostname: string;
  /** The port, as a string (a token when the database is defined in the app). */
  readonly port: string;
  /** Its network access: peers are admitted to its default port through this. */
  readonly connections: ec2.Connections;
  /**
   * The ARNs of the instances a reboot may target: the instance itself, or the cluster's members
   * when they are known (a reboot of the writer turns a cluster's static parameters on).
   */
  readonly instanceArns: readonly string[];
}

/** Whether the target is an Aurora cluster rather than an RDS instance. */
export function isCluster(database: CdcDatabaseTarget): database is rds.IDatabaseCluster {
  return 'clusterIdentifier' in database;
}

/** Identifier, ARN, endpoint and network access of either kind of database. */
export function resolveDatabaseTarget(
  scope: Construct,
  database: CdcDatabaseTarget,
): ResolvedDatabaseTarget {
  if (!isCluster(database)) {
    return {
      kind: 'instance',
      identifier: database.instanceIdentifier,
      arn: database.instanceArn,
      hostname: database.dbInstanceEndpointAddress,
      port: database.dbInstanceEndpointPort,
      connections: database.connections,
      instanceArns: [database.instanceArn],
    };
  }
  return {
    kind: 'cluster',
    identifier: database.clusterIdentifier,
    arn: database.clusterArn,
    hostname: database.clusterEndpoint.hostname,
    port: Tokenization.stringifyNumber(database.clusterEndpoint.port),
    connections: database.connections,
    instanceArns: knownInstanceIdentifiers(database).map((identifier) =>
      instanceArnFor(scope, identifier),
    ),
  };
}

/**
 * A cluster's instance identifiers; none for a cluster imported without them, whose
 * `instanceIdentifiers` throws rather than answer (the functions then cannot reboot its writer,
 * and say which command to run instead).
 */
function knownInstanceIdentifiers(cluster: rds.IDatabaseCluster): readonly string[] {
  try {
    return cluster.instanceIdentifiers;
  } catch {
    return [];
  }
}

/** The ARN of an RDS instance from its identifier. */
export function instanceArnFor(scope: Construct, instanceIdentifier: string): string {
  return Arn.format(
    {
      service: 'rds',
      resource: 'db',
      resourceName: instanceIdentifier,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}

/** The ARN of an Aurora cluster from its identifier. */
export function clusterArnFor(scope: Construct, clusterIdentifier: string): string {
  return Arn.format(
    {
      service: 'rds',
      resource: 'cluster',
      resourceName: clusterIdentifier,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    },
    Stack.of(scope),
  );
}

/**
 * Leave to describe one database, named by identifier (never by its own ARN attribute, which
 * would be a cycle for what the database depends on): DescribeDBClusters for a cluster,
 * DescribeDBInstances for an instance.
 */
export function describeDatabaseStatement(
  scope: Construct,
  database: DatabaseReference,
): iam.PolicyStatement {
  return database.kind === 'cluster'
    ? new iam.PolicyStatement({
        actions: ['rds:DescribeDBClusters'],
        resources: [clusterArnFor(scope, database.identifier)],
      })
    : new iam.PolicyStatement({
        actions: ['rds:DescribeDBInstances'],
        resources: [instanceArnFor(scope, database.identifier)],
      });
}
