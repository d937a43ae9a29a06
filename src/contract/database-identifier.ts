/**
 * How a custom resource names its database: `DbInstanceIdentifier` for an RDS instance or
 * `DbClusterIdentifier` for an Aurora cluster, exactly one of them.
 */
import type { DatabaseReference } from './database';
import { ResourcePropertiesError } from './properties';

/** The two identifier properties as the contracts carry them. */
export interface DatabaseIdentifierProperties {
  readonly DbInstanceIdentifier?: string;
  readonly DbClusterIdentifier?: string;
}

/** The reference the properties name; an error naming both properties unless exactly one is set. */
export function databaseReferenceOf(
  resource: string,
  properties: DatabaseIdentifierProperties,
): DatabaseReference {
  const instance = properties.DbInstanceIdentifier || undefined;
  const cluster = properties.DbClusterIdentifier || undefined;
  if (instance && !cluster) return { kind: 'instance', identifier: instance };
  if (cluster && !instance) return { kind: 'cluster', identifier: cluster };
  throw new ResourcePropertiesError(
    `${resource} custom resource needs exactly one of the properties DbInstanceIdentifier and DbClusterIdentifier, not ${instance ? 'both' : 'neither'} (a bug in the stack)`,
  );
}

/** The properties that name a reference: the inverse of databaseReferenceOf. */
export function databaseIdentifierProperties(
  ref: DatabaseReference,
): { DbInstanceIdentifier: string } | { DbClusterIdentifier: string } {
  return ref.kind === 'cluster'
    ? { DbClusterIdentifier: ref.identifier }
    : { DbInstanceIdentifier: ref.identifier };
}
