import { GIB, slotHealth } from '../watchdog/fixtures';
import {
  CHECK_IDS,
  evaluateChecks,
  formatBytes,
  isLoopbackHost,
  printableSql,
  rdsDatabaseFromHost,
  type CheckId,
  type CheckResult,
  type DoctorInput,
  type ServerFacts,
} from '../../../src/doctor';
import type { CatalogSnapshot } from '../../../src/replication';
import type { SlotHealth, SlotReading } from '../../../src/watchdog';
import { TUTORIAL_STATE } from '../replication/fixtures';

const desired = TUTORIAL_STATE;

/** The catalog of a database the setup configured (what readCatalog returns for it). */
function healthyCatalog(overrides: Partial<CatalogSnapshot> = {}): CatalogSnapshot {
  return {
    serverVersion: 170006,
    walLevel: 'logical',
    currentUser: 'postgres',
    currentUserIsSuperuser: false,
    currentDatabase: 'app',
    missingSchemas: [],
    tables: {
      datastore: {
        data_tbl: {
          schema: 'datastore',
          name: 'data_tbl',
          exists: true,
          hasPrimaryKey: true,
          replicaIdentity: 'default',
        },
      },
    },
    role: {
      canLogin: true,
      replication: false,
      superuser: false,
      memberOfRdsReplication: true,
      passwordCurrent: true,
      schemasWithoutUsage: [],
      relationsWithoutSelect: [],
      schemasWithoutDefaultSelect: [],
      heartbeatWriteGranted: false,
      ownedObjects: 0,
      currentUserHasPrivileges: true,
      defaultPrivilegeGrantors: [],
    },
    rdsReplicationRoleExists: true,
    publication: {
      allTables: false,
      publishesAllOperations: true,
      publishesViaPartitionRoot: true,
      tables: [{ schema: 'datastore', name: 'data_tbl' }],
    },
    slot: {
      plugin: 'pgoutput',
      slotType: 'logical',
      database: 'app',
      active: false,
      activePid: null,
      confirmedFlushLsn: '0/1000',
      walStatus: 'reserved',
      safeWalSizeBytes: null,
      confirmedLagBytes: 0,
      retainedBytes: 0,
    },
    ...overrides,
  };
}

const setting = (value: string, pendingRestart = false) => ({ value, pendingRestart });

/** The healthy catalog's slot as the watchdog's reader reports it: 4 GiB keep size, 17+. */
const healthySlotHealth = (
  slot: Partial<SlotReading> = {},
  overrides: Partial<SlotHealth> = {},
): SlotHealth =>
  slotHealth(
    {
      safeWalSizeBytes: 4 * GIB - 1000,
      confirmedLagBytes: 100,
      retainedBytes: 1000,
      inactiveSeconds: 600,
      ...slot,
    },
    overrides,
  );

function healthyFacts(overrides: Partial<ServerFacts> = {}): ServerFacts {
  return {
    serverVersion: '17.6',
    walLevel: setting('logical'),
    maxReplicationSlots: setting('10'),
    maxWalSenders: setting('10'),
    rdsLogicalReplication: 'on',
    isRds: true,
    slotsUsed: 1,
    otherInactiveSlots: [],
    walSendersUsed: 0,
    connectionSsl: { ssl: true, version: 'TLSv1.3' },
    serverSsl: true,
    slotHealth: healthySlotHealth(),
    userWrites: {
      superuser: false,
      databaseCreate: false,
      creatableSchemas: [],
      relations: [],
    },
    // data_tbl with a bounded val: the tutorial's unbounded varchar warns (test/src/doctor/toast.test.ts).
    tableStorage: [
      {
        schema: 'datastore',
        name: 'data_tbl',
        relations: [
          {
            schema: 'datastore',
            name: 'data_tbl',
            replicaIdentity: 'default',
            hasToastTable: false,
            columns: [
              {
                name: 'id',
                storage: 'p',
                variableLength: false,
                maxBytes: 8,
                inIdentityKey: true,
                generated: false,
              },
              {
                name: 'val',
                storage: 'x',
                variableLength: true,
                maxBytes: 1024,
                inIdentityKey: false,
                generated: false,
              },
            ],
          },
        ],
      },
    ],
    ...overrides,
  };
}

