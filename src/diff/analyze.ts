import { stripVTControlCharacters } from 'util';
import {
  deepEqual,
  fullDiff,
  ResourceImpact,
  type ResourceDifference,
  type TemplateDiff,
} from '@aws-cdk/cloudformation-diff';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../contract/replication-setup';
import {
  DB_CLUSTER_TYPE,
  DB_INSTANCE_TYPE,
  dropsSlot,
  engineUpgrades,
  isClusterMember,
  type EngineUpgrade,
} from './engine-upgrade';
import { isMajorUpgrade } from '../upgrade/slot-fate';

/** A CloudFormation resource as it appears in a synthesized template. */
export interface CloudFormationResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
  readonly DeletionPolicy?: string;
  readonly [attribute: string]: unknown;
}

/** The parts of a CloudFormation template the report reads. */
export interface CloudFormationTemplate {
  readonly Resources?: Record<string, CloudFormationResource>;
  readonly Outputs?: Record<string, unknown>;
  readonly [section: string]: unknown;
}

/**
 * A resource whose replacement or deletion loses data or breaks CDC. Matched on the type (and
 * for an RDS instance on whether it belongs to a cluster) and, for generic custom resources, on
 * the logical id, so that it holds for resources other teams add later.
 */
export interface ProtectedResource {
  /** What the resource is, for the warning. */
  readonly what: string;
  /** What replacing or deleting it does, and what to do about it. */
  readonly consequence: string;
  /** `resource` is the base's (what is replaced or deleted), else the head's. */
  readonly matches: (logicalId: string, resource: CloudFormationResource) => boolean;
  /**
   * Properties CloudFormation updates in place but whose change recreates what matters anyway
   * (a custom resource whose handler drops and creates the slot again).
   */
  readonly recreatingProperties?: readonly string[];
}

export const PROTECTED_RESOURCES: readonly ProtectedResource[] = [
  {
    what: 'database instance',
    consequence:
      'a new, empty instance is created and the old one is deleted (a final snapshot only if its DeletionPolicy is Snapshot); ' +
      'the replication slot goes with it, so every Airbyte connection must resync from scratch. ' +
      'If this is not intended, find the property marked "replace" below and revert it.',
    matches: (_logicalId, resource) =>
      resource.Type === DB_INSTANCE_TYPE && !isClusterMember(resource),
  },
  {
    what: 'database cluster',
    consequence:
      'a new, empty cluster is created and the old one is deleted with its instances (a final snapshot only if its DeletionPolicy is Snapshot); ' +
      'the replication slot goes with it, so every Airbyte connection must resync from scratch. ' +
      'If this is not intended, find the property marked "replace" below and revert it.',
    matches: (_logicalId, resource) => resource.Type === DB_CLUSTER_TYPE,
  },
  {
    // Reported, because replacing the writer interrupts CDC like a reboot; unlike a stand-alone
    // instance it loses nothing.
    what: 'cluster instance',
    consequence:
      "no data is lost: the data, the WAL and the replication slot live in the cluster's storage, not in its instances. " +
      'If it is the writer, the cluster fails over to another instance: for a minute or so the writer endpoint does not answer, ' +
      'a sync running then fails and Airbyte retries it, resuming from the slot. A reader does not serve CDC: its replacement only takes it out of the reader endpoint meanwhile. ' +
      'If this is not intended, find the property marked "replace" below and revert it.',
    matches: (_logicalId, resource) => isClusterMember(resource),
  },
  {
    what: 'database parameter group',
    consequence:
      'the instance moves to a new group: static settings (rds.logical_replication, max_replication_slots, max_wal_senders) ' +
      'wait for a reboot, and the reboot interrupts CDC. Plan a maintenance window.',
    matches: (_logicalId, resource) => resource.Type === 'AWS::RDS::DBParameterGroup',
  },
  {
    what: 'database cluster parameter group',
    consequence:
      'the cluster moves to a new group: static settings (rds.logical_replication, max_replication_slots, max_wal_senders) ' +
      'wait for a reboot of the writer, and the reboot interrupts CDC. Plan a maintenance window.',
    matches: (_logicalId, resource) => resource.Type === 'AWS::RDS::DBClusterParameterGroup',
  },
  {
    what: 'replication setup',
    consequence:
      'the old slot and publication are dropped and new ones created: Airbyte loses its position, must be pointed at the new names and resyncs. ' +
      'Keep its construct id (logical id), replication.slotName, replication.publicationName and database.databaseName stable unless a resync is planned.',
    matches: (logicalId, resource) =>
      resource.Type === REPLICATION_SETUP_RESOURCE_TYPE ||
      (resource.Type === 'AWS::CloudFormation::CustomResource' &&
        /ReplicationSetup/i.test(logicalId)),
    // The setup answers a new slot, publication or database with a new physical resource, and
    // CloudFormation then deletes the old one, although the template diff shows an update.
    recreatingProperties: ['SlotName', 'PublicationName', 'Database'],
  },
];

