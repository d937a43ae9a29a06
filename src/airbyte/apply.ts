import {
  type ActorRequest,
  type AirbyteTarget,
  type ConnectionRequest,
  buildConnectionRequest,
  buildDestinationRequest,
  buildSourceRequest,
} from './bodies';
import {
  AirbyteApiError,
  type AirbyteClient,
  type AirbyteResource,
  type ResourceKind,
} from './client';
import { isWholeSchema } from '../contract/replication-setup';
import { isSatisfiedBy, maskSecrets } from './mask';
import type { AirbyteSettings } from './settings';

/**
 * Plan, apply and destroy the Airbyte source, destination and connection. The CLI and the
 * custom resource both call these, so a laptop and a `cdk deploy` do exactly the same thing.
 */

export type Action = 'create' | 'update' | 'unchanged' | 'recreate' | 'delete' | 'absent';

export interface ResourceOutcome {
  readonly kind: ResourceKind;
  readonly name: string;
  readonly action: Action;
  /** Airbyte's id, once known. */
  readonly id?: string;
}

export interface ApplyResult {
  readonly workspaceId: string;
  readonly source: ResourceOutcome & { id: string };
  readonly destination: ResourceOutcome & { id: string };
  readonly connection: ResourceOutcome & { id: string };
}

export interface DestroyResult {
  readonly workspaceId: string;
  readonly outcomes: ResourceOutcome[];
  /** What the user must know (e.g. the replication slot left behind). */
  readonly notes: string[];
}

export interface PlannedResource<Body> {
  readonly kind: ResourceKind;
  readonly name: string;
  /** Undefined when Airbyte was not asked (offline plan). */
  readonly action?: Action;
  /** The request body, secrets masked. */
  readonly body: Body;
}

export interface PlanResult {
  readonly workspaceId: string | undefined;
  readonly source: PlannedResource<ActorRequest>;
  readonly destination: PlannedResource<ActorRequest>;
  readonly connection: PlannedResource<ConnectionRequest>;
}

export interface ApplyOptions {
  /** Airbyte workspace; when absent the only workspace the credentials see is used. */
  readonly workspaceId?: string;
  /**
   * Patch the source and destination even when nothing visible changed. Airbyte masks secrets in
   * what it returns, so a rotated password cannot be detected by comparison.
   */
  readonly refreshSecrets?: boolean;
  readonly log?: (line: string) => void;
}

/** Apply stopped part way: `done` says what already changed so nothing is left unexplained. */
export class AirbyteApplyError extends Error {
  constructor(
    message: string,
    readonly done: ResourceOutcome[],
    readonly cause: unknown,
  ) {
    super(message);
    this.name = 'AirbyteApplyError';
  }
}

/** Placeholder ids in an offline plan, where the source and destination do not exist yet. */
const PENDING_SOURCE_ID = '<id of the source once created>';
const PENDING_DESTINATION_ID = '<id of the destination once created>';

export async function resolveWorkspaceId(
  client: AirbyteClient,
  configured: string | undefined,
): Promise<string> {
  if (configured) return configured;
  const workspaces = await client.listWorkspaces();
  if (workspaces.length === 1) return workspaces[0].workspaceId;
  const listed = workspaces
    .map((workspace) => `${workspace.workspaceId} (${workspace.name})`)
    .join(', ');
  throw new AirbyteApiError(
    workspaces.length === 0
      ? 'The Airbyte credentials see no workspace: create one in Airbyte, or check the credentials'
      : `The Airbyte credentials see ${workspaces.length} workspaces: ${listed}. Set airbyte.workspaceId (or --workspace-id / AIRBYTE_WORKSPACE_ID) to one of them`,
    'choose a workspace',
    undefined,
    undefined,
  );
}

/** Whether an existing source or destination already has the desired name and configuration. */
function actorAction(
  existing: AirbyteResource | undefined,
  desired: ActorRequest,
  refreshSecrets: boolean,
): Action {
  if (!existing) return 'create';
  if (!refreshSecrets && isSatisfiedBy(desired.configuration, existing.configuration))
    return 'unchanged';
  return 'update';
}

/** The connection fields a PATCH may change, streams in a stable order for comparison. */
function connectionPatchBody(
  request: ConnectionRequest,
): Omit<ConnectionRequest, 'sourceId' | 'destinationId'> {
  // Airbyte's ConnectionPatchRequest has no sourceId/destinationId: a connection cannot move.
  const patchable: { -readonly [K in keyof ConnectionRequest]?: ConnectionRequest[K] } = {
    ...request,
  };
  delete patchable.sourceId;
  delete patchable.destinationId;
  return {
    ...(patchable as Omit<ConnectionRequest, 'sourceId' | 'destinationId'>),
    configurations: { streams: sortStreams(request.configurations.streams) },
  };
}

