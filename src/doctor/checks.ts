import { escapeIdentifier, escapeLiteral } from 'pg';
import { rebootCommand } from '../aws/rds-instance';
import { SUPPORTED_ENGINE_MAJORS } from '../config/database';
import {
  DEMO_TABLE_NAME,
  qualifiedName,
  RDS_REPLICATION_ROLE,
  SLOT_PLUGIN,
  type CatalogSnapshot,
  type DesiredReplicationState,
  type Step,
  type StepKind,
} from '../replication';
import type { ServerFacts } from './facts';
import {
  dropStatements,
  PASSWORD_VARIABLE,
  safePlanFixSteps,
  setsPassword,
  statementsOf,
} from './fixes';
import type { CheckResult, CheckStatus, FixStatement } from './types';

/** How the login as the replication user went. */
export type LoginOutcome =
  /** The doctor itself is connected as the replication user. */
  | { readonly kind: 'connected-as-user' }
  | { readonly kind: 'succeeded' }
  | { readonly kind: 'failed'; readonly message: string }
  /** No password to try with. */
  | { readonly kind: 'not-tried' };

/** Everything the checks decide on: plain data, so the checks are pure. */
export interface DoctorInput {
  readonly catalog: CatalogSnapshot;
  readonly facts: ServerFacts;
  readonly desired: DesiredReplicationState;
  /** Where the doctor connected: the host decides whether plain TCP is acceptable. */
  readonly connection: {
    readonly host: string;
    readonly tlsVerified: boolean;
    /** Plain TCP fails the TLS check even to this machine. Default: false. */
    readonly requireTls?: boolean;
  };
  readonly login: LoginOutcome;
  /** Retained WAL above this many bytes is a warning (monitoring.oldestReplicationSlotLagBytes). */
  readonly slotLagWarnBytes: number;
  /** RDS instance identifier for reboot commands; a placeholder is printed when unknown. */
  readonly rdsInstanceIdentifier?: string;
}

/** Checks in print order; each id appears once. */
export const CHECK_IDS = [
  'connection',
  'server-version',
  'wal-level',
  'rds-logical-replication',
  'replication-slots',
  'wal-senders',
  'ssl',
  'tables',
  'user-exists',
  'user-login',
  'user-replication',
  'user-select',
  'user-read-only',
  'heartbeat-table',
  'publication-exists',
  'publication-tables',
  'publication-operations',
  'slot-exists',
  'slot-plugin',
  'slot-database',
  'slot-wal-status',
  'slot-active',
  'slot-lag',
] as const;

