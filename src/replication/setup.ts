import type { ClientBase } from 'pg';
import { applyPlan, ApplyOptions } from './apply';
import { readCatalog, ReadCatalogOptions } from './catalog';
import { WalLevelError } from './errors';
import { planReplicationSetup, planReplicationTeardown } from './planner';
import type { DesiredReplicationState, ReplicationTarget, Step } from './types';

export type SetupOptions = ApplyOptions &
  ReadCatalogOptions & {
    /** Plan only: read the catalog and return the steps without running them. Default: false. */
    readonly dryRun?: boolean;
  };

/** Throws WalLevelError unless wal_level is logical (cheap check before anything else). */
export async function assertLogicalReplicationEnabled(client: ClientBase): Promise<void> {
  const { rows } = await client.query<{ wal_level: string }>(
    "SELECT current_setting('wal_level') AS wal_level",
  );
  if (rows[0].wal_level !== 'logical') throw new WalLevelError(rows[0].wal_level);
}

/**
 * Bring the database to `desired`: preflight (wal_level), read the catalog, plan, apply.
 * Idempotent: returns the steps applied, none when the database already matches.
 */
export async function setupReplication(
  client: ClientBase,
  desired: DesiredReplicationState,
  options: SetupOptions = {},
): Promise<Step[]> {
  await assertLogicalReplicationEnabled(client);
  const catalog = await readCatalog(client, desired, options);
  const steps = planReplicationSetup(catalog, desired);
  if (options.dryRun) return steps;
  return applyPlan(client, steps, options);
}

/**
 * Remove the slot (disconnecting its reader), the publication and the user; keep schema and
 * data. Whatever is already gone counts as done, so it is safe to run twice.
 */
export async function teardownReplication(
  client: ClientBase,
  target: ReplicationTarget,
  options: ApplyOptions & { readonly dryRun?: boolean } = {},
): Promise<Step[]> {
  const catalog = await readCatalog(client, target);
  const steps = planReplicationTeardown(catalog, target);
  if (options.dryRun) return steps;
  return applyPlan(client, steps, options);
}
