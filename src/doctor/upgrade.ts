/**
 * `npm run doctor -- --upgrade-to <version>`: what an engine upgrade of this server will do to
 * the replication slot, and the steps, from the server's real version and the slot's state
 * (docs/upgrading.md). The fate comes from slotFateOnUpgrade and the peek from the pre-upgrade
 * step's pendingChanges, so that the doctor says what the deploy will do.
 */
import type { ClientBase } from 'pg';
import { AIRBYTE_UI_RESYNC } from '../airbyte/resync';
import { stackNameFor } from '../contract/aws-names';
import { SUPPORTED_ENGINE_MAJORS } from '../config/database';
import { invalidationCause, isInvalidated } from '../replication/slot-invalidation';
import {
  ALLOW_SLOT_RECREATION_SETTING,
  pendingChanges,
  readLogicalSlots,
  SlotInUseError,
  type SlotPosition,
} from '../upgrade/pre-upgrade';
import {
  isMajorUpgrade,
  parseEngineVersion,
  slotFateOnUpgrade,
  type SlotFate,
} from '../upgrade/slot-fate';

/** What the doctor is asked about an upgrade, and what it needs of the environment to answer. */
export interface UpgradeQuestion {
  /** The version to upgrade to, as `database.engineVersion` would say it: `18`, `17.6`. */
  readonly targetVersion: string;
  /** The environment (cdk.json), for the commands the steps print. */
  readonly environment: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** `replication.allowSlotRecreation` of the environment. */
  readonly allowSlotRecreation: boolean;
  /** The stack manages the Airbyte connection (`airbyte.apiUrl`): the deploy starts the resync. */
  readonly airbyteManaged: boolean;
}

/**
 * Whether the slot holds changes its consumer has not confirmed: `none` or `pending` from the
 * peek; `unknown` when it could not be peeked (the reason says why); absent when not asked (no
 * major upgrade, no slot, an invalidated slot).
 */
export type PendingChanges =
  { readonly state: 'none' | 'pending' } | { readonly state: 'unknown'; readonly reason: string };

/** What the doctor read from the server for the question. */
export interface UpgradeFacts {
  /** The server's version from server_version_num: `16.4`. */
  readonly serverVersion: string;
  /** The stack's slot in the connected database, if it exists. */
  readonly slot?: SlotPosition;
  /** The instance's other logical slots (RDS refuses a major upgrade from before 17 with any). */
  readonly otherSlots: readonly SlotPosition[];
  readonly pending?: PendingChanges;
}

/** The doctor's answer, printed after the checks and part of `--json`. */
export interface UpgradePlan {
  readonly from: string;
  readonly to: string;
  readonly fate: SlotFate;
  /** The slot's state, one line. */
  readonly slotState: string;
  /** What the upgrade will do, in a few sentences. */
  readonly outcome: string;
  /** What to do, in order. */
  readonly steps: readonly string[];
  /** Alternatives and caveats. */
  readonly notes: readonly string[];
}

/**
 * `--upgrade-to` as given: a major or `major.minor` of a supported major; undefined when it is
 * not one (the message says what is accepted).
 */
export function upgradeTargetProblem(value: string): string | undefined {
  let major: number;
  try {
    major = parseEngineVersion(value).major;
  } catch {
    return `must be a PostgreSQL version such as "18" or "17.6", got "${value}"`;
  }
  return (SUPPORTED_ENGINE_MAJORS as readonly string[]).includes(String(major))
    ? undefined
    : `must name a major RDS supports here (${SUPPORTED_ENGINE_MAJORS.join(', ')}), got "${value}"`;
}

/** server_version_num (`160004`) as a version (`16.4`); PostgreSQL 10+ numbers it so. */
export function serverVersionOf(serverVersionNum: number): string {
  return `${Math.floor(serverVersionNum / 10000)}.${serverVersionNum % 10000}`;
}

/** Whether the fate depends on what the slot holds (a major upgrade). */
/**
 * Read what the answer needs: the version, the slot, the other slots and, for a major upgrade
 * with an inactive, valid slot, whether it holds unconfirmed changes. An active slot is not
 * peeked (a consumer streams it; the peek would fail and the pre-upgrade step refuses it too).
 */
