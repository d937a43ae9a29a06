import { writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import type { Client } from 'pg';
import { findFreePort } from '../../../src/local/free-port';
import { connect, type ConnectOptions } from '../../../src/replication';
import { WATCHDOG_VARIABLES } from '../../../src/watchdog';
import { serverVersionOf, streamSlot } from '../../src/replication/fixtures';
import { uniqueName, usePostgres } from '../../support/postgres';
import {
  acceptMetrics,
  advanceWal,
  cloudWatch,
  createMonitoringRole,
  datum,
  ENVIRONMENT,
  expectedMetrics,
  PUBLICATION,
  publishedInput,
  runAgainstView,
  SECRET_ARN,
  serveLogin,
  settingsFor,
  slotFixture,
  slotRow,
  valueOf,
  watchdogFor,
} from './fixtures';

beforeEach(acceptMetrics);

describe('slot watchdog: metrics as pg_replication_slots says, per slot state', () => {
  // A keep size below one segment: the slot is unreserved once its segment is not the current
  // one, and lost at the next checkpoint. max_wal_size and checkpoint_timeout so large that no
  // checkpoint runs but the ones the tests ask for.
  const pg = usePostgres({
    ssl: true,
    settings: { max_slot_wal_keep_size: '1MB', max_wal_size: '1GB', checkpoint_timeout: '1d' },
  });
  let user: string;
  let serverVersion: number;

  beforeAll(async () => {
    user = await createMonitoringRole(pg);
    serverVersion = await serverVersionOf(await pg.connect());
  });
  beforeEach(() => serveLogin(user));

  it('an inactive slot: reserved, not active, inactive seconds only where the server has them', async () => {
    const { database, admin, slotName } = await slotFixture(pg);
    const { watchdog, log } = watchdogFor(pg, settingsFor(pg, database, slotName));
    const { row, input } = await runAgainstView(admin, slotName, () => watchdog.run());
    expect(row).toMatchObject({ active: false, wal_status: 'reserved' });
    expect(input).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: expectedMetrics(row, serverVersion),
    });
    if (serverVersion >= 170000) {
      expect(valueOf(input, 'SlotInactiveSeconds')).toBeGreaterThanOrEqual(0);
    } else {
      expect(valueOf(input, 'SlotInactiveSeconds')).toBeUndefined();
    }
    expect(log).toEqual([
      expect.stringMatching(
        new RegExp(`^Slot "${slotName}": SlotExists=1 SlotActive=0 SlotWalStatus=0 `),
      ),
    ]);
  });

  it('an active slot: streamed over a replication connection, inactive for 0 seconds', async () => {
    const { database, admin, slotName } = await slotFixture(pg);
    const stream = await streamSlot(pg.config(database), slotName, PUBLICATION);
    try {
      const { watchdog } = watchdogFor(pg, settingsFor(pg, database, slotName));
      const { row, input } = await runAgainstView(admin, slotName, () => watchdog.run());
      expect(row).toMatchObject({ active: true, wal_status: 'reserved' });
      expect(input).toEqual({
        Namespace: 'RdsAirbyteCdc',
        MetricData: expectedMetrics(row, serverVersion),
      });
      expect(valueOf(input, 'SlotInactiveSeconds')).toBe(0);
    } finally {
      await stream.stop();
    }
  });

  it('a missing slot: SlotExists 0 and nothing that would read as a healthy slot', async () => {
    const database = await pg.createDatabase('watchdog');
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, 'no_such_slot'));
    await expect(watchdog.run()).resolves.toMatchObject({ read: true });
    expect(publishedInput()).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: [datum('WatchdogConnectionFailed', 0, 'None'), datum('SlotExists', 0, 'None')],
    });
  });

  it('past max_slot_wal_keep_size before a checkpoint: unreserved, the safe WAL size used up', async () => {
    const { database, admin, slotName } = await slotFixture(pg);
    await advanceWal(admin, 1);
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, slotName));
    const { row, input } = await runAgainstView(admin, slotName, () => watchdog.run());
    expect(row.wal_status).toBe('unreserved');
    expect(input).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: expectedMetrics(row, serverVersion),
    });
    expect(valueOf(input, 'SlotWalStatus')).toBe(2);
    expect(valueOf(input, 'SlotSafeWalSizeBytes')).toBeLessThanOrEqual(0);
  });

  it('the checkpoint after that: lost, no safe WAL size at all', async () => {
    const { database, admin, slotName } = await slotFixture(pg);
    await advanceWal(admin, 1);
    await admin.query('CHECKPOINT');
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, slotName));
    const { row, input } = await runAgainstView(admin, slotName, () => watchdog.run());
    expect(row).toMatchObject({ wal_status: 'lost', safe_wal_size: null });
    expect(input).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: expectedMetrics(row, serverVersion),
    });
    expect(valueOf(input, 'SlotWalStatus')).toBe(3);
    expect(valueOf(input, 'SlotSafeWalSizeBytes')).toBeUndefined();
  });

  it('an unreachable database: WatchdogConnectionFailed 1, logged, no exception', async () => {
    const settings = { ...settingsFor(pg, 'postgres', 'any_slot'), port: await findFreePort() };
    const { watchdog, log } = watchdogFor(pg, settings);
    await expect(watchdog.run()).resolves.toEqual({
      read: false,
      metrics: [{ name: 'WatchdogConnectionFailed', value: 1, unit: 'None' }],
    });
    expect(publishedInput()).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: [datum('WatchdogConnectionFailed', 1, 'None')],
    });
    expect(log).toEqual([expect.stringMatching(/^Cannot read slot "any_slot": .*refused/)]);
  });

  it('a refused login is a connection failure too; the password is never logged', async () => {
    serveLogin(user, 'Wrong-Password-1');
    const { watchdog, log } = watchdogFor(pg, settingsFor(pg, 'postgres', 'any_slot'));
    await watchdog.run();
    expect(publishedInput().MetricData).toEqual([datum('WatchdogConnectionFailed', 1, 'None')]);
    expect(log.join('\n')).toMatch(new RegExp(`refused user "${user}"`));
    expect(log.join('\n')).not.toContain('Wrong-Password-1');
  });

  it('a normal connection with timeouts of seconds, the read in a READ ONLY transaction, then closed', async () => {
    const { database, slotName } = await slotFixture(pg);
    const given: ConnectOptions[] = [];
    let session: { backendType: string; client: Client } | undefined;
    let queries: jest.SpyInstance | undefined;
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, slotName), {
      connect: async (options) => {
        given.push(options);
        const client = await connect(options);
        const { rows } = await client.query<{ backend_type: string }>(
          'SELECT backend_type FROM pg_stat_activity WHERE pid = pg_backend_pid()',
        );
        session = { backendType: rows[0].backend_type, client };
        // Calls through to the real query: only records the statements.
        queries = jest.spyOn(client, 'query');
        return client;
      },
    });
    await watchdog.run();
    expect(given).toHaveLength(1);
    expect(given[0]).toMatchObject({ user, tls: { mode: 'verify-full' } });
    for (const timeout of ['connectTimeoutMs', 'statementTimeoutMs', 'queryTimeoutMs'] as const) {
      expect(given[0][timeout]).toBeLessThanOrEqual(10_000);
    }
    // A replication connection (replication=database) would be a walsender.
    expect(session?.backendType).toBe('client backend');
    expect(queries?.mock.calls.map(([text]) => text)).toEqual([
      'BEGIN TRANSACTION READ ONLY',
      expect.stringContaining('FROM pg_replication_slots'),
      'COMMIT',
    ]);
    queries?.mockRestore();
    // Closed before publishing.
    await expect(session?.client.query('SELECT 1')).rejects.toThrow(/not queryable/);
  });

  it('a failed PutMetricData is thrown: the function errors instead of reporting nothing', async () => {
    cloudWatch.on(PutMetricDataCommand).rejects(new Error('AccessDenied'));
    const database = await pg.createDatabase('watchdog');
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, 'no_such_slot'));
    await expect(watchdog.run()).rejects.toThrow('AccessDenied');
  });

  it('index.ts as Lambda loads it: settings from the environment, the CA from NODE_EXTRA_CA_CERTS', async () => {
    const { database, admin, slotName } = await slotFixture(pg);
    const caPath = path.join(tmpdir(), `${uniqueName('ca')}.pem`);
    writeFileSync(caPath, pg.server.certificateAuthority!.certPem);
    Object.assign(process.env, {
      NODE_EXTRA_CA_CERTS: caPath,
      [WATCHDOG_VARIABLES.host]: pg.server.host,
      [WATCHDOG_VARIABLES.port]: String(pg.server.port),
      [WATCHDOG_VARIABLES.database]: database,
      [WATCHDOG_VARIABLES.slotName]: slotName,
      [WATCHDOG_VARIABLES.secretArn]: SECRET_ARN,
      [WATCHDOG_VARIABLES.environment]: ENVIRONMENT,
    });
    const logged = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    const { handler } = await import('../../../lambda/slot-watchdog/index');
    const { row, input } = await runAgainstView(admin, slotName, () => handler());
    expect(logged).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`^Slot "${slotName}": `)));
    logged.mockRestore();
    expect(input).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: expectedMetrics(row, serverVersion),
    });
  });
});

