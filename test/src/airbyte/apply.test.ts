import {
  AirbyteApplyError,
  applyAirbyte,
  destroyAirbyte,
  planAirbyte,
} from '../../../src/airbyte/apply';
import type { AirbyteTarget } from '../../../src/airbyte/bodies';
import {
  AirbyteApiError,
  AirbyteClient,
  type AirbyteClientOptions,
} from '../../../src/airbyte/client';
import { SECRET_MASK } from '../../../src/airbyte/mask';
import {
  FakeAirbyteServer,
  loadConnectorValidators,
  postgresSourceErrors,
} from '../../support/fake-airbyte-server';
import { S3_TARGET, TEST_PASSWORD, TEST_SECRET_ACCESS_KEY, targetFor } from './fixtures';

let fake: FakeAirbyteServer;
let logLines: string[];

beforeEach(async () => {
  fake = await new FakeAirbyteServer().start();
  logLines = [];
});

afterEach(async () => {
  await fake.stop();
  // Every body the client sent matched the OpenAPI spec and the connector schemas.
  expect(fake.validationErrors).toEqual([]);
});

function clientFor(overrides: Partial<AirbyteClientOptions> = {}): AirbyteClient {
  return new AirbyteClient({
    auth: { clientId: fake.clientId, clientSecret: fake.clientSecret },
    baseDelayMs: 1,
    retries: 3,
    log: (line) => logLines.push(line),
    ...overrides,
    apiUrl: overrides.apiUrl ?? fake.apiUrl,
  });
}

const devTarget = (raw: Record<string, unknown> = {}): AirbyteTarget =>
  targetFor('dev', {
    replication: { tables: ['data_tbl', { name: 'audit', replicaIdentity: 'full' }] },
    ...raw,
  });

const options = () => ({
  workspaceId: fake.workspaceId,
  log: (line: string) => logLines.push(line),
});

function expectNoSecretsIn(text: string) {
  expect(text).not.toContain(TEST_PASSWORD);
  expect(text).not.toContain(TEST_SECRET_ACCESS_KEY);
  expect(text).not.toContain(fake.clientSecret);
}

