import { parseEnvironment } from '../../../src/config';
import type { AirbyteTarget, JsonObject, S3Target } from '../../../src/airbyte/bodies';
import { streamedPublicationOf, resolveAirbyteSettings } from '../../../src/airbyte/settings';

export const TEST_PASSWORD = 'replication-password-not-for-logs';
export const TEST_SECRET_ACCESS_KEY = 'secret-access-key-not-for-logs';

/** A target as the CLI or the custom resource would assemble it for one environment. */
export function targetFor(
  environment: string,
  raw: Record<string, unknown> = {},
  extra: { caCertificate?: string; s3?: S3Target } = {},
): AirbyteTarget {
  const config = parseEnvironment(environment, raw);
  return {
    settings: resolveAirbyteSettings(config),
    replication: streamedPublicationOf(config),
    database: {
      host: 'db.example.internal',
      port: config.database.port,
      database: config.database.databaseName,
      username: config.replication.user,
      password: TEST_PASSWORD,
    },
    ...extra,
  };
}

export const S3_TARGET: S3Target = {
  bucketName: 'rds-airbyte-cdc-staging-data',
  region: 'eu-west-1',
  accessKey: { accessKeyId: 'AKIAEXAMPLEEXAMPLE12', secretAccessKey: TEST_SECRET_ACCESS_KEY },
};

/** `replication_method.heartbeat_action_query` of a source configuration (empty: none). */
export function heartbeatQueryOf(configuration: JsonObject): string {
  const method = configuration.replication_method;
  const query =
    typeof method === 'object' && method !== null && !Array.isArray(method)
      ? method.heartbeat_action_query
      : undefined;
  if (typeof query !== 'string') throw new Error('the source configuration has no heartbeat query');
  return query;
}
