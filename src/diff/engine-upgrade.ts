/**
 * An engine version change of the database (an RDS instance or an Aurora cluster), as
 * `npm run diff` reports it: what the upgrade does to the replication slot (slotFateOnUpgrade
 * decides it, the same on Aurora) and to the Airbyte connection, read from the head template
 * alone (docs/upgrading.md).
 */
import { AIRBYTE_UI_RESYNC } from '../airbyte/resync';
import { AIRBYTE_RESOURCE_TYPE } from '../contract/airbyte-connection';
import { stackNameFor } from '../contract/aws-names';
import { PRE_UPGRADE_CHECK_RESOURCE_TYPE } from '../contract/pre-upgrade-check';
import { parseEngineVersion, slotFateOnUpgrade, type SlotFate } from '../upgrade/slot-fate';
import type { CloudFormationResource, CloudFormationTemplate, ResourceRef } from './analyze';

export const DB_INSTANCE_TYPE = 'AWS::RDS::DBInstance';
export const DB_CLUSTER_TYPE = 'AWS::RDS::DBCluster';

/**
 * Whether the resource is an instance of a DB cluster (an Aurora writer or reader): its engine
 * version and its storage are the cluster's.
 */
export function isClusterMember(resource: CloudFormationResource | undefined): boolean {
  return (
    resource?.Type === DB_INSTANCE_TYPE && resource.Properties?.DBClusterIdentifier !== undefined
  );
}

/** What carries the engine version: a stand-alone RDS instance, or a DB cluster. */
export type UpgradedDatabase = 'instance' | 'cluster';

/** A change of the `EngineVersion` of an RDS instance or a DB cluster between the base and the head. */
export interface EngineUpgrade extends ResourceRef {
  /** The base's engine version, e.g. `16`. */
  readonly from: string;
  /** The head's engine version, e.g. `17`. */
  readonly to: string;
  readonly fate: SlotFate;
  /** An RDS instance, or a cluster (Aurora: its instances follow the cluster's version). */
  readonly database: UpgradedDatabase;
  /** The head's `Engine` (`postgres`, `aurora-postgresql`), when the template states it. */
  readonly engine?: string;
  /**
   * The head's pre-upgrade check has `replication.allowSlotRecreation` on; undefined when the
   * head has no pre-upgrade check.
   */
  readonly allowSlotRecreation?: boolean;
  /** The head manages the Airbyte connection (`airbyte.apiUrl`): the deploy starts the resync. */
  readonly airbyteManaged: boolean;
}

/** Whether the upgrade drops the slot for certain: a destructive change. */
export function dropsSlot(upgrade: Pick<EngineUpgrade, 'fate'>): boolean {
  return upgrade.fate === 'dropped';
}

function isEngineVersion(value: unknown): value is string {
  if (typeof value !== 'string') return false;
  try {
    parseEngineVersion(value);
    return true;
  } catch {
    return false;
  }
}

function resourcesOfType(template: CloudFormationTemplate | undefined, type: string) {
  return Object.values(template?.Resources ?? {}).filter((resource) => resource.Type === type);
}

function allowSlotRecreationOf(head: CloudFormationTemplate): boolean | undefined {
  const [check] = resourcesOfType(head, PRE_UPGRADE_CHECK_RESOURCE_TYPE);
  if (!check) return undefined;
  return String(check.Properties?.AllowSlotRecreation) === 'true';
}

/** The kind of database whose `EngineVersion` this resource carries, if any. */
function upgradedDatabase(resource: CloudFormationResource): UpgradedDatabase | undefined {
  if (resource.Type === DB_CLUSTER_TYPE) return 'cluster';
  // A cluster's instances carry no version of their own: the cluster's upgrade is theirs.
  if (resource.Type === DB_INSTANCE_TYPE && !isClusterMember(resource)) return 'instance';
  return undefined;
}

/**
 * Every RDS instance and DB cluster present on both sides whose `EngineVersion` differs, with
 * what the upgrade does to the slot. `ref` names the database the way the rest of the report
 * does.
 */
export function engineUpgrades(
  base: CloudFormationTemplate | undefined,
  head: CloudFormationTemplate | undefined,
  ref: (logicalId: string, resource: CloudFormationResource) => ResourceRef,
): EngineUpgrade[] {
  if (!base || !head) return [];
  const allowSlotRecreation = allowSlotRecreationOf(head);
  const airbyteManaged = resourcesOfType(head, AIRBYTE_RESOURCE_TYPE).length > 0;
  return Object.entries(head.Resources ?? {}).flatMap(([logicalId, resource]) => {
    const before = base.Resources?.[logicalId];
    const database = upgradedDatabase(resource);
    if (database === undefined || before?.Type !== resource.Type) return [];
    const from = before.Properties?.EngineVersion;
    const to = resource.Properties?.EngineVersion;
    // A version CloudFormation resolves at deploy time (a parameter) is not known here.
    if (!isEngineVersion(from) || !isEngineVersion(to) || from === to) return [];
    return [
      {
        ...ref(logicalId, resource),
        from,
        to,
        fate: slotFateOnUpgrade(from, to),
        database,
        ...(typeof resource.Properties?.Engine === 'string'
          ? { engine: resource.Properties.Engine }
          : {}),
        ...(allowSlotRecreation === undefined ? {} : { allowSlotRecreation }),
        airbyteManaged,
      },
    ];
  });
}

