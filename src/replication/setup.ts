import type { ClientBase } from 'pg';
import { applyPlan, ApplyOptions } from './apply';
import { readCatalog, ReadCatalogOptions } from './catalog';
import { SuperuserRequiredError, WalLevelError } from './errors';
import { withReplicationLock } from './lock';
import { planReplicationSetup } from './planner';
import { printableSql } from './printable';
import type { DesiredReplicationState, Step } from './types';

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
 * Bring the database to `desired`: preflight (wal_level), then, holding the replication lock so
 * that no other run changes the catalog meanwhile, read the catalog, plan, apply. Idempotent:
 * returns the steps applied, none when the database already matches.
 */
export async function setupReplication(
  client: ClientBase,
  desired: DesiredReplicationState,
  options: SetupOptions = {},
): Promise<Step[]> {
  await assertLogicalReplicationEnabled(client);
  return withReplicationLock(client, async () => {
    const catalog = await readCatalog(client, desired, options);
    const steps = planReplicationSetup(catalog, desired);
    if (options.dryRun) return steps;
    const superuserOnly = steps.filter((step) => step.requiresSuperuser);
    if (superuserOnly.length > 0) {
      throw new SuperuserRequiredError(
        catalog.serverVersion,
        catalog.currentUser,
        superuserOnly.map((step) => printableSql(step) ?? step.description),
      );
    }
    return applyPlan(client, steps, options);
  });
}