describe('applyAirbyte', () => {
  it('creates the source, the destination and the connection', async () => {
    const result = await applyAirbyte(devTarget(), clientFor(), options());

    expect([result.source.action, result.destination.action, result.connection.action]).toEqual([
      'create',
      'create',
      'create',
    ]);
    expect(fake.sources.size).toBe(1);
    expect(fake.destinations.size).toBe(1);
    expect(fake.connections.size).toBe(1);
    const source = fake.sources.get(result.source.id)!;
    expect(source).toMatchObject({
      name: 'rds-airbyte-cdc-dev-postgres',
      workspaceId: fake.workspaceId,
    });
    expect((source.configuration as Record<string, unknown>).password).toBe(TEST_PASSWORD);
    expect(fake.connections.get(result.connection.id)).toMatchObject({
      sourceId: result.source.id,
      destinationId: result.destination.id,
      schedule: { scheduleType: 'cron', cronExpression: '0 0 * * * ?' },
      configurations: {
        streams: [
          { name: 'data_tbl', namespace: 'datastore', syncMode: 'incremental_append' },
          { name: 'audit', namespace: 'datastore', syncMode: 'incremental_append' },
        ],
      },
    });
    expectNoSecretsIn(logLines.join('\n'));
  });

  it('creates an S3 destination that the destination-s3 schema accepts', async () => {
    const result = await applyAirbyte(
      targetFor('staging', {}, { s3: S3_TARGET }),
      clientFor(),
      options(),
    );
    expect(fake.destinations.get(result.destination.id)).toMatchObject({
      destinationType: 's3',
      configuration: {
        s3_bucket_name: S3_TARGET.bucketName,
        secret_access_key: TEST_SECRET_ACCESS_KEY,
      },
    });
  });

  it('re-applying the same config is a no-op: no writes, no duplicates', async () => {
    const first = await applyAirbyte(devTarget(), clientFor(), options());
    const writesBefore = fake.writes().length;

    const second = await applyAirbyte(devTarget(), clientFor(), options());

    expect([second.source.action, second.destination.action, second.connection.action]).toEqual([
      'unchanged',
      'unchanged',
      'unchanged',
    ]);
    expect([second.source.id, second.destination.id, second.connection.id]).toEqual([
      first.source.id,
      first.destination.id,
      first.connection.id,
    ]);
    expect(fake.writes().length).toBe(writesBefore);
    expect([fake.sources.size, fake.destinations.size, fake.connections.size]).toEqual([1, 1, 1]);
  });

  it('patches in place when the config changes', async () => {
    const first = await applyAirbyte(devTarget(), clientFor(), options());

    const changed = devTarget({
      airbyte: { initialWaitingSeconds: 600, schedule: '0 30 * * * ?' },
    });
    const second = await applyAirbyte(changed, clientFor(), options());

    expect(second.source).toEqual({ ...first.source, action: 'update' });
    expect(second.destination.action).toBe('unchanged');
    expect(second.connection).toEqual({ ...first.connection, action: 'update' });
    const source = fake.sources.get(first.source.id)!;
    expect(source.configuration).toMatchObject({
      replication_method: { initial_waiting_seconds: 600 },
    });
    expect(fake.connections.get(first.connection.id)!.schedule).toEqual({
      scheduleType: 'cron',
      cronExpression: '0 30 * * * ?',
    });
    const patches = fake.writes().filter((request) => request.method === 'PATCH');
    expect(patches.map((request) => request.path)).toEqual([
      `/sources/${first.source.id}`,
      `/connections/${first.connection.id}`,
    ]);
    expect([fake.sources.size, fake.destinations.size, fake.connections.size]).toEqual([1, 1, 1]);
  });

  it('re-sends unchanged secrets only when asked to (a rotated password cannot be seen)', async () => {
    await applyAirbyte(devTarget(), clientFor(), options());
    const result = await applyAirbyte(devTarget(), clientFor(), {
      ...options(),
      refreshSecrets: true,
    });
    expect([result.source.action, result.destination.action, result.connection.action]).toEqual([
      'update',
      'update',
      'unchanged',
    ]);
  });

  it('recreates what was deleted by hand (404) and rewires the connection', async () => {
    const first = await applyAirbyte(devTarget(), clientFor(), options());
    // Deleting a source in Airbyte deletes its connections too (the fake does the same).
    fake.sources.delete(first.source.id);
    fake.connections.delete(first.connection.id);

    const second = await applyAirbyte(devTarget(), clientFor(), options());

    expect(second.source.action).toBe('create');
    expect(second.source.id).not.toBe(first.source.id);
    expect(second.destination).toEqual({ ...first.destination, action: 'unchanged' });
    expect(second.connection.action).toBe('create');
    expect(fake.connections.get(second.connection.id)!.sourceId).toBe(second.source.id);
  });

  it('creates again when a resource disappears between the lookup and the patch (PATCH 404)', async () => {
    const first = await applyAirbyte(devTarget(), clientFor(), options());
    fake.beforeRequest = (method, path) => {
      if (method === 'PATCH' && path === `/sources/${first.source.id}`)
        fake.sources.delete(first.source.id);
    };

    const second = await applyAirbyte(
      devTarget({ airbyte: { initialWaitingSeconds: 300 } }),
      clientFor(),
      options(),
    );

    expect(second.source.action).toBe('create');
    expect(fake.sources.size).toBe(1);
    expect(
      fake.requests.some((request) => request.method === 'PATCH' && request.status === 404),
    ).toBe(true);
  });

  it('replaces a connection that points at another source', async () => {
    const first = await applyAirbyte(devTarget(), clientFor(), options());
    const stray = {
      ...fake.sources.get(first.source.id)!,
      sourceId: '4c8e5b1a-0d9f-4e6b-8a7c-3b2d1e0f9a8b',
      name: 'other',
    };
    fake.sources.set(stray.sourceId as string, stray);
    fake.connections.get(first.connection.id)!.sourceId = stray.sourceId;

    const second = await applyAirbyte(devTarget(), clientFor(), options());

    expect(second.connection.action).toBe('recreate');
    expect(fake.connections.has(first.connection.id)).toBe(false);
    expect(fake.connections.get(second.connection.id)!.sourceId).toBe(first.source.id);
  });

  it('refreshes the token when it expires mid-apply and carries on', async () => {
    let expired = false;
    fake.beforeRequest = (method, path) => {
      if (!expired && method === 'POST' && path === '/destinations') {
        expired = true;
        fake.expireTokens();
      }
    };

    const result = await applyAirbyte(devTarget(), clientFor(), options());

    expect(result.connection.action).toBe('create');
    expect(fake.tokensIssued).toBe(2);
    expect(fake.requests.filter((request) => request.status === 401)).toHaveLength(1);
    expect(fake.destinations.size).toBe(1);
  });

  it('refreshes the token before it expires, without waiting for a 401', async () => {
    let clock = Date.now();
    const client = clientFor({ now: () => clock, tokenRefreshMarginMs: 30_000 });
    await applyAirbyte(devTarget(), client, options());
    expect(fake.tokensIssued).toBe(1);

    clock += 160_000; // 180 s tokens, refreshed 30 s early
    await applyAirbyte(devTarget(), client, options());

    expect(fake.tokensIssued).toBe(2);
    expect(fake.requests.filter((request) => request.status === 401)).toHaveLength(0);
  });

  it('says clearly that the client credentials were rejected (401) and that nothing changed', async () => {
    const client = clientFor({
      auth: { clientId: fake.clientId, clientSecret: 'wrong-secret-value' },
    });
    const error = await applyAirbyte(devTarget(), client, options()).catch(
      (caught: unknown) => caught,
    );

    expect(error).toBeInstanceOf(AirbyteApplyError);
    const message = (error as Error).message;
    expect(message).toMatch(/obtain an access token.*HTTP 401: Invalid client credentials/);
    expect(message).toMatch(/client id\/secret were rejected: check the credentials secret/);
    expect(message).toMatch(/Nothing was changed in Airbyte/);
    expect(message).not.toContain('wrong-secret-value');
    expect(fake.requests.filter((request) => request.path === '/applications/token')).toHaveLength(
      1,
    );
  });

  it('with a given bearer token, uses it and reports a rejected one without retrying', async () => {
    const token = fake.issueToken();
    const result = await applyAirbyte(devTarget(), clientFor({ auth: { token } }), options());
    expect(result.source.action).toBe('create');
    expect(fake.tokensIssued).toBe(0);

    fake.expireTokens();
    const error = await applyAirbyte(devTarget(), clientFor({ auth: { token } }), options()).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toMatch(
      /HTTP 401: Token expired or invalid\. The bearer token was rejected: obtain a new one/,
    );
    expect(fake.requests.filter((request) => request.status === 401)).toHaveLength(1);
  });

  it.each([409, 422])(
    'surfaces a %i with the resource and Airbyte message, without retrying',
    async (status) => {
      fake.fail({
        method: 'POST',
        path: /^\/destinations$/,
        status,
        body: { title: 'conflict', detail: 'Destination name already taken in this workspace' },
      });

      const error = await applyAirbyte(devTarget(), clientFor(), options()).catch(
        (caught: unknown) => caught,
      );

      expect(error).toBeInstanceOf(AirbyteApplyError);
      const cause = (error as AirbyteApplyError).cause as AirbyteApiError;
      expect(cause).toBeInstanceOf(AirbyteApiError);
      expect(cause.status).toBe(status);
      expect(cause.airbyteMessage).toBe('Destination name already taken in this workspace');
      const message = (error as Error).message;
      expect(message).toContain(
        `Cannot create destination "rds-airbyte-cdc-dev-dev-null": Airbyte answered HTTP ${status}: Destination name already taken in this workspace`,
      );
      // What was already created is named, so nothing is left unexplained.
      expect(message).toMatch(
        /Already done before the failure: create source "rds-airbyte-cdc-dev-postgres" \([0-9a-f-]{36}\)/,
      );
      expect((error as AirbyteApplyError).done.map((outcome) => outcome.kind)).toEqual(['source']);
      expect(
        fake.requests.filter(
          (request) => request.method === 'POST' && request.path === '/destinations',
        ),
      ).toHaveLength(1);
      expectNoSecretsIn(message);
    },
  );

  it('retries 5xx and 429 with backoff, then succeeds', async () => {
    fake.fail({ method: 'POST', path: /^\/destinations$/, status: 503, times: 2 });
    fake.fail({ method: 'GET', path: /^\/connections$/, status: 429 });

    const result = await applyAirbyte(devTarget(), clientFor(), options());

    expect(result.connection.action).toBe('create');
    expect(
      fake.requests
        .filter((request) => request.method === 'POST' && request.path === '/destinations')
        .map((r) => r.status),
    ).toEqual([503, 503, 200]);
    expect(fake.destinations.size).toBe(1);
    expect(
      logLines.some((line) => /HTTP 503, retrying in \d+ ms \(attempt 2 of 4\)/.test(line)),
    ).toBe(true);
  });

  it('does not duplicate a create that succeeded although the answer was lost', async () => {
    fake.fail({ method: 'POST', path: /^\/sources$/, status: 502, mode: 'after' });

    const result = await applyAirbyte(devTarget(), clientFor(), options());

    expect(fake.sources.size).toBe(1);
    expect(result.source.id).toBe([...fake.sources.keys()][0]);
    expect(
      fake.requests.filter((request) => request.method === 'POST' && request.path === '/sources'),
    ).toHaveLength(1);
  });

  it('gives up after the retries and names what exists', async () => {
    fake.fail({
      method: 'POST',
      path: /^\/connections$/,
      status: 500,
      times: 10,
      body: { title: 'internal', detail: 'database is down' },
    });

    const error = await applyAirbyte(devTarget(), clientFor(), options()).catch(
      (caught: unknown) => caught,
    );

    const message = (error as Error).message;
    expect(message).toContain(
      'Cannot create connection "rds-airbyte-cdc-dev": Airbyte answered HTTP 500: database is down',
    );
    expect(message).toMatch(
      /create source "rds-airbyte-cdc-dev-postgres" \(.+\); create destination "rds-airbyte-cdc-dev-dev-null" \(.+\)\. Run apply again to finish/,
    );
    expect(
      fake.requests.filter(
        (request) => request.method === 'POST' && request.path === '/connections',
      ),
    ).toHaveLength(4);
  });

  it('reports an unreachable Airbyte clearly, having changed nothing', async () => {
    const apiUrl = fake.apiUrl;
    await fake.stop();

    const error = await applyAirbyte(devTarget(), clientFor({ apiUrl }), options()).catch(
      (caught: unknown) => caught,
    );

    const message = (error as Error).message;
    expect(message).toContain(
      `Airbyte at ${apiUrl} is unreachable (ECONNREFUSED) after 4 attempts`,
    );
    expect(message).toContain(
      'Check the API URL, that Airbyte is running, and the network path to it.',
    );
    expect(message).toContain('Nothing was changed in Airbyte before the failure.');
  });

  it('reports a connection lost mid-apply with what was already created', async () => {
    fake.fail({ method: 'POST', path: /^\/destinations$/, mode: 'drop', times: 10 });

    const error = await applyAirbyte(devTarget(), clientFor(), options()).catch(
      (caught: unknown) => caught,
    );

    const message = (error as Error).message;
    expect(message).toMatch(
      /Cannot create destination "rds-airbyte-cdc-dev-dev-null": Airbyte at .* is unreachable/,
    );
    expect(message).toMatch(
      /Already done before the failure: create source "rds-airbyte-cdc-dev-postgres"/,
    );
    expect(fake.destinations.size).toBe(0);
  });

  it('times out a call that never answers', async () => {
    fake.fail({ method: 'GET', path: /^\/sources$/, mode: 'hang' });
    const error = await applyAirbyte(
      devTarget(),
      clientFor({ timeoutMs: 200, retries: 0 }),
      options(),
    ).catch((caught: unknown) => caught);
    expect((error as Error).message).toMatch(
      /unreachable \(no answer within 200 ms\) after 1 attempts/,
    );
  });

  it('uses the only workspace when none is configured, and refuses to guess between several', async () => {
    const result = await applyAirbyte(devTarget(), clientFor(), {});
    expect(result.workspaceId).toBe(fake.workspaceId);

    const several = await new FakeAirbyteServer({ workspaceCount: 2 }).start();
    try {
      const client = new AirbyteClient({
        apiUrl: several.apiUrl,
        auth: { clientId: several.clientId, clientSecret: several.clientSecret },
      });
      await expect(applyAirbyte(devTarget(), client, {})).rejects.toThrow(
        /see 2 workspaces: .*Set airbyte\.workspaceId/,
      );
    } finally {
      await several.stop();
    }
  });

  it('refuses to pick between two resources with the same name', async () => {
    await applyAirbyte(devTarget(), clientFor(), options());
    const [id, source] = [...fake.sources.entries()][0];
    fake.sources.set('0f0e0d0c-0b0a-4909-8807-060504030201', {
      ...source,
      sourceId: '0f0e0d0c-0b0a-4909-8807-060504030201',
    });
    await expect(applyAirbyte(devTarget(), clientFor(), options())).rejects.toThrow(
      new RegExp(
        `holds 2 sources named "rds-airbyte-cdc-dev-postgres" \\(${id}, .*delete the extra ones`,
      ),
    );
  });

  it('finds resources beyond the first page of a list', async () => {
    for (let index = 0; index < 120; index++) {
      const sourceId = `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`;
      fake.sources.set(sourceId, {
        sourceId,
        name: `other-${index}`,
        workspaceId: fake.workspaceId,
        configuration: {},
      });
    }
    const first = await applyAirbyte(devTarget(), clientFor(), options());
    const second = await applyAirbyte(devTarget(), clientFor(), options());
    expect(second.source).toEqual({ ...first.source, action: 'unchanged' });
    expect(fake.sources.size).toBe(121);
  });
});

