import type { ClientBase } from 'pg';
import type { CatalogSnapshot } from '../../src/replication';

/**
 * What the stack made, recorded in the database itself: a comment on the replication user's role
 * (`COMMENT ON ROLE`). The replication setup writes it in the same transaction that creates the
 * role and the publication, so a crash at any point either leaves neither or both with the
 * record; the slot, created after that commit, is recorded before it exists. A Delete therefore
 * drops exactly what the stack made, and nothing the user had before:
 * - a role that existed before the stack first configured it is `adopted`: configured, never
 *   dropped;
 * - slots, publications and the watchdog's role are dropped only if they are listed as created
 *   by the stack.
 * CloudFormation replaces this resource when the slot or publication is renamed: it creates the
 * new one, then sends Delete for the old one, which must drop only what the new resource no
 * longer uses; `physicalId` says which resource manages the role now.
 */
const MARKER_PREFIX = 'rds-airbyte-cdc ';

/** Which resource manages a role, and what the stack created. */
export interface RoleOwner {
  /** Physical id of the custom resource that configured the role last. */
  readonly physicalId: string;
  /** The role existed before any resource of this stack configured it: keep it on Delete. */
  readonly adopted: boolean;
  /** Replication slots the stack created (or is about to create) for this role. */
  readonly createdSlots: readonly string[];
  /** Publications the stack created for this role, in the resource's database. */
  readonly createdPublications: readonly string[];
  /** Other login roles the stack created beside this one: the slot watchdog's. */
  readonly createdRoles: readonly string[];
}

/** The comment text that records `owner`. */
export function ownerComment(owner: RoleOwner): string {
  return MARKER_PREFIX + JSON.stringify(owner);
}

/** The names a physical id carries: `<instance>/<database>/<slot>/<publication>`. */
type NamesOf = (
  physicalId: string,
) => { readonly slotName: string; readonly publicationName: string } | undefined;

function parseOwner(comment: string, namesOf: NamesOf): RoleOwner | undefined {
  if (!comment.startsWith(MARKER_PREFIX)) return undefined;
  try {
    const owner = JSON.parse(comment.slice(MARKER_PREFIX.length)) as Partial<RoleOwner>;
    if (typeof owner.physicalId !== 'string') return undefined;
    const strings = (value: unknown): string[] | undefined =>
      Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
    // Marks written before the lists existed: the resource created its own slot and publication.
    const names = namesOf(owner.physicalId);
    return {
      physicalId: owner.physicalId,
      adopted: owner.adopted === true,
      createdSlots: strings(owner.createdSlots) ?? (names ? [names.slotName] : []),
      createdPublications:
        strings(owner.createdPublications) ?? (names ? [names.publicationName] : []),
      // Marks written before the watchdog had a role of its own: none.
      createdRoles: strings(owner.createdRoles) ?? [],
    };
  } catch {
    // Someone else's comment that happens to start like ours: not a mark.
    return undefined;
  }
}

/** Every marked role in the cluster and the resource that manages it. */
export async function readOwners(
  client: ClientBase,
  namesOf: NamesOf,
): Promise<Map<string, RoleOwner>> {
  const { rows } = await client.query<{ rolname: string; comment: string }>(
    `SELECT rolname, shobj_description(oid, 'pg_authid') AS comment
       FROM pg_roles
      WHERE shobj_description(oid, 'pg_authid') LIKE $1`,
    [`${MARKER_PREFIX}%`],
  );
  const owners = new Map<string, RoleOwner>();
  for (const row of rows) {
    const owner = parseOwner(row.comment, namesOf);
    if (owner) owners.set(row.rolname, owner);
  }
  return owners;
}

/** What a setup records about itself. */
export interface OwnerTarget {
  readonly physicalId: string;
  readonly user: string;
  readonly database: string;
  readonly slotName: string;
  readonly publicationName: string;
  /** The slot watchdog's role, if the setup manages one. */
  readonly monitoringUser?: { readonly name: string };
}

/**
 * The record a setup writes on its user's role. The role is adopted if it existed unrecorded.
 * A slot or publication is the stack's if it does not exist yet (this run creates it), or if any
 * record for the same database lists it: the role's own, or another role's after a rename or a
 * replacement moved the pipeline to a new user. What exists unrecorded is the user's.
 */
export function nextOwner(
  owners: ReadonlyMap<string, RoleOwner>,
  catalog: Pick<CatalogSnapshot, 'role' | 'slot' | 'publication' | 'monitoringRole'>,
  target: OwnerTarget,
  namesOf: (physicalId: string) => { readonly database: string } | undefined,
): RoleOwner {
  const own = owners.get(target.user);
  const records = [...owners.values()].filter(
    (owner) => namesOf(owner.physicalId)?.database === target.database,
  );
  const ours = (name: string, exists: boolean, listOf: (owner: RoleOwner) => readonly string[]) =>
    !exists || records.some((owner) => listOf(owner).includes(name));
  const withName = (list: readonly string[], name: string, isOurs: boolean): string[] =>
    isOurs && !list.includes(name) ? [...list, name] : [...list];
  return {
    physicalId: target.physicalId,
    adopted: own?.adopted ?? catalog.role !== undefined,
    createdSlots: withName(
      own?.createdSlots ?? [],
      target.slotName,
      ours(target.slotName, catalog.slot !== undefined, (owner) => owner.createdSlots),
    ),
    createdPublications: withName(
      own?.createdPublications ?? [],
      target.publicationName,
      ours(
        target.publicationName,
        catalog.publication !== undefined,
        (owner) => owner.createdPublications,
      ),
    ),
    createdRoles:
      target.monitoringUser === undefined
        ? [...(own?.createdRoles ?? [])]
        : withName(
            own?.createdRoles ?? [],
            target.monitoringUser.name,
            ours(
              target.monitoringUser.name,
              catalog.monitoringRole !== undefined,
              (owner) => owner.createdRoles,
            ),
          ),
  };
}

/** Rewrite a role's record (after a Delete dropped some of what it lists), or clear it. */
export async function writeOwner(
  client: ClientBase,
  user: string,
  owner: RoleOwner | undefined,
): Promise<void> {
  await client.query(
    `COMMENT ON ROLE ${client.escapeIdentifier(user)} IS ${owner ? client.escapeLiteral(ownerComment(owner)) : 'NULL'}`,
  );
}
