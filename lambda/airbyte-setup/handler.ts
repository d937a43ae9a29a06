import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import { AirbyteApplyError, applyAirbyte, destroyAirbyte } from '../../src/airbyte/apply';
import type { AirbyteTarget } from '../../src/airbyte/bodies';
import { AirbyteClient, type ResourceKind } from '../../src/airbyte/client';
import { readAirbyteCredentialsSecret } from '../../src/airbyte/credentials';
import { slotWasRecreated, startResync } from '../../src/airbyte/resync';
import { readReplicationCredentials, readS3AccessKey } from '../../src/airbyte/secrets';
import type { AirbyteSettings } from '../../src/airbyte/settings';
import type { AirbyteResourceProperties } from '../../src/contract/airbyte-connection';
import { parseAirbyteProperties, parseSettings, type AirbyteConnectionRequest } from './properties';

/** Physical ids this function hands out; anything else means Create never succeeded. */
const PHYSICAL_ID_PREFIX = 'airbyte:';

/**
 * One id per Airbyte workspace: moving to another workspace or Airbyte is a replacement, so
 * CloudFormation deletes the old resources there with the old properties. Names are left out on
 * purpose: a rename within the workspace must not make CloudFormation delete, by the old names,
 * a source or destination the new properties still use.
 */
function physicalIdOf(properties: AirbyteResourceProperties): string {
  return `${PHYSICAL_ID_PREFIX}${properties.WorkspaceId}@${properties.ApiUrl}`;
}

export interface HandlerDependencies {
  readonly secretsManager: SecretsManagerClient;
  readonly log?: (line: string) => void;
  /** For tests: faster retries. */
  readonly clientOptions?: { readonly baseDelayMs?: number; readonly retries?: number };
}

async function targetOf(
  { properties, settings, replication }: AirbyteConnectionRequest,
  secretsManager: SecretsManagerClient,
): Promise<AirbyteTarget> {
  const credentials = await readReplicationCredentials(
    secretsManager,
    properties.ReplicationUserSecretArn,
  );
  const accessKey = properties.S3AccessKeySecretArn
    ? await readS3AccessKey(secretsManager, properties.S3AccessKeySecretArn)
    : undefined;
  return {
    settings,
    replication,
    database: {
      host: properties.Host,
      port: Number(properties.Port),
      database: properties.Database,
      ...credentials,
    },
    ...(properties.CaCertificate ? { caCertificate: properties.CaCertificate } : {}),
    ...(properties.S3BucketName
      ? {
          s3: {
            bucketName: properties.S3BucketName,
            region: properties.S3Region ?? '',
            ...(accessKey ? { accessKey } : {}),
          },
        }
      : {}),
  };
}

async function clientFor(properties: AirbyteResourceProperties, dependencies: HandlerDependencies) {
  const auth = await readAirbyteCredentialsSecret(
    dependencies.secretsManager,
    properties.CredentialsSecretId,
  );
  return new AirbyteClient({
    apiUrl: properties.ApiUrl,
    auth,
    log: dependencies.log,
    ...dependencies.clientOptions,
  });
}

/** The `SlotGeneration` an Update's old properties carried, if any. */
function previousSlotGeneration(event: CdkCustomResourceEvent): string | undefined {
  if (event.RequestType !== 'Update') return undefined;
  const previous = event.OldResourceProperties.SlotGeneration;
  return typeof previous === 'string' ? previous : undefined;
}

/**
 * Create/Update: apply (upsert by name). Update also re-sends secrets (a rotated password is
 * invisible to comparison) and removes resources whose names changed, and when the slot's
 * generation changed (the slot was recreated, an engine upgrade) starts the connection's
 * resync last, once everything else succeeded, unless this run just created or recreated the
 * connection (a new connection reads everything on its first sync). Delete: destroy by name.
 */
