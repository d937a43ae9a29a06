import type { DatabaseReference } from '../../src/contract/database';
import { databaseReferenceOf } from '../../src/contract/database-identifier';
import { parseResourceProperties } from '../../src/contract/properties';
import { preUpgradeCheckPropertiesSchema } from '../../src/contract/pre-upgrade-check';
import { INITIAL_SLOT_GENERATION } from '../../src/upgrade/pre-upgrade';

/** How the contract's messages name this resource. */
const RESOURCE = 'Pre-upgrade check';

/** The properties, typed. */
export interface PreUpgradeCheckRequest {
  /** The RDS instance or Aurora cluster whose engine is upgraded. */
  readonly databaseReference: DatabaseReference;
  readonly masterSecretArn: string;
  readonly database: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** The engine version the template asks for. */
  readonly engineVersion: string;
  readonly allowSlotRecreation: boolean;
}

/** Parse what CloudFormation sent; errors name the property that is wrong. */
export function parseProperties(raw: Record<string, unknown>): PreUpgradeCheckRequest {
  const properties = parseResourceProperties(RESOURCE, preUpgradeCheckPropertiesSchema, raw);
  return {
    databaseReference: databaseReferenceOf(RESOURCE, properties),
    masterSecretArn: properties.MasterSecretArn,
    database: properties.Database,
    slotName: properties.SlotName,
    publicationName: properties.PublicationName,
    engineVersion: properties.EngineVersion,
    allowSlotRecreation: properties.AllowSlotRecreation === 'true',
  };
}

/** Between the instance (or cluster) identifier and the slot generation in the physical id. */
const GENERATION_MARK = '/slot-generation/';

/**
 * The physical id carries the slot generation from one run to the next. CloudFormation hands a
 * custom resource nothing else of its last result (not its Data), and the generation must stay
 * what it was on an update that drops nothing, deterministically and with no mark left in the
 * database. So the id is the same on every run that drops nothing, and changes exactly with the
 * generation: CloudFormation then sends a Delete for the old id after the update, which this
 * resource answers by doing nothing.
 */
export function physicalIdFor(databaseIdentifier: string, slotGeneration: string): string {
  return `${encodeURIComponent(databaseIdentifier)}${GENERATION_MARK}${encodeURIComponent(slotGeneration)}`;
}

/** The generation a physical id carries; the initial one for an id this resource did not make. */
export function slotGenerationOf(physicalId: string | undefined): string {
  const at = physicalId?.lastIndexOf(GENERATION_MARK) ?? -1;
  if (physicalId === undefined || at < 0) return INITIAL_SLOT_GENERATION;
  const generation = physicalId.slice(at + GENERATION_MARK.length);
  return generation === '' ? INITIAL_SLOT_GENERATION : decodeURIComponent(generation);
}