/** A resource, named the way a reviewer recognises it. */
export interface ResourceRef {
  readonly logicalId: string;
  readonly type: string;
  /** The construct path (`RdsAirbyteCdc-dev/Database/Instance/Resource`), when the template records it. */
  readonly constructPath?: string;
}

export interface PropertyChange {
  readonly name: string;
  readonly impact: ResourceImpact;
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface ResourceChange extends ResourceRef {
  readonly kind: 'added' | 'removed' | 'changed';
  /** What CloudFormation does: create, update, replace, destroy, orphan (DeletionPolicy Retain). */
  readonly impact: ResourceImpact;
  /** Property updates of a changed resource. */
  readonly properties: readonly PropertyChange[];
  /** Changed resource attributes other than properties (DeletionPolicy, DependsOn, ...). */
  readonly attributes: readonly string[];
}

export type DestructiveAction = 'deleted' | 'replaced' | 'may be replaced' | 'recreated';

export interface DestructiveChange extends ResourceRef {
  readonly action: DestructiveAction;
  readonly what: string;
  readonly consequence: string;
  /** The DeletionPolicy of the resource being removed (`Delete` when absent). */
  readonly deletionPolicy: string;
}

/** A table as rows of cells, header first, colours removed. */
export type Table = readonly (readonly string[])[];

export interface StackDiff {
  readonly stackName: string;
  /** `new`: only in the head; `removed`: only in the base (a deploy leaves it alone). */
  readonly status: 'new' | 'removed' | 'changed' | 'unchanged';
  /** Resources added, removed or changed, in cloudformation-diff's order (removed, added, updated). */
  readonly resources: readonly ResourceChange[];
  /** Resources that differ only in asset hashes (rebuilt Lambda bundles, files). */
  readonly assetOnly: readonly ResourceRef[];
  readonly destructive: readonly DestructiveChange[];
  /** Engine version changes of a database instance or cluster, with what they do to the slot. */
  readonly engineUpgrades: readonly EngineUpgrade[];
  readonly iamStatements?: Table;
  readonly iamManagedPolicies?: Table;
  readonly securityGroupRules?: Table;
  /** Added ingress rules whose peer is the whole internet (0.0.0.0/0 or ::/0). */
  readonly openToInternet: readonly string[];
  readonly outputs: readonly {
    readonly name: string;
    readonly change: 'added' | 'removed' | 'changed';
  }[];
}

/** CDK content hashes (asset hashes) are 64 hex characters. */
const ASSET_HASH = /[0-9a-f]{64}/g;
const ASSET_HASH_PLACEHOLDER = '<asset-hash>';
/** Version reporting only: changes whenever the CDK version or the construct mix does. */
const CDK_METADATA_TYPE = 'AWS::CDK::Metadata';

function replaceAssetHashes(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(ASSET_HASH, ASSET_HASH_PLACEHOLDER);
  if (Array.isArray(value)) return value.map(replaceAssetHashes);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, replaceAssetHashes(item)]),
    );
  }
  return value;
}

/** Metadata changes (construct paths, acknowledgements) do nothing on deploy. */
function stripMetadata(resource: CloudFormationResource): CloudFormationResource {
  const copy: Record<string, unknown> = { ...resource };
  delete copy.Metadata;
  return copy as CloudFormationResource;
}

/**
 * The template without what only reflects how it was built: asset hashes, resource metadata
 * and the CDK version-reporting resource.
 */
function withoutBuildNoise(template: CloudFormationTemplate): CloudFormationTemplate {
  const resources = Object.entries(template.Resources ?? {})
    .filter(([, resource]) => resource.Type !== CDK_METADATA_TYPE)
    .map(([logicalId, resource]) => [logicalId, stripMetadata(resource)]);
  const conditions: Record<string, unknown> = { ...(template.Conditions as object | undefined) };
  delete conditions.CDKMetadataAvailable;
  return replaceAssetHashes({
    ...template,
    Resources: Object.fromEntries(resources),
    ...(template.Conditions ? { Conditions: conditions } : {}),
  }) as CloudFormationTemplate;
}

function resourceRef(logicalId: string, resource: CloudFormationResource | undefined): ResourceRef {
  const constructPath = resource?.Metadata?.['aws:cdk:path'];
  return {
    logicalId,
    type: resource?.Type ?? 'unknown',
    ...(typeof constructPath === 'string' ? { constructPath } : {}),
  };
}

/**
 * cloudformation-diff knows the update behaviour of AWS types only; for a custom resource it
 * says NO_CHANGE although CloudFormation will call the handler's Update.
 */
