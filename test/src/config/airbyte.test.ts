import { ConfigError, parseEnvironment } from '../../../src/config';
import { resolveAirbyteSettings } from '../../../src/airbyte/settings';

const WORKSPACE = '1d3c5f0e-7a2b-4c8d-9e1f-2a3b4c5d6e7f';
const MANAGED = { workspaceId: WORKSPACE, credentialsSecret: 'airbyte/app' };

describe('airbyte config', () => {
  it('needs nothing and documents sensible defaults', () => {
    const { airbyte } = parseEnvironment('dev', {});
    expect(airbyte).toEqual({
      sslMode: 'require',
      schedule: '0 0 * * * ?',
      namespaceDefinition: 'source',
      nonBreakingSchemaUpdatesBehavior: 'propagate_columns',
      initialWaitingSeconds: 1200,
      lsnCommitBehaviour: 'After loading Data in the destination',
      invalidCdcCursorPositionBehavior: 'Fail sync',
      runInVpc: false,
    });
  });

  it('derives names from the environment; dev-null for dev, S3 elsewhere', () => {
    const dev = resolveAirbyteSettings(parseEnvironment('dev', {}));
    expect(dev).toMatchObject({
      sourceName: 'rds-airbyte-cdc-dev-postgres',
      destinationName: 'rds-airbyte-cdc-dev-dev-null',
      connectionName: 'rds-airbyte-cdc-dev',
      destination: { type: 'dev-null' },
    });
    const staging = resolveAirbyteSettings(parseEnvironment('staging', {}));
    expect(staging.destination).toEqual({
      type: 's3',
      gzip: true,
      authentication: 'access-key',
      bucketPath: 'rds-airbyte-cdc/staging',
    });
    expect(staging.destinationName).toBe('rds-airbyte-cdc-staging-s3');
  });

  it('lets a custom resource in the VPC reach a private, plain-http Airbyte', () => {
    const { airbyte } = parseEnvironment('dev', {
      airbyte: { ...MANAGED, apiUrl: 'http://10.0.5.5:8000/api/public/v1', runInVpc: true },
    });
    expect(airbyte).toMatchObject({ apiUrl: 'http://10.0.5.5:8000/api/public/v1', runInVpc: true });
  });

  it('keeps explicit names and strips a trailing slash from apiUrl', () => {
    const { airbyte } = parseEnvironment('dev', {
      airbyte: {
        apiUrl: 'https://api.airbyte.com/v1/',
        workspaceId: WORKSPACE,
        credentialsSecret: 'airbyte/app',
        sourceName: 'pg',
      },
    });
    expect(airbyte.apiUrl).toBe('https://api.airbyte.com/v1');
    expect(resolveAirbyteSettings(parseEnvironment('dev', { airbyte })).sourceName).toBe('pg');
  });

  it.each([
    [
      { apiUrl: 'https://api.airbyte.com/v1' },
      /airbyte\.workspaceId: is required when apiUrl is set[\s\S]*airbyte\.credentialsSecret/,
    ],
    [{ apiUrl: 'ftp://x' }, /airbyte\.apiUrl: must be an http\(s\) URL/],
    [
      { ...MANAGED, apiUrl: 'http://airbyte.example.com:8000/api/public/v1' },
      /airbyte\.apiUrl: must be https: .* over the internet/,
    ],
    [
      { ...MANAGED, apiUrl: 'https://localhost:8000/api/public/v1' },
      /airbyte\.apiUrl: is a private address .* set airbyte\.runInVpc/,
    ],
    [
      { ...MANAGED, apiUrl: 'https://10.0.3.7/api/public/v1' },
      /airbyte\.apiUrl: is a private address/,
    ],
    [
      { ...MANAGED, apiUrl: 'https://ip-10-0-0-1.ec2.internal/v1' },
      /airbyte\.apiUrl: is a private address/,
    ],
    [{ runInVpc: 'yes' }, /airbyte\.runInVpc/],
    [{ workspaceId: 'nope' }, /airbyte\.workspaceId: must be a workspace UUID/],
    [
      { sslMode: 'verify-full' },
      /airbyte\.caCertificateFile: is required when sslMode is verify-full/,
    ],
    [{ sslMode: 'disable' }, /airbyte\.sslMode/],
    [{ schedule: '0 * * * *' }, /airbyte\.schedule: must be a Quartz cron expression/],
    [{ initialWaitingSeconds: 60 }, /airbyte\.initialWaitingSeconds/],
    [{ namespaceDefinition: 'custom_format' }, /airbyte\.namespaceFormat: is required/],
    [
      { destination: { type: 'local-json', destinationPath: '/tmp/x' } },
      /airbyte\.destination\.destinationPath: must be a directory under \/local/,
    ],
    [
      { destination: { type: 's3', authentication: 'role' } },
      /airbyte\.destination\.roleArn: is required/,
    ],
    [{ destination: { type: 'bigquery' } }, /airbyte\.destination/],
    [{ lsnCommitBehaviour: 'never' }, /airbyte\.lsnCommitBehaviour/],
    [{ surprise: true }, /airbyte\.surprise: unknown key; the keys here are apiUrl, runInVpc, /],
    [
      { credentialsSecret: 'my airbyte app' },
      /airbyte\.credentialsSecret: must be a Secrets Manager secret name/,
    ],
    [
      { credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:1234:secret:x' },
      /airbyte\.credentialsSecret: must be a Secrets Manager secret name \(1 to 512 ASCII letters, digits and \/_\+=\.@-\) or ARN/,
    ],
  ])('rejects %j with a message naming the field', (airbyte, message) => {
    expect(() => parseEnvironment('dev', { airbyte })).toThrow(ConfigError);
    expect(() => parseEnvironment('dev', { airbyte })).toThrow(message);
  });

  it.each(['cdc/*', 'cdc?', 'cdc/${aws:username}', '/cdc', 'cdc/', 'a//b', 'tenant data'])(
    "rejects the S3 prefix %j, which would widen or break the writer key's policy",
    (bucketPath) => {
      expect(() =>
        parseEnvironment('staging', { airbyte: { destination: { type: 's3', bucketPath } } }),
      ).toThrow(/airbyte\.destination\.bucketPath: must be S3 key segments .*\(no \*, \? or \$/);
    },
  );

  it.each([
    ['My_Bucket', /must be a valid S3 bucket name/],
    ['ab', /must be a valid S3 bucket name/],
    ['cdc..data', /two adjacent dots/],
    ['cdc.-data', /a dot next to a dash/],
    ['192.168.1.10', /IP address/],
    ['xn--cdc-data', /prefixes S3 reserves/],
    ['sthree-cdc', /prefixes S3 reserves/],
    ['cdc-data-s3alias', /suffixes S3 reserves/],
    ['cdc-data--ol-s3', /suffixes S3 reserves/],
  ])('rejects the bucket name %j as S3 would', (bucketName, message) => {
    expect(() =>
      parseEnvironment('staging', { airbyte: { destination: { type: 's3', bucketName } } }),
    ).toThrow(message);
  });

  it.each(['cdc-data', 'my.cdc.bucket-2', '123-cdc'])(
    'takes %j as the bucket name',
    (bucketName) => {
      const { airbyte } = parseEnvironment('staging', {
        airbyte: { destination: { type: 's3', bucketName } },
      });
      expect(airbyte.destination).toMatchObject({ bucketName });
    },
  );

  it.each(['rds-airbyte-cdc/staging', 'cdc', "team_a/(raw)/v1.0-!'"])(
    'takes %j as the S3 prefix',
    (bucketPath) => {
      const { airbyte } = parseEnvironment('staging', {
        airbyte: { destination: { type: 's3', bucketPath } },
      });
      expect(airbyte.destination).toMatchObject({ bucketPath });
    },
  );

  it.each([
    'airbyte/app',
    'prod/airbyte-app_2+v=1.0@x',
    'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte/app-AbCdEf',
    'arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:airbyte/app',
  ])('takes %j as the credentials secret', (credentialsSecret) => {
    expect(parseEnvironment('dev', { airbyte: { credentialsSecret } }).airbyte).toMatchObject({
      credentialsSecret,
    });
  });
});

describe('heartbeat query', () => {
  it('defaults to an upsert into replication.heartbeatTable, quoted', () => {
    const settings = resolveAirbyteSettings(
      parseEnvironment('dev', {
        replication: { schema: 'Sales "EU"', heartbeatTable: 'airbyte_heartbeat' },
      }),
    );
    expect(settings.heartbeatActionQuery).toBe(
      'INSERT INTO "Sales ""EU"""."airbyte_heartbeat" (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat',
    );
  });

  it('writes the default heartbeat table in the first schema when the config names none', () => {
    const settings = resolveAirbyteSettings(
      parseEnvironment('dev', { replication: { schemas: { sales: ['orders'], crm: '*' } } }),
    );
    expect(settings.heartbeatActionQuery).toBe(
      'INSERT INTO "sales"."airbyte_heartbeat" (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat',
    );
  });

  it('keeps an explicit query, and has none with the heartbeat table turned off', () => {
    const explicit = resolveAirbyteSettings(
      parseEnvironment('dev', {
        replication: { heartbeatTable: 'hb' },
        airbyte: { heartbeatActionQuery: 'SELECT 1' },
      }),
    );
    expect(explicit.heartbeatActionQuery).toBe('SELECT 1');
    expect(
      resolveAirbyteSettings(parseEnvironment('dev', { replication: { heartbeatTable: false } }))
        .heartbeatActionQuery,
    ).toBeUndefined();
  });
});
