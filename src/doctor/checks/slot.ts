import { escapeLiteral } from 'pg';
import { invalidationCause, isInvalidated, SLOT_PLUGIN, type SlotState } from '../../replication';
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
  const retained = facts.slotWal?.retainedBytes;
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

const slotName = ({ desired }: CheckContext): string => quoted(desired.slotName);

/** The replication slot: present, usable by Airbyte, and not holding too much WAL. */
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
] as const satisfies readonly CheckDefinition<CheckContext>[];
