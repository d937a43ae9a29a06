import { buildSourceRequest } from '../../../src/airbyte/bodies';
import { FakeAirbyteServer } from '../../support/fake-airbyte-server';
import { targetFor } from './fixtures';

let fake: FakeAirbyteServer;

beforeEach(async () => {
  fake = await new FakeAirbyteServer().start();
});

afterEach(async () => {
  await fake.stop();
});

async function createSource(configuration: Record<string, unknown>): Promise<Response> {
  return fetch(`${fake.apiUrl}/sources`, {
    method: 'POST',
    headers: { authorization: `Bearer ${fake.issueToken()}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      ...buildSourceRequest(targetFor('dev'), fake.workspaceId),
      configuration,
    }),
  });
}

describe('FakeAirbyteServer', () => {
  it('accepts the Postgres source the project builds', async () => {
    const { configuration } = buildSourceRequest(targetFor('dev'), fake.workspaceId);
    const response = await createSource(configuration);
    expect(response.status).toBe(200);
    expect(fake.validationErrors).toEqual([]);
  });

  it('rejects a Postgres source that only the 3.8 connector spec rejects (422, naming it)', async () => {
    // The OpenAPI spec, the API schema and the older connector spec leave tunnel_method optional.
    const configuration: Record<string, unknown> = {
      ...buildSourceRequest(targetFor('dev'), fake.workspaceId).configuration,
    };
    delete configuration.tunnel_method;
    const response = await createSource(configuration);
    expect(response.status).toBe(422);
    expect(((await response.json()) as { detail: string }).detail).toBe(
      "configuration does not match the source-postgres 3.8 connector spec: / must have required property 'tunnel_method'",
    );
    expect(fake.validationErrors).toHaveLength(1);
    expect(fake.sources.size).toBe(0);
  });
});
