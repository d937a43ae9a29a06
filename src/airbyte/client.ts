/**
 * A small client for the Airbyte public API v1: authentication, retries and the list / create /
 * patch / delete calls the Airbyte-as-code apply needs. Used by the CLI and the custom resource.
 */
import type { DiscoveredStream } from './bodies';

/** Airbyte Cloud's public API. */
export const AIRBYTE_CLOUD_API_URL = 'https://api.airbyte.com/v1';
/** A self-managed Airbyte on this machine (abctl, docker compose). */
export const LOCAL_AIRBYTE_API_URL = 'http://localhost:8000/api/public/v1';

/** An Airbyte application's client id and secret, exchanged for short-lived tokens. */
export interface ClientCredentials {
  readonly clientId: string;
  readonly clientSecret: string;
}

/** A bearer token obtained elsewhere (e.g. from the Airbyte UI); it is never refreshed. */
export interface BearerToken {
  readonly token: string;
}

export type AirbyteAuth = ClientCredentials | BearerToken;

export interface AirbyteClientOptions {
  /** Base URL, e.g. `https://api.airbyte.com/v1` or `http://host:8000/api/public/v1`. */
  readonly apiUrl: string;
  readonly auth: AirbyteAuth;
  /** Per-request timeout. Default: 30 s. */
  readonly timeoutMs?: number;
  /** Attempts after the first for 429, 5xx and connection errors. Default: 4. */
  readonly retries?: number;
  /** First backoff delay, doubled each attempt (with jitter). Default: 500 ms. */
  readonly baseDelayMs?: number;
  /** Refresh a token this long before Airbyte says it expires. Default: 30 s. */
  readonly tokenRefreshMarginMs?: number;
  /** Progress lines (never secrets). Default: none. */
  readonly log?: (line: string) => void;
  /** For tests. Default: the global fetch. */
  readonly fetch?: typeof fetch;
  /** For tests. Default: Date.now. */
  readonly now?: () => number;
}

/** A failed call; the message names the resource, the HTTP status and Airbyte's own message. */
export class AirbyteApiError extends Error {
  constructor(
    message: string,
    /** What was being done, e.g. `create source "rds-airbyte-cdc-dev-postgres"`. */
    readonly resource: string,
    /** HTTP status, or undefined when Airbyte could not be reached. */
    readonly status: number | undefined,
    /** Airbyte's own explanation, when it gave one. */
    readonly airbyteMessage: string | undefined,
  ) {
    super(message);
    this.name = 'AirbyteApiError';
  }
}

export type ResourceKind = 'source' | 'destination' | 'connection';

const COLLECTION: Record<ResourceKind, string> = {
  source: 'sources',
  destination: 'destinations',
  connection: 'connections',
};

const ID_FIELD = {
  source: 'sourceId',
  destination: 'destinationId',
  connection: 'connectionId',
} as const;

/** What the list endpoints return for each resource (only the fields this project reads). */
export interface AirbyteResource {
  readonly name: string;
  readonly workspaceId?: string;
  readonly configuration?: Record<string, unknown>;
  readonly [key: string]: unknown;
}

/**
 * The job that re-reads every stream of a connection from scratch. The public API's POST /jobs
 * offers `sync`, `reset` (which `clear` is an alias of) and `refresh`, but refuses `refresh`
 * ("Refreshes are not supported in the public API", airbytehq/airbyte-platform JobsController):
 * `reset` clears the streams' state and data, and the next sync reads every table again.
 */
export const RESYNC_JOB_TYPE = 'reset';

/** A job as POST /jobs and GET /jobs return it (JobResponse; only the fields this project reads). */
export interface AirbyteJob {
  readonly jobId: number;
  readonly status: string;
  readonly jobType: string;
  readonly connectionId?: string;
}

/**
 * Job statuses before the job has ended: `incomplete` is an attempt that failed and will be
 * retried, not an end (only failed, succeeded and cancelled are).
 */
const UNFINISHED_JOB_STATUSES: ReadonlySet<string> = new Set(['pending', 'running', 'incomplete']);

interface RequestOptions {
  readonly resource: string;
  readonly body?: unknown;
  readonly query?: Record<string, string>;
  /** Before retrying a non-idempotent call: returns the result if the failed attempt succeeded after all. */
  readonly recover?: () => Promise<unknown>;
  /** Whether this call is the token exchange itself (no bearer, no refresh on 401). */
  readonly isTokenRequest?: boolean;
}

