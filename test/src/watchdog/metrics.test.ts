import {
  CONNECTION_ALARM_RULE,
  NOT_REPORTING_ALARM_RULE,
  SLOT_ALARM_RULES,
  slotMetrics,
  slotVerdicts,
  WATCHDOG_VARIABLES,
  watchdogSettingsFrom,
  type SlotHealth,
  type SlotReading,
  type SlotThresholds,
} from '../../../src/watchdog';
import { GIB, slotHealth } from './fixtures';

const health = slotHealth;

/** Without the PostgreSQL 17 columns, as readSlotHealth reports a slot before 17. */
function before17(slot: Partial<SlotReading> = {}): SlotHealth {
  const { inactiveSince, inactiveSeconds, invalidationReason, ...older } = health(slot).slot!;
  return { ...health(), serverVersion: 160004, slot: older };
}

const THRESHOLDS: SlotThresholds = {
  safeWalSizeFraction: 0.5,
  maxSlotWalKeepSizeBytes: 4 * GIB,
  maxInactiveSeconds: 3600,
};

const values = (of: SlotHealth) =>
  Object.fromEntries(slotMetrics(of).map((metric) => [metric.name, metric.value]));

const states = (of: SlotHealth, thresholds = THRESHOLDS) =>
  Object.fromEntries(slotVerdicts(of, thresholds).map((verdict) => [verdict.alarm, verdict.state]));

describe('slotMetrics', () => {
  it('an inactive reserved slot: every metric, with its unit, in a fixed order', () => {
    expect(slotMetrics(health())).toEqual([
      { name: 'SlotExists', value: 1, unit: 'None' },
      { name: 'SlotActive', value: 0, unit: 'None' },
      { name: 'SlotWalStatus', value: 0, unit: 'None' },
      { name: 'SlotSafeWalSizeBytes', value: 3 * GIB, unit: 'Bytes' },
      { name: 'SlotInactiveSeconds', value: 120, unit: 'Seconds' },
      { name: 'SlotConfirmedLagBytes', value: 2048, unit: 'Bytes' },
    ]);
  });

  it('numbers wal_status by danger: reserved 0, extended 1, unreserved 2, lost 3', () => {
    const codes = ['reserved', 'extended', 'unreserved', 'lost'].map(
      (walStatus) => values(health({ walStatus })).SlotWalStatus,
    );
    expect(codes).toEqual([0, 1, 2, 3]);
  });

  it('an invalidated slot is lost (3) whatever wal_status says; no status, no metric', () => {
    expect(
      values(health({ walStatus: 'reserved', invalidationReason: 'rows_removed' })).SlotWalStatus,
    ).toBe(3);
    expect(values(health({ walStatus: null }))).not.toHaveProperty('SlotWalStatus');
    expect(values(health({ walStatus: 'something_new' }))).not.toHaveProperty('SlotWalStatus');
  });

  it('a missing slot: SlotExists 0 only, no 0 that would read as a healthy figure', () => {
    expect(slotMetrics(health({}, { slot: undefined }))).toEqual([
      { name: 'SlotExists', value: 0, unit: 'None' },
    ]);
  });

  it('an active slot has been inactive 0 seconds, on every major', () => {
    const active = { active: true, activePid: 42, inactiveSince: null, inactiveSeconds: null };
    expect(values(health(active)).SlotInactiveSeconds).toBe(0);
    expect(values(before17(active)).SlotInactiveSeconds).toBe(0);
    expect(values(health(active)).SlotActive).toBe(1);
  });

  it('before PostgreSQL 17 an inactive slot has no inactive seconds (unknown, not 0)', () => {
    expect(values(before17())).not.toHaveProperty('SlotInactiveSeconds');
  });

  it('no safe WAL size when lost or unlimited; a negative one once unreserved is sent as is', () => {
    expect(values(health({ walStatus: 'lost', safeWalSizeBytes: null }))).not.toHaveProperty(
      'SlotSafeWalSizeBytes',
    );
    expect(values(health({ safeWalSizeBytes: -1024 })).SlotSafeWalSizeBytes).toBe(-1024);
  });
});

