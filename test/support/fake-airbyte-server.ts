/**
 * A stand-in for the Airbyte public API v1 for tests: plain node http on 127.0.0.1 (random port).
 * Every request body is validated against the OpenAPI spec in test/fixtures/airbyte (and Postgres
 * source / S3 destination configurations against the connector schemas), state is kept in
 * memory, tokens expire, and failures can be injected.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { randomUUID } from 'crypto';
import { readFileSync } from 'fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'http';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';

/**
 * Unchanged copies of Airbyte's OpenAPI spec and connector schemas, kept in the repository (their
 * sources are in its README.md) so that a fresh clone tests with nothing beside it.
 */
export const AIRBYTE_FIXTURES_DIR = path.join(__dirname, '..', 'fixtures', 'airbyte');

type Json = Record<string, unknown>;

/** The text of one Airbyte fixture file, by name. */
export function readAirbyteFixture(file: string): string {
  const location = path.join(AIRBYTE_FIXTURES_DIR, file);
  try {
    return readFileSync(location, 'utf8');
  } catch {
    throw new Error(
      `Airbyte fixture ${location} not found: it is part of the repository (see test/fixtures/airbyte/README.md); restore it from git.`,
    );
  }
}

function readJsonFixture(file: string): Json {
  return JSON.parse(readAirbyteFixture(file)) as Json;
}

/**
 * A connector's connectionSpecification without its `$schema`: it names draft-07 by URL, which
 * the Ajv instance has not registered; Ajv 8 speaks draft-07 anyway.
 */
function withoutSchemaKeyword(specification: Json): Json {
  const copy = { ...specification };
  delete copy.$schema;
  return copy;
}

/** The OpenAPI document of Airbyte's public API. */
export function loadOpenApiSpec(): Json {
  return parseYaml(readAirbyteFixture('public-api.openapi.yaml')) as Json;
}

function collectFormats(node: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(node)) node.forEach((item) => collectFormats(item, into));
  else if (node !== null && typeof node === 'object') {
    const record = node as Json;
    if (typeof record.format === 'string') into.add(record.format);
    Object.values(record).forEach((value) => collectFormats(value, into));
  }
  return into;
}

/**
 * An Ajv that accepts the Airbyte documents as they are: they carry UI keywords (`order`,
 * `airbyte_secret`, `group`, ...) and OpenAPI formats (`UUID`, `set`, `int64`) that JSON Schema
 * does not define, so strict mode is off and unknown formats are accepted as annotations.
 */
export function createAirbyteAjv(documents: unknown[]): Ajv {
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  const formats = new Set<string>();
  documents.forEach((document) => collectFormats(document, formats));
  for (const format of formats) {
    if (!(format in ajv.formats)) ajv.addFormat(format, true);
  }
  return ajv;
}

/** Compiled validators for the connector configurations the tests check. */
export interface SchemaValidators {
  /** The API's typed `source-postgres` configuration schema. */
  readonly sourcePostgresApi: ValidateFunction;
  /** The spec of the source-postgres connector before 3.8 (connectionSpecification). */
  readonly sourcePostgresConnector: ValidateFunction;
  /**
   * The spec of the current source-postgres connector (the Kotlin rewrite, 3.8 and later): it
   * requires `tunnel_method` and `replication_method` at the top level.
   */
  readonly sourcePostgresConnector38: ValidateFunction;
  /** The API's typed `destination-s3` configuration schema. */
  readonly destinationS3Api: ValidateFunction;
}

