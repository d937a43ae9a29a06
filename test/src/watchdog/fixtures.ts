import type { SlotHealth, SlotReading } from '../../../src/watchdog';

export const GIB = 1024 ** 3;

/** An inactive, reserved slot on PostgreSQL 17 with a 4 GiB max_slot_wal_keep_size. */
export function slotHealth(
  slot: Partial<SlotReading> = {},
  overrides: Partial<SlotHealth> = {},
): SlotHealth {
  return {
    slotName: 'airbyte_slot',
    serverVersion: 170006,
    maxSlotWalKeepSizeBytes: 4 * GIB,
    slot: {
      plugin: 'pgoutput',
      slotType: 'logical',
      database: 'app',
      confirmedFlushLsn: '0/3000000',
      active: false,
      activePid: null,
      walStatus: 'reserved',
      safeWalSizeBytes: 3 * GIB,
      confirmedLagBytes: 2048,
      retainedBytes: 4096,
      inactiveSince: '2025-01-01T10:00:00+00:00',
      inactiveSeconds: 120,
      invalidationReason: null,
      ...slot,
    },
    ...overrides,
  };
}
