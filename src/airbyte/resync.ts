/**
 * The Airbyte side of a recreated replication slot (docs/upgrading.md): the new slot starts at
 * the current end of the WAL, so the position Airbyte saved points at changes no slot holds any
 * more, and the connection must read every stream again.
 */
import { type AirbyteClient, type AirbyteJob, RESYNC_JOB_TYPE } from './client';

/**
 * What to click where the stack does not manage Airbyte, in the Airbyte UI of 1.0 and later
 * (docs.airbyte.com/operator-guides/refreshes and /operator-guides/reset): a refresh keeps the
 * destination's data until the new copy is complete; a clear empties it first.
 */
export const AIRBYTE_UI_RESYNC =
  'in the Airbyte UI, open the connection, then Status → ⋯ beside "Sync now" → "Refresh your data" (or Settings → "Clear data", then "Sync now")';

/**
 * Whether the slot was recreated between two deploys: its generation changed from a value that
 * was set to another. A first generation (a new resource, or one deployed before generations
 * existed) is no recreation: the connection reads from the slot it was created with; nor is a
 * generation the stack stopped passing.
 */
export function slotWasRecreated(
  previousGeneration: string | undefined,
  generation: string | undefined,
): boolean {
  const isSet = (value: string | undefined): value is string => value !== undefined && value !== '';
  return isSet(previousGeneration) && isSet(generation) && generation !== previousGeneration;
}

/** Start the job that re-reads every stream of the connection; logs and returns it. */
export async function startResync(
  client: AirbyteClient,
  connectionId: string,
  log: (line: string) => void,
): Promise<AirbyteJob> {
  const job = await client.startJob(connectionId, RESYNC_JOB_TYPE);
  log(
    `The replication slot was recreated: started Airbyte ${RESYNC_JOB_TYPE} job ${job.jobId} of connection ${connectionId} (status ${job.status}); the connection's next sync reads every stream again.`,
  );
  return job;
}