function sortStreams<T extends { name: string; namespace?: string }>(streams: T[]): T[] {
  const key = (stream: T) => `${stream.namespace ?? ''}\u0000${stream.name}`;
  return [...streams].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

function connectionAction(
  existing: AirbyteResource | undefined,
  desired: ConnectionRequest,
): Action {
  if (!existing) return 'create';
  // Airbyte cannot move a connection to another source or destination: it has to be replaced.
  if (existing.sourceId !== desired.sourceId || existing.destinationId !== desired.destinationId)
    return 'recreate';
  const existingStreams = (
    existing.configurations as { streams?: Array<{ name: string; namespace?: string }> }
  )?.streams;
  const comparable = {
    ...existing,
    configurations: { streams: sortStreams(existingStreams ?? []) },
  };
  return isSatisfiedBy(connectionPatchBody(desired), comparable) ? 'unchanged' : 'update';
}

/** What apply would do, with every body as it would be sent but secrets masked. */
export async function planAirbyte(
  target: AirbyteTarget,
  client: AirbyteClient | undefined,
  options: ApplyOptions = {},
): Promise<PlanResult> {
  const workspaceId = client
    ? await resolveWorkspaceId(client, options.workspaceId)
    : options.workspaceId;
  const workspaceForBody = workspaceId ?? '<airbyte.workspaceId>';
  const sourceRequest = buildSourceRequest(target, workspaceForBody);
  const destinationRequest = buildDestinationRequest(target, workspaceForBody);
  if (!client || !workspaceId) {
    return {
      workspaceId,
      source: { kind: 'source', name: sourceRequest.name, body: maskSecrets(sourceRequest) },
      destination: {
        kind: 'destination',
        name: destinationRequest.name,
        body: maskSecrets(destinationRequest),
      },
      connection: {
        kind: 'connection',
        name: target.settings.connectionName,
        body: buildConnectionRequest(
          await withDiscoveredStreams(target, undefined, undefined),
          PENDING_SOURCE_ID,
          PENDING_DESTINATION_ID,
        ),
      },
    };
  }
  const refresh = options.refreshSecrets ?? false;
  const source = await client.findByName('source', workspaceId, sourceRequest.name);
  const destination = await client.findByName('destination', workspaceId, destinationRequest.name);
  const connection = await client.findByName(
    'connection',
    workspaceId,
    target.settings.connectionName,
  );
  const sourceId = source ? client.idOf('source', source) : undefined;
  const connectionRequest = buildConnectionRequest(
    await withDiscoveredStreams(target, client, sourceId),
    sourceId ?? PENDING_SOURCE_ID,
    destination ? client.idOf('destination', destination) : PENDING_DESTINATION_ID,
  );
  return {
    workspaceId,
    source: {
      kind: 'source',
      name: sourceRequest.name,
      action: actorAction(source, sourceRequest, refresh),
      body: maskSecrets(sourceRequest),
    },
    destination: {
      kind: 'destination',
      name: destinationRequest.name,
      action: actorAction(destination, destinationRequest, refresh),
      body: maskSecrets(destinationRequest),
    },
    connection: {
      kind: 'connection',
      name: connectionRequest.name,
      action: connectionAction(connection, connectionRequest),
      body: connectionRequest,
    },
  };
}

/**
 * With a schema published whole (`"*"`), the target with the streams the source discovers, whose
 * tables in each such schema the connection lists as streams. One discovery serves every whole
 * schema. Before the source exists (a plan) there are none to show yet.
 */
async function withDiscoveredStreams(
  target: AirbyteTarget,
  client: AirbyteClient | undefined,
  sourceId: string | undefined,
): Promise<AirbyteTarget> {
  if (!target.replication.schemas.some((selection) => isWholeSchema(selection.tables))) {
    return target;
  }
  const streams = client && sourceId ? await client.discoverStreams(sourceId) : [];
  return { ...target, discoveredStreams: streams };
}

/** Create or update the source, the destination and the connection, in that order. */
export async function applyAirbyte(
  target: AirbyteTarget,
  client: AirbyteClient,
  options: ApplyOptions = {},
): Promise<ApplyResult> {
  const log = options.log ?? (() => undefined);
  const done: ResourceOutcome[] = [];
  const record = (outcome: ResourceOutcome & { id: string }) => {
    done.push(outcome);
    log(`${outcome.kind} "${outcome.name}": ${outcome.action} (${outcome.id})`);
    return outcome;
  };
  try {
    const workspaceId = await resolveWorkspaceId(client, options.workspaceId);
    const refresh = options.refreshSecrets ?? false;
    const source = record(
      await upsertActor(client, 'source', buildSourceRequest(target, workspaceId), refresh),
    );
    const destination = record(
      await upsertActor(
        client,
        'destination',
        buildDestinationRequest(target, workspaceId),
        refresh,
      ),
    );
    const connection = record(
      await upsertConnection(
        client,
        workspaceId,
        buildConnectionRequest(
          await withDiscoveredStreams(target, client, source.id),
          source.id,
          destination.id,
        ),
      ),
    );
    return { workspaceId, source, destination, connection };
  } catch (error) {
    const changed = done.filter((outcome) => outcome.action !== 'unchanged');
    const summary =
      changed.length === 0
        ? 'Nothing was changed in Airbyte before the failure.'
        : `Already done before the failure: ${changed.map((o) => `${o.action} ${o.kind} "${o.name}" (${o.id})`).join('; ')}. Run apply again to finish (it finds these by name), or destroy to remove them.`;
    throw new AirbyteApplyError(`${(error as Error).message}\n${summary}`, done, error);
  }
}

async function upsertActor(
  client: AirbyteClient,
  kind: 'source' | 'destination',
  request: ActorRequest,
  refreshSecrets: boolean,
): Promise<ResourceOutcome & { id: string }> {
  const existing = await client.findByName(kind, request.workspaceId, request.name);
  const action = actorAction(existing, request, refreshSecrets);
  if (existing && action === 'unchanged') {
    return { kind, name: request.name, action, id: client.idOf(kind, existing) };
  }
  if (existing) {
    const id = client.idOf(kind, existing);
    try {
      await client.patch(kind, id, { name: request.name, configuration: request.configuration });
      return { kind, name: request.name, action: 'update', id };
    } catch (error) {
      // Deleted by hand between the list and the patch: create it again.
      if (!(error instanceof AirbyteApiError && error.status === 404)) throw error;
    }
  }
  const created = await client.create(kind, request.workspaceId, { ...request });
  return { kind, name: request.name, action: 'create', id: client.idOf(kind, created) };
}

async function upsertConnection(
  client: AirbyteClient,
  workspaceId: string,
  request: ConnectionRequest,
): Promise<ResourceOutcome & { id: string }> {
  const existing = await client.findByName('connection', workspaceId, request.name);
  const action = connectionAction(existing, request);
  const base = { kind: 'connection' as const, name: request.name };
  if (existing && action === 'unchanged')
    return { ...base, action, id: client.idOf('connection', existing) };
  if (existing && action === 'update') {
    const id = client.idOf('connection', existing);
    try {
      await client.patch('connection', id, { ...connectionPatchBody(request) });
      return { ...base, action, id };
    } catch (error) {
      if (!(error instanceof AirbyteApiError && error.status === 404)) throw error;
    }
  }
  if (existing && action === 'recreate') {
    await deleteIgnoringMissing(
      client,
      'connection',
      client.idOf('connection', existing),
      request.name,
    );
  }
  const created = await client.create('connection', workspaceId, { ...request });
  return {
    ...base,
    action: action === 'recreate' ? 'recreate' : 'create',
    id: client.idOf('connection', created),
  };
}

async function deleteIgnoringMissing(
  client: AirbyteClient,
  kind: ResourceKind,
  id: string,
  name: string,
) {
  try {
    await client.delete(kind, id, name);
    return true;
  } catch (error) {
    if (error instanceof AirbyteApiError && error.status === 404) return false;
    throw error;
  }
}

/**
 * Delete the connection, then the source and the destination, found by name. Missing ones are
 * reported as absent. The replication slot in PostgreSQL is left alone (see the notes).
 */
export async function destroyAirbyte(
  settings: Pick<AirbyteSettings, 'sourceName' | 'destinationName' | 'connectionName'>,
  client: AirbyteClient,
  options: Pick<ApplyOptions, 'workspaceId' | 'log'> & {
    /** Only these kinds (e.g. those renamed by an update). Default: all three. */
    readonly kinds?: readonly ResourceKind[];
  } = {},
): Promise<DestroyResult> {
  const log = options.log ?? (() => undefined);
  const workspaceId = await resolveWorkspaceId(client, options.workspaceId);
  const outcomes: ResourceOutcome[] = [];
  const kinds = options.kinds ?? ['connection', 'source', 'destination'];
  const order = (
    [
      ['connection', settings.connectionName],
      ['source', settings.sourceName],
      ['destination', settings.destinationName],
    ] as Array<[ResourceKind, string]>
  ).filter(([kind]) => kinds.includes(kind));
  try {
    for (const [kind, name] of order) {
      const existing = await client.findByName(kind, workspaceId, name);
      let outcome: ResourceOutcome = { kind, name, action: 'absent' };
      if (existing) {
        const id = client.idOf(kind, existing);
        const deleted = await deleteIgnoringMissing(client, kind, id, name);
        outcome = { kind, name, action: deleted ? 'delete' : 'absent', id };
      }
      outcomes.push(outcome);
      log(`${kind} "${name}": ${outcome.action}`);
    }
  } catch (error) {
    const deleted = outcomes.filter((outcome) => outcome.action === 'delete');
    throw new AirbyteApplyError(
      `${(error as Error).message}\n${deleted.length === 0 ? 'Nothing was deleted before the failure.' : `Deleted before the failure: ${deleted.map((o) => `${o.kind} "${o.name}"`).join(', ')}.`} Run destroy again to finish.`,
      outcomes,
      error,
    );
  }
  const notes = outcomes.some(
    (outcome) => outcome.kind === 'connection' && outcome.action === 'delete',
  )
    ? [
        'The replication slot and publication in PostgreSQL were left in place: an unread slot keeps WAL on the database disk (up to max_slot_wal_keep_size). Apply again soon, or drop the slot if the pipeline is gone for good.',
      ]
    : [];
  return { workspaceId, outcomes, notes };
}
