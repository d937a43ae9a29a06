import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { onEvent } from '../../../lambda/airbyte-setup';
import { parseEnvironment } from '../../../src/config';
import { handleAirbyteEvent } from '../../../lambda/airbyte-setup/handler';
import { streamedPublicationOf, resolveAirbyteSettings } from '../../../src/airbyte/settings';
import {
  airbyteReplicationProperty,
  type AirbyteResourceProperties,
} from '../../../src/contract/airbyte-connection';
import { parseAirbyteProperties } from '../../../lambda/airbyte-setup/properties';
import { FakeAirbyteServer } from '../../support/fake-airbyte-server';

const secretsManager = mockClient(SecretsManagerClient);
const CREDENTIALS_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte/app-AbCdEf';
const REPLICATION_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds/airbyte-AbCdEf';
const S3_KEY_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte-s3-AbCdEf';
const DB_PASSWORD = 'replication-password-from-secret';

let fake: FakeAirbyteServer;
let logLines: string[];

beforeEach(async () => {
  secretsManager.reset();
  fake = await new FakeAirbyteServer().start();
  logLines = [];
  secretsManager.on(GetSecretValueCommand, { SecretId: CREDENTIALS_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
  });
  secretsManager
    .on(GetSecretValueCommand, { SecretId: REPLICATION_SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: 'airbyte', password: DB_PASSWORD }) });
  secretsManager.on(GetSecretValueCommand, { SecretId: S3_KEY_SECRET_ARN }).resolves({
    SecretString: JSON.stringify({ accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: 'k' }),
  });
});

afterEach(async () => {
  await fake.stop();
  expect(fake.validationErrors).toEqual([]);
});

