/**
 * What the replication setup handler's tests share: the SDK mocks, a CloudFormation event, the
 * properties the stack would render, and the secrets and instance state AWS would answer with.
 */
import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  type DBCluster,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type {
  CdkCustomResourceEvent,
  CdkCustomResourceIsCompleteEvent,
  CloudFormationCustomResourceCreateEvent,
} from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { ReplicationSetupProperties } from '../../../src/contract/replication-setup';
import { writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { uniqueName, type TestPostgres } from '../../support/postgres';

export const secretsManager = mockClient(SecretsManagerClient);
export const rds = mockClient(RDSClient);

export const MASTER_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf';
export const REPLICATION_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte-AbCdEf';
export const REPLICATION_PASSWORD = 'Replication-Password-1';
export const INSTANCE = 'rds-airbyte-cdc-test';
/** An Aurora cluster and its writer instance. */
export const CLUSTER = 'rds-airbyte-cdc-aurora';
export const WRITER = `${CLUSTER}-writer`;

export function event<T extends CdkCustomResourceEvent['RequestType']>(
  requestType: T,
  properties: ReplicationSetupProperties,
  extra: Record<string, unknown> = {},
): CdkCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/RdsAirbyteCdc-test/1',
    RequestId: uniqueName('request'),
    LogicalResourceId: 'ReplicationSetup',
    ResourceType: 'Custom::ReplicationSetup',
    ResourceProperties: { ServiceToken: 'token', ...properties },
    ...extra,
  } as CloudFormationCustomResourceCreateEvent as CdkCustomResourceEvent;
}

/** Properties as the stack would render them, for a fresh database and cluster-unique names. */
export function propertiesFor(
  { server }: { readonly server: { readonly host: string; readonly port: number } },
  database: string,
  overrides: Partial<ReplicationSetupProperties> = {},
) {
  return {
    DbInstanceIdentifier: INSTANCE,
    Host: server.host,
    Port: String(server.port),
    Database: database,
    MasterSecretArn: MASTER_SECRET_ARN,
    ReplicationUserSecretArn: REPLICATION_SECRET_ARN,
    Schema: 'datastore',
    Tables: JSON.stringify([{ name: 'data_tbl', replicaIdentity: 'default' }]),
    User: uniqueName('airbyte'),
    SlotName: uniqueName('airbyte_slot'),
    PublicationName: 'airbyte_publication',
    CreateDemoTable: 'true',
    RebootIfPending: 'false',
    RemovalPolicy: 'snapshot',
    ...overrides,
  } satisfies ReplicationSetupProperties;
}

/** Secrets Manager answers with the server's (master) user and the replication user. */
export function serveSecrets(
  { server }: { readonly server: { readonly user: string; readonly password: string } },
  replicationUser: string,
  password = REPLICATION_PASSWORD,
): void {
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand, { SecretId: MASTER_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ username: server.user, password: server.password }),
  });
  secretsManager
    .on(GetSecretValueCommand, { SecretId: REPLICATION_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: replicationUser, password }) });
}

export function rdsSays(
  instanceStatus: string,
  parameterApplyStatus: string,
  deletionProtection = false,
  extra: Partial<DBInstance> = {},
): void {
  rds.on(DescribeDBInstancesCommand).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: INSTANCE,
        DBInstanceStatus: instanceStatus,
        DeletionProtection: deletionProtection,
        DBParameterGroups: [
          { DBParameterGroupName: 'cdc-params', ParameterApplyStatus: parameterApplyStatus },
        ],
        ...extra,
      },
    ],
  });
}

/**
 * DescribeDBClusters answers for CLUSTER: its status, and the writer's (WRITER) cluster
 * parameter group status; a reader is listed too, to show the writer is the one looked at.
 */