export async function handleAirbyteEvent(
  event: CdkCustomResourceEvent,
  dependencies: HandlerDependencies,
): Promise<CdkCustomResourceResponse> {
  const log = dependencies.log ?? (() => undefined);
  const request = parseAirbyteProperties(event.ResourceProperties);
  const { properties, settings } = request;

  if (event.RequestType === 'Delete') {
    if (!event.PhysicalResourceId.startsWith(PHYSICAL_ID_PREFIX)) {
      log(
        `Delete of a resource whose Create failed (${event.PhysicalResourceId}): nothing to remove`,
      );
      return { PhysicalResourceId: event.PhysicalResourceId };
    }
    const client = await clientFor(properties, dependencies);
    const result = await destroyAirbyte(settings, client, {
      workspaceId: properties.WorkspaceId,
      log,
    });
    result.notes.forEach((note) => log(`Note: ${note}`));
    return { PhysicalResourceId: event.PhysicalResourceId };
  }

  const client = await clientFor(properties, dependencies);
  const target = await targetOf(request, dependencies.secretsManager);
  let result;
  try {
    result = await applyAirbyte(target, client, {
      workspaceId: properties.WorkspaceId,
      refreshSecrets: event.RequestType === 'Update',
      log,
    });
  } catch (error) {
    // A failed Create gets no Delete from CloudFormation: remove what this attempt created.
    if (event.RequestType === 'Create' && error instanceof AirbyteApplyError) {
      throw new Error(
        `${error.message}\n${await removeCreated(error, settings, client, properties.WorkspaceId, log)}`,
        { cause: error },
      );
    }
    throw error;
  }

  const physicalId = physicalIdOf(properties);
  if (event.RequestType === 'Update' && physicalId === event.PhysicalResourceId) {
    await removeRenamed(event.OldResourceProperties, properties, settings, client, log);
  }
  // A connection this run created (or recreated) starts with no saved position: its first sync
  // reads every stream anyway, and a reset job on top would only race it.
  const connectionIsNew =
    result.connection.action === 'create' || result.connection.action === 'recreate';
  const resync =
    !connectionIsNew && slotWasRecreated(previousSlotGeneration(event), properties.SlotGeneration)
      ? await startResync(client, result.connection.id, log)
      : undefined;
  return {
    PhysicalResourceId: physicalId,
    Data: {
      SourceId: result.source.id,
      DestinationId: result.destination.id,
      ConnectionId: result.connection.id,
      ...(resync ? { ResyncJobId: String(resync.jobId) } : {}),
    },
  };
}

async function removeCreated(
  error: AirbyteApplyError,
  settings: AirbyteSettings,
  client: AirbyteClient,
  workspaceId: string,
  log: (line: string) => void,
): Promise<string> {
  const created = error.done
    .filter((outcome) => outcome.action === 'create')
    .map((outcome) => outcome.kind);
  if (created.length === 0) return 'This attempt created nothing in Airbyte.';
  try {
    await destroyAirbyte(settings, client, { workspaceId, kinds: created, log });
    return `Removed what this attempt had created (${created.join(', ')}).`;
  } catch (cleanupError) {
    return `Could not remove what this attempt created (${created.join(', ')}): ${(cleanupError as Error).message}`;
  }
}

/** After an update that renamed something in the same workspace, delete the old-named resources. */
async function removeRenamed(
  oldRaw: Record<string, unknown>,
  properties: AirbyteResourceProperties,
  settings: AirbyteSettings,
  client: AirbyteClient,
  log: (line: string) => void,
): Promise<void> {
  if (typeof oldRaw.Settings !== 'string') return;
  const old = parseSettings(oldRaw.Settings);
  const kinds = (
    [
      ['connection', old.connectionName, settings.connectionName],
      ['source', old.sourceName, settings.sourceName],
      ['destination', old.destinationName, settings.destinationName],
    ] as Array<[ResourceKind, string, string]>
  )
    .filter(([, oldName, newName]) => oldName !== newName)
    .map(([kind]) => kind);
  if (kinds.length === 0) return;
  await destroyAirbyte(old, client, { workspaceId: properties.WorkspaceId, kinds, log });
}