function propertiesFor(
  environment = 'dev',
  raw: Record<string, unknown> = {},
  extra: Partial<AirbyteResourceProperties> = {},
) {
  const config = parseEnvironment(environment, raw);
  const properties: AirbyteResourceProperties = {
    ApiUrl: fake.apiUrl,
    WorkspaceId: fake.workspaceId,
    CredentialsSecretId: CREDENTIALS_SECRET_ARN,
    ReplicationUserSecretArn: REPLICATION_SECRET_ARN,
    Host: 'db.example.internal',
    Port: '5432',
    Database: 'app',
    Settings: JSON.stringify(resolveAirbyteSettings(config)),
    Replication: JSON.stringify(airbyteReplicationProperty(streamedPublicationOf(config))),
    ...extra,
  };
  return { ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider', ...properties };
}

const common = {
  ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
  ResponseURL: 'https://example.invalid/response',
  StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/RdsAirbyteCdc-dev/1',
  RequestId: 'request-1',
  LogicalResourceId: 'AirbyteConnection',
  ResourceType: 'Custom::AirbyteConnection',
};

const createEvent = (properties = propertiesFor()): CdkCustomResourceEvent => ({
  ...common,
  RequestType: 'Create',
  ResourceProperties: properties,
});
const updateEvent = (
  physicalId: string,
  properties = propertiesFor(),
  old = propertiesFor(),
): CdkCustomResourceEvent => ({
  ...common,
  RequestType: 'Update',
  PhysicalResourceId: physicalId,
  ResourceProperties: properties,
  OldResourceProperties: old,
});
const deleteEvent = (physicalId: string, properties = propertiesFor()): CdkCustomResourceEvent => ({
  ...common,
  RequestType: 'Delete',
  PhysicalResourceId: physicalId,
  ResourceProperties: properties,
});

const fast = () => ({
  secretsManager: new SecretsManagerClient({}),
  log: (line: string) => logLines.push(line),
  clientOptions: { baseDelayMs: 1, retries: 1 },
});

describe('airbyte-setup onEvent', () => {
  it('Create applies the three resources from secrets read by ARN', async () => {
    const response = await onEvent(createEvent());

    expect(response.PhysicalResourceId).toBe(`airbyte:${fake.workspaceId}@${fake.apiUrl}`);
    expect(response.Data).toEqual({
      SourceId: [...fake.sources.keys()][0],
      DestinationId: [...fake.destinations.keys()][0],
      ConnectionId: [...fake.connections.keys()][0],
    });
    expect([...fake.sources.values()][0].configuration).toMatchObject({
      host: 'db.example.internal',
      password: DB_PASSWORD,
    });
    expect(
      secretsManager
        .commandCalls(GetSecretValueCommand)
        .map((call) => call.args[0].input.SecretId)
        .sort(),
    ).toEqual([CREDENTIALS_SECRET_ARN, REPLICATION_SECRET_ARN].sort());
  });

  it('Update keeps the ids and re-sends the secrets (a rotated password is invisible otherwise)', async () => {
    const created = await onEvent(createEvent());
    const updated = await onEvent(updateEvent(created.PhysicalResourceId!));

    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect(updated.Data).toEqual(created.Data);
    expect(
      fake
        .writes()
        .filter((request) => request.method === 'PATCH')
        .map((request) => request.path.split('/')[1]),
    ).toEqual(['sources', 'destinations']);
  });

  it('Update that renames the connection replaces it and removes the old one', async () => {
    const created = await onEvent(createEvent());
    const renamed = propertiesFor('dev', { airbyte: { connectionName: 'cdc-dev' } });

    const updated = await onEvent(updateEvent(created.PhysicalResourceId!, renamed));

    expect(updated.PhysicalResourceId).toBe(created.PhysicalResourceId);
    expect([...fake.connections.values()].map((connection) => connection.name)).toEqual([
      'cdc-dev',
    ]);
    expect(fake.sources.size).toBe(1);
    expect(fake.destinations.size).toBe(1);
  });

  it('Update to another workspace is a replacement: new id, old resources deleted by the Delete that follows', async () => {
    await fake.stop();
    fake = await new FakeAirbyteServer({ workspaceCount: 2 }).start();
    secretsManager.on(GetSecretValueCommand, { SecretId: CREDENTIALS_SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ clientId: fake.clientId, clientSecret: fake.clientSecret }),
    });
    const first = propertiesFor();
    const created = await onEvent(createEvent(first));
    const moved = { ...first, WorkspaceId: fake.workspaceIds[1] };

    const updated = await onEvent(updateEvent(created.PhysicalResourceId!, moved, first));
    expect(updated.PhysicalResourceId).not.toBe(created.PhysicalResourceId);
    expect(fake.sources.size).toBe(2);

    // CloudFormation then deletes the replaced resource with its old properties.
    await onEvent(deleteEvent(created.PhysicalResourceId!, first));
    expect([...fake.sources.values()].map((source) => source.workspaceId)).toEqual([
      fake.workspaceIds[1],
    ]);
    expect(fake.connections.size).toBe(1);
  });

  it('Delete removes the connection, the source and the destination', async () => {
    const created = await onEvent(createEvent());
    await onEvent(deleteEvent(created.PhysicalResourceId!));
    expect(fake.sources.size + fake.destinations.size + fake.connections.size).toBe(0);
  });

  it('Delete after a failed Create touches nothing', async () => {
    const response = await onEvent(deleteEvent('request-1'));
    expect(response.PhysicalResourceId).toBe('request-1');
    expect(fake.requests).toHaveLength(0);
    expect(secretsManager.calls()).toHaveLength(0);
  });

  it('creates an S3 destination with the key read from its secret', async () => {
    await onEvent(
      createEvent(
        propertiesFor(
          'staging',
          {},
          {
            S3BucketName: 'bucket-name-1',
            S3Region: 'eu-west-1',
            S3AccessKeySecretArn: S3_KEY_SECRET_ARN,
          },
        ),
      ),
    );
    expect([...fake.destinations.values()][0].configuration).toMatchObject({
      s3_bucket_name: 'bucket-name-1',
      secret_access_key: 'k',
    });
  });

  it('a failed Create removes what it created and says so', async () => {
    fake.fail({
      method: 'POST',
      path: /^\/connections$/,
      status: 400,
      body: { title: 'bad-request', detail: 'Stream data_tbl not found in the source catalog' },
    });

    const error = await handleAirbyteEvent(createEvent(), fast()).catch(
      (caught: unknown) => caught,
    );

    const message = (error as Error).message;
    expect(message).toContain(
      'Cannot create connection "rds-airbyte-cdc-dev": Airbyte answered HTTP 400: Stream data_tbl not found in the source catalog',
    );
    expect(message).toContain('Removed what this attempt had created (source, destination).');
    expect(fake.sources.size + fake.destinations.size + fake.connections.size).toBe(0);
    expect(message).not.toContain(DB_PASSWORD);
  });

  it('a failed Update leaves what exists and names it', async () => {
    const created = await onEvent(createEvent());
    fake.fail({
      method: 'PATCH',
      path: /^\/destinations\//,
      status: 422,
      body: { title: 'invalid', detail: 'bad config' },
    });

    await expect(
      handleAirbyteEvent(updateEvent(created.PhysicalResourceId!), fast()),
    ).rejects.toThrow(
      /Cannot update destination .*HTTP 422: bad config\nAlready done before the failure: update source/,
    );
    expect(fake.sources.size + fake.destinations.size + fake.connections.size).toBe(3);
  });

  it('refuses properties the stack forgot, naming them', async () => {
    const properties: Record<string, unknown> = propertiesFor();
    delete properties.WorkspaceId;
    await expect(
      onEvent(createEvent(properties as ReturnType<typeof propertiesFor>)),
    ).rejects.toThrow(/missing properties WorkspaceId/);
  });
});