const RETRYABLE_STATUS = (status: number) => status === 429 || status >= 500;
const MAX_MESSAGE_LENGTH = 500;

export class AirbyteClient {
  private readonly apiUrl: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly baseDelayMs: number;
  private readonly refreshMarginMs: number;
  private readonly log: (line: string) => void;
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(private readonly options: AirbyteClientOptions) {
    this.apiUrl = options.apiUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.retries = options.retries ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.refreshMarginMs = options.tokenRefreshMarginMs ?? 30_000;
    this.log = options.log ?? (() => undefined);
    this.fetchImpl = options.fetch ?? fetch;
    this.now = options.now ?? Date.now;
    if ('token' in options.auth) this.token = { value: options.auth.token, expiresAt: Infinity };
  }

  /** Every resource of a kind in the workspace (all pages). */
  async list(kind: ResourceKind, workspaceId: string): Promise<AirbyteResource[]> {
    const all: AirbyteResource[] = [];
    const limit = 100;
    for (let offset = 0; ; offset += limit) {
      const page = (await this.request('GET', `/${COLLECTION[kind]}`, {
        resource: `list ${COLLECTION[kind]} in workspace ${workspaceId}`,
        query: { workspaceIds: workspaceId, limit: String(limit), offset: String(offset) },
      })) as { data?: AirbyteResource[]; next?: string };
      const data = page.data ?? [];
      all.push(...data);
      if (data.length < limit || !page.next) return all;
    }
  }

  /** The one resource of this kind with this name in the workspace; refuses ambiguous names. */
  async findByName(
    kind: ResourceKind,
    workspaceId: string,
    name: string,
  ): Promise<AirbyteResource | undefined> {
    const matches = (await this.list(kind, workspaceId)).filter(
      (resource) => resource.name === name,
    );
    if (matches.length > 1) {
      const ids = matches.map((resource) => this.idOf(kind, resource)).join(', ');
      throw new AirbyteApiError(
        `Airbyte workspace ${workspaceId} holds ${matches.length} ${COLLECTION[kind]} named "${name}" (${ids}): delete the extra ones in the Airbyte UI, then run again`,
        `find ${kind} "${name}"`,
        undefined,
        undefined,
      );
    }
    return matches[0];
  }

  idOf(kind: ResourceKind, resource: AirbyteResource): string {
    const id = resource[ID_FIELD[kind]];
    if (typeof id !== 'string') {
      throw new AirbyteApiError(
        `Airbyte returned a ${kind} "${resource.name}" without ${ID_FIELD[kind]}`,
        `read ${kind} "${resource.name}"`,
        undefined,
        undefined,
      );
    }
    return id;
  }

  /**
   * Create a resource. A retried create first looks the name up again, so that an attempt that
   * succeeded on Airbyte's side but failed on the way back does not create a duplicate.
   */
  async create(
    kind: ResourceKind,
    workspaceId: string,
    body: { name: string } & Record<string, unknown>,
  ): Promise<AirbyteResource> {
    return (await this.request('POST', `/${COLLECTION[kind]}`, {
      resource: `create ${kind} "${body.name}"`,
      body,
      recover: () => this.findByName(kind, workspaceId, body.name),
    })) as AirbyteResource;
  }

  async patch(
    kind: ResourceKind,
    id: string,
    body: { name: string } & Record<string, unknown>,
  ): Promise<AirbyteResource> {
    return (await this.request('PATCH', `/${COLLECTION[kind]}/${encodeURIComponent(id)}`, {
      resource: `update ${kind} "${body.name}" (${id})`,
      body,
    })) as AirbyteResource;
  }

  async delete(kind: ResourceKind, id: string, name: string): Promise<void> {
    await this.request('DELETE', `/${COLLECTION[kind]}/${encodeURIComponent(id)}`, {
      resource: `delete ${kind} "${name}" (${id})`,
    });
  }