function updateIfUnknown(impact: ResourceImpact | undefined): ResourceImpact {
  return impact === undefined || impact === ResourceImpact.NO_CHANGE
    ? ResourceImpact.WILL_UPDATE
    : impact;
}

function destructiveAction(
  change: ResourceDifference,
  rule: ProtectedResource,
): DestructiveAction | undefined {
  if (change.isRemoval) return 'deleted';
  if (rule.recreatingProperties?.some((name) => name in change.propertyUpdates)) return 'recreated';
  if (change.resourceTypeChanged || change.changeImpact === ResourceImpact.WILL_REPLACE)
    return 'replaced';
  if (change.changeImpact === ResourceImpact.MAY_REPLACE) return 'may be replaced';
  return undefined;
}

/** The properties of a change that replace its resource, for certain or perhaps. */
function replacingProperties(change: ResourceDifference): string[] {
  return Object.entries(change.propertyUpdates)
    .filter(([, property]) =>
      [ResourceImpact.WILL_REPLACE, ResourceImpact.MAY_REPLACE].includes(
        property.changeImpact as ResourceImpact,
      ),
    )
    .map(([name]) => name);
}

/** The properties by which a database names its parameter group. */
const PARAMETER_GROUP_PROPERTIES = ['DBParameterGroupName', 'DBClusterParameterGroupName'];

/** The logical id a property refers to (`{ "Ref": id }`), if it does. */
function referencedId(value: unknown): string | undefined {
  const id = (value as { Ref?: unknown } | undefined)?.Ref;
  return typeof id === 'string' ? id : undefined;
}

/**
 * What a major engine upgrade changes by design, which is no loss: the database's parameter
 * group (an instance's DB parameter group, a cluster's DB cluster parameter group, and the DB
 * parameter group of the cluster's instances) is replaced by one of the new family (the family
 * is what replaces it), and the database moves to it (DBParameterGroupName or
 * DBClusterParameterGroupName, which cloudformation-diff may call a possible replacement; RDS
 * applies it with the upgrade's own restart). The upgrade's CAUTION says what it does instead.
 */
function partOfMajorUpgrade(
  upgrades: readonly EngineUpgrade[],
  headResources: Readonly<Record<string, CloudFormationResource>>,
): (logicalId: string, change: ResourceDifference) => boolean {
  const upgraded = new Set(
    upgrades.filter((upgrade) => isMajorUpgrade(upgrade.fate)).map((upgrade) => upgrade.logicalId),
  );
  // An Aurora cluster's instances run the cluster's engine version: its upgrade is theirs.
  const members = Object.entries(headResources)
    .filter(([, resource]) => {
      const cluster = referencedId(resource.Properties?.DBClusterIdentifier);
      return isClusterMember(resource) && cluster !== undefined && upgraded.has(cluster);
    })
    .map(([logicalId]) => logicalId);
  const databases = new Set([...upgraded, ...members]);
  const groups = new Set(
    [...databases].flatMap((logicalId) =>
      PARAMETER_GROUP_PROPERTIES.flatMap((name) => {
        const id = referencedId(headResources[logicalId]?.Properties?.[name]);
        return id === undefined ? [] : [id];
      }),
    ),
  );
  return (logicalId, change) => {
    if (change.isRemoval || change.resourceTypeChanged) return false;
    const replacing = replacingProperties(change);
    if (databases.has(logicalId))
      return replacing.every((name) => PARAMETER_GROUP_PROPERTIES.includes(name));
    if (groups.has(logicalId)) return replacing.every((name) => name === 'Family');
    return false;
  };
}

/**
 * The destructive changes without those of cluster instances whose cluster is itself replaced
 * or deleted: they go with it (its warning says so), and a warning of their own that "no data
 * is lost" would read as if the cluster's replacement lost nothing either.
 */
function withoutFollowers(
  changes: readonly DestructiveChange[],
  resourceOf: (logicalId: string) => CloudFormationResource | undefined,
): DestructiveChange[] {
  const clusters = new Set(
    changes.filter((change) => change.type === DB_CLUSTER_TYPE).map((change) => change.logicalId),
  );
  return changes.filter((change) => {
    const resource = resourceOf(change.logicalId);
    const cluster = referencedId(resource?.Properties?.DBClusterIdentifier);
    return !(isClusterMember(resource) && cluster !== undefined && clusters.has(cluster));
  });
}

/** Rows of a cloudformation-diff summary table, or undefined when it holds only its header. */
function table(rows: string[][]): Table | undefined {
  if (rows.length <= 1) return undefined;
  return rows.map((row) => row.map((cell) => stripVTControlCharacters(cell)));
}

function outputChanges(diff: TemplateDiff): StackDiff['outputs'] {
  const outputs: { name: string; change: 'added' | 'removed' | 'changed' }[] = [];
  diff.outputs.forEachDifference((name, change) => {
    outputs.push({
      name,
      change: change.isAddition ? 'added' : change.isRemoval ? 'removed' : 'changed',
    });
  });
  return outputs;
}

