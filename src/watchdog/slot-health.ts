import type { ClientBase } from 'pg';
import {
  CURRENT_WAL_POSITION,
  slotJsonSql,
  slotStateOf,
  type SlotJson,
} from '../replication/slot-row';
import type { SlotState } from '../replication/types';

/**
 * The configured slot as pg_replication_slots shows it, with its WAL figures in bytes: the same
 * reading as the catalog reader's (src/replication/slot-row.ts).
 */
export type SlotReading = SlotState;

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
 * position functions need no privilege), on PostgreSQL 14 to 18: the catalog reader's slot
 * expression, with the setting its figures are measured against. $1 the slot name.
 */
const SLOT_HEALTH_QUERY = `
SELECT
  current_setting('server_version_num')::int AS server_version,
  (SELECT setting::bigint FROM pg_settings WHERE name = 'max_slot_wal_keep_size') AS max_slot_wal_keep_size_mb,
  (SELECT ${slotJsonSql(CURRENT_WAL_POSITION)}
   FROM pg_replication_slots s WHERE s.slot_name = $1) AS slot
`;

interface SlotHealthRow {
  server_version: number;
  /** pg_settings reports max_slot_wal_keep_size in MB; bigint comes back as text. */
  max_slot_wal_keep_size_mb: string;
  slot: SlotJson | null;
}

const MIB = 1024 * 1024;

/** Read the health of `slotName` (one statement; the caller picks the transaction it runs in). */
export async function readSlotHealth(client: ClientBase, slotName: string): Promise<SlotHealth> {
  const { rows } = await client.query<SlotHealthRow>(SLOT_HEALTH_QUERY, [slotName]);
  const row = rows[0];
  const keepSizeMb = Number(row.max_slot_wal_keep_size_mb);
  return {
    slotName,
    serverVersion: row.server_version,
    maxSlotWalKeepSizeBytes: keepSizeMb < 0 ? null : keepSizeMb * MIB,
    ...(row.slot ? { slot: slotStateOf(row.slot) } : {}),
  };
}

/**
 * readSlotHealth in a READ ONLY transaction of its own, as the watchdog reads: whatever the role
 * may do, the session cannot write.
 */
export async function readSlotHealthReadOnly(
  client: ClientBase,
  slotName: string,
): Promise<SlotHealth> {
  await client.query('BEGIN TRANSACTION READ ONLY');
  const health = await readSlotHealth(client, slotName);
  await client.query('COMMIT');
  return health;
}