  /**
   * The streams a source discovers (GET /streams), read from the database afresh rather than
   * from Airbyte's cache, so that tables created since the last discovery are among them.
   */
  async discoverStreams(sourceId: string): Promise<DiscoveredStream[]> {
    const streams = (await this.request('GET', '/streams', {
      resource: `discover the streams of source ${sourceId}`,
      query: { sourceId, ignoreCache: 'true' },
    })) as Array<{ streamName?: unknown; streamnamespace?: unknown; syncModes?: unknown }>;
    return streams.flatMap((stream) =>
      typeof stream.streamName === 'string'
        ? [
            {
              name: stream.streamName,
              ...(typeof stream.streamnamespace === 'string'
                ? { namespace: stream.streamnamespace }
                : {}),
              syncModes: Array.isArray(stream.syncModes)
                ? stream.syncModes.filter((mode): mode is string => typeof mode === 'string')
                : [],
            },
          ]
        : [],
    );
  }

  /**
   * Start a job of the connection (POST /jobs). A retried start first looks for an unfinished
   * job of that type of the connection, so that an attempt that succeeded on Airbyte's side but
   * failed on the way back does not start a second one.
   */
  async startJob(connectionId: string, jobType: typeof RESYNC_JOB_TYPE): Promise<AirbyteJob> {
    return (await this.request('POST', '/jobs', {
      resource: `start a ${jobType} job of connection ${connectionId}`,
      body: { connectionId, jobType },
      recover: () => this.unfinishedJob(connectionId, jobType),
    })) as AirbyteJob;
  }

  /** The newest job of this type of the connection that has not ended, if any. */
  private async unfinishedJob(
    connectionId: string,
    jobType: string,
  ): Promise<AirbyteJob | undefined> {
    const page = (await this.request('GET', '/jobs', {
      resource: `list the ${jobType} jobs of connection ${connectionId}`,
      query: { connectionId, jobType, orderBy: 'createdAt|DESC', limit: '10' },
    })) as { data?: AirbyteJob[] };
    return (page.data ?? []).find((job) => UNFINISHED_JOB_STATUSES.has(job.status));
  }

  /** The workspaces the credentials can see (used to pick the only one when none is configured). */
  async listWorkspaces(): Promise<Array<{ workspaceId: string; name: string }>> {
    const page = (await this.request('GET', '/workspaces', {
      resource: 'list workspaces',
      query: { limit: '100' },
    })) as { data?: Array<{ workspaceId: string; name: string }> };
    return page.data ?? [];
  }

  private async bearer(forceRefresh: boolean): Promise<string> {
    const auth = this.options.auth;
    if ('token' in auth) return auth.token;
    if (!forceRefresh && this.token && this.now() < this.token.expiresAt - this.refreshMarginMs) {
      return this.token.value;
    }
    const issuedAt = this.now();
    const response = (await this.request('POST', '/applications/token', {
      resource: 'obtain an access token (POST /applications/token)',
      // The spec requires `grant_type` while its properties and Airbyte's docs spell it
      // `grant-type`; both are sent so that either reading accepts the request.
      body: {
        client_id: auth.clientId,
        client_secret: auth.clientSecret,
        grant_type: 'client_credentials',
        'grant-type': 'client_credentials',
      },
      isTokenRequest: true,
    })) as { access_token?: string; expires_in?: number };
    if (!response.access_token) {
      throw new AirbyteApiError(
        'Airbyte answered POST /applications/token without an access_token',
        'obtain an access token',
        200,
        undefined,
      );
    }
    const lifetimeMs = (response.expires_in ?? 180) * 1000;
    this.token = { value: response.access_token, expiresAt: issuedAt + lifetimeMs };
    this.log(`obtained an Airbyte access token valid for ${Math.round(lifetimeMs / 1000)} s`);
    return response.access_token;
  }

