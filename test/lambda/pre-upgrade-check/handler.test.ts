import {
  DescribeDBClustersCommand,
  DescribeDBInstancesCommand,
  RDSClient,
  type DBInstance,
} from '@aws-sdk/client-rds';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent, CloudFormationCustomResourceCreateEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { PreUpgradeCheckHandler } from '../../../lambda/pre-upgrade-check/handler';
import { physicalIdFor } from '../../../lambda/pre-upgrade-check/properties';
import type { PreUpgradeCheckProperties } from '../../../src/contract/pre-upgrade-check';
import { setupReplication } from '../../../src/replication';
import { connect, type ConnectOptions } from '../../../src/replication/connect';
import { INITIAL_SLOT_GENERATION, slotGenerationAfterDrop } from '../../../src/upgrade/pre-upgrade';
import { uniqueName, usePostgres } from '../../support/postgres';
import { tutorialState } from '../../src/replication/fixtures';

const rds = mockClient(RDSClient);
const secretsManager = mockClient(SecretsManagerClient);

const INSTANCE = 'rds-airbyte-cdc-test';
const CLUSTER = 'rds-airbyte-cdc-aurora';
const MASTER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf';

const pg = usePostgres({ ssl: true });

/** Every connection the handler opened, with the options it asked for. */
const connections: ConnectOptions[] = [];
const logged: string[] = [];

function newHandler(): PreUpgradeCheckHandler {
  return new PreUpgradeCheckHandler({
    rds: new RDSClient({}),
    secretsManager: new SecretsManagerClient({}),
    connect: (options) => {
      connections.push(options);
      return connect(options);
    },
    caBundle: () => pg.server.certificateAuthority!.certPem,
    log: (message) => logged.push(message),
  });
}

function properties(
  database: string,
  slotName: string,
  overrides: Partial<PreUpgradeCheckProperties> = {},
): PreUpgradeCheckProperties {
  return {
    DbInstanceIdentifier: INSTANCE,
    MasterSecretArn: MASTER_SECRET_ARN,
    Database: database,
    SlotName: slotName,
    PublicationName: 'airbyte_publication',
    EngineVersion: '17',
    AllowSlotRecreation: 'false',
    ...overrides,
  };
}

function event(
  requestType: CdkCustomResourceEvent['RequestType'],
  resourceProperties: PreUpgradeCheckProperties,
  physicalResourceId?: string,
): CdkCustomResourceEvent {
  return {
    RequestType: requestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/response',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/RdsAirbyteCdc-test/1',
    RequestId: uniqueName('request'),
    LogicalResourceId: 'PreUpgradeCheck',
    ResourceType: 'Custom::PreUpgradeCheck',
    ResourceProperties: { ServiceToken: 'token', ...resourceProperties },
    ...(requestType === 'Create' ? {} : { PhysicalResourceId: physicalResourceId }),
    ...(requestType === 'Update' ? { OldResourceProperties: resourceProperties } : {}),
  } as CloudFormationCustomResourceCreateEvent as CdkCustomResourceEvent;
}

/** RDS says the instance runs `engineVersion` and listens where the test server does. */
function rdsRuns(engineVersion: string, instance: Partial<DBInstance> = {}): void {
  rds.on(DescribeDBInstancesCommand, { DBInstanceIdentifier: INSTANCE }).resolves({
    DBInstances: [
      {
        DBInstanceIdentifier: INSTANCE,
        DBInstanceStatus: 'available',
        EngineVersion: engineVersion,
        Endpoint: { Address: pg.server.host, Port: pg.server.port },
        ...instance,
      },
    ],
  });
}

async function slotExists(slotName: string): Promise<boolean> {
  const admin = await pg.connect();
  const { rowCount } = await admin.query(
    'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1',
    [slotName],
  );
  return rowCount === 1;
}

/** A database with the stack's slot and publication. */
async function pipeline(): Promise<{ database: string; slotName: string }> {
  const database = await pg.createDatabase('preupgrade');
  const desired = tutorialState();
  await setupReplication(await pg.connect(database), desired);
  return { database, slotName: desired.slotName };
}

beforeEach(() => {
  rds.reset();
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand, { SecretId: MASTER_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ username: pg.server.user, password: pg.server.password }),
  });
  connections.length = 0;
  logged.length = 0;
});

// RDS refuses an upgrade from before 17 while any logical slot exists: each test sees its own.
afterEach(async () => {
  const admin = await pg.connect();
  await admin.query(
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_type = 'logical' AND NOT active",
  );
});