describe('the Replication property', () => {
  const replicationOf = (raw: Record<string, unknown>) =>
    propertiesFor('dev', { replication: raw }).Replication;

  it('keeps the one-schema shape it always had, so deployed templates do not change', () => {
    expect(
      replicationOf({ tables: ['data_tbl', { name: 'audit', replicaIdentity: 'full' }] }),
    ).toBe(
      '{"schema":"datastore","slotName":"airbyte_slot","publicationName":"airbyte_publication","tables":[{"name":"data_tbl","replicaIdentity":"default"},{"name":"audit","replicaIdentity":"full"}]}',
    );
    expect(replicationOf({ schema: 'sales', tables: '*', replicaIdentity: 'full' })).toBe(
      '{"schema":"sales","slotName":"airbyte_slot","publicationName":"airbyte_publication","tables":{"wholeSchema":true,"replicaIdentity":"full"}}',
    );
  });

  it('carries several schemas, and the function reads them back in config order', () => {
    const properties = propertiesFor('dev', {
      replication: { schemas: { sales: ['orders'], crm: '*' }, replicaIdentity: 'full' },
    });
    expect(JSON.parse(properties.Replication)).toEqual({
      schema: 'sales',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      tables: {
        schemas: [
          { name: 'sales', tables: [{ name: 'orders', replicaIdentity: 'full' }] },
          { name: 'crm', tables: { wholeSchema: true, replicaIdentity: 'full' } },
        ],
      },
    });
    expect(parseAirbyteProperties(properties).replication).toEqual({
      schema: 'sales',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      schemas: [
        { name: 'sales', tables: [{ name: 'orders', replicaIdentity: 'full' }] },
        { name: 'crm', tables: { wholeSchema: true, replicaIdentity: 'full' } },
      ],
    });
  });

  it('names a broken several-schemas value', () => {
    const properties = propertiesFor('dev', {
      replication: { schemas: { sales: ['orders'], crm: '*' } },
    });
    const broken = JSON.parse(properties.Replication) as { tables: { schemas: unknown[] } };
    broken.tables.schemas = broken.tables.schemas.slice(0, 1);
    expect(() =>
      parseAirbyteProperties({ ...properties, Replication: JSON.stringify(broken) }),
    ).toThrow(/property Replication\.tables\.schemas must hold at least two schemas/);
  });

  it('Create streams the listed schema and the "*" schema\'s discovered tables, each under its schema', async () => {
    fake.discoverable = [
      { streamName: 'orders', streamnamespace: 'sales', syncModes: ['incremental_append'] },
      { streamName: 'refunds', streamnamespace: 'sales', syncModes: ['incremental_append'] },
      { streamName: 'contacts', streamnamespace: 'crm', syncModes: ['incremental_append'] },
    ];
    await onEvent(
      createEvent(
        propertiesFor('dev', { replication: { schemas: { sales: ['orders'], crm: '*' } } }),
      ),
    );
    expect([...fake.sources.values()][0].configuration).toMatchObject({
      schemas: ['sales', 'crm'],
    });
    expect([...fake.connections.values()][0].configurations).toEqual({
      streams: [
        { name: 'orders', namespace: 'sales', syncMode: 'incremental_append' },
        { name: 'contacts', namespace: 'crm', syncMode: 'incremental_append' },
      ],
    });
  });
});