describe('replication.tables "*"', () => {
  const wholeSchemaTarget = () => targetFor('dev', { replication: { tables: '*' } });
  const stream = (name: string, namespace: string, syncModes: string[]) => ({
    streamName: name,
    streamnamespace: namespace,
    syncModes,
  });

  it("lists the schema's incrementally readable discovered tables as the connection's streams", async () => {
    fake.discoverable = [
      stream('orders', 'datastore', ['full_refresh_overwrite', 'incremental_append']),
      // In CDC mode a table outside the publication (14, created since the deploy) is full refresh only.
      stream('invoices', 'datastore', ['full_refresh_overwrite']),
      stream('users', 'other', ['full_refresh_overwrite', 'incremental_append']),
    ];
    const result = await applyAirbyte(wholeSchemaTarget(), clientFor(), options());
    const connection = fake.connections.get(result.connection.id)!;
    // Never without streams: Airbyte would then sync every discovered stream as full refresh overwrite.
    expect(connection.configurations).toEqual({
      streams: [{ name: 'orders', namespace: 'datastore', syncMode: 'incremental_append' }],
    });
    const discovery = fake.requests.find((request) => request.path === '/streams');
    expect(discovery).toBeDefined();
  });

  it('adds a table created since on the next apply, and is a no-op when none was', async () => {
    fake.discoverable = [stream('orders', 'datastore', ['incremental_append'])];
    await applyAirbyte(wholeSchemaTarget(), clientFor(), options());
    expect(
      (await applyAirbyte(wholeSchemaTarget(), clientFor(), options())).connection.action,
    ).toBe('unchanged');
    fake.discoverable = [
      ...fake.discoverable,
      stream('invoices', 'datastore', ['incremental_append']),
    ];
    const result = await applyAirbyte(wholeSchemaTarget(), clientFor(), options());
    expect(result.connection.action).toBe('update');
    const streams = (
      fake.connections.get(result.connection.id)!.configurations as { streams: unknown[] }
    ).streams;
    expect(streams).toEqual([
      { name: 'invoices', namespace: 'datastore', syncMode: 'incremental_append' },
      { name: 'orders', namespace: 'datastore', syncMode: 'incremental_append' },
    ]);
  });

  it('plans offline with no streams yet: they are known once the source exists', async () => {
    const plan = await planAirbyte(wholeSchemaTarget(), undefined, options());
    expect(plan.connection.body.configurations).toEqual({ streams: [] });
  });
});

