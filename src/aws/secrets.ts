import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/** A secret that cannot be read or does not hold what it should. Never quotes the secret. */
export class SecretError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretError';
  }
}

/**
 * Read a secret whose SecretString is a JSON object. `what` names it in errors ("master user
 * secret"), which say what went wrong and never include the value.
 */
export async function readSecretJson(
  secretsManager: SecretsManagerClient,
  secretId: string,
  what: string,
): Promise<Record<string, unknown>> {
  let secretString: string | undefined;
  try {
    ({ SecretString: secretString } = await secretsManager.send(
      new GetSecretValueCommand({ SecretId: secretId }),
    ));
  } catch (error) {
    throw new SecretError(
      `Cannot read the ${what} ${secretId}: ${(error as Error).message}. Check that it exists and that this role may call secretsmanager:GetSecretValue on it.`,
    );
  }
  if (!secretString) throw new SecretError(`The ${what} ${secretId} has no SecretString`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(secretString);
  } catch {
    throw new SecretError(`The ${what} ${secretId} is not a JSON object`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new SecretError(`The ${what} ${secretId} is not a JSON object`);
  }
  return parsed as Record<string, unknown>;
}

/** The fields of an RDS database secret (`username`, `password`, and once attached `host`, `port`, `dbname`). */
export interface DatabaseSecret {
  readonly username: string;
  readonly password: string;
  readonly host?: string;
  readonly port?: number;
  readonly dbname?: string;
}

/** Read an RDS-style database secret; username and password are required. */
export async function readDatabaseSecret(
  secretsManager: SecretsManagerClient,
  secretId: string,
  what: string,
): Promise<DatabaseSecret> {
  const value = await readSecretJson(secretsManager, secretId, what);
  const { username, password, host, port, dbname } = value;
  if (
    typeof username !== 'string' ||
    username === '' ||
    typeof password !== 'string' ||
    password === ''
  ) {
    throw new SecretError(
      `The ${what} ${secretId} must hold "username" and "password" (keys found: ${Object.keys(value).join(', ') || 'none'})`,
    );
  }
  return {
    username,
    password,
    host: typeof host === 'string' ? host : undefined,
    port:
      typeof port === 'number'
        ? port
        : typeof port === 'string' && port !== ''
          ? Number(port)
          : undefined,
    dbname: typeof dbname === 'string' ? dbname : undefined,
  };
}
