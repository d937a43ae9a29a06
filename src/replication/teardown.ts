import type { ClientBase } from 'pg';
import { applyPlan, ApplyOptions } from './apply';
import { readCatalog } from './catalog';
import { withReplicationLock } from './lock';
import { planReplicationTeardown, TeardownOptions } from './planner';
import type { ReplicationTarget, Step } from './types';

/**
 * Remove the slot (disconnecting its reader), the publication and the user; keep schema and
 * data. Whatever is already gone counts as done, so it is safe to run twice. Holds the
 * replication lock from reading the catalog to the last step.
 */
export async function teardownReplication(
  client: ClientBase,
  target: ReplicationTarget,
  options: ApplyOptions & TeardownOptions & { readonly dryRun?: boolean } = {},
): Promise<Step[]> {
  return withReplicationLock(client, async () => {
    const catalog = await readCatalog(client, target);
    const steps = planReplicationTeardown(catalog, target, options);
    if (options.dryRun) return steps;
    return applyPlan(client, steps, options);
  });
}
