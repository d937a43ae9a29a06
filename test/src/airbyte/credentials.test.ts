import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  AirbyteCredentialsError,
  airbyteAuthFromSecret,
  airbyteCredentialsFromEnv,
  readAirbyteCredentialsSecret,
} from '../../../src/airbyte/credentials';

const secretsManager = mockClient(SecretsManagerClient);

beforeEach(() => secretsManager.reset());

describe('airbyteAuthFromSecret', () => {
  it('accepts camelCase or snake_case client credentials, or a token', () => {
    expect(airbyteAuthFromSecret({ clientId: 'a', clientSecret: 'b' }, 'x')).toEqual({
      clientId: 'a',
      clientSecret: 'b',
    });
    expect(airbyteAuthFromSecret({ client_id: 'a', client_secret: 'b' }, 'x')).toEqual({
      clientId: 'a',
      clientSecret: 'b',
    });
    expect(airbyteAuthFromSecret({ token: 't' }, 'x')).toEqual({ token: 't' });
  });

  it('names the keys it found, never their values', () => {
    const attempt = () =>
      airbyteAuthFromSecret({ clientId: 'only-the-id', password: 'hunter2' }, 'The secret s');
    expect(attempt).toThrow(AirbyteCredentialsError);
    expect(attempt).toThrow(/The secret s holds neither .* \(keys found: clientId, password\)/);
    expect(attempt).not.toThrow(/hunter2|only-the-id/);
  });
});

describe('readAirbyteCredentialsSecret', () => {
  it('reads the secret by name or ARN', async () => {
    secretsManager
      .on(GetSecretValueCommand, { SecretId: 'airbyte/app' })
      .resolves({ SecretString: JSON.stringify({ clientId: 'id', clientSecret: 'secret' }) });
    await expect(
      readAirbyteCredentialsSecret(new SecretsManagerClient({}), 'airbyte/app'),
    ).resolves.toEqual({
      clientId: 'id',
      clientSecret: 'secret',
    });
  });

  it('says which secret could not be read and what to check', async () => {
    secretsManager.on(GetSecretValueCommand).rejects(new Error('ResourceNotFoundException'));
    await expect(
      readAirbyteCredentialsSecret(new SecretsManagerClient({}), 'airbyte/missing'),
    ).rejects.toThrow(
      /Cannot read the Airbyte credentials secret airbyte\/missing: ResourceNotFoundException/,
    );
  });
});

describe('airbyteCredentialsFromEnv', () => {
  it('prefers a client id and secret, falls back to a token, else nothing', () => {
    expect(
      airbyteCredentialsFromEnv({
        AIRBYTE_CLIENT_ID: 'a',
        AIRBYTE_CLIENT_SECRET: 'b',
        AIRBYTE_TOKEN: 't',
      }),
    ).toEqual({
      clientId: 'a',
      clientSecret: 'b',
    });
    expect(airbyteCredentialsFromEnv({ AIRBYTE_TOKEN: 't' })).toEqual({ token: 't' });
    expect(airbyteCredentialsFromEnv({})).toBeUndefined();
  });

  it('refuses half a pair', () => {
    expect(() => airbyteCredentialsFromEnv({ AIRBYTE_CLIENT_ID: 'a' })).toThrow(
      /Set both AIRBYTE_CLIENT_ID and AIRBYTE_CLIENT_SECRET \(only one is set\)/,
    );
  });
});
