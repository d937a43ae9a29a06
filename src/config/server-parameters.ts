import type { DatabaseConfig } from './database';

/** The replication sizing and timeouts both servers get, from the environment's config. */
export interface ReplicationServerParameterInputs {
  readonly database: Pick<
    DatabaseConfig,
    'maxReplicationSlots' | 'maxWalSenders' | 'walSenderTimeoutMs'
  >;
  /** `replication.maxSlotWalKeepSizeGiB`. */
  readonly maxSlotWalKeepSizeGiB: number;
  /** `replication.idleSlotTimeoutHours` (PostgreSQL 18+). Default: none (the server's 0, off). */
  readonly idleSlotTimeoutHours?: number;
}

/**
 * Server parameters for logical replication that the RDS parameter group and the local server of
 * `npm run local` share, in PostgreSQL's own units (ms, MB), so the two cannot drift. Each caller
 * adds the switch its platform uses to turn logical decoding and TLS on (RDS:
 * `rds.logical_replication`, `rds.force_ssl`; plain PostgreSQL: `wal_level`, `ssl`).
 */
export function replicationServerParameters(
  inputs: ReplicationServerParameterInputs,
): Record<string, string> {
  const { database, maxSlotWalKeepSizeGiB, idleSlotTimeoutHours } = inputs;
  return {
    max_replication_slots: String(database.maxReplicationSlots),
    max_wal_senders: String(database.maxWalSenders),
    wal_sender_timeout: String(database.walSenderTimeoutMs),
    max_slot_wal_keep_size: String(maxSlotWalKeepSizeGiB * 1024),
    // Seconds, the parameter's unit.
    ...(idleSlotTimeoutHours === undefined
      ? {}
      : { idle_replication_slot_timeout: String(idleSlotTimeoutHours * 3600) }),
  };
}
