import { z } from 'zod';
import { SECRET_ARN_PATTERN, SECRET_NAME_PATTERN } from '../contract/aws-names';

/**
 * A Quartz cron expression as Airbyte expects it: six or seven fields, seconds first
 * (`0 0 * * * ?` = at the top of every hour). Unix five-field cron is refused because Airbyte
 * would read its first field as seconds.
 */
export const quartzCron = z
  .string()
  .trim()
  .refine((expression) => [6, 7].includes(expression.split(/\s+/).length), {
    message:
      'must be a Quartz cron expression with 6 or 7 fields, seconds first (e.g. "0 0 * * * ?" for hourly)',
  });

/** Hosts the custom resource (a function outside any VPC) can never reach. */
export const PRIVATE_HOST =
  /^(localhost|127\.\d+\.\d+\.\d+|10\.\d+\.\d+\.\d+|192\.168\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+|169\.254\.\d+\.\d+|\[::1\]|.*\.local|.*\.internal)$/i;

/** Hourly: frequent enough that the slot never holds much WAL between syncs. */
export const DEFAULT_SCHEDULE_CRON = '0 0 * * * ?';

const s3DestinationSchema = z.strictObject({
  type: z.literal('s3'),
  /**
   * Bucket to write to. Default: the bucket the stack creates (the CLI reads it from the stack
   * outputs). Set it to use a bucket of your own.
   */
  bucketName: z
    .string()
    .regex(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
      'must be a valid S3 bucket name: 3 to 63 lower-case letters, digits, dots and dashes, starting and ending with a letter or digit',
    )
    // S3's naming rules beyond the character set
    // (https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html).
    .refine((name) => !/\.\.|\.-|-\./.test(name), {
      message: 'must not have two adjacent dots, or a dot next to a dash (S3 refuses them)',
    })
    .refine((name) => !/^\d{1,3}(\.\d{1,3}){3}$/.test(name), {
      message: 'must not look like an IP address (S3 refuses it)',
    })
    .refine((name) => !/^(xn--|sthree-|amzn-s3-demo-)/.test(name), {
      message: 'must not start with xn--, sthree- or amzn-s3-demo- (prefixes S3 reserves)',
    })
    .refine((name) => !/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name), {
      message:
        'must not end with -s3alias, --ol-s3, .mrap, --x-s3 or --table-s3 (suffixes S3 reserves)',
    })
    .optional(),
  /** Key prefix inside the bucket. Default: `rds-airbyte-cdc/<environment>`. */
  bucketPath: z
    .string()
    .max(512)
    // The prefix ends up in the writer key's IAM policy (`<bucket>/<prefix>/*`), where `*`, `?`
    // and `${...}` are wildcards and policy variables that would widen what the key may write.
    .regex(
      /^[A-Za-z0-9!_.'()-]+(\/[A-Za-z0-9!_.'()-]+)*$/,
      'must be S3 key segments of ASCII letters, digits and !_.\'()- joined by single "/", without a leading or trailing "/" (no *, ? or $: in the writer key\'s IAM policy they would be wildcards)',
    )
    .optional(),
  /** Bucket region. Default: the stack's region. */
  region: z
    .string()
    .regex(/^[a-z]{2}(-gov)?-[a-z]+-\d$/, 'must be an AWS region such as eu-west-1')
    .optional(),
  /** Compress the JSONL files with gzip. Default: true. */
  gzip: z.boolean().default(true),
  /**
   * How Airbyte authenticates to S3:
   * - `access-key`: an access key the stack creates for a dedicated IAM user that may only write
   *   under `bucketPath`, kept in Secrets Manager and sent to Airbyte (works for every Airbyte);
   * - `role`: `roleArn` below, which only Airbyte Cloud can assume (external id = workspace id);
   * - `airbyte-identity`: send no credentials; Airbyte's own AWS identity (e.g. the instance or
   *   pod role of a self-managed Airbyte) must be granted access to the bucket by you.
   * Default: `access-key`.
   */
  authentication: z.enum(['access-key', 'role', 'airbyte-identity']).default('access-key'),
  /** Role for Airbyte Cloud to assume, required when `authentication` is `role`. */
  roleArn: z
    .string()
    .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/, 'must be an IAM role ARN')
    .optional(),
});

