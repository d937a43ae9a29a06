/**
 * The pre-upgrade step (issue 15): what must happen to the replication slot before RDS changes
 * the engine version, and the SQL that does it. The custom resource in lambda/pre-upgrade-check
 * runs it before the instance is modified; `npm run doctor --upgrade-to` reuses pendingChanges.
 *
 * It touches the slot and nothing else: the publication, the roles and the tables stay, so that
 * the replication setup after the upgrade only has to recreate the slot.
 */
import { escapeIdentifier, type ClientBase } from 'pg';
import { invalidationCause, isInvalidated } from '../replication/slot-invalidation';
import { isMajorUpgrade, parseEngineVersion, slotFateOnUpgrade, type SlotFate } from './slot-fate';

/** The cdk.json field that acknowledges a slot drop and the Airbyte resync it brings. */
export const ALLOW_SLOT_RECREATION_SETTING = 'replication.allowSlotRecreation';

/** PostgreSQL's object_in_use: the slot is streamed by a WAL sender (peek and drop refuse it). */
const OBJECT_IN_USE = '55006';

/** What a resync costs, said the same way by every refusal. */
const RESYNC_COST =
  'Airbyte then resyncs: a full copy of every published table again (changes made during the upgrade are read by that resync)';

/** The step refused to go on; nothing was changed. The message is the CloudFormation reason. */
export class PreUpgradeRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PreUpgradeRefusedError';
  }
}

/** A consumer streams the slot: it can be neither checked nor dropped now. */
export class SlotInUseError extends PreUpgradeRefusedError {
  constructor(slotName: string, activePid: number | null) {
    super(
      `Replication slot "${slotName}" is active: a consumer is streaming it${activePid === null ? '' : ` (PID ${activePid})`}, so Airbyte is syncing; deploy again after the sync ends. Nothing was dropped.`,
    );
    this.name = 'SlotInUseError';
  }
}

/** A logical slot as pg_replication_slots shows it, with its position. */
export interface SlotPosition {
  readonly slotName: string;
  readonly plugin: string;
  /** The database the slot decodes. */
  readonly database: string;
  /** Up to where the consumer confirmed; `%X/%X`. */
  readonly confirmedFlushLsn: string | null;
  /** The oldest WAL the server keeps for the slot; `%X/%X`. */
  readonly restartLsn: string | null;
  readonly active: boolean;
  readonly activePid: number | null;
  readonly walStatus: string | null;
  /** PostgreSQL 17+: why the slot was invalidated; undefined before 17. */
  readonly invalidationReason?: string | null;
}

interface SlotRow extends Omit<SlotPosition, 'invalidationReason'> {
  readonly inThisDatabase: boolean;
  readonly hasInvalidationReason: boolean;
  readonly invalidationReason: string | null;
}

/**
 * Every logical slot of the instance, this database's first. `invalidation_reason` (17+) comes
 * through to_jsonb of the row, so the statement runs on every major.
 */
const LOGICAL_SLOTS_QUERY = `
SELECT s.slot_name AS "slotName", s.plugin, s.database, s.active, s.active_pid AS "activePid",
       s.confirmed_flush_lsn::text AS "confirmedFlushLsn", s.restart_lsn::text AS "restartLsn",
       s.wal_status AS "walStatus",
       to_jsonb(s) ? 'invalidation_reason' AS "hasInvalidationReason",
       to_jsonb(s) ->> 'invalidation_reason' AS "invalidationReason",
       s.database IS NOT DISTINCT FROM current_database() AS "inThisDatabase"
  FROM pg_replication_slots s
 WHERE s.slot_type = 'logical'
 ORDER BY s.database IS DISTINCT FROM current_database(), s.slot_name`;

/** The instance's logical slots: `own` is `slotName` in the connected database, if it exists. */
export async function readLogicalSlots(
  client: ClientBase,
  slotName: string,
): Promise<{ readonly own?: SlotPosition; readonly others: readonly SlotPosition[] }> {
  // One statement: whether a slot decodes this database comes with it.
  const { rows } = await client.query<SlotRow>(LOGICAL_SLOTS_QUERY);
  const own = rows.find((slot) => slot.slotName === slotName && slot.inThisDatabase);
  const position = ({
    inThisDatabase: _here,
    hasInvalidationReason,
    invalidationReason,
    ...slot
  }: SlotRow): SlotPosition => (hasInvalidationReason ? { ...slot, invalidationReason } : slot);
  return {
    ...(own ? { own: position(own) } : {}),
    others: rows.filter((slot) => slot !== own).map(position),
  };
}

function isObjectInUse(error: unknown): boolean {
  return (error as { code?: unknown }).code === OBJECT_IN_USE;
}

/**
 * Whether the slot holds a change its consumer has not confirmed, without consuming it: pgoutput
 * decodes from the slot's position up to the first transaction that publishes something. A slot
 * a consumer streams cannot be peeked (SlotInUseError).
 *
 * This is a floor, not what RDS checks: pg_upgrade (17+) refuses a slot after whose
 * confirmed_flush_lsn any decodable WAL of its database exists, a write to an unpublished table
 * included, where pgoutput sends nothing. So "none pending" here can still meet RDS's refusal;
 * "pending" never is a false alarm. (Before 15 pgoutput sends even a transaction without a
 * published change, so there every committed write counts, which errs on the safe side.)
 */
