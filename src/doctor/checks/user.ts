import { escapeIdentifier } from 'pg';
import {
  heartbeatTableOf,
  qualifiedName,
  RDS_REPLICATION_ROLE,
  tableIn,
  sameTable,
  TableSet,
} from '../../replication';
import type { FixStatement } from '../types';
import { fail, pass, skip, warn, type CheckDefinition, type Verdict } from './definition';
import type { CheckContext } from './input';
import { displayName, plannedFix, quoted, schemasNamed } from './shared';

/** The fix of a check that needs the role, when there is none: the role's own check has it. */
const CREATE_USER_FIRST = { sql: [], notes: [`Create the user first (see "user-exists").`] };

function userExists({ catalog, steps }: CheckContext): Verdict {
  return catalog.role ? pass('yes') : fail('no such role', plannedFix(steps, ['create-role']));
}

function userLogin({ catalog, steps, login }: CheckContext): Verdict {
  const role = catalog.role;
  if (!role) return fail('no such role', CREATE_USER_FIRST);
  const loginFix = plannedFix(steps, ['update-role']);
  if (!role.canLogin) return fail('the role has NOLOGIN', loginFix);
  switch (login.kind) {
    case 'connected-as-user':
      return pass('the doctor is logged in as this user');
    case 'succeeded':
      return pass('logged in with its password');
    case 'failed':
      return fail(login.message, loginFix);
    case 'not-tried':
      return warn('LOGIN is set, but no password was given to try it with', {
        notes: [
          'Pass --replication-password-env VAR (the variable holding its password), or run the doctor as that user (--user).',
        ],
      });
  }
}

function userReplication({ catalog, steps }: CheckContext): Verdict {
  const role = catalog.role;
  const fix = plannedFix(steps, ['grant-rds-replication', 'grant-replication-attribute']);
  if (!role) return fail('no such role', fix);
  // RDS grants replication through a role; plain PostgreSQL through the attribute.
  const granted = catalog.rdsReplicationRoleExists ? role.memberOfRdsReplication : role.replication;
  return granted ? pass('yes') : fail('no', fix);
}

function userSelect({ catalog, desired, steps }: CheckContext): Verdict {
  const role = catalog.role;
  const fix = plannedFix(steps, ['grant-schema-usage', 'grant-select']);
  if (!role) return fail('no such role', fix);
  const published = desired.tables.filter((table) => tableIn(catalog, table)?.exists);
  const withoutSelect = new TableSet(role.relationsWithoutSelect);
  const unreadable = published.filter((table) => withoutSelect.has(table));
  const problems = [
    ...(role.schemasWithoutUsage.length > 0
      ? [`no USAGE on ${schemasNamed(role.schemasWithoutUsage)}`]
      : []),
    ...(unreadable.length > 0
      ? [
          `no SELECT on ${unreadable.map((table) => displayName(table.schema, table.name)).join(', ')}`,
        ]
      : []),
  ];
  return problems.length > 0
    ? fail(problems.join('; '), fix)
    : pass(`${published.length} table(s) readable`);
}

/**
 * No write privilege anywhere in the published schemas (heartbeat INSERT/UPDATE excepted), no
 * CREATE. The fix revokes each privilege where it was granted.
 */