describe('the resync after the replication slot was recreated (SlotGeneration)', () => {
  const withGeneration = (generation?: string) =>
    propertiesFor('dev', {}, generation === undefined ? {} : { SlotGeneration: generation });
  const jobStarts = () =>
    fake.requests.filter((request) => request.method === 'POST' && request.path === '/jobs');
  /** The Update of a created connection whose generation goes from `from` to `to`. */
  const updateGeneration = (
    created: { PhysicalResourceId?: string },
    from: string | undefined,
    to: string | undefined,
  ) =>
    handleAirbyteEvent(
      updateEvent(created.PhysicalResourceId!, withGeneration(to), withGeneration(from)),
      fast(),
    );

  it('starts no job on Create, whatever the generation', async () => {
    const created = await handleAirbyteEvent(createEvent(withGeneration('dropped-for-17')), fast());
    expect(jobStarts()).toEqual([]);
    expect(created.Data).not.toHaveProperty('ResyncJobId');
  });

  it('starts a reset of the connection, last, when an Update changes the generation', async () => {
    const created = await handleAirbyteEvent(createEvent(withGeneration('initial')), fast());
    const updated = await updateGeneration(created, 'initial', 'dropped-for-17');

    const connectionId = [...fake.connections.keys()][0];
    expect(jobStarts()).toEqual([
      expect.objectContaining({ body: { connectionId, jobType: 'reset' }, status: 200 }),
    ]);
    // After the connection was applied: the job is the Update's last write.
    expect(fake.writes().at(-1)?.path).toBe('/jobs');
    expect(updated.Data).toEqual({ ...created.Data, ResyncJobId: '1' });
    expect(logLines).toContainEqual(
      expect.stringContaining(`started Airbyte reset job 1 of connection ${connectionId}`),
    );
  });

  it.each([
    ['the generation is unchanged', 'initial', 'initial'],
    ['the old properties had no generation (deployed before it existed)', undefined, 'initial'],
    ['the generation is left out', 'initial', undefined],
  ])('starts no job on an Update when %s', async (_case, old, current) => {
    const created = await handleAirbyteEvent(createEvent(withGeneration(old)), fast());
    const updated = await updateGeneration(created, old, current);
    expect(jobStarts()).toEqual([]);
    expect(updated.Data).not.toHaveProperty('ResyncJobId');
  });

  it.each([
    [
      'creates it (renamed)',
      'create',
      (): void => undefined,
      { airbyte: { connectionName: 'cdc-dev' } },
    ],
    [
      'recreates it (its source changed)',
      'recreate',
      (): void => {
        // Airbyte cannot move a connection to another source: apply must replace it.
        const [connection] = fake.connections.values();
        connection.sourceId = '00000000-0000-4000-8000-000000000000';
      },
      {},
    ],
  ])(
    'starts no job when the Update that changes the generation %s: a new connection reads everything',
    async (_case, action, beforeUpdate, raw) => {
      const created = await handleAirbyteEvent(createEvent(withGeneration('initial')), fast());
      beforeUpdate();
      const updated = await handleAirbyteEvent(
        updateEvent(
          created.PhysicalResourceId!,
          propertiesFor('dev', raw, { SlotGeneration: 'dropped-for-17' }),
          withGeneration('initial'),
        ),
        fast(),
      );
      // The case is what it says: this run made the connection anew.
      expect(logLines).toContainEqual(expect.stringMatching(`^connection "[^"]+": ${action} `));
      expect(updated.Data?.ConnectionId).not.toBe(created.Data?.ConnectionId);
      expect(jobStarts()).toEqual([]);
      expect(fake.jobs).toEqual([]);
      expect(updated.Data).not.toHaveProperty('ResyncJobId');
    },
  );

  it('does not start a second job when the first start succeeded but its answer was lost', async () => {
    const created = await handleAirbyteEvent(createEvent(withGeneration('initial')), fast());
    fake.fail({ method: 'POST', path: /^\/jobs$/, status: 502, mode: 'after' });

    const updated = await updateGeneration(created, 'initial', 'dropped-for-17');

    expect(fake.jobs).toHaveLength(1);
    expect(jobStarts()).toHaveLength(1);
    expect(updated.Data).toMatchObject({ ResyncJobId: String(fake.jobs[0].jobId) });
  });

  it('fails the Update, naming the job, when Airbyte refuses to start it', async () => {
    const created = await handleAirbyteEvent(createEvent(withGeneration('initial')), fast());
    fake.fail({
      method: 'POST',
      path: /^\/jobs$/,
      status: 409,
      body: { title: 'conflict', detail: 'A sync is already running for this connection' },
    });

    await expect(updateGeneration(created, 'initial', 'dropped-for-17')).rejects.toThrow(
      /Cannot start a reset job of connection [0-9a-f-]+: Airbyte answered HTTP 409: A sync is already running/,
    );
  });
});