export async function pendingChanges(
  client: ClientBase,
  slotName: string,
  publicationName: string,
): Promise<boolean> {
  try {
    const { rows } = await client.query<{ changes: number }>(
      `SELECT count(*)::int AS changes
         FROM pg_logical_slot_peek_binary_changes($1, NULL, 1, 'proto_version', '1', 'publication_names', $2)`,
      // pgoutput splits the option as a list of identifiers: quoted, a name is taken as it is.
      [slotName, escapeIdentifier(publicationName)],
    );
    return rows[0].changes > 0;
  } catch (error) {
    if (isObjectInUse(error)) throw new SlotInUseError(slotName, null);
    throw new Error(
      `Cannot check replication slot "${slotName}" for unconfirmed changes: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** What the step is asked to do. */
export interface PreUpgradeRequest {
  /** The engine version RDS runs now (DescribeDBInstances), e.g. `16.4`. */
  readonly deployedVersion: string;
  /** The engine version the template asks for, e.g. `17`. */
  readonly targetVersion: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** `replication.allowSlotRecreation`: the slot may be dropped, Airbyte resyncs. */
  readonly allowSlotRecreation: boolean;
}

/**
 * - `none`: no major upgrade (same version, a minor upgrade): the slot stays as it is.
 * - `no-slot`: a major upgrade, but there is no slot to worry about.
 * - `kept`: a major upgrade from 17 on with nothing pending: pg_upgrade carries the slot.
 * - `dropped`: this run dropped the slot.
 * - `dropped-earlier`: the slot is gone and the upgrade needs it gone, with the
 *   acknowledgement: a retry of a run that dropped it (or a slot dropped by hand); either way it
 *   must be recreated and Airbyte resync, so it counts as dropped for this upgrade.
 */
export type PreUpgradeAction = 'none' | 'no-slot' | 'kept' | 'dropped' | 'dropped-earlier';

/** What the step did. */
export interface PreUpgradeOutcome {
  readonly fate: SlotFate;
  readonly action: PreUpgradeAction;
  /** The slot is gone for this upgrade: the setup must recreate it and Airbyte resync. */
  readonly slotDropped: boolean;
  /** The slot's position just before this run dropped it (action `dropped` only). */
  readonly droppedSlot?: SlotPosition;
}

/**
 * The fate of the slot, refusing a downgrade (RDS cannot do one, and failing here says why
 * before RDS fails with less to go on).
 */
export function slotFateFor(request: PreUpgradeRequest): SlotFate {
  const fate = slotFateOnUpgrade(request.deployedVersion, request.targetVersion);
  if (fate === 'downgrade') {
    throw new PreUpgradeRefusedError(
      `database.engineVersion "${request.targetVersion}" is below the version the database runs, ${request.deployedVersion}: RDS does not downgrade PostgreSQL. Set database.engineVersion back to at least "${request.deployedVersion}" in cdk.json and deploy again (an older major needs a new database restored from a dump).`,
    );
  }
  return fate;
}

const describeVersions = (request: PreUpgradeRequest) =>
  `the major upgrade from ${request.deployedVersion} to ${request.targetVersion}`;

/** The slot's position as one log line, so that it can be found after the drop. */
export function describePosition(slot: SlotPosition): string {
  return `slot_name ${slot.slotName}, plugin ${slot.plugin}, confirmed_flush_lsn ${slot.confirmedFlushLsn ?? 'none'}, restart_lsn ${slot.restartLsn ?? 'none'}`;
}

/**
 * Run the step on a connection to the slot's database as a role that may drop the slot (RDS's
 * master user, through rds_replication). Throws PreUpgradeRefusedError, having changed nothing,
 * where the upgrade cannot go ahead; otherwise drops the slot (and only it) where it has to go.
 */
export async function runPreUpgradeCheck(
  client: ClientBase,
  request: PreUpgradeRequest,
  log: (message: string) => void,
): Promise<PreUpgradeOutcome> {
  const fate = slotFateFor(request);
  const versions = describeVersions(request);
  if (!isMajorUpgrade(fate)) {
    log(
      `Engine version ${request.deployedVersion} -> ${request.targetVersion} (${fate}): the slot is kept as it is.`,
    );
    return { fate, action: 'none', slotDropped: false };
  }
  const { own, others } = await readLogicalSlots(client, request.slotName);
  if (fate === 'dropped') refuseOtherSlots(request, others);
  if (!own) {
    if (request.allowSlotRecreation) {
      log(
        `Slot "${request.slotName}" does not exist (dropped by an earlier run of this step?): it counts as dropped for ${versions}.`,
      );
      return { fate, action: 'dropped-earlier', slotDropped: true };
    }
    log(`Slot "${request.slotName}" does not exist: nothing stands in the way of ${versions}.`);
    return { fate, action: 'no-slot', slotDropped: false };
  }
  if (own.active) throw new SlotInUseError(own.slotName, own.activePid);
  if (fate === 'dropped') {
    if (!request.allowSlotRecreation) {
      throw new PreUpgradeRefusedError(
        `${capitalised(versions)} needs replication slot "${request.slotName}" dropped: RDS refuses a major upgrade from before 17 while a logical replication slot exists. Nothing was changed. To go ahead, set "${ALLOW_SLOT_RECREATION_SETTING}": true for this environment in cdk.json and deploy again: this step then drops the slot (logging its position), the replication setup recreates it after the upgrade, and ${RESYNC_COST}. Or keep database.engineVersion at "${request.deployedVersion}".`,
      );
    }
    return dropSlot(client, own, fate, versions, log);
  }
  // From 17 on: pg_upgrade keeps the slot if its consumer confirmed everything.
  if (isInvalidated(own)) {
    if (!request.allowSlotRecreation) {
      throw new PreUpgradeRefusedError(
        `Replication slot "${request.slotName}" is invalidated (${invalidationCause(own)}): pg_upgrade refuses an invalidated slot, and Airbyte must resync from a new one anyway. Nothing was changed. Set "${ALLOW_SLOT_RECREATION_SETTING}": true for this environment in cdk.json and deploy again: this step then drops the slot, the replication setup recreates it after the upgrade, and ${RESYNC_COST}.`,
      );
    }
    return dropSlot(client, own, fate, versions, log);
  }
  if (!(await pendingChanges(client, request.slotName, request.publicationName))) {
    log(
      `Slot "${request.slotName}" has no unconfirmed changes: ${versions} keeps it (pg_upgrade carries it over). Position: ${describePosition(own)}.`,
    );
    return { fate, action: 'kept', slotDropped: false };
  }
  if (!request.allowSlotRecreation) {
    throw new PreUpgradeRefusedError(
      `Replication slot "${request.slotName}" holds changes Airbyte has not confirmed, and pg_upgrade refuses such a slot in ${versions}. Nothing was changed. Either let Airbyte catch up, then deploy again: stop writes to the published tables and run two syncs (with Airbyte's default LSN commit behaviour, the position a sync read is confirmed at the start of the next sync); or set "${ALLOW_SLOT_RECREATION_SETTING}": true for this environment in cdk.json to drop the slot and have it recreated after the upgrade: ${RESYNC_COST}.`,
    );
  }
  return dropSlot(client, own, fate, versions, log);
}

/**
 * RDS refuses a major upgrade from before 17 while any logical slot exists, not only the
 * stack's: say so before the stack's slot is dropped for nothing. Slots the stack does not
 * manage are never dropped here.
 */
function refuseOtherSlots(request: PreUpgradeRequest, others: readonly SlotPosition[]): void {
  if (others.length === 0) return;
  const named = others.map((slot) => `"${slot.slotName}" (database ${slot.database})`).join(', ');
  throw new PreUpgradeRefusedError(
    `RDS refuses ${describeVersions(request)} while any logical replication slot exists, and this database server has slots this stack does not manage: ${named}. Nothing was changed. Drop them where their consumers allow it (SELECT pg_drop_replication_slot('<name>');), then deploy again.`,
  );
}

async function dropSlot(
  client: ClientBase,
  slot: SlotPosition,
  fate: SlotFate,
  versions: string,
  log: (message: string) => void,
): Promise<PreUpgradeOutcome> {
  log(
    `Dropping replication slot "${slot.slotName}" for ${versions}; its position: ${describePosition(slot)}.`,
  );
  try {
    // By name, and only the one slot: a consumer that connected since the read makes this fail
    // with object_in_use rather than lose its stream.
    await client.query('SELECT pg_drop_replication_slot($1)', [slot.slotName]);
  } catch (error) {
    if (isObjectInUse(error)) throw new SlotInUseError(slot.slotName, null);
    throw new Error(
      `Cannot drop replication slot "${slot.slotName}" before ${versions}: ${(error as Error).message}`,
      { cause: error },
    );
  }
  log(
    `Dropped replication slot "${slot.slotName}": the replication setup recreates it after the upgrade, and Airbyte resyncs.`,
  );
  return { fate, action: 'dropped', slotDropped: true, droppedSlot: slot };
}

const capitalised = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);

/** The generation before the step ever dropped the slot. */
export const INITIAL_SLOT_GENERATION = 'initial';

/**
 * The slot generation after a drop for an upgrade to `targetVersion`: derived from the target
 * major alone, so that a retry after the drop (which finds no slot and no position) names the
 * same generation, and two drops never share one (each needs a major upgrade, and majors only
 * go up).
 */
export function slotGenerationAfterDrop(targetVersion: string): string {
  return `dropped-for-${parseEngineVersion(targetVersion).major}`;
}

/** The generation after this run: a new one exactly when the slot was dropped for this upgrade. */
export function nextSlotGeneration(
  previous: string,
  outcome: Pick<PreUpgradeOutcome, 'slotDropped'>,
  targetVersion: string,
): string {
  return outcome.slotDropped ? slotGenerationAfterDrop(targetVersion) : previous;
}
