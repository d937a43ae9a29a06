import { parseEnvironment } from '../../../src/config';
import { slotThresholdsFrom } from '../../../src/watchdog';

const GIB = 1024 ** 3;

describe('slotThresholdsFrom', () => {
  it('takes the configured fraction, keep size and resolved inactivity limit', () => {
    const config = parseEnvironment('dev', {
      replication: { maxSlotWalKeepSizeGiB: 8 },
      monitoring: { slotSafeWalSizeFraction: 0.25, slotInactiveAlarmMinutes: 90 },
    });
    expect(slotThresholdsFrom(config)).toEqual({
      safeWalSizeFraction: 0.25,
      maxSlotWalKeepSizeBytes: 8 * GIB,
      maxInactiveSeconds: 90 * 60,
    });
  });

  it('derives the inactivity limit from a daily schedule: three missed syncs', () => {
    const config = parseEnvironment('dev', { airbyte: { schedule: '0 30 1 * * ?' } });
    expect(slotThresholdsFrom(config)).toEqual({
      safeWalSizeFraction: 0.5,
      maxSlotWalKeepSizeBytes: 4 * GIB,
      maxInactiveSeconds: 3 * 86400,
    });
  });
});
