import type { SlotState } from './types';

/**
 * The server's current WAL position; on a standby the replay position stands in for it (a
 * standby has no current position of its own).
 */
export const CURRENT_WAL_POSITION =
  'CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END';

/**
 * One pg_replication_slots row (`s`) as JSON, its WAL figures against `walPosition`: the one
 * reading of a slot that the catalog reader and the slot watchdog share. The 17+ columns come
 * through to_jsonb of the row, so the expression parses on every major and says whether the
 * server has them. Every column it reads is readable by any role.
 */
export function slotJsonSql(walPosition: string): string {
  return `json_build_object(
     'plugin', s.plugin, 'slotType', s.slot_type, 'database', s.database, 'active', s.active,
     'activePid', s.active_pid, 'confirmedFlushLsn', s.confirmed_flush_lsn::text, 'walStatus', s.wal_status,
     'safeWalSizeBytes', s.safe_wal_size,
     'confirmedLagBytes', pg_wal_lsn_diff(${walPosition}, s.confirmed_flush_lsn)::bigint,
     'retainedBytes', pg_wal_lsn_diff(${walPosition}, s.restart_lsn)::bigint,
     'hasInactiveSince', to_jsonb(s) ? 'inactive_since',
     'inactiveSince', to_jsonb(s) -> 'inactive_since',
     -- now() is the transaction's start: a slot released after it would come out negative.
     'inactiveSeconds', greatest(0, floor(extract(epoch FROM now() - (to_jsonb(s) ->> 'inactive_since')::timestamptz)))::bigint,
     'invalidationReason', to_jsonb(s) -> 'invalidation_reason')`;
}

/** What slotJsonSql gives, as node-postgres parses it. */
export type SlotJson = Omit<
  SlotState,
  'inactiveSince' | 'inactiveSeconds' | 'invalidationReason'
> & {
  readonly hasInactiveSince: boolean;
  readonly inactiveSince: string | null;
  readonly inactiveSeconds: number | null;
  readonly invalidationReason: string | null;
};

/** The slot of a slotJsonSql row: the 17+ fields only where the server has them. */
export function slotStateOf({
  hasInactiveSince,
  inactiveSince,
  inactiveSeconds,
  invalidationReason,
  ...slot
}: SlotJson): SlotState {
  return hasInactiveSince ? { ...slot, inactiveSince, inactiveSeconds, invalidationReason } : slot;
}
