import { escapeLiteral } from 'pg';
import { invalidationCause, isInvalidated, SLOT_PLUGIN, type SlotState } from '../../replication';
import {
  DEFAULT_SLOT_THRESHOLDS,
  metricValue,
  slotMetrics,
  verdictsOf,
  type MetricValue,
  type SlotHealth,
  type SlotMetricName,
  type SlotReading,
  type SlotThresholds,
  type SlotVerdict,
} from '../../watchdog';
import { dropStatements, statementsOf } from '../fixes';
import { formatBytes } from '../format';
import type { FixStatement } from '../types';
import { fail, pass, skip, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { quoted } from './shared';

/** A check of the slot's state, skipped while there is no slot (`slot-exists` fails then). */
const ofSlot =
  (evaluate: (slot: SlotState, input: CheckContext) => Verdict) =>
  (input: CheckContext): Verdict =>
    input.catalog.slot ? evaluate(input.catalog.slot, input) : skip('no such slot');

// What makes a slot unusable: only dropping and re-creating it helps.
const hasWrongPlugin = (slot: SlotState): boolean => slot.plugin !== SLOT_PLUGIN;
const decodesOtherDatabase = (slot: SlotState, { catalog }: CheckContext): boolean =>
  slot.database !== catalog.currentDatabase;

/**
 * One unusable slot needs one drop and one re-create: the first check it fails prints them, and
 * a later one (`offeredAbove`: an earlier slot check failed for the same slot) points up to them.
 */
function recreateFix(
  { catalog, desired, steps }: CheckContext,
  reason: string,
  offeredAbove: boolean,
): { sql: FixStatement[]; notes: string[] } {
  if (offeredAbove) return { sql: [], notes: ['See the fix above.'] };
  return {
    sql: [...dropStatements(catalog, desired, 'slot'), ...statementsOf(steps, ['create-slot'])],
    notes: [
      `${reason} The drop discards the slot's position: if Airbyte read it, run a full resync of the connection afterwards. If something else uses that slot, keep it and choose another replication.slotName instead.`,
    ],
  };
}

function slotExists({ catalog, steps }: CheckContext): Verdict {
  return catalog.slot
    ? pass(`${catalog.slot.slotType} slot`)
    : fail('no such slot', { sql: statementsOf(steps, ['create-slot']) });
}

const slotPlugin = ofSlot((slot, input) =>
  hasWrongPlugin(slot)
    ? fail(
        `${slot.slotType} slot with plugin ${slot.plugin ?? 'none'}`,
        recreateFix(input, `Airbyte's Debezium connector reads ${SLOT_PLUGIN} only.`, false),
      )
    : pass(SLOT_PLUGIN),
);

const slotDatabase = ofSlot((slot, input) =>
  decodesOtherDatabase(slot, input)
    ? fail(
        `decodes database "${slot.database ?? 'none'}"`,
        recreateFix(
          input,
          'A logical slot decodes only the database it was created in.',
          hasWrongPlugin(slot),
        ),
      )
    : pass(input.catalog.currentDatabase),
);

const slotWalStatus = ofSlot((slot, input) => {
  if (isInvalidated(slot)) {
    return fail(
      `${slot.walStatus ?? 'invalidated'}: ${invalidationCause(slot)}`,
      recreateFix(
        input,
        'Changes since its position are gone.',
        hasWrongPlugin(slot) || decodesOtherDatabase(slot, input),
      ),
    );
  }
  if (slot.walStatus === 'unreserved') {
    return warn('unreserved: the WAL it needs is about to be removed (max_slot_wal_keep_size)', {
      notes: ['Run an Airbyte sync now, before the next checkpoint invalidates the slot.'],
    });
  }
  return pass(slot.walStatus ?? 'unknown');
});

const slotActive = ofSlot((slot) =>
  pass(
    slot.active
      ? `streaming now (pid ${slot.activePid})`
      : `inactive: no consumer connected now${slot.inactiveSince ? ` (since ${slot.inactiveSince})` : ''} (normal between Airbyte syncs)`,
  ),
);

const slotLag = ofSlot((_slot, { facts, desired, slotLagWarnBytes }) => {
  const retained = facts.slotHealth.slot?.retainedBytes;
  if (retained === null || retained === undefined) {
    return skip('the slot holds no WAL position');
  }
  if (retained > slotLagWarnBytes) {
    return warn(`${formatBytes(retained)} retained, above ${formatBytes(slotLagWarnBytes)}`, {
      notes: [
        'Run an Airbyte sync (or check why syncs fail or are not scheduled): the connector confirms its position, and PostgreSQL frees the WAL.',
        `If nothing will ever read ${quoted(desired.slotName)}, drop it before it fills the disk (its unread changes are lost): SELECT pg_drop_replication_slot(${escapeLiteral(desired.slotName)});`,
      ],
    });
  }
  return pass(`${formatBytes(retained)} retained (warning above ${formatBytes(slotLagWarnBytes)})`);
});

/** Seconds as `45 s`, `12 min 5 s`, `3 h 20 min`, `2 d 4 h`: the two largest units. */
function formatDuration(seconds: number): string {
  const whole = Math.max(0, Math.floor(seconds));
  const parts: readonly (readonly [number, string])[] = [
    [Math.floor(whole / 86400), 'd'],
    [Math.floor(whole / 3600) % 24, 'h'],
    [Math.floor(whole / 60) % 60, 'min'],
    [whole % 60, 's'],
  ];
  const first = parts.findIndex(([count]) => count > 0);
  if (first === -1) return '0 s';
  return parts
    .slice(first, first + 2)
    .filter(([count], index) => index === 0 || count > 0)
    .map(([count, unit]) => `${count} ${unit}`)
    .join(' ');
}

/** Bytes that may be negative (safe_wal_size of an unreserved slot). */
const signedBytes = (bytes: number): string =>
  bytes < 0 ? `-${formatBytes(-bytes)}` : formatBytes(bytes);

/**
 * The thresholds the doctor judges by: the environment's fraction and inactivity limit, as its
 * alarms have them (the defaults without a configuration), against the max_slot_wal_keep_size
 * the server runs with (on RDS, what the parameter group sets from
 * replication.maxSlotWalKeepSizeGiB, which is what the alarm compares with).
 */
const thresholdsFor = (health: SlotHealth, { slotThresholds }: CheckContext): SlotThresholds => ({
  safeWalSizeFraction: (slotThresholds ?? DEFAULT_SLOT_THRESHOLDS).safeWalSizeFraction,
  maxInactiveSeconds: (slotThresholds ?? DEFAULT_SLOT_THRESHOLDS).maxInactiveSeconds,
  maxSlotWalKeepSizeBytes: health.maxSlotWalKeepSizeBytes,
});

/** Before 17, pg_replication_slots has no inactive_since. */
const INACTIVE_SINCE_VERSION = 170000;

/** The watchdog's figures for the slot, in words, from its metrics. */
function healthFigures(
  health: SlotHealth,
  slot: SlotReading,
  metrics: readonly MetricValue<SlotMetricName>[],
): string[] {
  const walStatus = metricValue(metrics, 'SlotWalStatus');
  const status = `wal_status ${slot.walStatus ?? 'none'}${walStatus === undefined ? '' : ` (SlotWalStatus ${walStatus})`}`;
  const safe = metricValue(metrics, 'SlotSafeWalSizeBytes');
  const keep = health.maxSlotWalKeepSizeBytes;
  let safeWal: string;
  if (keep === null) safeWal = 'safe WAL size unlimited (max_slot_wal_keep_size = -1)';
  else if (safe === undefined) safeWal = 'no safe WAL size (the slot is lost)';
  else
    safeWal = `safe WAL size ${signedBytes(safe)} of max_slot_wal_keep_size ${formatBytes(keep)}`;
  const inactive = metricValue(metrics, 'SlotInactiveSeconds');
  let activity: string;
  if (slot.active) activity = 'active';
  else if (inactive !== undefined) activity = `inactive for ${formatDuration(inactive)}`;
  else if (health.serverVersion < INACTIVE_SINCE_VERSION) {
    activity = `inactive for an unknown time (PostgreSQL ${Math.floor(health.serverVersion / 10000)} does not record since when, 17+ does)`;
  } else activity = 'inactive for an unknown time';
  const lag = metricValue(metrics, 'SlotConfirmedLagBytes');
  return [
    status,
    safeWal,
    activity,
    ...(lag === undefined ? [] : [`${formatBytes(lag)} not confirmed by the consumer`]),
  ];
}

/** What a breached alarm says, in words. */
function breachedAlarm(
  verdict: SlotVerdict,
  slot: SlotReading,
  thresholds: SlotThresholds,
): string {
  const threshold = verdict.threshold ?? 0;
  switch (verdict.alarm) {
    case 'slot-missing':
      return 'the slot is missing';
    case 'wal-status-not-reserved':
      return `wal_status is ${slot.walStatus ?? 'lost'}, not reserved`;
    case 'safe-wal-size-low':
      return `safe WAL size below ${Math.round(thresholds.safeWalSizeFraction * 100)} % of max_slot_wal_keep_size (${formatBytes(threshold)})`;
    case 'inactive-too-long':
      return `inactive for longer than ${formatDuration(threshold)}`;
  }
}

/**
 * The slot watchdog's figures and the verdicts its alarms would reach, from the watchdog's own
 * code: a warning names each alarm that would fire.
 */
const slotHealthCheck = ofSlot((_slot, input) => {
  const health = input.facts.slotHealth;
  const { slot } = health;
  // The catalog saw the slot, the health read a moment later did not: it was just dropped.
  if (!slot) return skip('no such slot');
  const thresholds = thresholdsFor(health, input);
  const metrics = slotMetrics(health);
  const figures = healthFigures(health, slot, metrics).join('; ');
  const breached = verdictsOf(metrics, thresholds).filter(
    (verdict) => verdict.state === 'breached',
  );
  if (breached.length === 0) return pass(`${figures}; no watchdog alarm would fire`);
  const alarms = breached.map((verdict) => breachedAlarm(verdict, slot, thresholds));
  return warn(`${figures}; the watchdog would alarm: ${alarms.join(', ')}`, {
    notes: [
      isInvalidated(slot)
        ? 'The slot is lost: only re-creating it helps (see the wal_status check above).'
        : 'Run an Airbyte sync now (or check why syncs fail or are not scheduled): the connector confirms its position and PostgreSQL frees the WAL the slot holds.',
    ],
  });
});

const slotName = ({ desired }: CheckContext): string => quoted(desired.slotName);

/**
 * The replication slot: present, usable by Airbyte, not holding too much WAL, and what the slot
 * watchdog's alarms would say about it.
 */
export const SLOT_CHECKS = [
  {
    id: 'slot-exists',
    title: (input) => `replication slot ${slotName(input)} exists`,
    evaluate: slotExists,
  },
  {
    id: 'slot-plugin',
    title: (input) => `slot ${slotName(input)} uses plugin ${SLOT_PLUGIN}`,
    evaluate: slotPlugin,
  },
  {
    id: 'slot-database',
    title: (input) => `slot ${slotName(input)} decodes database "${input.catalog.currentDatabase}"`,
    evaluate: slotDatabase,
  },
  {
    id: 'slot-wal-status',
    title: (input) => `slot ${slotName(input)} is not invalidated (wal_status)`,
    evaluate: slotWalStatus,
  },
  {
    id: 'slot-active',
    title: (input) => `slot ${slotName(input)} consumer`,
    evaluate: slotActive,
  },
  {
    id: 'slot-lag',
    title: (input) => `slot ${slotName(input)} retained WAL`,
    evaluate: slotLag,
  },
  {
    id: 'slot-health',
    title: (input) => `slot ${slotName(input)} as the watchdog sees it`,
    evaluate: slotHealthCheck,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