describe('several schemas, one listed and one "*"', () => {
  const severalSchemasTarget = () =>
    targetFor('dev', {
      replication: {
        schemas: { sales: ['orders', { name: 'items', replicaIdentity: 'full' }], crm: '*' },
      },
    });
  const stream = (name: string, namespace: string) => ({
    streamName: name,
    streamnamespace: namespace,
    syncModes: ['full_refresh_overwrite', 'incremental_append'],
  });

  it('reads both schemas and streams the listed tables with the "*" schema\'s discovered ones', async () => {
    fake.discoverable = [
      stream('orders', 'sales'),
      // Discovered in the listed schema but not listed: the connection leaves it out.
      stream('refunds', 'sales'),
      stream('contacts', 'crm'),
      stream('users', 'other'),
    ];
    const result = await applyAirbyte(severalSchemasTarget(), clientFor(), options());
    expect(fake.sources.get(result.source.id)!.configuration).toMatchObject({
      schemas: ['sales', 'crm'],
    });
    expect(fake.connections.get(result.connection.id)!.configurations).toEqual({
      streams: [
        { name: 'orders', namespace: 'sales', syncMode: 'incremental_append' },
        { name: 'items', namespace: 'sales', syncMode: 'incremental_append' },
        { name: 'contacts', namespace: 'crm', syncMode: 'incremental_append' },
      ],
    });
    // One discovery serves every whole schema.
    expect(fake.requests.filter((request) => request.path === '/streams')).toHaveLength(1);
    expect(
      (await applyAirbyte(severalSchemasTarget(), clientFor(), options())).connection.action,
    ).toBe('unchanged');
  });

  it('does not ask for discovery when every schema is a list', async () => {
    const listed = targetFor('dev', {
      replication: { schemas: { sales: ['orders'], crm: ['contacts'] } },
    });
    const result = await applyAirbyte(listed, clientFor(), options());
    expect(fake.requests.some((request) => request.path === '/streams')).toBe(false);
    expect(fake.connections.get(result.connection.id)!.configurations).toEqual({
      streams: [
        { name: 'orders', namespace: 'sales', syncMode: 'incremental_append' },
        { name: 'contacts', namespace: 'crm', syncMode: 'incremental_append' },
      ],
    });
  });

  it('plans offline with the listed tables only: the "*" schema\'s are known once the source exists', async () => {
    const plan = await planAirbyte(severalSchemasTarget(), undefined, options());
    expect(
      plan.connection.body.configurations.streams.map((s) => `${s.namespace}.${s.name}`),
    ).toEqual(['sales.orders', 'sales.items']);
  });
});

