import type { ClientBase } from 'pg';
import type { SlotState } from '../replication/types';

/** The configured slot as pg_replication_slots shows it, with its WAL figures in bytes. */
export interface SlotReading extends Pick<
  SlotState,
  'active' | 'activePid' | 'walStatus' | 'inactiveSince' | 'invalidationReason'
> {
  /**
   * `safe_wal_size`: bytes of WAL that can still be written before the slot is in danger of
   * `lost`. Null when the slot is lost or max_slot_wal_keep_size is -1 (unlimited); may be
   * negative once the slot is `unreserved`.
   */
  readonly safeWalSizeBytes: number | null;
  /** Current WAL position minus `confirmed_flush_lsn`: changes the consumer has not confirmed. */
  readonly confirmedLagBytes: number | null;
  /** Current WAL position minus `restart_lsn`: WAL the server keeps on disk for the slot. */
  readonly retainedBytes: number | null;
  /**
   * PostgreSQL 17+: whole seconds since `inactive_since`, by the server's clock at the read; null
   * while a consumer streams the slot. Undefined before 17, which does not record when a slot
   * became inactive (unknown, not zero).
   */
  readonly inactiveSeconds?: number | null;
}

/** What the watchdog and the doctor read about the configured slot, in one statement. */
export interface SlotHealth {
  readonly slotName: string;
  /** `server_version_num`, e.g. 170006. */
  readonly serverVersion: number;
  /** `max_slot_wal_keep_size` in bytes; null for -1 (unlimited: a slot is never invalidated for WAL). */
  readonly maxSlotWalKeepSizeBytes: number | null;
  /** Undefined when no slot of that name exists. */
  readonly slot?: SlotReading;
}

/**
 * One read-only statement, readable by any role (pg_replication_slots, pg_settings and the WAL
 * position functions need no privilege), on PostgreSQL 14 to 18. The 17+ columns come through
 * to_jsonb of the row, as in the catalog reader, so the statement parses on every major and
 * says whether the server has them. On a standby the replay position stands in for the current
 * one. $1 the slot name.
 */
const SLOT_HEALTH_QUERY = `
SELECT
  current_setting('server_version_num')::int AS server_version,
  (SELECT setting::bigint FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS max_slot_wal_keep_size_mb,
  (SELECT json_build_object(
     'active', s.active, 'activePid', s.active_pid, 'walStatus', s.wal_status,
     'safeWalSizeBytes', s.safe_wal_size,
     'confirmedLagBytes', pg_wal_lsn_diff(l.lsn, s.confirmed_flush_lsn)::bigint,
     'retainedBytes', pg_wal_lsn_diff(l.lsn, s.restart_lsn)::bigint,
     'hasInactiveSince', to_jsonb(s) ? 'inactive_since',
     'inactiveSince', to_jsonb(s) -> 'inactive_since',
     -- now() is the transaction's start: a slot released after it would come out negative.
     'inactiveSeconds', greatest(0, floor(extract(epoch FROM now() - (to_jsonb(s) ->> 'inactive_since')::timestamptz)))::bigint,
     'invalidationReason', to_jsonb(s) -> 'invalidation_reason')
   FROM pg_replication_slots s WHERE s.slot_name = $1) AS slot
FROM (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END AS lsn) l
`;

interface SlotHealthRow {
  server_version: number;
  /** pg_settings reports max_slot_wal_keep_size in MB; bigint comes back as text. */
  max_slot_wal_keep_size_mb: string;
  slot:
    | (Omit<SlotReading, 'inactiveSince' | 'inactiveSeconds' | 'invalidationReason'> & {
        hasInactiveSince: boolean;
        inactiveSince: string | null;
        inactiveSeconds: number | null;
        invalidationReason: string | null;
      })
    | null;
}

const MIB = 1024 * 1024;

/** The row's slot with the 17+ fields only where the server has them. */
function slotReading({
  hasInactiveSince,
  inactiveSince,
  inactiveSeconds,
  invalidationReason,
  ...slot
}: NonNullable<SlotHealthRow['slot']>): SlotReading {
  return hasInactiveSince ? { ...slot, inactiveSince, inactiveSeconds, invalidationReason } : slot;
}

/** Read the health of `slotName` (one statement; the caller picks the transaction it runs in). */
export async function readSlotHealth(client: ClientBase, slotName: string): Promise<SlotHealth> {
  const { rows } = await client.query<SlotHealthRow>(SLOT_HEALTH_QUERY, [slotName]);
  const row = rows[0];
  const keepSizeMb = Number(row.max_slot_wal_keep_size_mb);
  return {
    slotName,
    serverVersion: row.server_version,
    maxSlotWalKeepSizeBytes: keepSizeMb < 0 ? null : keepSizeMb * MIB,
    ...(row.slot ? { slot: slotReading(row.slot) } : {}),
  };
}