/** Validators for the connector configuration schemas in the fixtures directory. */
export function loadConnectorValidators(): SchemaValidators {
  const sourceApi = readJsonFixture('source-postgres.api-schema.json');
  // The older spec is the connector's whole `spec` answer; the 3.8 snapshot is only its
  // connectionSpecification.
  const connectorSpec = withoutSchemaKeyword(
    readJsonFixture('source-postgres.connector-spec.json').connectionSpecification as Json,
  );
  const connectorSpec38 = withoutSchemaKeyword(
    readJsonFixture('source-postgres.connector-spec-3.8.json'),
  );
  const destinationS3 = readJsonFixture('destination-s3.api-schema.json');
  const ajv = createAirbyteAjv([sourceApi, connectorSpec, connectorSpec38, destinationS3]);
  return {
    sourcePostgresApi: ajv.compile(sourceApi),
    sourcePostgresConnector: ajv.compile(connectorSpec),
    sourcePostgresConnector38: ajv.compile(connectorSpec38),
    destinationS3Api: ajv.compile(destinationS3),
  };
}

/**
 * Every schema a Postgres source configuration must satisfy, with a name for messages: the API
 * checks the typed schema, and the connector checks its own spec, which depends on the version
 * the Airbyte server runs, so a body must pass both specs.
 */
export function postgresSourceSchemas(
  validators: SchemaValidators,
): ReadonlyArray<readonly [string, ValidateFunction]> {
  return [
    ['source-postgres API schema', validators.sourcePostgresApi],
    ['source-postgres connector spec (before 3.8)', validators.sourcePostgresConnector],
    ['source-postgres 3.8 connector spec', validators.sourcePostgresConnector38],
  ];
}

/**
 * Why each Postgres source schema rejects `configuration`, one line per rejecting schema (named);
 * empty when all of them accept it.
 */
export function postgresSourceErrors(
  validators: SchemaValidators,
  configuration: unknown,
): string[] {
  return postgresSourceSchemas(validators).flatMap(([name, validate]) =>
    validate(configuration) ? [] : [`${name}: ${formatAjvErrors(validate.errors)}`],
  );
}

/** Every property name marked `airbyte_secret` in a schema. */
export function secretFieldsOf(schema: unknown, into = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) schema.forEach((item) => secretFieldsOf(item, into));
  else if (schema !== null && typeof schema === 'object') {
    const record = schema as Json;
    const properties = record.properties as Record<string, Json> | undefined;
    for (const [name, property] of Object.entries(properties ?? {})) {
      if (property?.airbyte_secret === true) into.add(name);
    }
    Object.values(record).forEach((value) => secretFieldsOf(value, into));
  }
  return into;
}

/** Ajv's errors on one line, each as `path message`, for test failures and 422 answers. */
export function formatAjvErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((error) => `${error.instancePath || '/'} ${error.message}`).join('; ');
}

interface Route {
  readonly method: string;
  readonly template: string;
  readonly pattern: RegExp;
  readonly validate?: ValidateFunction;
}

/** An injected answer for the next request(s) matching `method` and `path`. */
export interface InjectedFailure {
  readonly method?: string;
  /** Matched against the path after the base path, e.g. /sources or /sources/{id}. */
  readonly path: RegExp;
  /** HTTP status to answer with (ignored for `drop` and `hang`). */
  readonly status?: number;
  readonly body?: unknown;
  /**
   * `instead` (default): answer with `status` without handling the request; `after`: handle it,
   * then answer with `status` (the change happened but the client cannot know); `drop`: close the
   * connection without an answer; `hang`: never answer.
   */
  readonly mode?: 'instead' | 'after' | 'drop' | 'hang';
  /** How many matching requests fail. Default: 1. */
  readonly times?: number;
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly status: number;
}

/** What a fake server checks requests with: pure functions of the fixtures. */
interface ApiValidation {
  /** Every operation of the OpenAPI document, with its request body's validator. */
  readonly routes: readonly Route[];
  readonly connectors: SchemaValidators;
  /** Fields masked like Airbyte would, whichever of the schemas marks a field secret. */
  readonly secretFields: ReadonlySet<string>;
}

