/**
 * What the slot watchdog's tests share (and the doctor's, which must show the same figures): the
 * SDK mocks, the monitoring login, a slot in a chosen state, and pg_replication_slots as the
 * tests read it themselves.
 */
import { isDeepStrictEqual } from 'util';
import {
  CloudWatchClient,
  PutMetricDataCommand,
  type PutMetricDataCommandInput,
} from '@aws-sdk/client-cloudwatch';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type { Client } from 'pg';
import { SlotWatchdog, type SlotWatchdogDependencies } from '../../../lambda/slot-watchdog/handler';
import { connect, monitoringRoleSteps } from '../../../src/replication';
import type { WatchdogSettings } from '../../../src/watchdog';
import { uniqueName, type TestPostgres } from '../../support/postgres';

export const cloudWatch = mockClient(CloudWatchClient);
export const secretsManager = mockClient(SecretsManagerClient);

export const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:watchdog-AbCdEf';
export const ENVIRONMENT = 'test';
export const PUBLICATION = 'watchdog_publication';

/** The documented numbers of wal_status (docs/slot-watchdog.md), written out here on purpose. */
const WAL_STATUS_NUMBERS: Readonly<Record<string, number>> = {
  reserved: 0,
  extended: 1,
  unreserved: 2,
  lost: 3,
};

export interface Datum {
  readonly MetricName: string;
  readonly Dimensions: unknown;
  readonly Value: unknown;
  readonly Unit: string;
}

export const datum = (MetricName: string, Value: unknown, Unit: string): Datum => ({
  MetricName,
  Dimensions: [{ Name: 'Environment', Value: ENVIRONMENT }],
  Value,
  Unit,
});

/** The slot as pg_replication_slots says, with the current WAL position, by the test's own SQL. */
export interface SlotRow {
  readonly lsn: string;
  readonly active: boolean;
  readonly wal_status: string;
  readonly safe_wal_size: string | null;
  readonly confirmed_lag: string;
  readonly restart_lsn: string | null;
  readonly confirmed_flush_lsn: string;
}

export async function slotRow(admin: Client, slotName: string): Promise<SlotRow | undefined> {
  const { rows } = await admin.query<SlotRow>(
    `SELECT pg_current_wal_lsn()::text AS lsn, active, wal_status, safe_wal_size::text,
            pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn)::text AS confirmed_lag,
            restart_lsn::text, confirmed_flush_lsn::text
       FROM pg_replication_slots WHERE slot_name = $1`,
    [slotName],
  );
  return rows[0];
}

/** The metrics a run must publish for `row`, straight from the view's columns. */
export function expectedMetrics(row: SlotRow, serverVersion: number): Datum[] {
  let inactive: Datum[];
  if (row.active) inactive = [datum('SlotInactiveSeconds', 0, 'Seconds')];
  // Seconds depend on the clock: present on 17+, checked for >= 0 apart.
  else if (serverVersion >= 170000) {
    inactive = [datum('SlotInactiveSeconds', expect.any(Number), 'Seconds')];
  } else inactive = [];
  return [
    datum('WatchdogConnectionFailed', 0, 'None'),
    datum('SlotExists', 1, 'None'),
    datum('SlotActive', row.active ? 1 : 0, 'None'),
    datum('SlotWalStatus', WAL_STATUS_NUMBERS[row.wal_status], 'None'),
    ...(row.safe_wal_size === null
      ? []
      : [datum('SlotSafeWalSizeBytes', Number(row.safe_wal_size), 'Bytes')]),
    ...inactive,
    datum('SlotConfirmedLagBytes', Number(row.confirmed_lag), 'Bytes'),
  ];
}

/** The one PutMetricData of the last run (fails unless there was exactly one call, that one). */
export function publishedInput(): PutMetricDataCommandInput {
  expect(cloudWatch.calls()).toHaveLength(1);
  const [call] = cloudWatch.commandCalls(PutMetricDataCommand);
  return call.args[0].input;
}