describe('destroyAirbyte', () => {
  it('removes the connection, then the source and the destination, and says the slot stays', async () => {
    await applyAirbyte(devTarget(), clientFor(), options());

    const result = await destroyAirbyte(devTarget().settings, clientFor(), options());

    expect(result.outcomes.map((outcome) => `${outcome.kind}:${outcome.action}`)).toEqual([
      'connection:delete',
      'source:delete',
      'destination:delete',
    ]);
    expect([fake.sources.size, fake.destinations.size, fake.connections.size]).toEqual([0, 0, 0]);
    expect(
      fake
        .writes()
        .filter((request) => request.method === 'DELETE')
        .map((request) => request.path.split('/')[1]),
    ).toEqual(['connections', 'sources', 'destinations']);
    expect(result.notes.join(' ')).toMatch(/replication slot .* left in place/);

    const again = await destroyAirbyte(devTarget().settings, clientFor(), options());
    expect(again.outcomes.map((outcome) => outcome.action)).toEqual(['absent', 'absent', 'absent']);
    expect(again.notes).toEqual([]);
  });

  it('names what it already deleted when it fails part way', async () => {
    await applyAirbyte(devTarget(), clientFor(), options());
    fake.fail({
      method: 'DELETE',
      path: /^\/sources\//,
      status: 403,
      body: { title: 'forbidden', detail: 'Not allowed' },
    });

    await expect(destroyAirbyte(devTarget().settings, clientFor(), options())).rejects.toThrow(
      /Cannot delete source "rds-airbyte-cdc-dev-postgres" \(.*\): Airbyte answered HTTP 403: Not allowed\. The credentials may not act on this workspace[\s\S]*Deleted before the failure: connection "rds-airbyte-cdc-dev"\. Run destroy again/,
    );
  });
});

