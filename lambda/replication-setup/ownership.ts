import type { ClientBase } from 'pg';

/**
 * CloudFormation replaces this resource when the slot or publication is renamed: it creates the
 * new one, then sends Delete for the old one. That Delete must drop only what the new resource
 * no longer uses. To know what that is, every resource marks the replication user's role with
 * its physical id (`COMMENT ON ROLE`): the database itself records who owns what.
 */
const MARKER_PREFIX = 'rds-airbyte-cdc resource ';

/** Mark `user` as owned by the resource `physicalId`. */
export async function markOwner(
  client: ClientBase,
  user: string,
  physicalId: string,
): Promise<void> {
  await client.query(
    `COMMENT ON ROLE ${client.escapeIdentifier(user)} IS ${client.escapeLiteral(MARKER_PREFIX + physicalId)}`,
  );
}

/** Every marked role in the cluster and the physical id of its owning resource. */
export async function readOwners(client: ClientBase): Promise<Map<string, string>> {
  const { rows } = await client.query<{ rolname: string; comment: string }>(
    `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment
       FROM pg_roles
      WHERE shobj_description(oid, 'pg_authid') LIKE $1`,
    [`${MARKER_PREFIX}%`],
  );
  return new Map(rows.map((row) => [row.rolname, row.comment.slice(MARKER_PREFIX.length)]));
}