describe('slot watchdog: a slot beyond max_wal_size but within max_slot_wal_keep_size', () => {
  // The smallest max_wal_size (two segments) and a keep size far above it: the slot's WAL is
  // kept past max_wal_size for the slot, which is `extended`.
  const pg = usePostgres({
    ssl: true,
    settings: { max_wal_size: '32MB', min_wal_size: '32MB', max_slot_wal_keep_size: '1GB' },
  });

  it('extended: SlotWalStatus 1, with safe WAL size left', async () => {
    serveLogin(await createMonitoringRole(pg));
    const serverVersion = await serverVersionOf(await pg.connect());
    const { database, admin, slotName } = await slotFixture(pg);
    // Whole segments until the view says extended (four beyond max_wal_size's two, here).
    for (let segment = 0; segment < 10; segment++) {
      if ((await slotRow(admin, slotName))?.wal_status === 'extended') break;
      await advanceWal(admin, 1);
    }
    const { watchdog } = watchdogFor(pg, settingsFor(pg, database, slotName));
    const { row, input } = await runAgainstView(admin, slotName, () => watchdog.run());
    expect(row.wal_status).toBe('extended');
    expect(input).toEqual({
      Namespace: 'RdsAirbyteCdc',
      MetricData: expectedMetrics(row, serverVersion),
    });
    expect(valueOf(input, 'SlotWalStatus')).toBe(1);
    expect(valueOf(input, 'SlotSafeWalSizeBytes')).toBeGreaterThan(0);
  });
});
