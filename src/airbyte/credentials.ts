import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
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
export function parseAirbyteCredentials(secretString: string, where: string): AirbyteAuth {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new AirbyteCredentialsError(`${where} is not JSON: store ${EXPECTED_SHAPE}`);
  }
  const record = (parsed ?? {}) as Record<string, unknown>;
  const pick = (...keys: string[]) =>
    keys
      .map((key) => record[key])
      .find((value): value is string => typeof value === 'string' && value !== '');
  const clientId = pick('clientId', 'client_id');
  const clientSecret = pick('clientSecret', 'client_secret');
  if (clientId && clientSecret) return { clientId, clientSecret };
  const token = pick('token', 'access_token');
  if (token) return { token };
  throw new AirbyteCredentialsError(
    `${where} holds neither a client id and secret nor a token (keys found: ${Object.keys(record).join(', ') || 'none'}): store ${EXPECTED_SHAPE}`,
  );
}

/** Read and parse the Airbyte credentials secret (name or ARN). */
export async function readAirbyteCredentialsSecret(
  secretsManager: SecretsManagerClient,
  secretId: string,
): Promise<AirbyteAuth> {
  const where = `Airbyte credentials secret ${secretId}`;
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId }),
    ));
  } catch (error) {
    throw new AirbyteCredentialsError(`Cannot read the ${where}: ${(error as Error).message}`);
  }
  if (!secretString)
    throw new AirbyteCredentialsError(`${where} has no SecretString: store ${EXPECTED_SHAPE}`);
  return parseAirbyteCredentials(secretString, where);
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