function compileApiValidation(): ApiValidation {
  const spec = loadOpenApiSpec();
  const ajv = createAirbyteAjv([spec]);
  ajv.addSchema({ $id: 'airbyte-public-api', components: spec.components }, 'airbyte-public-api');
  const routes: Route[] = [];
  for (const [template, operations] of Object.entries(
    spec.paths as Record<string, Record<string, Json>>,
  )) {
    const pattern = new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`);
    for (const [method, operation] of Object.entries(operations)) {
      if (method === 'parameters') continue;
      const ref = (
        operation.requestBody as { content?: Record<string, { schema?: { $ref?: string } }> }
      )?.content?.['application/json']?.schema?.$ref;
      const validate = ref ? ajv.getSchema(`airbyte-public-api${ref}`) : undefined;
      if (ref && !validate) throw new Error(`fake Airbyte: cannot resolve ${ref}`);
      routes.push({ method: method.toUpperCase(), template, pattern, validate });
    }
  }
  const secretFields = secretFieldsOf(
    [
      'source-postgres.api-schema.json',
      'source-postgres.connector-spec.json',
      'source-postgres.connector-spec-3.8.json',
      'destination-s3.api-schema.json',
    ].map(readJsonFixture),
  );
  return { routes, connectors: loadConnectorValidators(), secretFields };
}

let apiValidation: ApiValidation | undefined;

/**
 * The ApiValidation every server of a test file shares: parsing the OpenAPI document and
 * compiling its schemas cost about 0.2 s of CPU, which each test paid again for its own server.
 * Sharing is safe: the validators keep no state between calls (a validator's `errors` is read
 * right after its call), the patterns have no `g` flag, and nothing changes the sets.
 */
function sharedApiValidation(): ApiValidation {
  apiValidation ??= compileApiValidation();
  return apiValidation;
}

export interface FakeAirbyteOptions {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Lifetime of issued tokens in seconds. Default: 180 (Airbyte's). */
  readonly tokenLifetimeSeconds?: number;
  /** Workspaces to create. Default: one. */
  readonly workspaceCount?: number;
}

const MASK = '**********';
const BASE_PATH = '/api/public/v1';

export class FakeAirbyteServer {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly workspaceIds: string[];
  readonly sources = new Map<string, Json>();
  readonly destinations = new Map<string, Json>();
  readonly connections = new Map<string, Json>();
  /** Jobs started through POST /jobs, oldest first (JobResponse shape). */
  readonly jobs: Json[] = [];
  readonly requests: RecordedRequest[] = [];
  /** Bodies that did not match the spec: a test that sees any has found a bug in the client. */
  readonly validationErrors: string[] = [];
  tokenLifetimeSeconds: number;
  /** What GET /streams answers for an existing source: the streams its discovery finds. */
  discoverable: Json[] = [];
  /** Called before each request is handled; may change state (e.g. delete something by hand). */
  beforeRequest: ((method: string, path: string) => void) | undefined;
  private readonly tokens = new Map<string, number>();
  private readonly failures: Array<InjectedFailure & { remaining: number }> = [];
  private readonly routes: readonly Route[];
  private readonly connectors: SchemaValidators;
  private readonly secretFields: ReadonlySet<string>;
  private server: Server | undefined;
  private tokenCounter = 0;

  constructor(options: FakeAirbyteOptions = {}) {
    this.clientId = options.clientId ?? randomUUID();
    this.clientSecret = options.clientSecret ?? `secret-${randomUUID()}`;
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 180;
    this.workspaceIds = Array.from({ length: options.workspaceCount ?? 1 }, () => randomUUID());
    const validation = sharedApiValidation();
    this.routes = validation.routes;
    this.connectors = validation.connectors;
    this.secretFields = validation.secretFields;
  }

  get workspaceId(): string {
    return this.workspaceIds[0];
  }

  /** Base URL as a self-managed Airbyte serves it. */
  get apiUrl(): string {
    if (!this.server) throw new Error('fake Airbyte not started');
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${BASE_PATH}`;
  }

  async start(): Promise<this> {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: Error) => {
        this.reply(response, 500, { title: 'internal', detail: error.message });
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve())),
    );
    this.server = undefined;
  }

  /** Answer the next matching request(s) with this status instead of handling them. */
  fail(failure: InjectedFailure): void {
    this.failures.push({ ...failure, remaining: failure.times ?? 1 });
  }

  /** A valid token, as if obtained elsewhere (for bearer-token auth). */
  issueToken(): string {
    const token = `given-${randomUUID()}`;
    this.tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
    return token;
  }

  /** Invalidate every token issued so far (as if they had expired on the server's clock). */
  expireTokens(): void {
    this.tokens.clear();
  }

  /** How many times a token was issued. */
  get tokensIssued(): number {
    return this.tokenCounter;
  }

  /** Requests other than reads and token exchanges. */
  writes(): RecordedRequest[] {
    return this.requests.filter(
      (request) => request.method !== 'GET' && request.path !== '/applications/token',
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const method = request.method ?? 'GET';
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    if (!url.pathname.startsWith(BASE_PATH))
      return this.reply(response, 404, { title: 'not-found', detail: 'no such path' });
    const apiPath = url.pathname.slice(BASE_PATH.length) || '/';
    let body: unknown;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      return this.finish(response, method, apiPath, body, 400, {
        title: 'bad-request',
        detail: 'body is not JSON',
      });
    }
    this.beforeRequest?.(method, apiPath);
    const failure = this.failures.find(
      (candidate) =>
        candidate.remaining > 0 &&
        (!candidate.method || candidate.method === method) &&
        candidate.path.test(apiPath),
    );
    if (failure) failure.remaining--;
    if (failure?.mode === 'drop') {
      this.requests.push({ method, path: apiPath, body, status: 0 });
      request.socket.destroy();
      return;
    }
    if (failure?.mode === 'hang') {
      this.requests.push({ method, path: apiPath, body, status: 0 });
      return;
    }
    if (failure && failure.mode !== 'after') {
      return this.finish(response, method, apiPath, body, failure.status ?? 500, failure.body);
    }
    const route = this.routes.find(
      (candidate) => candidate.method === method && candidate.pattern.test(apiPath),
    );
    if (!route)
      return this.finish(response, method, apiPath, body, 404, {
        title: 'not-found',
        detail: `${method} ${apiPath}`,
      });
    if (route.validate && !route.validate(body)) {
      const detail = `request body does not match ${route.template}: ${formatAjvErrors(route.validate.errors)}`;
      this.validationErrors.push(`${method} ${apiPath}: ${detail}`);
      return this.finish(response, method, apiPath, body, 422, {
        title: 'unprocessable-entity',
        detail,
      });
    }
    if (apiPath === '/applications/token') {
      const { client_id: clientId, client_secret: clientSecret } = body as Json;
      if (clientId !== this.clientId || clientSecret !== this.clientSecret) {
        return this.finish(response, method, apiPath, body, 401, {
          title: 'unauthorized',
          detail: 'Invalid client credentials',
        });
      }
      const token = `token-${++this.tokenCounter}-${randomUUID()}`;
      this.tokens.set(token, Date.now() + this.tokenLifetimeSeconds * 1000);
      return this.finish(response, method, apiPath, body, 200, {
        access_token: token,
        token_type: 'Bearer',
        expires_in: this.tokenLifetimeSeconds,
      });
    }
    const bearer = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const expiresAt = bearer ? this.tokens.get(bearer) : undefined;
    if (expiresAt === undefined || expiresAt <= Date.now()) {
      return this.finish(response, method, apiPath, body, 401, {
        title: 'unauthorized',
        detail: 'Token expired or invalid',
      });
    }
    const [status, answer] = this.dispatch(method, apiPath, url.searchParams, body as Json);
    if (failure)
      return this.finish(response, method, apiPath, body, failure.status ?? 500, failure.body);
    return this.finish(response, method, apiPath, body, status, answer);
  }

  private dispatch(
    method: string,
    apiPath: string,
    query: URLSearchParams,
    body: Json,
  ): [number, unknown] {
    const [, collection, id] = apiPath.split('/');
    if (collection === 'workspaces' && method === 'GET' && !id) {
      return [
        200,
        {
          data: this.workspaceIds.map((workspaceId, index) => ({
            workspaceId,
            name: `Workspace ${index + 1}`,
            dataResidency: 'auto',
          })),
        },
      ];
    }
    if (collection === 'jobs' && !id) return this.dispatchJobs(method, query, body);
    if (collection === 'streams' && method === 'GET') {
      const sourceId = query.get('sourceId') ?? '';
      return this.sources.has(sourceId)
        ? [200, this.discoverable]
        : [404, { title: 'not-found', detail: `sourceId ${sourceId} not found` }];
    }
    const store = {
      sources: this.sources,
      destinations: this.destinations,
      connections: this.connections,
    }[collection];
    const idField = {
      sources: 'sourceId',
      destinations: 'destinationId',
      connections: 'connectionId',
    }[collection];
    if (!store || !idField) return [404, { title: 'not-found', detail: `${method} ${apiPath}` }];
    if (!id && method === 'GET') {
      const workspaces = (query.get('workspaceIds') ?? '').split(',').filter(Boolean);
      const limit = Number(query.get('limit') ?? 20);
      const offset = Number(query.get('offset') ?? 0);
      const all = [...store.values()].filter(
        (item) => workspaces.length === 0 || workspaces.includes(item.workspaceId as string),
      );
      const data = all.slice(offset, offset + limit).map((item) => this.masked(item));
      const next =
        offset + limit < all.length
          ? `${this.apiUrl}/${collection}?limit=${limit}&offset=${offset + limit}`
          : undefined;
      return [200, { data, ...(next ? { next } : {}) }];
    }
    if (!id && method === 'POST') return this.create(collection, store, idField, body);
    const existing = id ? store.get(id) : undefined;
    if (!existing || !id)
      return [404, { title: 'not-found', detail: `${idField} ${id} not found` }];
    if (method === 'GET') return [200, this.masked(existing)];
    if (method === 'DELETE') {
      store.delete(id);
      if (collection !== 'connections') {
        // Like Airbyte: removing a source or destination removes its connections.
        for (const [connectionId, connection] of this.connections) {
          if (connection[idField] === id) this.connections.delete(connectionId);
        }
      }
      return [204, undefined];
    }
    if (method === 'PATCH') {
      const configurationError = this.checkConfiguration(
        collection,
        body.configuration as Json | undefined,
      );
      if (configurationError)
        return [422, { title: 'unprocessable-entity', detail: configurationError }];
      const updated = { ...existing, ...body };
      store.set(id, updated);
      return [200, this.masked(updated)];
    }
    return [405, { title: 'method-not-allowed', detail: method }];
  }

  /**
   * POST /jobs as Airbyte's public API answers it (airbytehq/airbyte-platform JobsController):
   * `sync`, `reset` and `clear` (an alias of reset) start a job, `refresh` is refused. New jobs
   * stay `running`. GET /jobs lists a connection's jobs, filtered by type, newest first.
   */
  private dispatchJobs(method: string, query: URLSearchParams, body: Json): [number, unknown] {
    if (method === 'GET') {
      const connectionId = query.get('connectionId');
      const jobType = query.get('jobType');
      const data = this.jobs
        .filter((job) => !connectionId || job.connectionId === connectionId)
        .filter((job) => !jobType || job.jobType === jobType)
        .reverse()
        .slice(0, Number(query.get('limit') ?? 20));
      return [200, { data }];
    }
    if (method !== 'POST') return [405, { title: 'method-not-allowed', detail: method }];
    if (body.jobType === 'refresh') {
      return [
        422,
        { title: 'unprocessable-entity', detail: 'Refreshes are not supported in the public API' },
      ];
    }
    const connectionId = body.connectionId as string;
    if (!this.connections.has(connectionId)) {
      return [404, { title: 'not-found', detail: `connectionId ${connectionId} not found` }];
    }
    const job = {
      jobId: this.jobs.length + 1,
      status: 'running',
      jobType: body.jobType === 'clear' ? 'reset' : body.jobType,
      startTime: new Date().toISOString(),
      connectionId,
    };
    this.jobs.push(job);
    return [200, job];
  }

  private create(
    collection: string,
    store: Map<string, Json>,
    idField: string,
    body: Json,
  ): [number, unknown] {
    const configurationError = this.checkConfiguration(
      collection,
      body.configuration as Json | undefined,
    );
    if (configurationError)
      return [422, { title: 'unprocessable-entity', detail: configurationError }];
    const id = randomUUID();
    let item: Json;
    if (collection === 'connections') {
      const source = this.sources.get(body.sourceId as string);
      if (!source || !this.destinations.has(body.destinationId as string)) {
        return [400, { title: 'bad-request', detail: 'sourceId or destinationId does not exist' }];
      }
      item = {
        status: 'active',
        schedule: { scheduleType: 'manual' },
        configurations: { streams: [] },
        tags: [],
        ...body,
        workspaceId: source.workspaceId,
        createdAt: Date.now(),
      };
    } else {
      if (!this.workspaceIds.includes(body.workspaceId as string)) {
        return [
          404,
          { title: 'not-found', detail: `workspace ${String(body.workspaceId)} not found` },
        ];
      }
      const configuration = body.configuration as Json;
      const typeField = collection === 'sources' ? 'sourceType' : 'destinationType';
      item = {
        ...body,
        [typeField]: configuration[typeField],
        definitionId: randomUUID(),
        createdAt: Date.now(),
      };
    }
    item[idField] = id;
    store.set(id, item);
    return [200, this.masked(item)];
  }

  /** Typed configurations the fixture schemas cover are checked the way Airbyte checks them. */
  private checkConfiguration(
    collection: string,
    configuration: Json | undefined,
  ): string | undefined {
    if (!configuration) return undefined;
    const checks: Array<readonly [string, ValidateFunction]> = [];
    if (collection === 'sources' && configuration.sourceType === 'postgres') {
      checks.push(...postgresSourceSchemas(this.connectors));
    }
    if (collection === 'destinations' && configuration.destinationType === 's3') {
      checks.push(['destination-s3 API schema', this.connectors.destinationS3Api]);
    }
    for (const [name, validate] of checks) {
      if (!validate(configuration)) {
        const detail = `configuration does not match the ${name}: ${formatAjvErrors(validate.errors)}`;
        this.validationErrors.push(detail);
        return detail;
      }
    }
    return undefined;
  }

  private masked(item: Json): Json {
    const mask = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(mask);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value as Json).map(([key, inner]) => [
          key,
          this.secretFields.has(key) && typeof inner === 'string' ? MASK : mask(inner),
        ]),
      );
    };
    return mask(item) as Json;
  }

  private finish(
    response: ServerResponse,
    method: string,
    apiPath: string,
    body: unknown,
    status: number,
    answer: unknown,
  ): void {
    this.requests.push({ method, path: apiPath, body, status });
    this.reply(response, status, answer);
  }

  private reply(response: ServerResponse, status: number, answer: unknown): void {
    if (answer === undefined) {
      response.writeHead(status).end();
      return;
    }
    const isProblem = status >= 400;
    response
      .writeHead(status, {
        'content-type': isProblem ? 'application/problem+json' : 'application/json',
      })
      .end(
        JSON.stringify(
          isProblem
            ? {
                type: 'https://reference.airbyte.com/reference/errors',
                status,
                ...(answer as Json),
              }
            : answer,
        ),
      );
  }
}