export type CheckId = (typeof CHECK_IDS)[number];

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Plain TCP never leaves this machine for these hosts. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const RDS_ENDPOINT = /^([a-z][a-z0-9-]*)\.[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/i;

/** The instance identifier is the first label of an RDS instance endpoint. */
export function rdsInstanceIdentifierFromHost(host: string): string | undefined {
  return RDS_ENDPOINT.exec(host)?.[1];
}

/** `"schema"."table"` for messages. */
const display = (schema: string, table: string): string => `"${schema}"."${table}"`;

/** Bytes as `1.5 GiB (1610612736 bytes)`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} bytes` : `${value.toFixed(1)} ${units[unit]} (${bytes} bytes)`;
}

class CheckList {
  readonly results: CheckResult[] = [];

  add(
    id: CheckId,
    title: string,
    status: CheckStatus,
    detail: string,
    fix?: { sql?: readonly FixStatement[]; notes?: readonly string[] },
  ): void {
    const sql = fix?.sql ?? [];
    const notes = fix?.notes ?? [];
    const withFix = (status === 'fail' || status === 'warn') && sql.length + notes.length > 0;
    this.results.push({
      id,
      title,
      status,
      detail,
      ...(withFix ? { fix: { sql, notes } } : {}),
    });
  }
}

/** How to change a server parameter that needs a restart, on RDS or on plain PostgreSQL. */
function parameterFix(
  input: DoctorInput,
  name: string,
  value: string,
  pendingRestart: boolean,
): { sql: FixStatement[]; notes: string[] } {
  const instance = input.rdsInstanceIdentifier ?? '<instance-id>';
  if (input.facts.isRds) {
    const notes = pendingRestart
      ? []
      : [
          `Set ${name} = ${value} in the instance's DB parameter group (this project's stack does: npx cdk deploy), or by hand: aws rds modify-db-parameter-group --db-parameter-group-name <group of ${instance}> --parameters "ParameterName=${name},ParameterValue=${value},ApplyMethod=pending-reboot"`,
        ];
    notes.push(
      `Reboot the instance so that it takes effect (a short outage): ${rebootCommand(instance)}`,
    );
    return { sql: [], notes };
  }
  return {
    sql: pendingRestart ? [] : [{ sql: `ALTER SYSTEM SET ${name} = ${escapeLiteral(value)};` }],
    notes: [
      `Restart PostgreSQL so that it takes effect (${name} is only read at server start), e.g. pg_ctl restart -D <data dir> or systemctl restart postgresql.`,
    ],
  };
}

function serverChecks(input: DoctorInput, checks: CheckList): void {
  const { facts, catalog } = input;
  const major = Math.floor(catalog.serverVersion / 10000);
  const supported = SUPPORTED_ENGINE_MAJORS.map(Number);
  const oldest = Math.min(...supported);
  const newest = Math.max(...supported);
  const versionTitle = `server version supported (${SUPPORTED_ENGINE_MAJORS.join(', ')})`;
  if (supported.includes(major)) {
    checks.add('server-version', versionTitle, 'pass', `PostgreSQL ${facts.serverVersion}`);
  } else if (major > newest) {
    checks.add(
      'server-version',
      versionTitle,
      'warn',
      `PostgreSQL ${facts.serverVersion} is newer than this project was tested with`,
      { notes: [`Add ${major} to SUPPORTED_ENGINE_MAJORS once the tests pass on it.`] },
    );
  } else {
    checks.add(
      'server-version',
      versionTitle,
      'fail',
      `PostgreSQL ${facts.serverVersion} is older than ${oldest}`,
      {
        notes: [
          `Upgrade to PostgreSQL ${newest} (on RDS: aws rds modify-db-instance --db-instance-identifier ${input.rdsInstanceIdentifier ?? '<instance-id>'} --engine-version ${newest} --allow-major-version-upgrade --apply-immediately, after a snapshot).`,
        ],
      },
    );
  }

  const wal = facts.walLevel;
  if (wal.value === 'logical') {
    checks.add('wal-level', 'wal_level = logical', 'pass', 'logical');
  } else if (facts.isRds) {
    const rdsOn = facts.rdsLogicalReplication === '1' || facts.rdsLogicalReplication === 'on';
    checks.add(
      'wal-level',
      'wal_level = logical',
      'fail',
      `${wal.value}${rdsOn || wal.pendingRestart ? ' (rds.logical_replication is set, the instance waits for a reboot)' : ''}`,
      parameterFix(input, 'rds.logical_replication', '1', rdsOn || wal.pendingRestart),
    );
  } else {
    checks.add(
      'wal-level',
      'wal_level = logical',
      'fail',
      `${wal.value}${wal.pendingRestart ? ' (a new value waits for a restart)' : ''}`,
      parameterFix(input, 'wal_level', 'logical', wal.pendingRestart),
    );
  }

  const rdsTitle = 'rds.logical_replication = 1 (Amazon RDS)';
  if (!facts.isRds) {
    checks.add('rds-logical-replication', rdsTitle, 'skip', 'not Amazon RDS');
  } else if (facts.rdsLogicalReplication === '1' || facts.rdsLogicalReplication === 'on') {
    checks.add('rds-logical-replication', rdsTitle, 'pass', facts.rdsLogicalReplication);
  } else {
    checks.add(
      'rds-logical-replication',
      rdsTitle,
      'fail',
      facts.rdsLogicalReplication ?? 'not set',
      parameterFix(input, 'rds.logical_replication', '1', false),
    );
  }

  const maxSlots = Number(facts.maxReplicationSlots.value);
  const slotsTitle = 'max_replication_slots has room';
  const slotsDetail = `${facts.slotsUsed} of ${maxSlots} in use`;
  const freeUp =
    facts.otherInactiveSlots.length === 0
      ? []
      : [
          `Or free a slot nothing reads any more (its consumer loses its position and must resync): inactive now: ${facts.otherInactiveSlots.map((slot) => `${slot.name}${slot.database ? ` (database ${slot.database})` : ''}`).join(', ')}; drop one with SELECT pg_drop_replication_slot('<name>') connected to its database.`,
        ];
  const raiseSlots = (): { sql: FixStatement[]; notes: string[] } => {
    const fix = parameterFix(
      input,
      'max_replication_slots',
      String(Math.max(maxSlots + 1, facts.slotsUsed + 1)),
      facts.maxReplicationSlots.pendingRestart,
    );
    return { sql: fix.sql, notes: [...fix.notes, ...freeUp] };
  };
  if (!catalog.slot && facts.slotsUsed >= maxSlots) {
    checks.add(
      'replication-slots',
      slotsTitle,
      'fail',
      `${slotsDetail}: none left for "${input.desired.slotName}"${facts.maxReplicationSlots.pendingRestart ? ' (a new value waits for a restart)' : ''}`,
      raiseSlots(),
    );
  } else if (facts.slotsUsed >= maxSlots) {
    checks.add(
      'replication-slots',
      slotsTitle,
      'warn',
      `${slotsDetail}: no room for another connection or a re-created slot`,
      raiseSlots(),
    );
  } else {
    checks.add('replication-slots', slotsTitle, 'pass', slotsDetail);
  }

  const maxSenders = Number(facts.maxWalSenders.value);
  const sendersTitle = 'max_wal_senders has room';
  const sendersDetail = `${facts.walSendersUsed} of ${maxSenders} in use`;
  // Our own consumer, when streaming, already holds its sender.
  if (!catalog.slot?.active && facts.walSendersUsed >= maxSenders) {
    checks.add(
      'wal-senders',
      sendersTitle,
      'fail',
      `${sendersDetail}: Airbyte could not start streaming${facts.maxWalSenders.pendingRestart ? ' (a new value waits for a restart)' : ''}`,
      parameterFix(
        input,
        'max_wal_senders',
        String(Math.max(maxSenders + 1, maxSlots)),
        facts.maxWalSenders.pendingRestart,
      ),
    );
  } else {
    checks.add('wal-senders', sendersTitle, 'pass', sendersDetail);
  }

  const sslTitle = 'connection uses TLS';
  const { connectionSsl } = facts;
  if (connectionSsl.ssl) {
    checks.add(
      'ssl',
      sslTitle,
      'pass',
      `${connectionSsl.version ?? 'TLS'}${input.connection.tlsVerified ? ', certificate verified' : ''}`,
    );
  } else if (isLoopbackHost(input.connection.host) && !input.connection.requireTls) {
    checks.add(
      'ssl',
      sslTitle,
      'skip',
      `plain TCP to ${input.connection.host}: the traffic does not leave this machine (a remote database is only accepted over TLS)`,
    );
  } else {
    const notes = facts.isRds
      ? [
          'Set rds.force_ssl = 1 in the DB parameter group (the default from PostgreSQL 15), and connect with --ssl verify-full --ca-file <RDS CA bundle, https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem>.',
        ]
      : facts.serverSsl
        ? [
            'The server offers TLS: connect with --ssl verify-full (and --ca-file <CA of the server certificate>).',
          ]
        : [
            'Give the server a certificate and turn TLS on, then connect with --ssl verify-full --ca-file <CA>.',
          ];
    checks.add(
      'ssl',
      sslTitle,
      'fail',
      `not encrypted (server ssl = ${facts.serverSsl ? 'on' : 'off'})`,
      {
        sql:
          facts.isRds || facts.serverSsl
            ? []
            : [
                { sql: "ALTER SYSTEM SET ssl_cert_file = '<server.crt>';" },
                { sql: "ALTER SYSTEM SET ssl_key_file = '<server.key>';" },
                { sql: 'ALTER SYSTEM SET ssl = on;' },
                { sql: 'SELECT pg_reload_conf();' },
              ],
        notes,
      },
    );
  }
}

/** Planner statements for some step kinds, and the psql note when one sets the password. */
function plannedFix(
  steps: readonly Step[],
  kinds: readonly StepKind[],
  notes: readonly string[] = [],
): { sql: FixStatement[]; notes: string[] } {
  const passwordNote = setsPassword(steps, kinds)
    ? [
        `In psql, set the replication user's password first (from its secret; it is never printed): \\set ${PASSWORD_VARIABLE} '...'`,
      ]
    : [];
  return { sql: statementsOf(steps, kinds), notes: [...passwordNote, ...notes] };
}

function tableChecks(
  input: DoctorInput,
  checks: CheckList,
  steps: readonly Step[],
  refusal: string | undefined,
): void {
  const { catalog, desired } = input;
  const problems: string[] = [];
  const warnings: string[] = [];
  const notes: string[] = [];
  for (const table of desired.tables) {
    const state = catalog.tables[table.name];
    const name = display(desired.schema, table.name);
    if (!state?.exists) {
      problems.push(`${name} does not exist`);
      if (!(desired.createDemoTable && table.name === DEMO_TABLE_NAME)) {
        notes.push(
          `Create ${name} in database "${catalog.currentDatabase}", or remove it from replication.tables in cdk.json.`,
        );
      }
    } else if (state.replicaIdentity === 'nothing') {
      problems.push(
        `${name} has REPLICA IDENTITY NOTHING (updates and deletes fail once published)`,
      );
    } else if (state.replicaIdentity === 'default' && !state.hasPrimaryKey) {
      problems.push(`${name} has no primary key and REPLICA IDENTITY DEFAULT`);
      notes.push(
        `Or add a primary key to ${name} and keep REPLICA IDENTITY DEFAULT; with FULL, set "replicaIdentity": "full" for it in replication.tables so the setup keeps it.`,
      );
    } else if (
      state.replicaIdentity !== table.replicaIdentity &&
      state.replicaIdentity !== 'index'
    ) {
      warnings.push(
        `${name} has REPLICA IDENTITY ${state.replicaIdentity?.toUpperCase()}, the configuration says ${table.replicaIdentity.toUpperCase()}`,
      );
      if (!state.hasPrimaryKey) {
        // Without a key the planner refuses "default": the SQL fix would break the next deploy.
        notes.push(
          `${name} has no primary key: set "replicaIdentity": "full" for it in replication.tables (the setup refuses DEFAULT without a key), or add a primary key.`,
        );
      }
    }
  }
  const title = 'each table exists with a primary key or REPLICA IDENTITY FULL';
  const fix = plannedFix(
    steps,
    ['create-schema', 'create-demo-table', 'set-replica-identity'],
    refusal ? [...notes, refusal] : notes,
  );
  if (problems.length > 0) {
    checks.add('tables', title, 'fail', [...problems, ...warnings].join('; '), fix);
  } else if (warnings.length > 0) {
    checks.add('tables', title, 'warn', warnings.join('; '), fix);
  } else {
    checks.add(
      'tables',
      title,
      'pass',
      desired.tables
        .map(
          (table) =>
            `${display(desired.schema, table.name)} (${catalog.tables[table.name]?.hasPrimaryKey ? 'primary key' : 'no primary key'}, ${catalog.tables[table.name]?.replicaIdentity?.toUpperCase()})`,
        )
        .join(', '),
    );
  }
}

function userChecks(input: DoctorInput, checks: CheckList, steps: readonly Step[]): void {
  const { catalog, desired } = input;
  const user = `"${desired.user}"`;
  const role = catalog.role;

  if (role) {
    checks.add('user-exists', `replication user ${user} exists`, 'pass', 'yes');
  } else {
    checks.add(
      'user-exists',
      `replication user ${user} exists`,
      'fail',
      'no such role',
      plannedFix(steps, ['create-role']),
    );
  }
  const missingUser = { sql: [], notes: [`Create the user first (see "user-exists").`] };

  const loginTitle = `${user} can log in`;
  const loginFix = plannedFix(steps, ['update-role']);
  if (!role) {
    checks.add('user-login', loginTitle, 'fail', 'no such role', missingUser);
  } else if (!role.canLogin) {
    checks.add('user-login', loginTitle, 'fail', 'the role has NOLOGIN', loginFix);
  } else {
    switch (input.login.kind) {
      case 'connected-as-user':
        checks.add('user-login', loginTitle, 'pass', 'the doctor is logged in as this user');
        break;
      case 'succeeded':
        checks.add('user-login', loginTitle, 'pass', 'logged in with its password');
        break;
      case 'failed':
        checks.add('user-login', loginTitle, 'fail', input.login.message, loginFix);
        break;
      case 'not-tried':
        checks.add(
          'user-login',
          loginTitle,
          'warn',
          'LOGIN is set, but no password was given to try it with',
          {
            notes: [
              'Pass --replication-password-env VAR (the variable holding its password), or run the doctor as that user (--user).',
            ],
          },
        );
        break;
    }
  }

  const replicationTitle = catalog.rdsReplicationRoleExists
    ? `${user} is a member of ${RDS_REPLICATION_ROLE}`
    : `${user} has the REPLICATION attribute`;
  const replicationFix = plannedFix(steps, [
    'grant-rds-replication',
    'grant-replication-attribute',
  ]);
  if (!role) {
    checks.add('user-replication', replicationTitle, 'fail', 'no such role', replicationFix);
  } else if (catalog.rdsReplicationRoleExists ? role.memberOfRdsReplication : role.replication) {
    checks.add('user-replication', replicationTitle, 'pass', 'yes');
  } else {
    checks.add('user-replication', replicationTitle, 'fail', 'no', replicationFix);
  }

  const selectTitle = `${user} has USAGE on "${desired.schema}" and SELECT on every published table`;
  const selectFix = plannedFix(steps, ['grant-schema-usage', 'grant-select']);
  const published = desired.tables
    .map((table) => table.name)
    .filter((name) => catalog.tables[name]?.exists);
  if (!role) {
    checks.add('user-select', selectTitle, 'fail', 'no such role', selectFix);
  } else {
    const unreadable = published.filter((name) => role.relationsWithoutSelect.includes(name));
    const problems = [
      ...(role.schemaUsage ? [] : [`no USAGE on schema "${desired.schema}"`]),
      ...(unreadable.length > 0
        ? [`no SELECT on ${unreadable.map((name) => display(desired.schema, name)).join(', ')}`]
        : []),
    ];
    if (problems.length > 0) {
      checks.add('user-select', selectTitle, 'fail', problems.join('; '), selectFix);
    } else {
      checks.add('user-select', selectTitle, 'pass', `${published.length} table(s) readable`);
    }
  }

  readOnlyCheck(input, checks);

  if (desired.heartbeatTable !== undefined) {
    const heartbeat = display(desired.schema, desired.heartbeatTable);
    const heartbeatTitle = `heartbeat table ${heartbeat} exists and ${user} may INSERT and UPDATE it`;
    const fix = plannedFix(steps, ['create-heartbeat-table', 'grant-heartbeat-write']);
    if (!catalog.tables[desired.heartbeatTable]?.exists) {
      checks.add('heartbeat-table', heartbeatTitle, 'fail', 'the table does not exist', fix);
    } else if (!role?.heartbeatWriteGranted) {
      checks.add('heartbeat-table', heartbeatTitle, 'fail', `${user} cannot write it`, fix);
    } else {
      checks.add('heartbeat-table', heartbeatTitle, 'pass', 'yes');
    }
  }
}

/** No write privilege anywhere in the schema (heartbeat INSERT/UPDATE excepted), no CREATE. */
function readOnlyCheck(input: DoctorInput, checks: CheckList): void {
  const { catalog, desired, facts } = input;
  const title = `"${desired.user}" is read-only (no INSERT/UPDATE/DELETE/TRUNCATE, no CREATE)`;
  const writes = facts.userWrites;
  if (!catalog.role || !writes) {
    checks.add('user-read-only', title, 'skip', 'no such role');
    return;
  }
  const user = escapeIdentifier(desired.user);
  const schema = escapeIdentifier(desired.schema);
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
  if (writes.schemaCreate) {
    problems.push(`CREATE on schema "${desired.schema}"`);
    if (writes.schemaCreateViaPublic) {
      sql.push({ sql: `REVOKE CREATE ON SCHEMA ${schema} FROM PUBLIC;` });
      notes.push(
        `CREATE on "${desired.schema}" is granted to PUBLIC (every role): the revoke takes it from all of them, as PostgreSQL 15 does by default for the public schema.`,
      );
    }
    sql.push({ sql: `REVOKE CREATE ON SCHEMA ${schema} FROM ${user};` });
  }
  for (const relation of writes.relations) {
    const allowed = relation.name === desired.heartbeatTable ? ['INSERT', 'UPDATE'] : [];
    const extra = relation.privileges.filter((privilege) => !allowed.includes(privilege));
    if (extra.length === 0) continue;
    const table = qualifiedName(desired.schema, relation.name);
    problems.push(`${extra.join(', ')} on ${display(desired.schema, relation.name)}`);
    if (relation.ownedByUser) {
      sql.push({ sql: `ALTER TABLE ${table} OWNER TO CURRENT_USER;` });
      notes.push(
        `"${desired.user}" owns ${display(desired.schema, relation.name)}: the fix hands it to the user running it (run as the master user).`,
      );
      continue;
    }
    if (relation.grantedToPublic) {
      sql.push({ sql: `REVOKE ${extra.join(', ')} ON TABLE ${table} FROM PUBLIC;` });
    }
    sql.push({ sql: `REVOKE ${extra.join(', ')} ON TABLE ${table} FROM ${user};` });
  }
  if (problems.length === 0) {
    checks.add(
      'user-read-only',
      title,
      'pass',
      desired.heartbeatTable === undefined
        ? 'no write privilege'
        : `writes only the heartbeat table`,
    );
    return;
  }
  notes.push(
    `If a privilege remains afterwards, "${desired.user}" inherits it from a role it is a member of: revoke it there, or REVOKE that role FROM ${user}.`,
  );
  checks.add('user-read-only', title, 'fail', problems.join('; '), { sql, notes });
}

function publicationChecks(input: DoctorInput, checks: CheckList, steps: readonly Step[]): void {
  const { catalog, desired } = input;
  const name = `"${desired.publicationName}"`;
  const publication = catalog.publication;
  if (publication) {
    checks.add('publication-exists', `publication ${name} exists`, 'pass', 'yes');
  } else {
    checks.add(
      'publication-exists',
      `publication ${name} exists`,
      'fail',
      'no such publication',
      plannedFix(
        steps,
        ['create-publication'],
        steps.some((step) => step.kind === 'create-publication')
          ? []
          : ['None of the configured tables exists: create them first (see "tables").'],
      ),
    );
  }

  const wanted = [
    ...new Set([
      ...desired.tables.map((table) => table.name),
      ...(desired.heartbeatTable === undefined ? [] : [desired.heartbeatTable]),
    ]),
  ];
  const tablesTitle = `publication ${name} holds exactly the configured tables`;
  if (!publication) {
    checks.add('publication-tables', tablesTitle, 'fail', 'no such publication', {
      notes: ['Create the publication first (see "publication-exists").'],
    });
  } else if (publication.allTables) {
    checks.add(
      'publication-tables',
      tablesTitle,
      'fail',
      'it is FOR ALL TABLES (publishes every table, cannot be narrowed)',
      {
        sql: [
          ...dropStatements(catalog, desired, 'publication'),
          ...statementsOf(steps, ['create-publication']),
        ],
        notes: [
          `Dropping ${name} interrupts whatever else reads it until it is re-created; or choose another replication.publicationName.`,
        ],
      },
    );
  } else {
    const listed = publication.tables.map((table) => display(table.schema, table.name));
    const expected = wanted.map((table) => display(desired.schema, table));
    const missing = expected.filter((table) => !listed.includes(table));
    const extra = listed.filter((table) => !expected.includes(table));
    const problems = [
      ...(missing.length > 0 ? [`missing ${missing.join(', ')}`] : []),
      ...(extra.length > 0 ? [`also lists ${extra.join(', ')}`] : []),
    ];
    if (problems.length > 0) {
      checks.add(
        'publication-tables',
        tablesTitle,
        'fail',
        problems.join('; '),
        plannedFix(steps, ['set-publication-tables']),
      );
    } else {
      checks.add('publication-tables', tablesTitle, 'pass', listed.join(', '));
    }
  }

  const operationsTitle = `publication ${name} publishes insert, update, delete and truncate`;
  if (!publication) {
    checks.add('publication-operations', operationsTitle, 'skip', 'no such publication');
  } else if (publication.publishesAllOperations) {
    checks.add('publication-operations', operationsTitle, 'pass', 'yes');
  } else {
    checks.add(
      'publication-operations',
      operationsTitle,
      'fail',
      'some operations are not published (their changes never reach Airbyte)',
      plannedFix(steps, ['set-publication-operations']),
    );
  }
}

function slotChecks(input: DoctorInput, checks: CheckList, steps: readonly Step[]): void {
  const { catalog, desired, facts } = input;
  const name = `"${desired.slotName}"`;
  const slot = catalog.slot;
  const create = statementsOf(steps, ['create-slot']);
  if (!slot) {
    checks.add('slot-exists', `replication slot ${name} exists`, 'fail', 'no such slot', {
      sql: create,
    });
    for (const id of ['slot-plugin', 'slot-database', 'slot-wal-status', 'slot-active'] as const) {
      checks.add(id, slotTitle(id, input), 'skip', 'no such slot');
    }
    checks.add('slot-lag', slotTitle('slot-lag', input), 'skip', 'no such slot');
    return;
  }
  checks.add('slot-exists', `replication slot ${name} exists`, 'pass', `${slot.slotType} slot`);

  // One unusable slot needs one drop and one re-create: print them on the first failing check.
  let recreateOffered = false;
  const recreate = (reason: string): { sql: FixStatement[]; notes: string[] } => {
    if (recreateOffered) return { sql: [], notes: ['See the fix above.'] };
    recreateOffered = true;
    return {
      sql: [...dropStatements(catalog, desired, 'slot'), ...create],
      notes: [
        `${reason} The drop discards the slot's position: if Airbyte read it, run a full resync of the connection afterwards. If something else uses that slot, keep it and choose another replication.slotName instead.`,
      ],
    };
  };

  if (slot.plugin === SLOT_PLUGIN) {
    checks.add('slot-plugin', slotTitle('slot-plugin', input), 'pass', SLOT_PLUGIN);
  } else {
    checks.add(
      'slot-plugin',
      slotTitle('slot-plugin', input),
      'fail',
      `${slot.slotType} slot with plugin ${slot.plugin ?? 'none'}`,
      recreate(`Airbyte's Debezium connector reads ${SLOT_PLUGIN} only.`),
    );
  }
  if (slot.database === catalog.currentDatabase) {
    checks.add('slot-database', slotTitle('slot-database', input), 'pass', slot.database);
  } else {
    checks.add(
      'slot-database',
      slotTitle('slot-database', input),
      'fail',
      `decodes database "${slot.database ?? 'none'}"`,
      recreate('A logical slot decodes only the database it was created in.'),
    );
  }
  if (slot.walStatus === 'lost') {
    checks.add(
      'slot-wal-status',
      slotTitle('slot-wal-status', input),
      'fail',
      'lost: the WAL it needed exceeded max_slot_wal_keep_size and was removed',
      recreate('Changes since its position are gone.'),
    );
  } else if (slot.walStatus === 'unreserved') {
    checks.add(
      'slot-wal-status',
      slotTitle('slot-wal-status', input),
      'warn',
      'unreserved: the WAL it needs is about to be removed (max_slot_wal_keep_size)',
      { notes: ['Run an Airbyte sync now, before the next checkpoint invalidates the slot.'] },
    );
  } else {
    checks.add(
      'slot-wal-status',
      slotTitle('slot-wal-status', input),
      'pass',
      slot.walStatus ?? 'unknown',
    );
  }
  checks.add(
    'slot-active',
    slotTitle('slot-active', input),
    'pass',
    slot.active
      ? `streaming now (pid ${slot.activePid})`
      : 'inactive: no consumer connected now (normal between Airbyte syncs)',
  );

  const retained = facts.slotWal?.retainedBytes;
  const lagTitle = slotTitle('slot-lag', input);
  if (retained === null || retained === undefined) {
    checks.add('slot-lag', lagTitle, 'skip', 'the slot holds no WAL position');
  } else if (retained > input.slotLagWarnBytes) {
    checks.add(
      'slot-lag',
      lagTitle,
      'warn',
      `${formatBytes(retained)} retained, above ${formatBytes(input.slotLagWarnBytes)}`,
      {
        notes: [
          'Run an Airbyte sync (or check why syncs fail or are not scheduled): the connector confirms its position, and PostgreSQL frees the WAL.',
          `If nothing will ever read ${name}, drop it before it fills the disk (its unread changes are lost): SELECT pg_drop_replication_slot(${escapeLiteral(desired.slotName)});`,
        ],
      },
    );
  } else {
    checks.add(
      'slot-lag',
      lagTitle,
      'pass',
      `${formatBytes(retained)} retained (warning above ${formatBytes(input.slotLagWarnBytes)})`,
    );
  }
}

function slotTitle(
  id: 'slot-plugin' | 'slot-database' | 'slot-wal-status' | 'slot-active' | 'slot-lag',
  input: DoctorInput,
): string {
  const name = `"${input.desired.slotName}"`;
  switch (id) {
    case 'slot-plugin':
      return `slot ${name} uses plugin ${SLOT_PLUGIN}`;
    case 'slot-database':
      return `slot ${name} decodes database "${input.catalog.currentDatabase}"`;
    case 'slot-wal-status':
      return `slot ${name} is not invalidated (wal_status)`;
    case 'slot-active':
      return `slot ${name} consumer`;
    case 'slot-lag':
      return `slot ${name} retained WAL`;
  }
}

/**
 * Every check, in print order. Pure: the same input gives the same results. Fix statements come
 * from the replication planners wherever the setup would run them.
 */
export function evaluateChecks(input: DoctorInput): CheckResult[] {
  const checks = new CheckList();
  const { steps, refusal } = safePlanFixSteps(input.catalog, input.desired);
  serverChecks(input, checks);
  tableChecks(input, checks, steps, refusal);
  userChecks(input, checks, steps);
  publicationChecks(input, checks, steps);
  slotChecks(input, checks, steps);
  return checks.results;
}