export const valueOf = (input: PutMetricDataCommandInput, name: string): number | undefined =>
  input.MetricData?.find((metric) => metric.MetricName === name)?.Value;

/**
 * Run while the WAL stands still: every figure only grows with the WAL position and the slot's
 * LSNs, so a view equal before and after the run is the view the run read. Background WAL (the
 * bgwriter's snapshots) can move it: then try again.
 */
export async function runAgainstView(
  admin: Client,
  slotName: string,
  run: () => Promise<unknown>,
): Promise<{ row: SlotRow; input: PutMetricDataCommandInput }> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await slotRow(admin, slotName);
    if (!before) throw new Error(`no slot ${slotName}`);
    cloudWatch.resetHistory();
    await run();
    const after = await slotRow(admin, slotName);
    if (isDeepStrictEqual(before, after)) return { row: before, input: publishedInput() };
  }
  throw new Error('the WAL position moved during every run');
}

export const MONITORING_PASSWORD = 'Watchdog-Secret-1';

/**
 * The watchdog's login exactly as the replication setup makes it (monitoringRoleSteps): LOGIN,
 * read-only by default, no membership, no grant.
 */
export async function createMonitoringRole(pg: TestPostgres): Promise<string> {
  const user = uniqueName('watchdog');
  const admin = await pg.connect();
  const steps = monitoringRoleSteps(
    {},
    { monitoringUser: { name: user, password: MONITORING_PASSWORD } },
  );
  for (const step of steps) await admin.query(step.sql);
  return user;
}

/** Secrets Manager answers the watchdog's secret with this login. */
export function serveLogin(user: string, password = MONITORING_PASSWORD): void {
  secretsManager.reset();
  secretsManager
    .on(GetSecretValueCommand, { SecretId: SECRET_ARN })
    .resolves({ SecretString: JSON.stringify({ username: user, password }) });
}

/** CloudWatch takes every PutMetricData; the history starts empty. */
export function acceptMetrics(): void {
  cloudWatch.reset();
  cloudWatch.on(PutMetricDataCommand).resolves({});
}

export function settingsFor(
  pg: TestPostgres,
  database: string,
  slotName: string,
): WatchdogSettings {
  return {
    host: pg.server.host,
    port: pg.server.port,
    database,
    slotName,
    secretArn: SECRET_ARN,
    environment: ENVIRONMENT,
  };
}

/** The watchdog against the test server (started with `ssl`), its log lines collected. */
export function watchdogFor(
  pg: TestPostgres,
  settings: WatchdogSettings,
  overrides: Partial<SlotWatchdogDependencies> = {},
): { watchdog: SlotWatchdog; log: string[] } {
  const log: string[] = [];
  const watchdog = new SlotWatchdog(settings, {
    cloudWatch: new CloudWatchClient({ region: 'eu-west-1' }),
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    connect,
    caBundle: () => pg.server.certificateAuthority!.certPem,
    log: (line) => log.push(line),
    ...overrides,
  });
  return { watchdog, log };
}

/** A database with a publication and a fresh logical slot nobody streams. */
export async function slotFixture(pg: TestPostgres) {
  const database = await pg.createDatabase('watchdog');
  const admin = await pg.connect(database);
  await admin.query(`CREATE PUBLICATION ${PUBLICATION} FOR ALL TABLES`);
  const slotName = uniqueName('watchdog_slot');
  await admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [slotName]);
  return { database, admin, slotName };
}

/** Move the WAL on by whole segments: a write, then a switch to the next segment. */
export async function advanceWal(admin: Client, segments: number): Promise<void> {
  for (let segment = 0; segment < segments; segment++) {
    // A table of its own: whatever the database holds, this write needs nothing of it.
    await admin.query('CREATE TABLE IF NOT EXISTS wal_mover (at timestamptz)');
    await admin.query('INSERT INTO wal_mover VALUES (now())');
    await admin.query('SELECT pg_switch_wal()');
  }
}
