/**
 * The pre-upgrade check custom resource as the stack (lib/pre-upgrade-check.ts) and its function
 * (lambda/pre-upgrade-check) agree on it: its type, its properties and its attributes. The
 * database instance depends on this resource, so no property may reference the instance: it is
 * named by its identifier, and the function finds its endpoint and version at run time.
 */
import * as z from 'zod/mini';
import { optionalText, requiredText } from './properties';

/** CloudFormation type of the resource, so that diffs and consoles name it for what it is. */
export const PRE_UPGRADE_CHECK_RESOURCE_TYPE = 'Custom::PreUpgradeCheck';

/** The properties the stack writes; CloudFormation passes every value as a string. */
export const preUpgradeCheckPropertiesSchema = z.object({
  /**
   * RDS instance identifier (a plain string, not a reference): DescribeDBInstances at run time.
   * Exactly one of this and `DbClusterIdentifier` is given.
   */
  DbInstanceIdentifier: optionalText,
  /**
   * Aurora cluster identifier (a plain string): DescribeDBClusters at run time. Exactly one of
   * this and `DbInstanceIdentifier` is given.
   */
  DbClusterIdentifier: optionalText,
  /** Secrets Manager ARN of the master user's secret: the check logs in with it. */
  MasterSecretArn: requiredText,
  /** Database (dbname) the slot belongs to. */
  Database: requiredText,
  /** Logical replication slot name. */
  SlotName: requiredText,
  /** Publication name, for the peek at unconfirmed changes. */
  PublicationName: requiredText,
  /** The engine version the template asks for (`database.engineVersion`), e.g. `17`. */
  EngineVersion: requiredText,
  /** `"true"` when `replication.allowSlotRecreation` acknowledges a slot drop and resync. */
  AllowSlotRecreation: z.enum(['true', 'false']),
});

/** The properties as the construct writes them. */
export type PreUpgradeCheckProperties = z.input<typeof preUpgradeCheckPropertiesSchema>;

/** The resource's attributes (Fn::GetAtt names). */
export const PRE_UPGRADE_CHECK_ATTRIBUTES = {
  /** `"true"` when this step dropped the slot for the upgrade, else `"false"`. */
  slotDropped: 'SlotDropped',
  /**
   * Changes exactly when the step dropped the slot; the replication setup and the Airbyte
   * connection take it as a property, so that they recreate the slot and resync.
   */
  slotGeneration: 'SlotGeneration',
} as const;