export function rdsSaysCluster(
  clusterStatus: string,
  writerParameterStatus: string,
  extra: Partial<DBCluster> = {},
): void {
  rds.on(DescribeDBClustersCommand).resolves({
    DBClusters: [
      {
        DBClusterIdentifier: CLUSTER,
        Status: clusterStatus,
        Engine: 'aurora-postgresql',
        EngineVersion: '16.6',
        DeletionProtection: false,
        DBClusterParameterGroup: 'cdc-cluster-params',
        Endpoint: `${CLUSTER}.cluster-abc.eu-west-1.rds.amazonaws.com`,
        Port: 5432,
        DBClusterMembers: [
          {
            DBInstanceIdentifier: `${CLUSTER}-reader-1`,
            IsClusterWriter: false,
            DBClusterParameterGroupStatus: 'in-sync',
          },
          {
            DBInstanceIdentifier: WRITER,
            IsClusterWriter: true,
            DBClusterParameterGroupStatus: writerParameterStatus,
          },
        ],
        ...extra,
      },
    ],
  });
}

/**
 * After the reboot that turned logical replication on, `pg` plays the rebooted database: the
 * same properties, pointed at a fresh database on `pg`, whose secrets Secrets Manager serves.
 */
export async function rebootedOnto(
  pg: TestPostgres,
  properties: ReplicationSetupProperties,
): Promise<ReplicationSetupProperties> {
  const database = await pg.createDatabase('rebooted');
  serveSecrets(pg, properties.User);
  return { ...properties, Host: pg.server.host, Port: String(pg.server.port), Database: database };
}

/** Properties naming CLUSTER instead of INSTANCE. */
export const CLUSTER_PROPERTIES = {
  DbInstanceIdentifier: undefined,
  DbClusterIdentifier: CLUSTER,
} as const;

export const WATCHDOG_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte_watchdog-AbCdEf';
export const WATCHDOG_PASSWORD = 'Watchdog-Password-1';

/** Secrets Manager also answers for the slot watchdog's role (after serveSecrets). */
export function serveWatchdogSecret(username: string, password = WATCHDOG_PASSWORD): void {
  secretsManager
    .on(GetSecretValueCommand, { SecretId: WATCHDOG_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username, password }) });
}

type ReplicationSetupModule = typeof import('../../../lambda/replication-setup/index');

/** How useReplicationSetupHandler sets up what the handler meets before each test. */
export interface ReplicationSetupHandlerOptions {
  /**
   * What RDS answers before each test, once its mock is reset.
   * @default RDS says INSTANCE is available, unprotected and in sync: rdsSays('available', 'in-sync')
   */
  readonly rdsAnswers?: () => void;
}

/**
 * The handler exactly as Lambda loads it (index.ts with its SDK clients and CA bundle), trusting
 * the test servers' CAs (one file for all of them) as the runtime trusts the RDS CAs, with the
 * RDS mock reset and answering as `rdsAnswers` says before each test. Call at the top of a
 * describe block; the getter works in tests.
 */
export function useReplicationSetupHandler(
  servers: TestPostgres | readonly TestPostgres[],
  { rdsAnswers = () => rdsSays('available', 'in-sync') }: ReplicationSetupHandlerOptions = {},
): () => ReplicationSetupModule {
  let handler: ReplicationSetupModule | undefined;
  beforeAll(async () => {
    const caPath = path.join(tmpdir(), `${uniqueName('ca')}.pem`);
    const trusted = Array.isArray(servers) ? servers : [servers];
    writeFileSync(caPath, trusted.map((pg) => pg.server.certificateAuthority!.certPem).join(''));
    process.env.NODE_EXTRA_CA_CERTS = caPath;
    handler = await import('../../../lambda/replication-setup/index');
  });
  beforeEach(() => {
    rds.reset();
    rdsAnswers();
  });
  return () => {
    if (!handler) throw new Error('useReplicationSetupHandler(): only inside tests');
    return handler;
  };
}

/**
 * The isComplete event the provider sends after an onEvent that answered `response`, for
 * the same `properties`.
 */
export function isCompleteEvent(
  properties: ReplicationSetupProperties,
  response: { readonly PhysicalResourceId?: string; readonly Data?: Record<string, unknown> },
): CdkCustomResourceIsCompleteEvent {
  return {
    ...event('Create', properties),
    PhysicalResourceId: response.PhysicalResourceId,
    Data: response.Data,
  } as CdkCustomResourceIsCompleteEvent;
}