export async function readUpgradeFacts(
  client: ClientBase,
  question: UpgradeQuestion,
): Promise<UpgradeFacts> {
  const { rows } = await client.query<{ version: string }>(
    "SELECT current_setting('server_version_num') AS version",
  );
  const serverVersion = serverVersionOf(Number(rows[0].version));
  const { own, others } = await readLogicalSlots(client, question.slotName);
  const fate = slotFateOnUpgrade(serverVersion, question.targetVersion);
  if (!own || !isMajorUpgrade(fate) || own.active || isInvalidated(own)) {
    return { serverVersion, ...(own ? { slot: own } : {}), otherSlots: others };
  }
  return {
    serverVersion,
    slot: own,
    otherSlots: others,
    pending: await peek(client, question),
  };
}

async function peek(client: ClientBase, question: UpgradeQuestion): Promise<PendingChanges> {
  try {
    return (await pendingChanges(client, question.slotName, question.publicationName))
      ? { state: 'pending' }
      : { state: 'none' };
  } catch (error) {
    if (error instanceof SlotInUseError)
      return { state: 'unknown', reason: 'a consumer started streaming the slot meanwhile' };
    return { state: 'unknown', reason: (error as Error).message };
  }
}

function describeSlot(question: UpgradeQuestion, facts: UpgradeFacts): string {
  const { slot, pending } = facts;
  if (!slot) return `slot "${question.slotName}" does not exist`;
  const parts = [`slot "${slot.slotName}" exists`];
  if (slot.active)
    parts.push(`active (streamed${slot.activePid === null ? '' : ` by PID ${slot.activePid}`})`);
  else parts.push('inactive');
  if (isInvalidated(slot)) parts.push(`invalidated (${invalidationCause(slot)})`);
  if (pending?.state === 'none') parts.push('no unconfirmed changes');
  if (pending?.state === 'pending') parts.push('holds changes Airbyte has not confirmed');
  if (pending?.state === 'unknown')
    parts.push(`unconfirmed changes not checked: ${pending.reason}`);
  parts.push(`confirmed_flush_lsn ${slot.confirmedFlushLsn ?? 'none'}`);
  return parts.join(', ');
}

/** The sentences and commands every plan shares, for one question. */
function phrases(question: UpgradeQuestion, from: string) {
  const { environment: env, targetVersion: to } = question;
  return {
    acknowledge: `Set "${ALLOW_SLOT_RECREATION_SETTING}": true for ${env} in cdk.json: without it the deploy's pre-upgrade check stops before anything changes.`,
    setVersion: `Set "database.engineVersion": "${to}" for ${env} in cdk.json.`,
    diff: `Read what \`npm run diff -- --base origin/main --env ${env}\` says about the engine upgrade (a CAUTION for a major upgrade).`,
    deploy: `Deploy: \`npx cdk deploy ${stackNameFor(env)}\`.`,
    resync: question.airbyteManaged
      ? "The deploy starts the Airbyte resync itself (a reset job of the connection; its id is in the Airbyte function's log): the next sync copies every published table again."
      : `After the deploy, resync the Airbyte connection (a full copy of every published table): ${AIRBYTE_UI_RESYNC}.`,
    waitForSync:
      'Let the running Airbyte sync end (or pause the connection): the pre-upgrade check refuses a slot that is being streamed.',
    askAgain: `Ask again: \`npm run doctor -- --env ${env} --upgrade-to ${to}\`.`,
    after: `Afterwards, check the pipeline: \`npm run doctor -- --env ${env}\`.`,
    blueGreen: `Or upgrade with an RDS blue/green deployment, which needs the slot dropped first and recreated after the switchover (docs/upgrading.md#blue-green-deployments).`,
    keep: `Or keep database.engineVersion at "${from}".`,
  };
}

const RESYNC_COST = 'the Airbyte connection resyncs: a full copy of every published table';

