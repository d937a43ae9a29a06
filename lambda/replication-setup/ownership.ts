import type { ClientBase } from 'pg';

/**
 * CloudFormation replaces this resource when the slot or publication is renamed: it creates the
 * new one, then sends Delete for the old one. That Delete must drop only what the new resource
 * no longer uses. To know what that is, every resource marks the replication user's role with
 * its physical id (`COMMENT ON ROLE`): the database itself records who owns what. The mark also
 * records whether the role existed before the stack took it over, so that it is never dropped.
 */
const MARKER_PREFIX = 'rds-airbyte-cdc ';

/** Which resource manages a role. */
export interface RoleOwner {
  /** Physical id of the custom resource that configured the role last. */
  readonly physicalId: string;
  /** The role existed before any resource of this stack configured it: keep it on Delete. */
  readonly adopted: boolean;
}

/** Mark `user` as managed by `owner`. */
export async function markOwner(client: ClientBase, user: string, owner: RoleOwner): Promise<void> {
  await client.query(
    `COMMENT ON ROLE ${client.escapeIdentifier(user)} IS ${client.escapeLiteral(MARKER_PREFIX + JSON.stringify(owner))}`,
  );
}

/** Every marked role in the cluster and the resource that manages it. */
export async function readOwners(client: ClientBase): Promise<Map<string, RoleOwner>> {
  const { rows } = await client.query<{ rolname: string; comment: string }>(
    `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment
       FROM pg_roles
      WHERE shobj_description(oid, 'pg_authid') LIKE $1`,
    [`${MARKER_PREFIX}%`],
  );
  const owners = new Map<string, RoleOwner>();
  for (const row of rows) {
    try {
      const owner = JSON.parse(row.comment.slice(MARKER_PREFIX.length)) as Partial<RoleOwner>;
      if (typeof owner.physicalId === 'string') {
        owners.set(row.rolname, { physicalId: owner.physicalId, adopted: owner.adopted === true });
      }
    } catch {
      // Someone else's comment that happens to start like ours: not a mark.
    }
  }
  return owners;
}