describe('the pre-upgrade check handler', () => {
  it('drops the slot of a "16" instance over verified TLS, with short timeouts, and reports the new generation', async () => {
    const { database, slotName } = await pipeline();
    rdsRuns('16.4');
    const props = properties(database, slotName, { AllowSlotRecreation: 'true' });
    const before = physicalIdFor(INSTANCE, INITIAL_SLOT_GENERATION);

    const response = await newHandler().onEvent(event('Update', props, before));
    expect(response.Data).toMatchObject({
      SlotDropped: 'true',
      SlotGeneration: slotGenerationAfterDrop('17'),
      SlotFate: 'dropped',
      DroppedSlotName: slotName,
      DroppedSlotPlugin: 'pgoutput',
      DroppedSlotConfirmedFlushLsn: expect.stringMatching(/^[0-9A-F]+\/[0-9A-F]+$/),
    });
    expect(response.PhysicalResourceId).toBe(
      physicalIdFor(INSTANCE, slotGenerationAfterDrop('17')),
    );
    expect(await slotExists(slotName)).toBe(false);
    expect(connections).toEqual([
      expect.objectContaining({
        host: pg.server.host,
        port: pg.server.port,
        database,
        tls: { mode: 'verify-full', ca: pg.server.certificateAuthority!.certPem },
        connectTimeoutMs: 10000,
        statementTimeoutMs: 60000,
      }),
    ]);
    expect(logged.join('\n')).not.toContain(pg.server.password);

    // CloudFormation's retry of the same update (the first answer was lost): the same drop.
    const retry = await newHandler().onEvent(event('Update', props, before));
    expect(retry.PhysicalResourceId).toBe(response.PhysicalResourceId);
    expect(retry.Data).toMatchObject({
      SlotDropped: 'true',
      SlotGeneration: slotGenerationAfterDrop('17'),
    });
  });

  it('refuses without the acknowledgement, naming it, and keeps the slot', async () => {
    const { database, slotName } = await pipeline();
    rdsRuns('16.4');
    await expect(
      newHandler().onEvent(
        event('Update', properties(database, slotName), physicalIdFor(INSTANCE, 'initial')),
      ),
    ).rejects.toThrow('"replication.allowSlotRecreation": true');
    expect(await slotExists(slotName)).toBe(true);
  });

  it('carries the generation over when nothing is dropped, without connecting', async () => {
    rdsRuns('17.6');
    const previous = physicalIdFor(INSTANCE, 'dropped-for-17');
    const response = await newHandler().onEvent(
      event('Update', properties('app', 'airbyte_slot', { EngineVersion: '17.7' }), previous),
    );
    expect(response).toEqual({
      PhysicalResourceId: previous,
      Data: { SlotDropped: 'false', SlotGeneration: 'dropped-for-17', SlotFate: 'kept-minor' },
    });
    expect(connections).toEqual([]);
  });

  it('keeps the slot of a "17" instance with nothing pending, carrying the generation over', async () => {
    const { database, slotName } = await pipeline();
    rdsRuns('17.6');
    const previous = physicalIdFor(INSTANCE, INITIAL_SLOT_GENERATION);
    const response = await newHandler().onEvent(
      event('Update', properties(database, slotName, { EngineVersion: '18' }), previous),
    );
    expect(response.PhysicalResourceId).toBe(previous);
    expect(response.Data).toMatchObject({ SlotDropped: 'false', SlotGeneration: 'initial' });
    expect(await slotExists(slotName)).toBe(true);
  });

  it('does nothing when the instance does not exist yet (first deploy)', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(
      Object.assign(new Error(`DBInstance ${INSTANCE} not found.`), {
        name: 'DBInstanceNotFoundFault',
      }),
    );
    const response = await newHandler().onEvent(event('Create', properties('app', 'airbyte_slot')));
    expect(response).toEqual({
      PhysicalResourceId: physicalIdFor(INSTANCE, INITIAL_SLOT_GENERATION),
      Data: { SlotDropped: 'false', SlotGeneration: INITIAL_SLOT_GENERATION },
    });
    expect(connections).toEqual([]);
  });

  it('refuses a downgrade before connecting', async () => {
    rdsRuns('17.6');
    await expect(
      newHandler().onEvent(
        event('Update', properties('app', 'airbyte_slot', { EngineVersion: '16' }), 'x'),
      ),
    ).rejects.toThrow(
      'database.engineVersion "16" is below the version the database runs, 17.6: RDS does not downgrade PostgreSQL. Set database.engineVersion back to at least "17.6"',
    );
    expect(connections).toEqual([]);
  });

  it('fails with what to check when RDS cannot be asked', async () => {
    rds.on(DescribeDBInstancesCommand).rejects(
      Object.assign(new Error('User is not authorized to perform: rds:DescribeDBInstances'), {
        name: 'AccessDenied',
      }),
    );
    await expect(
      newHandler().onEvent(event('Update', properties('app', 'airbyte_slot'), 'x')),
    ).rejects.toThrow(
      `Cannot describe RDS instance ${INSTANCE} to check its replication slot before an engine upgrade: User is not authorized to perform: rds:DescribeDBInstances. Check that this function may call rds:DescribeDBInstances`,
    );
  });

  it('fails when a major upgrade meets an instance without an endpoint', async () => {
    rdsRuns('16.4', { DBInstanceStatus: 'modifying', Endpoint: undefined });
    await expect(
      newHandler().onEvent(event('Update', properties('app', 'airbyte_slot'), 'x')),
    ).rejects.toThrow(`RDS instance ${INSTANCE} has no endpoint (status modifying)`);
  });

  it('does nothing on Delete', async () => {
    const id = physicalIdFor(INSTANCE, 'dropped-for-17');
    const response = await newHandler().onEvent(event('Delete', properties('app', 's'), id));
    expect(response).toEqual({ PhysicalResourceId: id });
    expect(rds.calls()).toHaveLength(0);
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it("drops the slot of an Aurora cluster's writer, found through DescribeDBClusters", async () => {
    const { database, slotName } = await pipeline();
    rds.on(DescribeDBClustersCommand, { DBClusterIdentifier: CLUSTER }).resolves({
      DBClusters: [
        {
          Status: 'available',
          Engine: 'aurora-postgresql',
          EngineVersion: '16.6',
          Endpoint: pg.server.host,
          Port: pg.server.port,
          DBClusterMembers: [{ DBInstanceIdentifier: `${CLUSTER}-writer`, IsClusterWriter: true }],
        },
      ],
    });
    const props = properties(database, slotName, {
      DbInstanceIdentifier: undefined,
      DbClusterIdentifier: CLUSTER,
      AllowSlotRecreation: 'true',
    });
    const before = physicalIdFor(CLUSTER, INITIAL_SLOT_GENERATION);
    const response = await newHandler().onEvent(event('Update', props, before));
    expect(response.PhysicalResourceId).toBe(physicalIdFor(CLUSTER, slotGenerationAfterDrop('17')));
    expect(response.Data).toMatchObject({ SlotDropped: 'true', SlotFate: 'dropped' });
    expect(await slotExists(slotName)).toBe(false);
    expect(connections).toEqual([
      expect.objectContaining({ host: pg.server.host, port: pg.server.port, database }),
    ]);
    expect(logged.join('\n')).toContain(`Aurora cluster ${CLUSTER} runs 16.6`);
    expect(rds.commandCalls(DescribeDBInstancesCommand)).toHaveLength(0);
  });

  it('does nothing when the cluster does not exist yet', async () => {
    rds
      .on(DescribeDBClustersCommand)
      .rejects(Object.assign(new Error('not found'), { name: 'DBClusterNotFoundFault' }));
    const props = properties('app', 'airbyte_slot', {
      DbInstanceIdentifier: undefined,
      DbClusterIdentifier: CLUSTER,
    });
    await expect(newHandler().onEvent(event('Create', props))).resolves.toEqual({
      PhysicalResourceId: physicalIdFor(CLUSTER, INITIAL_SLOT_GENERATION),
      Data: { SlotDropped: 'false', SlotGeneration: INITIAL_SLOT_GENERATION },
    });
  });

  it('needs exactly one of the instance and the cluster identifier', async () => {
    const both = properties('app', 's', { DbClusterIdentifier: CLUSTER });
    const neither = properties('app', 's', { DbInstanceIdentifier: undefined });
    await expect(newHandler().onEvent(event('Update', both, 'x'))).rejects.toThrow(
      'Pre-upgrade check custom resource needs exactly one of the properties DbInstanceIdentifier and DbClusterIdentifier, not both',
    );
    await expect(newHandler().onEvent(event('Update', neither, 'x'))).rejects.toThrow(
      'DbInstanceIdentifier and DbClusterIdentifier, not neither',
    );
    expect(rds.calls()).toHaveLength(0);
  });

  it('names a property the stack got wrong', async () => {
    await expect(
      newHandler().onEvent(
        event('Update', properties('app', 's', { AllowSlotRecreation: 'yes' as 'true' }), 'x'),
      ),
    ).rejects.toThrow(/Pre-upgrade check custom resource property AllowSlotRecreation/);
  });
});
