import {
  AirbyteTargetError,
  buildConnectionRequest,
  buildDestinationConfiguration,
  buildSourceConfiguration,
  syncModeFor,
  type DiscoveredStream,
} from '../../../src/airbyte/bodies';
import {
  loadConnectorValidators,
  postgresSourceErrors,
  postgresSourceSchemas,
} from '../../support/fake-airbyte-server';
import { S3_TARGET, TEST_PASSWORD, targetFor } from './fixtures';

const validators = loadConnectorValidators();

/** The API schema and both connector specs (before 3.8 and 3.8+) accept it. */
function expectValidSource(configuration: unknown) {
  expect(postgresSourceErrors(validators, configuration)).toEqual([]);
}

describe('buildSourceConfiguration', () => {
  it('builds a CDC source from the replication config that the API schema and both connector specs accept', () => {
    const configuration = buildSourceConfiguration(targetFor('dev'));
    expectValidSource(configuration);
    expect(configuration).toEqual({
      sourceType: 'postgres',
      host: 'db.example.internal',
      port: 5432,
      database: 'app',
      schemas: ['datastore'],
      username: 'airbyte',
      password: TEST_PASSWORD,
      ssl_mode: { mode: 'require' },
      tunnel_method: { tunnel_method: 'NO_TUNNEL' },
      replication_method: {
        method: 'CDC',
        plugin: 'pgoutput',
        replication_slot: 'airbyte_slot',
        publication: 'airbyte_publication',
        initial_waiting_seconds: 1200,
        lsn_commit_behaviour: 'After loading Data in the destination',
        invalid_cdc_cursor_position_behavior: 'Fail sync',
        heartbeat_action_query:
          'INSERT INTO "datastore"."airbyte_heartbeat" (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat',
      },
    });
  });

  it('sends an empty heartbeat query (the connector default, none) when the heartbeat is off', () => {
    const configuration = buildSourceConfiguration(
      targetFor('dev', { replication: { heartbeatTable: false } }),
    );
    expectValidSource(configuration);
    expect(configuration.replication_method).toMatchObject({ heartbeat_action_query: '' });
  });

  it('carries every CDC option from config and verify-full with the CA bundle', () => {
    const target = targetFor(
      'prod2',
      {
        replication: { schema: 'sales', slotName: 'sales_slot', publicationName: 'sales_pub' },
        airbyte: {
          sslMode: 'verify-full',
          caCertificateFile: 'certs/rds.pem',
          initialWaitingSeconds: 300,
          lsnCommitBehaviour: 'While reading Data',
          invalidCdcCursorPositionBehavior: 'Re-sync data',
          heartbeatActionQuery: 'INSERT INTO sales.heartbeat VALUES (now())',
        },
      },
      {
        caCertificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n',
        s3: S3_TARGET,
      },
    );
    const configuration = buildSourceConfiguration(target);
    expectValidSource(configuration);
    expect(configuration.ssl_mode).toEqual({
      mode: 'verify-full',
      ca_certificate: target.caCertificate,
    });
    expect(configuration.schemas).toEqual(['sales']);
    expect(configuration.replication_method).toMatchObject({
      replication_slot: 'sales_slot',
      publication: 'sales_pub',
      initial_waiting_seconds: 300,
      lsn_commit_behaviour: 'While reading Data',
      invalid_cdc_cursor_position_behavior: 'Re-sync data',
      heartbeat_action_query: 'INSERT INTO sales.heartbeat VALUES (now())',
    });
  });

  it('refuses verify-full without a CA bundle, naming the setting', () => {
    const target = targetFor('dev', {
      airbyte: { sslMode: 'verify-full', caCertificateFile: 'x.pem' },
    });
    expect(() => buildSourceConfiguration(target)).toThrow(AirbyteTargetError);
    expect(() => buildSourceConfiguration(target)).toThrow(/airbyte\.caCertificateFile/);
  });

  it('is rejected by the connector spec when the replication slot is missing (the validator can fail)', () => {
    const configuration = buildSourceConfiguration(targetFor('dev'));
    const broken = { ...configuration, replication_method: { method: 'CDC', publication: 'p' } };
    expect(validators.sourcePostgresConnector(broken)).toBe(false);
    expect(validators.sourcePostgresConnector38(broken)).toBe(false);
    expect(
      validators.sourcePostgresApi({ ...configuration, ssl_mode: { mode: 'sometimes' } }),
    ).toBe(false);
  });

  it.each(['tunnel_method', 'replication_method'])(
    'without %s, is rejected by the 3.8 connector spec alone, and the check applies it',
    (field) => {
      // The API schema and the older spec make both optional; source-postgres 3.8 requires them.
      const configuration: Record<string, unknown> = {
        ...buildSourceConfiguration(targetFor('dev')),
      };
      delete configuration[field];
      expect(validators.sourcePostgresApi(configuration)).toBe(true);
      expect(validators.sourcePostgresConnector(configuration)).toBe(true);
      expect(validators.sourcePostgresConnector38(configuration)).toBe(false);
      expect(postgresSourceErrors(validators, configuration)).toEqual([
        `source-postgres 3.8 connector spec: / must have required property '${field}'`,
      ]);
    },
  );

  it('is checked against the API schema and both connector specs', () => {
    expect(postgresSourceSchemas(validators).map(([, validate]) => validate)).toEqual([
      validators.sourcePostgresApi,
      validators.sourcePostgresConnector,
      validators.sourcePostgresConnector38,
    ]);
  });
});

