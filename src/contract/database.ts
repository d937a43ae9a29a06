/**
 * What the stack and the tools agree on about the database itself. `npm run local` creates its
 * master user under the same name as the stack's RDS instance has.
 */

/** The master user RDS creates; the replication setup logs in as this user. */
export const MASTER_USERNAME = 'postgres';

/**
 * Which RDS APIs describe and reboot the database: an RDS instance (`DescribeDBInstances`) or
 * an Aurora cluster (`DescribeDBClusters`, a reboot of its writer instance).
 */
export type DatabaseKind = 'instance' | 'cluster';

/** The database as the functions and tools name it to RDS. */
export interface DatabaseReference {
  readonly kind: DatabaseKind;
  /** The DB instance identifier, or the DB cluster identifier. */
  readonly identifier: string;
}