const localJsonDestinationSchema = z.strictObject({
  type: z.literal('local-json'),
  /**
   * Directory inside the Airbyte container, under `/local` (mapped to `/tmp/airbyte_local` on a
   * docker-compose install). Recent Airbyte (abctl, Kubernetes) cannot use this destination.
   * Default: `/local/rds-airbyte-cdc`.
   */
  destinationPath: z
    .string()
    .regex(/^\/local(\/[^/]+)+$/, 'must be a directory under /local, e.g. /local/rds-airbyte-cdc')
    .default('/local/rds-airbyte-cdc'),
});

const devNullDestinationSchema = z.strictObject({
  type: z.literal('dev-null'),
});

export const airbyteDestinationSchema = z.discriminatedUnion('type', [
  s3DestinationSchema,
  localJsonDestinationSchema,
  devNullDestinationSchema,
]);

export type AirbyteDestinationConfig = z.infer<typeof airbyteDestinationSchema>;

/** Airbyte wiring: the Postgres CDC source, a destination and the connection between them. */
export const airbyteSchema = z
  .strictObject({
    /**
     * Base URL of the Airbyte public API: `https://api.airbyte.com/v1` (Cloud) or
     * `https://HOST/api/public/v1` (self-managed). When set, the stack manages the source,
     * destination and connection with a custom resource. Outside the VPC (default) the URL must be
     * public and https; with `runInVpc` it may be a private address, plain http included.
     * Default: none (use `npm run airbyte -- apply` instead).
     */
    apiUrl: z
      .url({
        protocol: /^https?$/,
        message: 'must be an http(s) URL such as https://api.airbyte.com/v1',
      })
      .transform((url) => url.replace(/\/+$/, ''))
      .optional(),
    /**
     * Run the custom resource in the database's VPC (isolated subnets, AWS APIs through the VPC
     * endpoints), to reach a self-managed Airbyte on a private address. It then has no internet
     * path (unless an existing VPC gives one), so Airbyte Cloud is out of reach. Default: false.
     */
    runInVpc: z.boolean().default(false),
    /** Airbyte workspace (UUID) that owns the three resources. Required when `apiUrl` is set. */
    workspaceId: z.uuid({ message: 'must be a workspace UUID' }).optional(),
    /**
     * Secrets Manager secret (name or ARN) holding `{"clientId": "...", "clientSecret": "..."}`
     * of an Airbyte application, or `{"token": "..."}`. Required when `apiUrl` is set.
     */
    credentialsSecret: z
      .string()
      .refine((id) => SECRET_ARN_PATTERN.test(id) || SECRET_NAME_PATTERN.test(id), {
        message:
          'must be a Secrets Manager secret name (1 to 512 ASCII letters, digits and /_+=.@-) or ARN',
      })
      .optional(),
    /** Source name in Airbyte. Default: `rds-airbyte-cdc-<environment>-postgres`. */
    sourceName: z.string().min(1).max(255).optional(),
    /** Destination name in Airbyte. Default: `rds-airbyte-cdc-<environment>-<destination type>`. */
    destinationName: z.string().min(1).max(255).optional(),
    /** Connection name in Airbyte. Default: `rds-airbyte-cdc-<environment>`. */
    connectionName: z.string().min(1).max(255).optional(),
    /**
     * How Airbyte verifies the database's TLS: `require` (encrypted, certificate not checked) or
     * `verify-full` (checked against `caCertificateFile`, host name included). Default: `require`.
     */
    sslMode: z.enum(['require', 'verify-full']).default('require'),
    /**
     * PEM file with the CA bundle for `verify-full`, relative to the project root, e.g. the RDS
     * bundle of your region saved as `certs/eu-west-1-bundle.pem`. Required when `sslMode` is `verify-full`.
     */
    caCertificateFile: z.string().min(1).optional(),
    /**
     * Where the data goes: `{ "type": "s3", ... }`, `{ "type": "local-json", ... }` or
     * `{ "type": "dev-null" }`. Default: `dev-null` for the environment named `dev` (a smoke test
     * that needs nothing), `s3` for every other environment.
     */
    destination: airbyteDestinationSchema.optional(),
    /**
     * Sync schedule, a Quartz cron expression, or `manual`. Default: `0 0 * * * ?` (hourly):
     * syncing often keeps the slot from holding WAL.
     */
    schedule: z.union([z.literal('manual'), quartzCron]).default(DEFAULT_SCHEDULE_CRON),
    /**
     * Where streams land in the destination: `source` (the Postgres schema name), `destination`
     * (the destination's default) or `custom_format` (`namespaceFormat`). Default: `source`.
     */
    namespaceDefinition: z.enum(['source', 'destination', 'custom_format']).default('source'),
    /** Namespace template for `custom_format`, e.g. `cdc_${SOURCE_NAMESPACE}`. Default: none. */
    namespaceFormat: z.string().min(1).optional(),
    /**
     * What Airbyte does when a table gains a column or similar: `ignore`, `disable_connection`,
     * `propagate_columns` or `propagate_fully`. Default: `propagate_columns` (new columns flow
     * through; new tables still need adding to the publication and config).
     */
    nonBreakingSchemaUpdatesBehavior: z
      .enum(['ignore', 'disable_connection', 'propagate_columns', 'propagate_fully'])
      .default('propagate_columns'),
    /**
     * Seconds the connector waits for the first change event on start-up (connector range
     * 120-2400). Default: 1200 (the connector's own default).
     */
    initialWaitingSeconds: z.number().int().min(120).max(2400).default(1200),
    /**
     * When Airbyte confirms the LSN to the slot: `After loading Data in the destination` (the slot
     * keeps WAL until the data is safe) or `While reading Data` (less WAL held, but a failed load
     * forces a full resync). Default: `After loading Data in the destination`.
     */
    lsnCommitBehaviour: z
      .enum(['After loading Data in the destination', 'While reading Data'])
      .default('After loading Data in the destination'),
    /**
     * When the saved LSN is no longer in the slot (e.g. WAL removed by max_slot_wal_keep_size):
     * `Fail sync` (you decide) or `Re-sync data` (automatic full refresh). Default: `Fail sync`.
     */
    invalidCdcCursorPositionBehavior: z.enum(['Fail sync', 'Re-sync data']).default('Fail sync'),
    /**
     * SQL the connector runs on each heartbeat so that an idle database still advances the slot,
     * e.g. an insert into a heartbeat table that is in the publication. Default: an upsert into
     * `replication.heartbeatTable` when that is set, else none.
     */
    heartbeatActionQuery: z.string().min(1).optional(),
  })
  .superRefine((airbyte, ctx) => {
    if (airbyte.apiUrl !== undefined && !airbyte.runInVpc) {
      const { protocol, hostname } = new URL(airbyte.apiUrl);
      if (PRIVATE_HOST.test(hostname)) {
        ctx.addIssue({
          code: 'custom',
          path: ['apiUrl'],
          message:
            'is a private address the custom resource cannot reach from outside the VPC: set airbyte.runInVpc for an Airbyte inside the VPC, or use npm run airbyte for one on your machine',
        });
      } else if (protocol !== 'https:') {
        ctx.addIssue({
          code: 'custom',
          path: ['apiUrl'],
          message:
            'must be https: the custom resource sends the Airbyte application credentials to it over the internet (or set airbyte.runInVpc for an Airbyte inside the VPC)',
        });
      }
    }
    if (airbyte.apiUrl !== undefined) {
      if (airbyte.workspaceId === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['workspaceId'],
          message: 'is required when apiUrl is set',
        });
      }
      if (airbyte.credentialsSecret === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['credentialsSecret'],
          message:
            'is required when apiUrl is set (the stack reads the Airbyte application credentials from it)',
        });
      }
    }
    if (airbyte.sslMode === 'verify-full' && airbyte.caCertificateFile === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['caCertificateFile'],
        message:
          'is required when sslMode is verify-full (the CA bundle Airbyte checks the server against)',
      });
    }
    if (airbyte.namespaceDefinition === 'custom_format' && airbyte.namespaceFormat === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['namespaceFormat'],
        message: 'is required when namespaceDefinition is custom_format',
      });
    }
    const destination = airbyte.destination;
    if (
      destination?.type === 's3' &&
      destination.authentication === 'role' &&
      destination.roleArn === undefined
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['destination', 'roleArn'],
        message: 'is required when authentication is role',
      });
    }
  })
  .prefault({});

export type AirbyteConfig = z.infer<typeof airbyteSchema>;