describe('buildDestinationConfiguration', () => {
  it('builds an S3 JSONL destination the API schema accepts, with the stack bucket and key', () => {
    const configuration = buildDestinationConfiguration(
      targetFor('staging', {}, { s3: S3_TARGET }),
    );
    expect(validators.destinationS3Api(configuration)).toBe(true);
    expect(configuration).toEqual({
      destinationType: 's3',
      s3_bucket_name: S3_TARGET.bucketName,
      s3_bucket_path: 'rds-airbyte-cdc/staging',
      s3_bucket_region: 'eu-west-1',
      format: {
        format_type: 'JSONL',
        flattening: 'No flattening',
        compression: { compression_type: 'GZIP' },
      },
      access_key_id: S3_TARGET.accessKey!.accessKeyId,
      secret_access_key: S3_TARGET.accessKey!.secretAccessKey,
    });
  });

  it('sends a role ARN (Airbyte Cloud) or no credentials at all, as configured', () => {
    const roleArn = 'arn:aws:iam::123456789012:role/airbyte-cloud-writer';
    const role = buildDestinationConfiguration(
      targetFor(
        'staging',
        { airbyte: { destination: { type: 's3', authentication: 'role', roleArn, gzip: false } } },
        { s3: S3_TARGET },
      ),
    );
    expect(validators.destinationS3Api(role)).toBe(true);
    expect(role).toMatchObject({
      role_arn: roleArn,
      format: { compression: { compression_type: 'No Compression' } },
    });
    expect(role).not.toHaveProperty('access_key_id');
    const identity = buildDestinationConfiguration(
      targetFor(
        'staging',
        { airbyte: { destination: { type: 's3', authentication: 'airbyte-identity' } } },
        { s3: S3_TARGET },
      ),
    );
    expect(identity).not.toHaveProperty('access_key_id');
    expect(identity).not.toHaveProperty('role_arn');
  });

  it('explains what is missing when the S3 bucket or key is unknown', () => {
    expect(() => buildDestinationConfiguration(targetFor('staging'))).toThrow(/no bucket is known/);
    expect(() =>
      buildDestinationConfiguration(
        targetFor('staging', {}, { s3: { bucketName: 'b-b-b', region: 'eu-west-1' } }),
      ),
    ).toThrow(/no access key/);
  });

  it('builds local-json under /local and dev-null', () => {
    expect(
      buildDestinationConfiguration(
        targetFor('dev', { airbyte: { destination: { type: 'local-json' } } }),
      ),
    ).toEqual({
      destinationType: 'local-json',
      destination_path: '/local/rds-airbyte-cdc',
    });
    expect(buildDestinationConfiguration(targetFor('dev'))).toEqual({
      destinationType: 'dev-null',
      test_destination: { test_destination_type: 'SILENT' },
    });
  });
});

describe('buildConnectionRequest', () => {
  it('streams every published table with the schedule and schema policies from config', () => {
    const target = targetFor('dev', {
      replication: { tables: ['orders', { name: 'events', replicaIdentity: 'full' }] },
      airbyte: {
        schedule: '0 */15 * * * ?',
        namespaceDefinition: 'custom_format',
        namespaceFormat: 'cdc_${SOURCE_NAMESPACE}',
      },
    });
    expect(buildConnectionRequest(target, 'source-id', 'destination-id')).toEqual({
      name: 'rds-airbyte-cdc-dev',
      sourceId: 'source-id',
      destinationId: 'destination-id',
      configurations: {
        streams: [
          { name: 'orders', namespace: 'datastore', syncMode: 'incremental_append' },
          { name: 'events', namespace: 'datastore', syncMode: 'incremental_append' },
        ],
      },
      schedule: { scheduleType: 'cron', cronExpression: '0 */15 * * * ?' },
      namespaceDefinition: 'custom_format',
      namespaceFormat: 'cdc_${SOURCE_NAMESPACE}',
      nonBreakingSchemaUpdatesBehavior: 'propagate_columns',
      status: 'active',
    });
  });

  it('defaults to an hourly cron and supports manual', () => {
    expect(buildConnectionRequest(targetFor('dev'), 's', 'd').schedule).toEqual({
      scheduleType: 'cron',
      cronExpression: '0 0 * * * ?',
    });
    expect(
      buildConnectionRequest(targetFor('dev', { airbyte: { schedule: 'manual' } }), 's', 'd')
        .schedule,
    ).toEqual({
      scheduleType: 'manual',
    });
  });
});