const HOST = 'rds-airbyte-cdc-dev.c1abc2def3gh.eu-west-1.rds.amazonaws.com';
const CLUSTER_HOST = 'rds-airbyte-cdc-aurora.cluster-c1abc2def3gh.eu-west-1.rds.amazonaws.com';

function evaluate(
  input: { catalog?: Partial<CatalogSnapshot>; facts?: Partial<ServerFacts> } & Partial<
    Omit<DoctorInput, 'catalog' | 'facts'>
  > = {},
): CheckResult[] {
  const { catalog, facts, ...rest } = input;
  return evaluateChecks({
    catalog: healthyCatalog(catalog),
    facts: healthyFacts(facts),
    desired,
    connection: { host: HOST, tlsVerified: true },
    login: { kind: 'succeeded' },
    slotLagWarnBytes: 1024 ** 3,
    rdsDatabase: rdsDatabaseFromHost(HOST),
    ...rest,
  });
}

const find = (checks: CheckResult[], id: string): CheckResult => {
  const found = checks.find((check) => check.id === id);
  if (!found) throw new Error(`no check ${id}`);
  return found;
};
const notProblems = (checks: CheckResult[]) =>
  checks.filter((check) => check.status === 'fail' || check.status === 'warn').map((c) => c.id);

describe('evaluateChecks (pure)', () => {
  it('a healthy RDS database passes everything', () => {
    const checks = evaluate();
    expect(notProblems(checks)).toEqual([]);
    expect(find(checks, 'ssl').detail).toBe('TLSv1.3, certificate verified');
  });

  it('server versions: older than supported fails, newer warns', () => {
    const old = find(
      evaluate({ catalog: { serverVersion: 130010 }, facts: { serverVersion: '13.10' } }),
      'server-version',
    );
    expect(old.status).toBe('fail');
    expect(old.fix?.notes.join()).toContain('--engine-version 18 --allow-major-version-upgrade');
    expect(find(evaluate({ catalog: { serverVersion: 190000 } }), 'server-version').status).toBe(
      'warn',
    );
  });

  it('RDS with rds.logical_replication set but not rebooted: only the reboot is left', () => {
    const wal = find(
      evaluate({ catalog: { walLevel: 'replica' }, facts: { walLevel: setting('replica') } }),
      'wal-level',
    );
    expect(wal.status).toBe('fail');
    expect(wal.detail).toMatch(/waits for a reboot/);
    expect(wal.fix).toEqual({
      sql: [],
      notes: [
        expect.stringContaining(
          'aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-dev',
        ),
      ],
    });
  });

  it('plain TCP: fails for a remote host, not applicable on this machine', () => {
    const plain = { connectionSsl: { ssl: false, version: null } };
    const remote = find(evaluate({ facts: plain }), 'ssl');
    expect(remote.status).toBe('fail');
    expect(remote.fix?.notes.join()).toMatch(/rds.force_ssl = 1/);
    const local = find(
      evaluate({ facts: plain, connection: { host: '127.0.0.1', tlsVerified: false } }),
      'ssl',
    );
    expect(local.status).toBe('skip');
  });

  it('plain PostgreSQL without TLS gets the statements that turn it on', () => {
    const ssl = find(
      evaluate({
        facts: { connectionSsl: { ssl: false, version: null }, serverSsl: false, isRds: false },
      }),
      'ssl',
    );
    expect(ssl.fix?.sql.map((statement) => statement.sql)).toEqual([
      "ALTER SYSTEM SET ssl_cert_file = '<server.crt>';",
      "ALTER SYSTEM SET ssl_key_file = '<server.key>';",
      'ALTER SYSTEM SET ssl = on;',
      'SELECT pg_reload_conf();',
    ]);
  });

  it('WAL senders: all busy fails unless our consumer holds one of them', () => {
    const busy = { walSendersUsed: 10 };
    expect(find(evaluate({ facts: busy }), 'wal-senders').status).toBe('fail');
    const streaming = healthyCatalog().slot;
    expect(
      find(
        evaluate({
          facts: busy,
          catalog: { slot: { ...streaming!, active: true, activePid: 42 } },
        }),
        'wal-senders',
      ).status,
    ).toBe('pass');
  });

  it('replication slots: all used with ours among them is a warning', () => {
    const full = find(evaluate({ facts: { slotsUsed: 10 } }), 'replication-slots');
    expect(full.status).toBe('warn');
    expect(full.fix?.notes.join()).toContain(
      'ParameterName=max_replication_slots,ParameterValue=11',
    );
  });

  it('an unreserved slot warns before it is lost', () => {
    const slot = { ...healthyCatalog().slot!, walStatus: 'unreserved' };
    expect(find(evaluate({ catalog: { slot } }), 'slot-wal-status').status).toBe('warn');
  });

  it('a lost slot with no restart_lsn: lag not applicable, the drop and re-create printed once', () => {
    const slot = { ...healthyCatalog().slot!, walStatus: 'lost', plugin: 'test_decoding' };
    const checks = evaluate({
      catalog: { slot },
      facts: {
        slotHealth: healthySlotHealth({
          walStatus: 'lost',
          retainedBytes: null,
          safeWalSizeBytes: null,
          invalidationReason: 'wal_removed',
        }),
      },
    });
    expect(find(checks, 'slot-plugin').fix?.sql.map((statement) => statement.sql)).toEqual([
      "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = 'airbyte_slot';",
      "SELECT pg_create_logical_replication_slot('airbyte_slot', 'pgoutput');",
    ]);
    expect(find(checks, 'slot-wal-status').fix).toEqual({ sql: [], notes: ['See the fix above.'] });
    expect(find(checks, 'slot-lag').status).toBe('skip');
  });

  it('masks the password of create-role: psql variable, never the password or a verifier', () => {
    const checks = evaluate({ catalog: { role: undefined } });
    const fix = find(checks, 'user-exists').fix;
    expect(fix?.sql).toEqual([
      { sql: `CREATE ROLE "airbyte" WITH LOGIN PASSWORD :'replication_password';` },
    ]);
    const text = JSON.stringify(checks);
    expect(text).not.toContain(desired.password);
    expect(text).not.toContain('SCRAM-SHA-256');
  });

  it('no configured table exists: the other fixes are still planned, the publication waits', () => {
    const checks = evaluate({
      catalog: { role: undefined, publication: undefined, tables: {} },
      desired: { ...desired, createDemoTable: false },
    });
    expect(find(checks, 'tables').detail).toBe('"datastore"."data_tbl" does not exist');
    expect(find(checks, 'user-exists').fix?.sql).toHaveLength(1);
    expect(find(checks, 'publication-exists').fix).toEqual({
      sql: [],
      notes: ['None of the configured tables exists: create them first (see "tables").'],
    });
  });

  it('a login that was not tried warns and says how to try it', () => {
    const login = find(evaluate({ login: { kind: 'not-tried' } }), 'user-login');
    expect(login.status).toBe('warn');
    expect(login.fix?.notes.join()).toContain('--replication-password-env');
  });

  it('read-only: the heartbeat table may be written, nothing else', () => {
    const heartbeatDesired = { ...desired, heartbeatTable: 'airbyte_heartbeat' };
    const facts = {
      userWrites: {
        ...healthyFacts().userWrites!,
        relations: [
          {
            schema: 'datastore',
            name: 'airbyte_heartbeat',
            privileges: ['INSERT', 'UPDATE', 'DELETE'],
            ownedByUser: false,
            grantedToPublic: false,
          },
        ],
      },
    };
    const readOnly = find(evaluate({ facts, desired: heartbeatDesired }), 'user-read-only');
    expect(readOnly.status).toBe('fail');
    expect(readOnly.detail).toBe('DELETE on "datastore"."airbyte_heartbeat"');
    expect(readOnly.fix?.sql[0]).toEqual({
      sql: 'REVOKE DELETE ON TABLE "datastore"."airbyte_heartbeat" FROM "airbyte";',
    });
  });

  it('CREATE on the public schema through PUBLIC is revoked from PUBLIC, and says so', () => {
    const readOnly = find(
      evaluate({
        facts: {
          userWrites: {
            ...healthyFacts().userWrites!,
            creatableSchemas: [{ name: 'datastore', viaPublic: true }],
          },
        },
      }),
      'user-read-only',
    );
    expect(readOnly.fix?.sql.map((statement) => statement.sql)).toEqual([
      'REVOKE CREATE ON SCHEMA "datastore" FROM PUBLIC;',
      'REVOKE CREATE ON SCHEMA "datastore" FROM "airbyte";',
    ]);
    expect(readOnly.fix?.notes.join()).toMatch(/granted to PUBLIC/);
  });

  it('CREATE on several schemas: each named, revoked in one statement listing them', () => {
    const readOnly = find(
      evaluate({
        facts: {
          userWrites: {
            ...healthyFacts().userWrites!,
            creatableSchemas: [
              { name: 'datastore', viaPublic: false },
              { name: 'public', viaPublic: true },
            ],
          },
        },
      }),
      'user-read-only',
    );
    expect(readOnly.detail).toBe('CREATE on schema "datastore"; CREATE on schema "public"');
    expect(readOnly.fix?.sql.map((statement) => statement.sql)).toEqual([
      'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;',
      'REVOKE CREATE ON SCHEMA "datastore", "public" FROM "airbyte";',
    ]);
  });

  it('a whole schema beside a listed one: a publication without the schema fails, the fix sets both', () => {
    const twoSchemas = {
      ...desired,
      schemas: [
        { name: 'datastore' },
        { name: 'crm', wholeSchema: { replicaIdentity: 'default' } },
      ],
    } as const;
    const publication = find(
      evaluate({
        desired: twoSchemas,
        catalog: { currentUserIsSuperuser: true, schemaTables: { crm: [] } },
      }),
      'publication-tables',
    );
    expect(publication.title).toBe(
      'publication "airbyte_publication" holds every table of schema "crm" and the configured tables of schema "datastore"',
    );
    expect(publication.status).toBe('fail');
    expect(publication.detail).toBe(
      'publishes 1 listed table(s), not every table in schema "crm" (FOR TABLES IN SCHEMA)',
    );
    expect(publication.fix?.sql).toEqual([
      {
        sql: 'ALTER PUBLICATION "airbyte_publication" SET TABLES IN SCHEMA "crm", TABLE "datastore"."data_tbl";',
      },
    ]);
  });
});

