/**
 * What a change of engine version does to the logical replication slot, from the two versions
 * alone: the one place the pre-upgrade step, `npm run diff` and `npm run doctor --upgrade-to`
 * decide it.
 *
 * RDS refuses a major upgrade from a major before 17 while a logical slot exists, so the slot has
 * to go (and Airbyte to resync). From 17 on pg_upgrade carries logical slots over, but refuses a
 * slot with changes its consumer has not confirmed.
 *
 * Aurora PostgreSQL follows the same rule, so one decision serves an instance and a cluster
 * alike: for a source version before 17 the upgrade precheck stops while any logical slot exists,
 * even an inactive one; from 17 the slots may stay, provided every change has been consumed
 * (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pglogical.handle-slots.html,
 * https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Appendix.PostgreSQL.CommonDBATasks.pglogical.recover-replication-after-upgrade.html).
 * Aurora's engine versions (`16.6`, `15.10`) have the same shape as RDS's.
 */

/** The first major whose upgrades keep logical replication slots (pg_upgrade 17+). */
export const FIRST_MAJOR_KEEPING_SLOTS = 17;

/**
 * - `unchanged`: same version, nothing happens to the slot.
 * - `kept-minor`: a minor upgrade (binaries only, restart); the slot and its position stay.
 * - `dropped`: a major upgrade from before 17: the slot must be dropped first and recreated
 *   after, and the Airbyte connection resynced.
 * - `kept-if-consumed`: a major upgrade from 17 on: the slot is carried over provided its
 *   consumer has confirmed every change; otherwise RDS refuses the upgrade.
 * - `downgrade`: RDS does not downgrade; the deploy will fail.
 */
export type SlotFate = 'unchanged' | 'kept-minor' | 'dropped' | 'kept-if-consumed' | 'downgrade';

/**
 * Whether the change is a major upgrade: the slot is dropped, or kept only if consumed, so the
 * pre-upgrade check, the doctor and the diff look at it (the database, for the first two).
 */
export function isMajorUpgrade(fate: SlotFate): boolean {
  return fate === 'dropped' || fate === 'kept-if-consumed';
}

/** A PostgreSQL version as `database.engineVersion` or RDS write it: `"16"`, `"16.4"`. */
export interface EngineVersionParts {
  readonly major: number;
  /** Undefined for a bare major (RDS's default minor). */
  readonly minor?: number;
}

/** `"16.4"` → `{ major: 16, minor: 4 }`; throws on anything else. */
export function parseEngineVersion(version: string): EngineVersionParts {
  const match = /^(\d+)(?:\.(\d+))?$/.exec(version.trim());
  if (!match) throw new Error(`"${version}" is not a PostgreSQL version such as "17" or "17.6"`);
  return {
    major: Number(match[1]),
    ...(match[2] === undefined ? {} : { minor: Number(match[2]) }),
  };
}

/** What going from `from` to `to` does to the slot. A bare major on either side matches any minor. */
export function slotFateOnUpgrade(from: string, to: string): SlotFate {
  const a = parseEngineVersion(from);
  const b = parseEngineVersion(to);
  if (b.major < a.major) return 'downgrade';
  if (b.major > a.major)
    return a.major < FIRST_MAJOR_KEEPING_SLOTS ? 'dropped' : 'kept-if-consumed';
  if (a.minor === undefined || b.minor === undefined || a.minor === b.minor) return 'unchanged';
  return b.minor > a.minor ? 'kept-minor' : 'downgrade';
}