function userReadOnly(input: CheckContext): Verdict {
  const { catalog, desired, facts } = input;
  const writes = facts.userWrites;
  if (!catalog.role || !writes) return skip('no such role');
  const user = escapeIdentifier(desired.user);
  const problems: string[] = [];
  const sql: FixStatement[] = [];
  const notes: string[] = [];
  if (writes.superuser) {
    problems.push('is a superuser');
    sql.push({ sql: `ALTER ROLE ${user} NOSUPERUSER;` });
  }
  if (writes.databaseCreate) {
    problems.push(`CREATE on database "${catalog.currentDatabase}"`);
    sql.push({
      sql: `REVOKE CREATE ON DATABASE ${escapeIdentifier(catalog.currentDatabase)} FROM ${user};`,
    });
  }
  const creatable = writes.creatableSchemas;
  if (creatable.length > 0) {
    const viaPublic = creatable.filter((schema) => schema.viaPublic).map((schema) => schema.name);
    const quotedList = (names: readonly string[]): string => names.map(escapeIdentifier).join(', ');
    problems.push(...creatable.map((schema) => `CREATE on schema "${schema.name}"`));
    if (viaPublic.length > 0) {
      sql.push({ sql: `REVOKE CREATE ON SCHEMA ${quotedList(viaPublic)} FROM PUBLIC;` });
      notes.push(
        `CREATE on ${viaPublic.map(quoted).join(', ')} is granted to PUBLIC (every role): the revoke takes it from all of them, as PostgreSQL 15 does by default for the public schema.`,
      );
    }
    sql.push({
      sql: `REVOKE CREATE ON SCHEMA ${quotedList(creatable.map((schema) => schema.name))} FROM ${user};`,
    });
  }
  const heartbeat = heartbeatTableOf(desired);
  for (const relation of writes.relations) {
    const isHeartbeat = heartbeat !== undefined && sameTable(relation, heartbeat);
    const allowed = isHeartbeat ? ['INSERT', 'UPDATE'] : [];
    const extra = relation.privileges.filter((privilege) => !allowed.includes(privilege));
    if (extra.length === 0) continue;
    const table = qualifiedName(relation.schema, relation.name);
    const name = displayName(relation.schema, relation.name);
    problems.push(`${extra.join(', ')} on ${name}`);
    if (relation.ownedByUser) {
      // An owner holds every privilege whatever is revoked: only a new owner takes them away.
      sql.push({ sql: `ALTER TABLE ${table} OWNER TO CURRENT_USER;` });
      notes.push(
        `${quoted(desired.user)} owns ${name}: the fix hands it to the user running it (run as the master user).`,
      );
      continue;
    }
    if (relation.grantedToPublic) {
      sql.push({ sql: `REVOKE ${extra.join(', ')} ON TABLE ${table} FROM PUBLIC;` });
    }
    sql.push({ sql: `REVOKE ${extra.join(', ')} ON TABLE ${table} FROM ${user};` });
  }
  if (problems.length === 0) {
    return pass(
      desired.heartbeatTable === undefined
        ? 'no write privilege'
        : `writes only the heartbeat table`,
    );
  }
  notes.push(
    `If a privilege remains afterwards, ${quoted(desired.user)} inherits it from a role it is a member of: revoke it there, or REVOKE that role FROM ${user}.`,
  );
  return fail(problems.join('; '), { sql, notes });
}

/** Reported only when a heartbeat table is configured. */
function heartbeatTable({ catalog, desired, steps }: CheckContext): Verdict | undefined {
  if (desired.heartbeatTable === undefined) return undefined;
  const fix = plannedFix(steps, ['create-heartbeat-table', 'grant-heartbeat-write']);
  const table = heartbeatTableOf(desired);
  if (!table || !tableIn(catalog, table)?.exists) {
    return fail('the table does not exist', fix);
  }
  if (!catalog.role?.heartbeatWriteGranted) {
    return fail(`${quoted(desired.user)} cannot write it`, fix);
  }
  return pass('yes');
}

/** The replication user: its role, login, privileges, and nothing more. */
export const USER_CHECKS = [
  {
    id: 'user-exists',
    title: ({ desired }) => `replication user ${quoted(desired.user)} exists`,
    evaluate: userExists,
  },
  {
    id: 'user-login',
    title: ({ desired }) => `${quoted(desired.user)} can log in`,
    evaluate: userLogin,
  },
  {
    id: 'user-replication',
    title: ({ catalog, desired }) =>
      catalog.rdsReplicationRoleExists
        ? `${quoted(desired.user)} is a member of ${RDS_REPLICATION_ROLE}`
        : `${quoted(desired.user)} has the REPLICATION attribute`,
    evaluate: userReplication,
  },
  {
    id: 'user-select',
    title: ({ desired }) =>
      `${quoted(desired.user)} has USAGE on ${desired.schemas.map((schema) => quoted(schema.name)).join(', ')} and SELECT on every published table`,
    evaluate: userSelect,
  },
  {
    id: 'user-read-only',
    title: ({ desired }) =>
      `${quoted(desired.user)} is read-only (no INSERT/UPDATE/DELETE/TRUNCATE, no CREATE)`,
    evaluate: userReadOnly,
  },
  {
    id: 'heartbeat-table',
    // Asked for only when heartbeatTable reported, that is with a heartbeat table configured.
    title: ({ desired }) =>
      `heartbeat table ${displayName(desired.schema, desired.heartbeatTable ?? '')} exists and ${quoted(desired.user)} may INSERT and UPDATE it`,
    evaluate: heartbeatTable,
  },
] as const satisfies readonly CheckDefinition<CheckContext>[];