describe('slotVerdicts: what each alarm would say', () => {
  it('a healthy slot: every alarm ok', () => {
    expect(states(health())).toEqual({
      'slot-missing': 'ok',
      'wal-status-not-reserved': 'ok',
      'safe-wal-size-low': 'ok',
      'inactive-too-long': 'ok',
    });
  });

  it('a missing slot: that alarm fires, the others have no data', () => {
    expect(states(health({}, { slot: undefined }))).toEqual({
      'slot-missing': 'breached',
      'wal-status-not-reserved': 'no-data',
      'safe-wal-size-low': 'no-data',
      'inactive-too-long': 'no-data',
    });
  });

  it('any wal_status but reserved fires', () => {
    for (const walStatus of ['extended', 'unreserved', 'lost']) {
      expect(states(health({ walStatus }))['wal-status-not-reserved']).toBe('breached');
    }
  });

  it('safe WAL size: below the fraction of max_slot_wal_keep_size fires, at it does not', () => {
    const verdict = (safeWalSizeBytes: number) =>
      slotVerdicts(health({ safeWalSizeBytes }), THRESHOLDS)[2];
    expect(verdict(2 * GIB - 1)).toEqual({
      alarm: 'safe-wal-size-low',
      metric: 'SlotSafeWalSizeBytes',
      state: 'breached',
      value: 2 * GIB - 1,
      threshold: 2 * GIB,
    });
    expect(verdict(2 * GIB).state).toBe('ok');
    // Unlimited: no threshold to compare with.
    expect(
      states(health({ safeWalSizeBytes: null }), { ...THRESHOLDS, maxSlotWalKeepSizeBytes: null })[
        'safe-wal-size-low'
      ],
    ).toBe('no-data');
  });

  it('inactive longer than the limit fires; unknown before 17 is no data, not ok', () => {
    expect(states(health({ inactiveSeconds: 3601 }))['inactive-too-long']).toBe('breached');
    expect(states(health({ inactiveSeconds: 3600 }))['inactive-too-long']).toBe('ok');
    expect(states(before17())['inactive-too-long']).toBe('no-data');
  });

  it('the rules name CloudWatch comparisons, and the connection alarm fires above 0', () => {
    expect(
      SLOT_ALARM_RULES.map((rule) => [rule.metric, rule.comparison, rule.threshold(THRESHOLDS)]),
    ).toEqual([
      ['SlotExists', 'LessThanThreshold', 1],
      ['SlotWalStatus', 'GreaterThanThreshold', 0],
      ['SlotSafeWalSizeBytes', 'LessThanThreshold', 2 * GIB],
      ['SlotInactiveSeconds', 'GreaterThanThreshold', 3600],
    ]);
    expect(CONNECTION_ALARM_RULE).toMatchObject({
      metric: 'WatchdogConnectionFailed',
      comparison: 'GreaterThanThreshold',
    });
    expect(CONNECTION_ALARM_RULE.threshold()).toBe(0);
  });

  it('the not-reporting alarm counts the samples of the metric every run sends: none breaches', () => {
    expect(NOT_REPORTING_ALARM_RULE).toMatchObject({
      metric: 'WatchdogConnectionFailed',
      comparison: 'LessThanThreshold',
      statistic: 'SampleCount',
      treatMissingData: 'breaching',
    });
    expect(NOT_REPORTING_ALARM_RULE.threshold()).toBe(1);
    // It judges the watchdog, not the slot: the doctor has no run to miss.
    expect(
      slotVerdicts(health(), THRESHOLDS).map((verdict) => verdict.alarm as string),
    ).not.toContain(NOT_REPORTING_ALARM_RULE.id);
  });
});

describe('watchdogSettingsFrom', () => {
  const env = {
    [WATCHDOG_VARIABLES.host]: 'db.example.com',
    [WATCHDOG_VARIABLES.port]: '5432',
    [WATCHDOG_VARIABLES.database]: 'app',
    [WATCHDOG_VARIABLES.slotName]: 'airbyte_slot',
    [WATCHDOG_VARIABLES.secretArn]: 'arn:aws:secretsmanager:eu-west-1:1:secret:w',
    [WATCHDOG_VARIABLES.environment]: 'dev',
  };

  it('reads every setting; the namespace only when given', () => {
    expect(watchdogSettingsFrom(env)).toEqual({
      host: 'db.example.com',
      port: 5432,
      database: 'app',
      slotName: 'airbyte_slot',
      secretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:w',
      environment: 'dev',
    });
    expect(
      watchdogSettingsFrom({ ...env, [WATCHDOG_VARIABLES.namespace]: 'Custom' }).namespace,
    ).toBe('Custom');
  });

  it('names a missing or malformed variable', () => {
    expect(() => watchdogSettingsFrom({ ...env, [WATCHDOG_VARIABLES.slotName]: '' })).toThrow(
      'WATCHDOG_SLOT_NAME',
    );
    expect(() => watchdogSettingsFrom({ ...env, [WATCHDOG_VARIABLES.port]: '99999' })).toThrow(
      'WATCHDOG_DB_PORT is not a port number: 99999',
    );
  });
});