/**
 * What deploying `head` over `base` does to one stack. Either template may be absent: a stack
 * new in the head, or one the head no longer synthesizes.
 */
export function diffStack(
  stackName: string,
  base: CloudFormationTemplate | undefined,
  head: CloudFormationTemplate | undefined,
): StackDiff {
  const baseResources = base?.Resources ?? {};
  const headResources = head?.Resources ?? {};
  const diff = fullDiff(withoutBuildNoise(base ?? {}), withoutBuildNoise(head ?? {}));

  const upgrades = engineUpgrades(base, head, resourceRef);
  const partOfUpgrade = partOfMajorUpgrade(upgrades, headResources);
  const resources: ResourceChange[] = [];
  const changes: DestructiveChange[] = [];
  diff.resources.forEachDifference((logicalId, change) => {
    const ref = resourceRef(logicalId, headResources[logicalId] ?? baseResources[logicalId]);
    resources.push({
      ...ref,
      kind: change.isAddition ? 'added' : change.isRemoval ? 'removed' : 'changed',
      impact: updateIfUnknown(change.changeImpact),
      properties: Object.entries(change.propertyUpdates).map(([name, property]) => ({
        name,
        impact: updateIfUnknown(property.changeImpact),
        before: property.oldValue,
        after: property.newValue,
      })),
      attributes: Object.keys(change.otherChanges),
    });
    const replaced = baseResources[logicalId] ?? headResources[logicalId];
    const rule = PROTECTED_RESOURCES.find((candidate) => candidate.matches(logicalId, replaced));
    const action = rule && destructiveAction(change, rule);
    if (action && rule && head !== undefined && !partOfUpgrade(logicalId, change)) {
      changes.push({
        ...ref,
        action,
        what: rule.what,
        consequence: rule.consequence,
        deletionPolicy: baseResources[logicalId]?.DeletionPolicy ?? 'Delete',
      });
    }
  });

  const destructive = withoutFollowers(
    changes,
    (logicalId) => baseResources[logicalId] ?? headResources[logicalId],
  );

  const changedIds = new Set(resources.map((resource) => resource.logicalId));
  const assetOnly = Object.keys(headResources)
    .filter(
      (logicalId) =>
        logicalId in baseResources &&
        !changedIds.has(logicalId) &&
        headResources[logicalId].Type !== CDK_METADATA_TYPE,
    )
    .filter(
      (logicalId) =>
        !deepEqual(
          stripMetadata(baseResources[logicalId]),
          stripMetadata(headResources[logicalId]),
        ),
    )
    .map((logicalId) => resourceRef(logicalId, headResources[logicalId]));

  const securityGroupRules = table(diff.securityGroupChanges.summarize());
  const openToInternet = [...diff.securityGroupChanges.ingress.additions]
    .filter(
      (rule) =>
        rule.peer?.kind === 'cidr-ip' && (rule.peer.ip === '0.0.0.0/0' || rule.peer.ip === '::/0'),
    )
    .map((rule) => `${rule.groupId} ${rule.describeProtocol()} from ${rule.describePeer()}`);

  const status =
    head === undefined
      ? 'removed'
      : base === undefined
        ? 'new'
        : diff.isEmpty
          ? 'unchanged'
          : 'changed';
  return {
    stackName,
    status,
    resources,
    assetOnly,
    destructive,
    engineUpgrades: upgrades,
    iamStatements: table(diff.iamChanges.summarizeStatements()),
    iamManagedPolicies: table(diff.iamChanges.summarizeManagedPolicies()),
    securityGroupRules,
    openToInternet,
    outputs: outputChanges(diff),
  };
}

/**
 * Diff every stack of two synthesized apps, in the head's order, then the stacks only the base
 * has.
 */
export function diffStacks(
  base: ReadonlyMap<string, { template: CloudFormationTemplate }>,
  head: ReadonlyMap<string, { template: CloudFormationTemplate }>,
): StackDiff[] {
  const names = [...head.keys(), ...[...base.keys()].filter((name) => !head.has(name))];
  return names.map((name) => diffStack(name, base.get(name)?.template, head.get(name)?.template));
}

/**
 * How many changes of the stack lose data or force a CDC resync: the destructive resource
 * changes and the engine upgrades that drop the replication slot.
 */
export function destructiveCount(diff: StackDiff): number {
  return diff.destructive.length + diff.engineUpgrades.filter(dropsSlot).length;
}

/** Whether any stack holds a change that loses data or forces a CDC resync. */
export function isDestructive(diffs: readonly StackDiff[]): boolean {
  return diffs.some((diff) => destructiveCount(diff) > 0);
}