/** A stream as the source discovers it, readable incrementally unless told otherwise. */
const discovered = (
  namespace: string,
  name: string,
  syncModes: string[] = ['full_refresh_overwrite', 'incremental_append'],
): DiscoveredStream => ({ name, namespace, syncModes });

describe('buildConnectionRequest with replication.tables "*"', () => {
  const target = targetFor('dev', { replication: { tables: '*', replicaIdentity: 'full' } });

  it('streams the discovered tables with the section identity', () => {
    const request = buildConnectionRequest(
      {
        ...target,
        discoveredStreams: [
          discovered('datastore', 'orders'),
          discovered('datastore', 'items'),
          discovered('other', 'users'),
        ],
      },
      's',
      'd',
    );
    expect(request.configurations.streams).toEqual([
      { name: 'orders', namespace: 'datastore', syncMode: 'incremental_append' },
      { name: 'items', namespace: 'datastore', syncMode: 'incremental_append' },
    ]);
  });

  it('refuses to build a connection without its streams, saying where they come from', () => {
    expect(() => buildConnectionRequest(target, 's', 'd')).toThrow(
      'Schema "datastore" is published whole ("*"), so the connection\'s streams include the tables Airbyte discovers in it',
    );
  });
});

describe('several schemas', () => {
  const target = targetFor('dev', {
    replication: {
      schemas: { sales: ['orders', { name: 'items', replicaIdentity: 'full' }], crm: '*' },
      heartbeatTable: 'heartbeat',
    },
  });
  const discoveredStreams = [
    discovered('sales', 'orders'),
    // Discovered in the listed schema, but not listed (the heartbeat table is published, not streamed).
    discovered('sales', 'refunds'),
    discovered('sales', 'heartbeat'),
    discovered('crm', 'contacts'),
    // In CDC mode a table outside the publication (14, created since the deploy) is full refresh only.
    discovered('crm', 'notes', ['full_refresh_overwrite']),
    discovered('crm', 'accounts'),
    discovered('other', 'users'),
  ];

  it('reads every published schema, in config order, valid for the API and both connector specs', () => {
    const configuration = buildSourceConfiguration(target);
    expectValidSource(configuration);
    expect(configuration.schemas).toEqual(['sales', 'crm']);
    const reversed = targetFor('dev', {
      replication: { schemas: { crm: '*', sales: ['orders'] } },
    });
    expect(buildSourceConfiguration(reversed).schemas).toEqual(['crm', 'sales']);
  });

  it("streams the listed tables and the whole schema's discovered ones, each under its schema", () => {
    const request = buildConnectionRequest({ ...target, discoveredStreams }, 's', 'd');
    expect(request.configurations.streams).toEqual([
      { name: 'orders', namespace: 'sales', syncMode: 'incremental_append' },
      { name: 'items', namespace: 'sales', syncMode: 'incremental_append' },
      { name: 'contacts', namespace: 'crm', syncMode: 'incremental_append' },
      { name: 'accounts', namespace: 'crm', syncMode: 'incremental_append' },
    ]);
  });

  it('refuses to build the connection without discovery, naming the whole schema', () => {
    expect(() => buildConnectionRequest(target, 's', 'd')).toThrow(
      'Schema "crm" is published whole ("*")',
    );
  });

  it('needs no discovery when every schema is a list', () => {
    const listed = targetFor('dev', {
      replication: { schemas: { sales: ['orders'], crm: ['contacts'] } },
    });
    expect(buildConnectionRequest(listed, 's', 'd').configurations.streams).toEqual([
      { name: 'orders', namespace: 'sales', syncMode: 'incremental_append' },
      { name: 'contacts', namespace: 'crm', syncMode: 'incremental_append' },
    ]);
  });
});

describe('syncModeFor', () => {
  it('deduplicates only key tables (replica identity default) on a destination that can', () => {
    expect(syncModeFor('default', true)).toBe('incremental_deduped_history');
    expect(syncModeFor('full', true)).toBe('incremental_append');
    expect(syncModeFor('default', false)).toBe('incremental_append');
  });
});