describe('slot-health: the watchdog figures and the verdicts its alarms would reach', () => {
  const health = (slot: Partial<SlotReading> = {}, overrides: Partial<SlotHealth> = {}) =>
    find(evaluate({ facts: { slotHealth: healthySlotHealth(slot, overrides) } }), 'slot-health');

  it('a reserved slot between syncs: every figure, no alarm', () => {
    expect(health()).toEqual({
      id: 'slot-health',
      title: 'slot "airbyte_slot" as the watchdog sees it',
      status: 'pass',
      detail:
        'wal_status reserved (SlotWalStatus 0); safe WAL size 4.0 GiB (4294966296 bytes) of max_slot_wal_keep_size 4.0 GiB (4294967296 bytes); inactive for 10 min; 100 bytes not confirmed by the consumer; no watchdog alarm would fire',
    });
  });

  it('wal_status extended: the status alarm, and a sync as the remedy', () => {
    const extended = health({ walStatus: 'extended' });
    expect(extended.status).toBe('warn');
    expect(extended.detail).toMatch(/^wal_status extended \(SlotWalStatus 1\); /);
    expect(extended.detail).toMatch(
      /; the watchdog would alarm: wal_status is extended, not reserved$/,
    );
    expect(extended.fix?.notes).toEqual([expect.stringMatching(/^Run an Airbyte sync now/)]);
  });

  it('safe WAL size: below half of max_slot_wal_keep_size alarms, exactly half does not', () => {
    const low = health({ safeWalSizeBytes: 2 * GIB - 1 });
    expect(low.status).toBe('warn');
    expect(low.detail).toMatch(
      /the watchdog would alarm: safe WAL size below 50 % of max_slot_wal_keep_size \(2\.0 GiB \(2147483648 bytes\)\)$/,
    );
    expect(health({ safeWalSizeBytes: 2 * GIB }).status).toBe('pass');
  });

  it('an unreserved slot past max_slot_wal_keep_size: negative safe WAL size, both alarms', () => {
    const unreserved = health({ walStatus: 'unreserved', safeWalSizeBytes: -16 * 1024 * 1024 });
    expect(unreserved.detail).toContain(
      'safe WAL size -16.0 MiB (16777216 bytes) of max_slot_wal_keep_size',
    );
    expect(unreserved.detail).toMatch(
      /alarm: wal_status is unreserved, not reserved, safe WAL size below 50 %/,
    );
  });

  it('inactive longer than the limit (three hours by default) alarms', () => {
    const idle = health({ inactiveSeconds: 4 * 3600 + 5 * 60 });
    expect(idle.status).toBe('warn');
    expect(idle.detail).toContain('; inactive for 4 h 5 min; ');
    expect(idle.detail).toMatch(/the watchdog would alarm: inactive for longer than 3 h$/);
    expect(health({ inactiveSeconds: 3 * 3600 }).status).toBe('pass');
  });

  it('judges by the configured fraction and inactivity limit when given', () => {
    const configured = (slot: Partial<SlotReading>) =>
      find(
        evaluate({
          facts: { slotHealth: healthySlotHealth(slot) },
          slotThresholds: { safeWalSizeFraction: 0.75, maxInactiveSeconds: 3 * 86400 },
        }),
        'slot-health',
      );
    // Four hours inactive alarms by default, not with a daily schedule's three days.
    expect(configured({ inactiveSeconds: 4 * 3600 }).status).toBe('pass');
    const idle = configured({ inactiveSeconds: 3 * 86400 + 1 });
    expect(idle.detail).toMatch(/the watchdog would alarm: inactive for longer than 3 d$/);
    // 2.5 GiB of 4 GiB left passes at half, not at three quarters.
    expect(health({ safeWalSizeBytes: 2.5 * GIB }).status).toBe('pass');
    expect(configured({ safeWalSizeBytes: 2.5 * GIB }).detail).toMatch(
      /alarm: safe WAL size below 75 % of max_slot_wal_keep_size \(3\.0 GiB \(3221225472 bytes\)\)$/,
    );
  });

  it('before PostgreSQL 17 the time inactive is unknown, not zero, and no alarm is claimed', () => {
    const { inactiveSince, inactiveSeconds, invalidationReason, ...withoutThem } =
      healthySlotHealth().slot!;
    const checks = evaluate({
      catalog: { serverVersion: 160004 },
      facts: {
        serverVersion: '16.4',
        slotHealth: { ...healthySlotHealth(), serverVersion: 160004, slot: withoutThem },
      },
    });
    const old = find(checks, 'slot-health');
    expect(old.status).toBe('pass');
    expect(old.detail).toContain(
      '; inactive for an unknown time (PostgreSQL 16 does not record since when, 17+ does); ',
    );
  });

  it('a streaming slot is active; an unlimited max_slot_wal_keep_size has no safe WAL size', () => {
    const active = health(
      {
        active: true,
        activePid: 42,
        inactiveSince: null,
        inactiveSeconds: null,
        safeWalSizeBytes: null,
      },
      { maxSlotWalKeepSizeBytes: null },
    );
    expect(active.status).toBe('pass');
    expect(active.detail).toBe(
      'wal_status reserved (SlotWalStatus 0); safe WAL size unlimited (max_slot_wal_keep_size = -1); active; 100 bytes not confirmed by the consumer; no watchdog alarm would fire',
    );
  });

  it('a lost slot: the status alarm, and re-creating it as the only remedy', () => {
    const lost = health({
      walStatus: 'lost',
      safeWalSizeBytes: null,
      retainedBytes: null,
      invalidationReason: 'wal_removed',
    });
    expect(lost.status).toBe('warn');
    expect(lost.detail).toMatch(
      /^wal_status lost \(SlotWalStatus 3\); no safe WAL size \(the slot is lost\); /,
    );
    expect(lost.detail).toMatch(/alarm: wal_status is lost, not reserved$/);
    expect(lost.fix?.notes).toEqual([
      expect.stringMatching(/^The slot is lost: only re-creating it/),
    ]);
  });

  it('no slot: skipped (slot-exists fails)', () => {
    const checks = evaluate({
      catalog: { slot: undefined },
      facts: { slotHealth: healthySlotHealth({}, { slot: undefined }) },
    });
    expect(find(checks, 'slot-health')).toMatchObject({ status: 'skip', detail: 'no such slot' });
    expect(find(checks, 'slot-exists').status).toBe('fail');
  });
});