const RESYNC_COST = 'a full copy of every published table';

/**
 * Why the parameter group's replacement in the same diff is no loss. An instance has a DB
 * parameter group, an Aurora cluster a DB cluster parameter group.
 */
function parameterGroupSentence(database: UpgradedDatabase): string {
  return `The ${database}'s parameter group is replaced by one of the new major's family with the same settings, and the ${database} moves to it with the upgrade's own restart: neither is a replacement of the database.`;
}

function resyncSentence(upgrade: EngineUpgrade): string {
  return upgrade.airbyteManaged
    ? 'The stack manages the connection (`airbyte.apiUrl`): the deploy starts the resync itself (an Airbyte `reset` job) once the connection is applied, and the next sync reads everything again.'
    : `The stack does not manage Airbyte: after the deploy, ${AIRBYTE_UI_RESYNC}.`;
}

function acknowledgementSentence(upgrade: EngineUpgrade): string {
  if (upgrade.allowSlotRecreation === true)
    return '`replication.allowSlotRecreation` is `true` in the head: the drop is acknowledged.';
  return '`replication.allowSlotRecreation: true` is required and the head does not set it: the deploy stops at the pre-upgrade check, before anything changes, until it is set.';
}

/** The environment whose stack this is (`RdsAirbyteCdc-prod` → `prod`), else a placeholder. */
function environmentOf(stackName: string): string {
  const prefix = stackNameFor('');
  return stackName.startsWith(prefix) && stackName.length > prefix.length
    ? stackName.slice(prefix.length)
    : '<env>';
}

/** The engine as a reader knows it: `Aurora PostgreSQL` for `aurora-postgresql`. */
function engineName(upgrade: EngineUpgrade): string {
  return upgrade.engine?.startsWith('aurora') ? 'Aurora PostgreSQL' : 'PostgreSQL';
}

/**
 * The report's lines about one engine version change: a CAUTION for a major upgrade or a
 * downgrade, a NOTE for a minor change. `name` names the instance or cluster as the report does.
 */
export function engineUpgradeLines(
  upgrade: EngineUpgrade,
  name: string,
  stackName: string,
): string[] {
  const database = `database ${upgrade.database} ${name}`;
  const versions = `${engineName(upgrade)} ${upgrade.from} → ${upgrade.to}`;
  const restarted = upgrade.database === 'cluster' ? "the cluster's instances" : 'the instance';
  switch (upgrade.fate) {
    case 'unchanged':
    case 'kept-minor':
      return [
        '> [!NOTE]',
        `> **Minor engine version change of the ${database}: ${versions}.** The replication slot and its position are kept: RDS restarts ${restarted} with new binaries, and Airbyte's next sync resumes where the last one stopped.`,
        '',
      ];
    case 'downgrade':
      return [
        '> [!CAUTION]',
        `> **Engine downgrade of the ${database}: ${versions}.** RDS does not downgrade PostgreSQL: the deploy fails at the pre-upgrade check, before anything changes. Keep \`database.engineVersion\` at or above what the ${upgrade.database} runs.`,
        '',
      ];
    case 'dropped':
      return [
        '> [!CAUTION]',
        `> **Major engine upgrade of the ${database}: ${versions}. The replication slot will be dropped and recreated, and the Airbyte connection resynced.**`,
        `> RDS refuses a major upgrade from before 17 while a logical replication slot exists: the pre-upgrade check drops the slot (logging its position) before the ${upgrade.database} is modified, and the replication setup recreates it after the upgrade. ${acknowledgementSentence(upgrade)}`,
        `> Airbyte's position is lost with the slot, so the connection must resync: ${RESYNC_COST}. ${resyncSentence(upgrade)}`,
        `> ${parameterGroupSentence(upgrade.database)}`,
        '',
      ];
    case 'kept-if-consumed':
      return [
        '> [!CAUTION]',
        `> **Major engine upgrade of the ${database}: ${versions}. The replication slot is kept, provided it has no unconfirmed changes.**`,
        `> From 17 on the upgrade carries logical slots over, but RDS refuses one holding changes Airbyte has not confirmed; the pre-upgrade check peeks at the slot before the ${upgrade.database} is modified. ` +
          (upgrade.allowSlotRecreation === true
            ? `With unconfirmed changes, \`replication.allowSlotRecreation\` (\`true\` in the head) lets it drop the slot instead, and the Airbyte connection then resyncs: ${RESYNC_COST}. ${resyncSentence(upgrade)}`
            : 'With unconfirmed changes the deploy stops there, before anything changes: let Airbyte sync (two syncs after writes stop), then deploy again.'),
        `> Before deploying, \`npm run doctor -- --env ${environmentOf(stackName)} --upgrade-to ${parseEngineVersion(upgrade.to).major}\` tells which it will be.`,
        `> ${parameterGroupSentence(upgrade.database)}`,
        '',
      ];
  }
}
