import type { SlotState } from './types';

/** Why PostgreSQL invalidates a slot (`pg_replication_slots.invalidation_reason`, 17+). */
const INVALIDATION_REASONS: Readonly<Record<string, string>> = {
  wal_removed: 'the WAL it needed exceeded max_slot_wal_keep_size and was removed',
  rows_removed: 'catalog rows it needed were removed by VACUUM',
  wal_level_insufficient: 'wal_level was set below logical',
  // PostgreSQL 18: idle_replication_slot_timeout.
  idle_timeout: 'no consumer streamed it for longer than idle_replication_slot_timeout',
};

/** The slot cannot be streamed any more: lost WAL, or (17+) any invalidation reason. */
export function isInvalidated(slot: Pick<SlotState, 'walStatus' | 'invalidationReason'>): boolean {
  return slot.walStatus === 'lost' || Boolean(slot.invalidationReason);
}

/**
 * Why the slot was invalidated, in words: from `invalidation_reason` where the server reports
 * it (17+), else what `wal_status = lost` means before 17.
 */
export function invalidationCause(slot: Pick<SlotState, 'invalidationReason'>): string {
  const reason = slot.invalidationReason;
  if (!reason) return INVALIDATION_REASONS.wal_removed;
  return INVALIDATION_REASONS[reason] ?? `PostgreSQL invalidated it (${reason})`;
}
