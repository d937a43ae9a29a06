import type { PutMetricDataCommandInput } from '@aws-sdk/client-cloudwatch';
import { formatBytes, runDoctor, type DoctorOptions, type DoctorReport } from '../../../src/doctor';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import {
  DEFAULT_SLOT_THRESHOLDS,
  verdictsOf,
  type MetricUnit,
  type MetricValue,
  type SlotMetricName,
} from '../../../src/watchdog';
import { replicationConfig } from '../../support/doctor';
import { usePostgres, type TestPostgres } from '../../support/postgres';
import {
  acceptMetrics,
  advanceWal,
  createMonitoringRole,
  runAgainstView,
  serveLogin,
  settingsFor,
  valueOf,
  watchdogFor,
} from '../../lambda/slot-watchdog/fixtures';

const PASSWORD = 'Doctor-Secret-1';
const MIB = 1024 * 1024;

/** What the doctor prints for a byte count that may be negative. */
const signedBytes = (bytes: number): string =>
  bytes < 0 ? `-${formatBytes(-bytes)}` : formatBytes(bytes);

const escaped = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The published metrics as the watchdog's rules take them. */
const slotMetricsOf = (input: PutMetricDataCommandInput): MetricValue<SlotMetricName>[] =>
  (input.MetricData ?? [])
    .filter((metric) => metric.MetricName !== 'WatchdogConnectionFailed')
    .map((metric) => ({
      name: metric.MetricName as SlotMetricName,
      value: metric.Value ?? NaN,
      unit: metric.Unit as MetricUnit,
    }));

/** The doctor on `database` of the test server, as its superuser over verified TLS. */
function doctorOn(
  pg: TestPostgres,
  database: string,
  replication: DoctorOptions['replication'],
  slotThresholds?: DoctorOptions['slotThresholds'],
) {
  const { host, port, user, password } = pg.server;
  return runDoctor({
    connection: {
      host,
      port,
      user,
      password,
      database,
      tls: { mode: 'verify-full', ca: pg.server.certificateAuthority!.certPem },
    },
    replication,
    replicationPassword: PASSWORD,
    slotLagWarnBytes: 1024 ** 3,
    ...(slotThresholds ? { slotThresholds } : {}),
  });
}

describe('the doctor shows the figures and verdicts the watchdog publishes', () => {
  // As in the watchdog's tests: unreserved once the slot's segment is not the current one.
  const pg = usePostgres({
    ssl: true,
    settings: { max_slot_wal_keep_size: '1MB', max_wal_size: '1GB', checkpoint_timeout: '1d' },
  });

  beforeEach(acceptMetrics);

  async function fixture() {
    serveLogin(await createMonitoringRole(pg));
    const database = await pg.createDatabase('doctor_watchdog');
    const admin = await pg.connect(database);
    const replication = replicationConfig();
    await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
    const doctor = () => doctorOn(pg, database, replication);
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, replication.slotName));
    return { admin, replication, doctor, watchdog };
  }

  /** The doctor and the watchdog on the same WAL position. */
  async function bothOn(setup: Awaited<ReturnType<typeof fixture>>) {
    let report: DoctorReport | undefined;
    const { input } = await runAgainstView(setup.admin, setup.replication.slotName, async () => {
      report = await setup.doctor();
      await setup.watchdog.run();
    });
    const health = report?.checks.find((check) => check.id === 'slot-health');
    if (!health) throw new Error('the doctor reported no slot-health');
    return { health, input };
  }

  it('a slot past max_slot_wal_keep_size: the same numbers, the same two alarms', async () => {
    const setup = await fixture();
    await advanceWal(setup.admin, 1);
    const { health, input } = await bothOn(setup);

    const walStatus = valueOf(input, 'SlotWalStatus');
    const safe = valueOf(input, 'SlotSafeWalSizeBytes');
    const lag = valueOf(input, 'SlotConfirmedLagBytes');
    expect([walStatus, safe, lag]).not.toContain(undefined);
    expect(health.status).toBe('warn');
    expect(health.detail).toMatch(
      new RegExp(
        `^${escaped(`wal_status unreserved (SlotWalStatus ${walStatus}); safe WAL size ${signedBytes(safe!)} of max_slot_wal_keep_size ${formatBytes(MIB)}; `)}` +
          // Seconds move with the clock, and the two read a moment apart.
          'inactive for [^;]+' +
          escaped(
            `; ${formatBytes(lag!)} not confirmed by the consumer; the watchdog would alarm: wal_status is unreserved, not reserved, safe WAL size below 50 % of max_slot_wal_keep_size (${formatBytes(MIB / 2)})`,
          ) +
          '$',
      ),
    );
    const breached = verdictsOf(slotMetricsOf(input), {
      ...DEFAULT_SLOT_THRESHOLDS,
      maxSlotWalKeepSizeBytes: MIB,
    }).filter((verdict) => verdict.state === 'breached');
    expect(breached.map((verdict) => verdict.alarm)).toEqual([
      'wal-status-not-reserved',
      'safe-wal-size-low',
    ]);
  });

  it('a slot just set up: the same numbers, no alarm', async () => {
    const setup = await fixture();
    const { health, input } = await bothOn(setup);
    const safe = valueOf(input, 'SlotSafeWalSizeBytes');
    const lag = valueOf(input, 'SlotConfirmedLagBytes');
    expect(health.status).toBe('pass');
    expect(health.detail).toMatch(
      new RegExp(
        `^${escaped(`wal_status reserved (SlotWalStatus 0); safe WAL size ${signedBytes(safe!)} of max_slot_wal_keep_size ${formatBytes(MIB)}; `)}` +
          'inactive for [^;]+' +
          escaped(
            `; ${formatBytes(lag!)} not confirmed by the consumer; no watchdog alarm would fire`,
          ) +
          '$',
      ),
    );
  });
});