describe('planAirbyte', () => {
  it('offline: prints every body with secrets masked and no actions', async () => {
    const plan = await planAirbyte(targetFor('staging', {}, { s3: S3_TARGET }), undefined, {});

    expect(plan.workspaceId).toBeUndefined();
    expect(plan.source.action).toBeUndefined();
    expect(plan.source.body.configuration).toMatchObject({
      password: SECRET_MASK,
      host: 'db.example.internal',
    });
    expect(postgresSourceErrors(loadConnectorValidators(), plan.source.body.configuration)).toEqual(
      [],
    );
    expect(plan.destination.body.configuration).toMatchObject({
      secret_access_key: SECRET_MASK,
      access_key_id: SECRET_MASK,
    });
    expect(plan.connection.body.sourceId).toBe('<id of the source once created>');
    expectNoSecretsIn(JSON.stringify(plan));
    expect(fake.requests).toHaveLength(0);
  });

  it('online: says what apply would do, without writing', async () => {
    const before = await planAirbyte(devTarget(), clientFor(), options());
    expect([before.source.action, before.destination.action, before.connection.action]).toEqual([
      'create',
      'create',
      'create',
    ]);

    await applyAirbyte(devTarget(), clientFor(), options());
    const writes = fake.writes().length;
    const after = await planAirbyte(
      devTarget({ airbyte: { schedule: 'manual' } }),
      clientFor(),
      options(),
    );

    expect([after.source.action, after.destination.action, after.connection.action]).toEqual([
      'unchanged',
      'unchanged',
      'update',
    ]);
    expect(after.connection.body.sourceId).toBe([...fake.sources.keys()][0]);
    expect(fake.writes().length).toBe(writes);
  });
});