  private async request(method: string, path: string, options: RequestOptions): Promise<unknown> {
    const url = new URL(this.apiUrl + path);
    for (const [key, value] of Object.entries(options.query ?? {}))
      url.searchParams.set(key, value);
    let refreshedAfter401 = false;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && options.recover) {
        const recovered = await options.recover();
        if (recovered !== undefined) {
          this.log(`${options.resource}: the earlier attempt had succeeded, using its result`);
          return recovered;
        }
      }
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (!options.isTokenRequest) headers.authorization = `Bearer ${await this.bearer(false)}`;
      let response: Response;
      try {
        response = await this.fetchImpl(url, {
          method,
          headers,
          body: options.body === undefined ? undefined : JSON.stringify(options.body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        const reason = describeNetworkError(error, this.timeoutMs);
        if (attempt < this.retries) {
          await this.backoff(attempt, options.resource, reason, undefined);
          continue;
        }
        throw new AirbyteApiError(
          `Cannot ${options.resource}: Airbyte at ${this.apiUrl} is unreachable (${reason}) after ${attempt + 1} attempts. Check the API URL, that Airbyte is running, and the network path to it.`,
          options.resource,
          undefined,
          undefined,
        );
      }
      if (response.ok)
        return this.parseBody(await response.text(), options.resource, response.status);
      const airbyteMessage = await readAirbyteMessage(response);
      const status = response.status;
      if (
        status === 401 &&
        !options.isTokenRequest &&
        'clientId' in this.options.auth &&
        !refreshedAfter401
      ) {
        // A token revoked or expired early: exchange the credentials once more, then retry.
        refreshedAfter401 = true;
        this.token = undefined;
        this.log(`${options.resource}: Airbyte answered 401, refreshing the access token`);
        await this.bearer(true);
        attempt--;
        continue;
      }
      if (RETRYABLE_STATUS(status) && attempt < this.retries) {
        await this.backoff(
          attempt,
          options.resource,
          `HTTP ${status}`,
          response.headers.get('retry-after'),
        );
        continue;
      }
      throw new AirbyteApiError(
        `Cannot ${options.resource}: Airbyte answered HTTP ${status}${airbyteMessage ? `: ${airbyteMessage}` : ''}${hintFor(status, options, this.options.auth)}`,
        options.resource,
        status,
        airbyteMessage,
      );
    }
  }

  /** A 2xx body; HTML here usually means the URL points at Airbyte's web UI, not its API. */
  private parseBody(text: string, resource: string, status: number): unknown {
    if (text === '') return {};
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new AirbyteApiError(
        `Cannot ${resource}: ${this.apiUrl} answered HTTP ${status} with something that is not JSON (${JSON.stringify(text.slice(0, 40))}…). Check the API URL: http://HOST:8000/api/public/v1 for a self-managed Airbyte, https://api.airbyte.com/v1 for Cloud.`,
        resource,
        status,
        undefined,
      );
    }
  }

  private async backoff(
    attempt: number,
    resource: string,
    reason: string,
    retryAfter: string | null | undefined,
  ) {
    const retryAfterMs = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) * 1000 : 0;
    const exponential = this.baseDelayMs * 2 ** attempt;
    const delay = Math.max(retryAfterMs, exponential / 2 + Math.random() * (exponential / 2));
    this.log(
      `${resource}: ${reason}, retrying in ${Math.round(delay)} ms (attempt ${attempt + 2} of ${this.retries + 1})`,
    );
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}

function hintFor(status: number, options: RequestOptions, auth: AirbyteAuth): string {
  if (options.isTokenRequest && (status === 400 || status === 401 || status === 403)) {
    return '. The Airbyte client id/secret were rejected: check the credentials secret (or AIRBYTE_CLIENT_ID / AIRBYTE_CLIENT_SECRET).';
  }
  if (status === 401 && 'token' in auth) {
    return '. The bearer token was rejected: obtain a new one (AIRBYTE_TOKEN), or use a client id/secret.';
  }
  if (status === 401) {
    return '. Even a freshly issued token was rejected: check the Airbyte application and its permissions.';
  }
  if (status === 403) {
    return ". The credentials may not act on this workspace: check airbyte.workspaceId and the application's permissions.";
  }
  return '';
}

/** Airbyte's explanation from an error response (problem+json `detail`, `message` or text). */
async function readAirbyteMessage(response: Response): Promise<string | undefined> {
  let text: string;
  try {
    text = await response.text();
  } catch {
    return undefined;
  }
  if (text.trim() === '') return undefined;
  let message = text;
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    const parts = [body.detail, body.message, body.title].filter(
      (part): part is string => typeof part === 'string' && part !== '',
    );
    if (parts.length > 0) message = parts[0];
  } catch {
    // Not JSON: the text itself is the message.
  }
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH)}…` : message;
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  // Duck-typed: fetch's DOMException and undici's errors may come from another realm (jest).
  const failure = (error ?? {}) as {
    name?: string;
    message?: string;
    cause?: { code?: string; message?: string };
  };
  if (failure.name === 'TimeoutError' || failure.name === 'AbortError') {
    return `no answer within ${timeoutMs} ms`;
  }
  return failure.cause?.code ?? failure.cause?.message ?? failure.message ?? String(error);
}