describe("the doctor judges the slot by the environment's thresholds", () => {
  // 64 MiB = 4 segments of 16 MiB: PostgreSQL invalidates the slot 5 segments past the one it
  // starts in, so two segments on, the safe WAL size is 3 segments (48 MiB, 75 % of 64 MiB)
  // less the few bytes written since the last switch: still reserved (below max_wal_size).
  const KEEP = 64 * MIB;
  const pg = usePostgres({
    ssl: true,
    settings: { max_slot_wal_keep_size: '64MB', max_wal_size: '1GB', checkpoint_timeout: '1d' },
  });

  beforeEach(acceptMetrics);

  it('a configured slotSafeWalSizeFraction above what is left warns, the default does not', async () => {
    serveLogin(await createMonitoringRole(pg));
    const database = await pg.createDatabase('doctor_thresholds');
    const admin = await pg.connect(database);
    const replication = replicationConfig();
    await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
    await advanceWal(admin, 2);
    const doctor = (slotThresholds?: DoctorOptions['slotThresholds']) =>
      doctorOn(pg, database, replication, slotThresholds);
    const configured = { safeWalSizeFraction: 0.8, maxInactiveSeconds: 30 * 86400 };
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, replication.slotName));
    const reports: DoctorReport[] = [];
    const { input } = await runAgainstView(admin, replication.slotName, async () => {
      reports.length = 0;
      reports.push(await doctor(), await doctor(configured));
      await watchdog.run();
    });
    const [byDefault, byConfig] = reports.map((report) =>
      report.checks.find((check) => check.id === 'slot-health'),
    );

    const safe = valueOf(input, 'SlotSafeWalSizeBytes')!;
    expect(safe).toBeGreaterThan(0.5 * KEEP);
    expect(safe).toBeLessThan(0.8 * KEEP);
    expect(byDefault?.status).toBe('pass');
    expect(byConfig?.status).toBe('warn');
    expect(byConfig?.detail).toMatch(
      new RegExp(
        `the watchdog would alarm: ${escaped(`safe WAL size below 80 % of max_slot_wal_keep_size (${formatBytes(Math.floor(0.8 * KEEP))})`)}$`,
      ),
    );
    // The alarm's rule on the watchdog's own metrics, with the same thresholds, says the same.
    const breached = verdictsOf(slotMetricsOf(input), {
      ...configured,
      maxSlotWalKeepSizeBytes: KEEP,
    }).filter((verdict) => verdict.state === 'breached');
    expect(breached.map((verdict) => verdict.alarm)).toEqual(['safe-wal-size-low']);
  });
});
