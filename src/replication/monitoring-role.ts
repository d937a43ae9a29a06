import { escapeIdentifier as quote, escapeLiteral } from 'pg';
import { RoleConflictError } from './errors';
import { scramSha256Verifier } from './scram';
import type { CatalogSnapshot, DesiredReplicationState, ReplicationTarget, Step } from './types';

/**
 * The slot watchdog logs in once a minute, the setup probes the password, the doctor may read:
 * a few sessions at most. A leaked password cannot be used to exhaust max_connections.
 */
export const MONITORING_ROLE_CONNECTION_LIMIT = 3;

/**
 * Refuse a monitoring role that is more than a login: a superuser, a role with REPLICATION (it
 * could stream and move the slot) or a member of any role (each could give it data access). The
 * setup never takes privileges away from a role it did not create, so it asks the user to.
 */
export function checkMonitoringRole(
  catalog: CatalogSnapshot,
  desired: DesiredReplicationState,
): void {
  const wanted = desired.monitoringUser;
  if (!wanted) return;
  if (wanted.name === desired.user || wanted.name === catalog.currentUser) {
    throw new RoleConflictError(
      `The monitoring user "${wanted.name}" is also the ${wanted.name === desired.user ? 'replication user' : 'user running the setup'}: choose another monitoring.watchdogUser in cdk.json (the watchdog logs in as a role of its own with no privileges).`,
    );
  }
  const role = catalog.monitoringRole;
  if (!role) return;
  const extras = [
    ...(role.superuser ? ['SUPERUSER'] : []),
    ...(role.replication ? ['REPLICATION'] : []),
    ...(role.memberOf.length > 0 ? [`membership of ${role.memberOf.join(', ')}`] : []),
  ];
  if (extras.length > 0) {
    throw new RoleConflictError(
      `Role "${wanted.name}" exists with ${extras.join(' and ')}; the slot watchdog's role must be a plain login with no privileges. Choose another monitoring.watchdogUser, or remove them yourself (ALTER ROLE ... NOSUPERUSER NOREPLICATION; REVOKE <role> FROM ...) if that role is meant for the watchdog.`,
    );
  }
}

/** The statements that make the monitoring role a read-only login with the current password. */
export function monitoringRoleSteps(
  catalog: Pick<CatalogSnapshot, 'monitoringRole'>,
  desired: Pick<DesiredReplicationState, 'monitoringUser'>,
): Step[] {
  const wanted = desired.monitoringUser;
  if (!wanted) return [];
  const role = quote(wanted.name);
  const password = (): string => `PASSWORD ${escapeLiteral(scramSha256Verifier(wanted.password))}`;
  const current = catalog.monitoringRole;
  const steps: Step[] = [];
  if (!current) {
    steps.push({
      kind: 'create-monitoring-role',
      description: `create login role "${wanted.name}" for the slot watchdog, with no privileges and its password`,
      sql: `CREATE ROLE ${role} WITH LOGIN NOINHERIT CONNECTION LIMIT ${MONITORING_ROLE_CONNECTION_LIMIT} ${password()}`,
      sensitive: true,
    });
  } else if (!current.canLogin || current.passwordCurrent === false) {
    steps.push({
      kind: 'update-monitoring-role',
      description: `set LOGIN and the current password on the slot watchdog's role "${wanted.name}"`,
      sql: `ALTER ROLE ${role} WITH LOGIN CONNECTION LIMIT ${MONITORING_ROLE_CONNECTION_LIMIT} ${password()}`,
      sensitive: true,
    });
  }
  if (!current?.readOnlyByDefault) {
    steps.push({
      kind: 'set-monitoring-role-read-only',
      description: `make every session of "${wanted.name}" read-only by default`,
      // The watchdog opens its transactions READ ONLY itself; this holds for any other client
      // that logs in with the role's password too.
      sql: `ALTER ROLE ${role} SET default_transaction_read_only = on`,
    });
  }
  return steps;
}

/** Drop the monitoring role, if there is one: it owns nothing and was granted nothing. */
export function monitoringRoleTeardownSteps(
  catalog: Pick<CatalogSnapshot, 'monitoringRole'>,
  target: ReplicationTarget,
): Step[] {
  const name = target.monitoringUser?.name;
  if (name === undefined || !catalog.monitoringRole) return [];
  return [
    {
      kind: 'drop-monitoring-role',
      description: `drop the slot watchdog's role "${name}"`,
      sql: `DROP ROLE IF EXISTS ${quote(name)}`,
    },
  ];
}