/** What the upgrade will do and the steps, from the facts. Pure: the tests give any facts. */
export function planUpgrade(facts: UpgradeFacts, question: UpgradeQuestion): UpgradePlan {
  const from = facts.serverVersion;
  const to = question.targetVersion;
  const fate = slotFateOnUpgrade(from, to);
  const say = phrases(question, from);
  const slotName = question.slotName;
  const { slot, pending } = facts;
  const base = { from, to, fate, slotState: describeSlot(question, facts) };
  const majorSteps = (...first: (string | false)[]) =>
    [...first, say.setVersion, say.diff, slot?.active ? say.waitForSync : false, say.deploy].filter(
      (step): step is string => step !== false,
    );

  switch (fate) {
    case 'unchanged':
      return {
        ...base,
        outcome: `The server runs ${from}, which "${to}" already names: nothing happens to the slot.`,
        steps: [],
        notes: [],
      };
    case 'downgrade':
      return {
        ...base,
        outcome: `RDS does not downgrade PostgreSQL: a deploy with "${to}" fails at the pre-upgrade check, before anything changes. Keep database.engineVersion at or above ${from}.`,
        steps: [],
        notes: [],
      };
    case 'kept-minor':
      return {
        ...base,
        outcome: `A minor upgrade: RDS replaces the binaries and restarts the instance; the slot and its position, the publication and the replication user stay, and Airbyte's next sync resumes where the last one stopped.`,
        steps: [say.setVersion, say.diff, say.deploy, say.after],
        notes: [
          'With a bare major in database.engineVersion, RDS applies minor upgrades itself in the maintenance window (AutoMinorVersionUpgrade): the same holds for them.',
        ],
      };
    case 'dropped': {
      const others = facts.otherSlots.map(
        (other) => `"${other.slotName}" (database ${other.database})`,
      );
      const dropOthers =
        others.length > 0 &&
        `Drop the instance's other logical slots, which RDS refuses as well (${others.join(', ')}), where their consumers allow it: SELECT pg_drop_replication_slot('<name>');`;
      if (!slot) {
        return {
          ...base,
          outcome: `RDS refuses a major upgrade from ${from} while a logical replication slot exists, and slot "${slotName}" does not exist now. ${
            question.allowSlotRecreation
              ? `The pre-upgrade check counts it as dropped: the replication setup creates it after the upgrade, and ${RESYNC_COST}.`
              : `Without ${ALLOW_SLOT_RECREATION_SETTING} the setup does not run again for the upgrade: create the slot after it with the statement the slot check prints, and Airbyte resyncs from it.`
          }`,
          steps: [
            ...majorSteps(dropOthers),
            ...(question.allowSlotRecreation ? [say.resync] : []),
            say.after,
          ],
          notes: [say.blueGreen],
        };
      }
      return {
        ...base,
        outcome: `RDS refuses a major upgrade from ${from} while a logical replication slot exists: the deploy's pre-upgrade check drops slot "${slotName}" (logging its position), the replication setup recreates it after the upgrade, and ${RESYNC_COST}${pending?.state === 'pending' ? ' (the changes the slot holds now are part of that copy)' : ''}.`,
        steps: [
          ...majorSteps(!question.allowSlotRecreation && say.acknowledge, dropOthers),
          say.resync,
          say.after,
        ],
        notes: [say.blueGreen, say.keep],
      };
    }
    case 'kept-if-consumed':
      return { ...base, ...keptIfConsumed(facts, question, say, majorSteps) };
  }
}

