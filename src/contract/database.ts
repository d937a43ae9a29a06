/**
 * What the stack and the tools agree on about the database itself. `npm run local` creates its
 * master user under the same name as the stack's RDS instance has.
 */

/** The master user RDS creates; the replication setup logs in as this user. */
export const MASTER_USERNAME = 'postgres';
