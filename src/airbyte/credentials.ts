import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { readSecretJson } from '../aws/secrets';
import type { AirbyteAuth } from './client';

/** Environment variables a laptop run reads the Airbyte credentials from. */
export const AIRBYTE_ENV = {
  clientId: 'AIRBYTE_CLIENT_ID',
  clientSecret: 'AIRBYTE_CLIENT_SECRET',
  token: 'AIRBYTE_TOKEN',
  apiUrl: 'AIRBYTE_API_URL',
  workspaceId: 'AIRBYTE_WORKSPACE_ID',
} as const;

export class AirbyteCredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AirbyteCredentialsError';
  }
}

const EXPECTED_SHAPE =
  '{"clientId": "...", "clientSecret": "..."} (or client_id/client_secret) or {"token": "..."}';

/** Credentials from a secret's JSON. The error never quotes the secret's content. */
export function airbyteAuthFromSecret(value: Record<string, unknown>, where: string): AirbyteAuth {
  const pick = (...keys: string[]) =>
    keys
      .map((key) => value[key])
      .find((candidate): candidate is string => typeof candidate === 'string' && candidate !== '');
  const clientId = pick('clientId', 'client_id');
  const clientSecret = pick('clientSecret', 'client_secret');
  if (clientId && clientSecret) return { clientId, clientSecret };
  const token = pick('token', 'access_token');
  if (token) return { token };
  throw new AirbyteCredentialsError(
    `${where} holds neither a client id and secret nor a token (keys found: ${Object.keys(value).join(', ') || 'none'}): store ${EXPECTED_SHAPE}`,
  );
}

/** Read and parse the Airbyte credentials secret (name or ARN). */
export async function readAirbyteCredentialsSecret(
  secretsManager: SecretsManagerClient,
  secretId: string,
): Promise<AirbyteAuth> {
  const value = await readSecretJson(secretsManager, secretId, 'Airbyte credentials secret');
  return airbyteAuthFromSecret(value, `The Airbyte credentials secret ${secretId}`);
}

/** Credentials from AIRBYTE_CLIENT_ID + AIRBYTE_CLIENT_SECRET, or AIRBYTE_TOKEN; undefined if none. */
export function airbyteCredentialsFromEnv(env: NodeJS.ProcessEnv): AirbyteAuth | undefined {
  const clientId = env[AIRBYTE_ENV.clientId];
  const clientSecret = env[AIRBYTE_ENV.clientSecret];
  if (clientId && clientSecret) return { clientId, clientSecret };
  if (clientId || clientSecret) {
    throw new AirbyteCredentialsError(
      `Set both ${AIRBYTE_ENV.clientId} and ${AIRBYTE_ENV.clientSecret} (only one is set), or ${AIRBYTE_ENV.token}`,
    );
  }
  const token = env[AIRBYTE_ENV.token];
  return token ? { token } : undefined;
}