function keptIfConsumed(
  facts: UpgradeFacts,
  question: UpgradeQuestion,
  say: ReturnType<typeof phrases>,
  majorSteps: (...first: (string | false)[]) => string[],
): Pick<UpgradePlan, 'outcome' | 'steps' | 'notes'> {
  const { slot, pending } = facts;
  const slotName = question.slotName;
  const allow = question.allowSlotRecreation;
  const dropInstead = `with ${ALLOW_SLOT_RECREATION_SETTING}: true, the pre-upgrade check drops it instead, the setup recreates it after the upgrade, and ${RESYNC_COST}.`;
  if (!slot) {
    return {
      outcome: `Slot "${slotName}" does not exist: nothing stands in the way of the upgrade. ${
        allow
          ? `The pre-upgrade check counts it as dropped: the replication setup creates it after the upgrade, and ${RESYNC_COST}.`
          : 'Create it with the statement the slot check prints; Airbyte resyncs from it.'
      }`,
      steps: [...majorSteps(), ...(allow ? [say.resync] : []), say.after],
      notes: [],
    };
  }
  if (isInvalidated(slot)) {
    return {
      outcome: `Slot "${slotName}" is invalidated (${invalidationCause(slot)}): pg_upgrade refuses it, and Airbyte must resync from a new slot anyway. The pre-upgrade check drops it (with the acknowledgement), the replication setup recreates it after the upgrade, and ${RESYNC_COST}.`,
      steps: [...majorSteps(!allow && say.acknowledge), say.resync, say.after],
      notes: [],
    };
  }
  if (slot.active || pending?.state === 'unknown') {
    return {
      outcome: slot.active
        ? `Slot "${slotName}" is being streamed (an Airbyte sync is running), so whether it holds unconfirmed changes cannot be checked now; the pre-upgrade check refuses an active slot too.`
        : `Whether slot "${slotName}" holds unconfirmed changes could not be checked (${pending?.state === 'unknown' ? pending.reason : ''}): the pre-upgrade check peeks the same way, as the master user.`,
      steps: [
        slot.active
          ? say.waitForSync
          : 'Run the doctor as the master user (the deployed stack without --host does).',
        say.askAgain,
      ],
      notes: [],
    };
  }
  const lsnCommit =
    'Airbyte confirms the position a sync read only when the next sync starts (its default LSN commit behaviour), so after writes stop it takes two syncs before the slot has nothing unconfirmed.';
  if (pending?.state === 'pending') {
    return {
      outcome: `Slot "${slotName}" holds changes Airbyte has not confirmed, and RDS refuses the upgrade with such a slot. ${
        allow
          ? `${ALLOW_SLOT_RECREATION_SETTING} is true: the pre-upgrade check drops the slot instead, the setup recreates it after the upgrade, and ${RESYNC_COST}. To keep the slot, let Airbyte catch up first (the steps).`
          : 'Without the acknowledgement the deploy stops at the pre-upgrade check, before anything changes, until Airbyte has caught up.'
      }`,
      steps: [
        'Stop writes to the published tables (or wait for a quiet period).',
        `Run an Airbyte sync, then a second one: ${lsnCommit}`,
        `${say.askAgain} It should say the slot has no unconfirmed changes.`,
        ...majorSteps(),
        say.after,
      ],
      notes: [
        allow
          ? 'Deploying without catching up drops the slot and resyncs (the acknowledgement is given).'
          : `Or accept a resync: ${dropInstead}`,
        say.blueGreen,
      ],
    };
  }
  return {
    outcome: `Slot "${slotName}" has no unconfirmed changes now: pg_upgrade carries it over with its position, and Airbyte resumes after the upgrade. Every change Airbyte has not confirmed by the time of the deploy makes RDS refuse it (${allow ? 'the pre-upgrade check then drops it and Airbyte resyncs' : 'the pre-upgrade check then stops the deploy'}).`,
    steps: [...majorSteps(), say.after],
    notes: [
      `Deploy soon after a sync, while writes to the published tables are quiet: ${lsnCommit}`,
      "The peek is a floor, not RDS's own check: RDS also refuses a slot with any decodable WAL after its confirmed position, a write to an unpublished table of this database included, which the peek does not see. If RDS refuses, its log (the instance's upgrade log in CloudWatch Logs) says so, and the instance stays on its version.",
      ...(allow ? [] : [`Or accept a resync whatever the slot holds: ${dropInstead}`]),
    ],
  };
}

const HEADLINES: Readonly<Record<SlotFate, string>> = {
  unchanged: 'the same version, nothing changes',
  'kept-minor': 'a minor upgrade, the slot is kept',
  dropped: 'a major upgrade from before 17: the slot is dropped and recreated, Airbyte resyncs',
  'kept-if-consumed':
    'a major upgrade from 17 on: the slot is kept if it has no unconfirmed changes',
  downgrade: 'a downgrade, which RDS refuses',
};

/** The plan as the doctor prints it after the checks. */
export function formatUpgradePlan(plan: UpgradePlan): string[] {
  const indent = '     ';
  return [
    `Upgrade from ${plan.from} (the server's version) to ${plan.to}: ${HEADLINES[plan.fate]}.`,
    `${indent}Now: ${plan.slotState}.`,
    `${indent}${plan.outcome}`,
    ...plan.steps.map((step, index) => `${indent}${index + 1}. ${step}`),
    ...plan.notes.map((note) => `${indent}→ ${note}`),
  ];
}