describe('CHECK_IDS', () => {
  it('lists every check once, in the order they are reported (connection first: runDoctor makes it)', () => {
    const reported = evaluate({ desired: { ...desired, heartbeatTable: 'airbyte_heartbeat' } });
    expect(CHECK_IDS).toEqual(['connection', ...reported.map((check) => check.id)]);
    expect(new Set(CHECK_IDS).size).toBe(CHECK_IDS.length);
  });

  it('leaves out only heartbeat-table when no heartbeat table is configured', () => {
    const reported = evaluate().map((check) => check.id);
    expect(reported).toEqual(
      CHECK_IDS.filter((id) => id !== 'connection' && id !== 'heartbeat-table'),
    );
  });

  it('types CheckId as the union of the ids', () => {
    const known: CheckId = 'slot-lag';
    // @ts-expect-error: an id no check has is not a CheckId.
    const unknown: CheckId = 'no-such-check';
    expect([known, unknown]).toEqual(['slot-lag', 'no-such-check']);
  });
});

describe('helpers', () => {
  it('isLoopbackHost', () => {
    expect(['127.0.0.1', '127.1.2.3', 'localhost', '::1'].map(isLoopbackHost)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(isLoopbackHost(HOST)).toBe(false);
    expect(isLoopbackHost('10.0.0.5')).toBe(false);
  });

  it('rdsDatabaseFromHost: an instance endpoint names the instance, a cluster endpoint the cluster', () => {
    expect(rdsDatabaseFromHost(HOST)).toEqual({
      kind: 'instance',
      identifier: 'rds-airbyte-cdc-dev',
    });
    expect(rdsDatabaseFromHost(CLUSTER_HOST)).toEqual({
      kind: 'cluster',
      identifier: 'rds-airbyte-cdc-aurora',
    });
    // The reader endpoint belongs to the same cluster; China regions end in .cn.
    expect(
      rdsDatabaseFromHost('orders.cluster-ro-c1abc2def3gh.cn-north-1.rds.amazonaws.com.cn'),
    ).toEqual({ kind: 'cluster', identifier: 'orders' });
    expect(rdsDatabaseFromHost('Orders-Writer-1.C1ABC2DEF3GH.eu-west-1.rds.amazonaws.com')).toEqual(
      { kind: 'instance', identifier: 'orders-writer-1' },
    );
    // A custom endpoint starts with its own name, not the cluster's.
    expect(
      rdsDatabaseFromHost('analytics.cluster-custom-c1abc2def3gh.eu-west-1.rds.amazonaws.com'),
    ).toBeUndefined();
    expect(rdsDatabaseFromHost('db.example.com')).toBeUndefined();
    expect(rdsDatabaseFromHost('127.0.0.1')).toBeUndefined();
  });

  it('formatBytes', () => {
    expect(formatBytes(512)).toBe('512 bytes');
    expect(formatBytes(1536)).toBe('1.5 KiB (1536 bytes)');
    expect(formatBytes(1024 ** 3)).toBe('1.0 GiB (1073741824 bytes)');
  });

  it('printableSql inlines parameters as quoted literals and refuses an unmaskable secret', () => {
    expect(
      printableSql({
        kind: 'create-slot',
        description: '',
        sql: 'SELECT f($1, $2)',
        params: ["it's", 2],
      }),
    ).toBe("SELECT f('it''s', '2');");
    expect(
      printableSql({
        kind: 'create-role',
        description: '',
        sql: 'CREATE ROLE x SECRET',
        sensitive: true,
      }),
    ).toBeUndefined();
  });
});

describe('the fixes name the kind of database they are for', () => {
  const walOff = {
    catalog: { walLevel: 'replica' as const },
    facts: { walLevel: setting('replica'), rdsLogicalReplication: '0' },
  };
  const aurora = (facts: Partial<ServerFacts> = {}) => ({
    auroraVersion: '16.4.1',
    ...facts,
  });

  it('an RDS instance: its DB parameter group and reboot-db-instance of it', () => {
    const notes = find(evaluate(walOff), 'rds-logical-replication').fix?.notes;
    expect(notes).toEqual([
      `Set rds.logical_replication = 1 in the instance's DB parameter group (this project's stack does: npx cdk deploy), or by hand: aws rds modify-db-parameter-group --db-parameter-group-name <group of rds-airbyte-cdc-dev> --parameters "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot"`,
      'Reboot the instance so that it takes effect (a short outage): aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-dev',
    ]);
    expect(find(evaluate(), 'server-version').detail).toBe('PostgreSQL 17.6');
  });

  it('an Aurora cluster: its DB cluster parameter group and the reboot of its writer', () => {
    const checks = evaluate({
      ...walOff,
      facts: aurora(walOff.facts),
      connection: { host: CLUSTER_HOST, tlsVerified: true },
      rdsDatabase: rdsDatabaseFromHost(CLUSTER_HOST),
    });
    expect(find(checks, 'rds-logical-replication').fix?.notes).toEqual([
      `Set rds.logical_replication = 1 in the DB cluster parameter group of rds-airbyte-cdc-aurora (this project's stack does: npx cdk deploy), or by hand: aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name <cluster parameter group of rds-airbyte-cdc-aurora> --parameters "ParameterName=rds.logical_replication,ParameterValue=1,ApplyMethod=pending-reboot"`,
      `Reboot the writer instance (its readers restart with it) so that it takes effect (a short outage): aws rds reboot-db-instance --db-instance-identifier "$(aws rds describe-db-clusters --db-cluster-identifier rds-airbyte-cdc-aurora --query 'DBClusters[0].DBClusterMembers[?IsClusterWriter].DBInstanceIdentifier' --output text)"`,
    ]);
    const notes = JSON.stringify(checks.map((check) => check.fix?.notes ?? []));
    expect(notes).not.toContain('modify-db-parameter-group');
    expect(find(checks, 'server-version').detail).toBe('Aurora PostgreSQL 16.4.1');
  });

  it('Aurora through its writer’s instance endpoint: that instance is rebooted, the group is the cluster’s', () => {
    const checks = evaluate({
      catalog: walOff.catalog,
      facts: aurora({ walLevel: setting('replica'), rdsLogicalReplication: '1' }),
    });
    const wal = find(checks, 'wal-level');
    expect(wal.detail).toBe(
      'replica (rds.logical_replication is set, the writer waits for a reboot)',
    );
    expect(wal.fix?.notes).toEqual([
      'Reboot the writer instance (its readers restart with it) so that it takes effect (a short outage): aws rds reboot-db-instance --db-instance-identifier rds-airbyte-cdc-dev',
    ]);
    const slots = find(
      evaluate({ facts: aurora({ slotsUsed: 10, maxReplicationSlots: setting('10') }) }),
      'replication-slots',
    );
    expect(slots.fix?.notes[0]).toContain(
      'aws rds modify-db-cluster-parameter-group --db-cluster-parameter-group-name <cluster parameter group of the cluster of rds-airbyte-cdc-dev> --parameters "ParameterName=max_replication_slots,ParameterValue=11',
    );
  });

  it('an Aurora cluster too old: the upgrade is modify-db-cluster', () => {
    const old = find(
      evaluate({
        catalog: { serverVersion: 130010 },
        facts: aurora({ serverVersion: '13.10', auroraVersion: '13.10.2' }),
        rdsDatabase: { kind: 'cluster', identifier: 'orders' },
      }),
      'server-version',
    );
    expect(old.detail).toBe('Aurora PostgreSQL 13.10.2 is older than 14');
    expect(old.fix?.notes.join()).toContain(
      'aws rds modify-db-cluster --db-cluster-identifier orders --engine-version <a 18.x version',
    );
  });
});
