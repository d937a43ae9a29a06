import type { Client } from 'pg';
import { AIRBYTE_UI_RESYNC } from '../../../src/airbyte/resync';
import type { EnvironmentConfig } from '../../../src/config';
import {
  formatUpgradePlan,
  planUpgrade,
  readUpgradeFacts,
  runDoctor,
  serverVersionOf,
  upgradeTargetProblem,
  type UpgradeFacts,
  type UpgradeQuestion,
} from '../../../src/doctor';
import { desiredStateFromConfig, setupReplication } from '../../../src/replication';
import type { SlotPosition } from '../../../src/upgrade/pre-upgrade';
import { FIRST_MAJOR_KEEPING_SLOTS } from '../../../src/upgrade/slot-fate';
import { replicationConfig, superuserConnection } from '../../support/doctor';
import { usePostgres } from '../../support/postgres';
import { streamSlot } from '../replication/fixtures';

const pg = usePostgres();
const PASSWORD = 'Doctor-Upgrade-Secret-1';

const question = (overrides: Partial<UpgradeQuestion> = {}): UpgradeQuestion => ({
  targetVersion: '18',
  environment: 'prod',
  slotName: 'airbyte_slot',
  publicationName: 'airbyte_publication',
  allowSlotRecreation: false,
  airbyteManaged: false,
  ...overrides,
});

const slot = (overrides: Partial<SlotPosition> = {}): SlotPosition => ({
  slotName: 'airbyte_slot',
  plugin: 'pgoutput',
  database: 'app',
  confirmedFlushLsn: '0/1A2B3C4',
  restartLsn: '0/1A2B000',
  active: false,
  activePid: null,
  walStatus: 'reserved',
  ...overrides,
});

const facts = (overrides: Partial<UpgradeFacts> = {}): UpgradeFacts => ({
  serverVersion: '17.6',
  slot: slot(),
  otherSlots: [],
  pending: { state: 'none' },
  ...overrides,
});

/** The printed plan, as one text. */
const printed = (plan: ReturnType<typeof planUpgrade>) => formatUpgradePlan(plan).join('\n');

describe('what an engine upgrade does to the slot (planUpgrade)', () => {
  it('from 16: the slot is dropped and recreated, and the steps start with the acknowledgement', () => {
    const plan = planUpgrade(
      facts({ serverVersion: '16.4', pending: { state: 'none' } }),
      question({ targetVersion: '17' }),
    );
    expect(plan.fate).toBe('dropped');
    expect(plan.outcome).toContain('drops slot "airbyte_slot" (logging its position)');
    expect(plan.outcome).toContain('a full copy of every published table');
    expect(plan.steps[0]).toContain('"replication.allowSlotRecreation": true for prod');
    expect(plan.steps).toContain('Deploy: `npx cdk deploy RdsAirbyteCdc-prod`.');
    // Not managed: what to click, after the deploy.
    expect(plan.steps.at(-2)).toContain(AIRBYTE_UI_RESYNC);
    expect(plan.notes.join('\n')).toContain('docs/upgrading.md#blue-green-deployments');
    const text = printed(plan);
    expect(text).toMatch(
      /^Upgrade from 16\.4 \(the server's version\) to 17: a major upgrade from before 17: the slot is dropped and recreated, Airbyte resyncs\./,
    );
    expect(text).toContain('     1. Set "replication.allowSlotRecreation": true');
  });

  it('from 16 with the acknowledgement and a managed Airbyte: no acknowledgement step, the deploy resyncs', () => {
    const plan = planUpgrade(
      facts({ serverVersion: '16.4' }),
      question({ targetVersion: '17', allowSlotRecreation: true, airbyteManaged: true }),
    );
    expect(plan.steps.join('\n')).not.toContain('allowSlotRecreation');
    expect(plan.steps.join('\n')).toContain('The deploy starts the Airbyte resync itself');
    expect(plan.steps.join('\n')).not.toContain(AIRBYTE_UI_RESYNC);
  });

  it('from 16: names the other logical slots RDS refuses too, and says to wait for a running sync', () => {
    const plan = planUpgrade(
      facts({
        serverVersion: '16.4',
        slot: slot({ active: true, activePid: 4242 }),
        pending: undefined,
        otherSlots: [slot({ slotName: 'debezium', database: 'other' })],
      }),
      question({ targetVersion: '17', allowSlotRecreation: true }),
    );
    expect(plan.slotState).toContain('active (streamed by PID 4242)');
    expect(plan.steps.join('\n')).toContain('"debezium" (database other)');
    expect(plan.steps.join('\n')).toContain('Let the running Airbyte sync end');
  });

  it('from 17 with nothing pending: kept, with the caveats of the peek and of the LSN commit', () => {
    const plan = planUpgrade(facts(), question());
    expect(plan.fate).toBe('kept-if-consumed');
    expect(plan.slotState).toBe(
      'slot "airbyte_slot" exists, inactive, no unconfirmed changes, confirmed_flush_lsn 0/1A2B3C4',
    );
    expect(plan.outcome).toContain('pg_upgrade carries it over with its position');
    expect(plan.steps).not.toContainEqual(expect.stringContaining('allowSlotRecreation'));
    expect(plan.notes.join('\n')).toContain('The peek is a floor');
    expect(plan.notes.join('\n')).toContain('two syncs');
  });

  it('from 17 with unconfirmed changes: catch up with two syncs and ask again, or accept a resync', () => {
    const plan = planUpgrade(facts({ pending: { state: 'pending' } }), question());
    expect(plan.outcome).toContain('holds changes Airbyte has not confirmed');
    expect(plan.outcome).toContain('the deploy stops at the pre-upgrade check');
    expect(plan.steps[0]).toBe('Stop writes to the published tables (or wait for a quiet period).');
    expect(plan.steps[1]).toMatch(/^Run an Airbyte sync, then a second one/);
    expect(plan.steps[2]).toContain('`npm run doctor -- --env prod --upgrade-to 18`');
    expect(plan.notes[0]).toContain(
      'Or accept a resync: with replication.allowSlotRecreation: true, the pre-upgrade check drops it',
    );
  });

  it('from 17 with an active slot: cannot tell, wait and ask again', () => {
    const plan = planUpgrade(
      facts({ slot: slot({ active: true, activePid: 7 }), pending: undefined }),
      question(),
    );
    expect(plan.outcome).toContain('is being streamed');
    expect(plan.steps).toEqual([
      expect.stringContaining('Let the running Airbyte sync end'),
      'Ask again: `npm run doctor -- --env prod --upgrade-to 18`.',
    ]);
  });

  it('from 17 with an invalidated slot: it has to go, behind the acknowledgement', () => {
    const plan = planUpgrade(
      facts({ slot: slot({ walStatus: 'lost' }), pending: undefined }),
      question(),
    );
    expect(plan.outcome).toContain('is invalidated');
    expect(plan.steps[0]).toContain('"replication.allowSlotRecreation": true');
  });

  it('a minor upgrade keeps the slot; a downgrade is refused; the same version changes nothing', () => {
    expect(planUpgrade(facts(), question({ targetVersion: '17.7' }))).toMatchObject({
      fate: 'kept-minor',
      outcome: expect.stringContaining('the slot and its position'),
    });
    expect(planUpgrade(facts(), question({ targetVersion: '16' }))).toMatchObject({
      fate: 'downgrade',
      steps: [],
      outcome: expect.stringContaining('RDS does not downgrade PostgreSQL'),
    });
    expect(planUpgrade(facts(), question({ targetVersion: '17' })).fate).toBe('unchanged');
  });
});

describe('--upgrade-to values and server versions', () => {
  it.each(['18', '17.6', '14'])('accepts %s', (value) => {
    expect(upgradeTargetProblem(value)).toBeUndefined();
  });

  it.each([
    ['banana', 'must be a PostgreSQL version such as "18" or "17.6", got "banana"'],
    ['18.', 'must be a PostgreSQL version'],
    ['13', 'must name a major RDS supports here (14, 15, 16, 17, 18), got "13"'],
  ])('refuses %s', (value, message) => {
    expect(upgradeTargetProblem(value)).toContain(message);
  });

  it('reads server_version_num as major.minor', () => {
    expect(serverVersionOf(160004)).toBe('16.4');
    expect(serverVersionOf(170006)).toBe('17.6');
  });
});

describe('readUpgradeFacts on a real PostgreSQL', () => {
  interface Fixture {
    readonly database: string;
    readonly admin: Client;
    readonly replication: EnvironmentConfig['replication'];
    readonly ask: UpgradeQuestion;
  }

  /** A configured database whose slot has consumed everything so far (nothing pending). */
  async function caughtUp(targetMajorOffset = 1): Promise<Fixture> {
    const database = await pg.createDatabase('upgrade');
    const admin = await pg.connect(database);
    const replication = replicationConfig();
    await setupReplication(admin, desiredStateFromConfig(replication, PASSWORD));
    await admin.query(
      `SELECT count(*) FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)`,
      [replication.slotName, replication.publicationName],
    );
    const { rows } = await admin.query<{ version: string }>(
      "SELECT current_setting('server_version_num') AS version",
    );
    const major = Math.floor(Number(rows[0].version) / 10000);
    const ask = question({
      targetVersion: String(major + targetMajorOffset),
      slotName: replication.slotName,
      publicationName: replication.publicationName,
      environment: 'dev',
    });
    return { database, admin, replication, ask };
  }

  it("reads the server's version from the connection and finds the slot inactive with nothing pending", async () => {
    const { admin, ask } = await caughtUp();
    const read = await readUpgradeFacts(admin, ask);
    expect(read.serverVersion).toMatch(/^\d+\.\d+$/);
    expect(read.slot).toMatchObject({ slotName: ask.slotName, active: false });
    expect(read.pending).toEqual({ state: 'none' });
    const major = Number(read.serverVersion.split('.')[0]);
    expect(planUpgrade(read, ask).fate).toBe(
      major < FIRST_MAJOR_KEEPING_SLOTS ? 'dropped' : 'kept-if-consumed',
    );
  });

  it('sees a write to a published table as an unconfirmed change, and the peek consumes nothing', async () => {
    const { admin, ask } = await caughtUp();
    await admin.query("INSERT INTO datastore.data_tbl (id, val) VALUES (1001, 'pending')");
    expect((await readUpgradeFacts(admin, ask)).pending).toEqual({ state: 'pending' });
    // Asking twice gives the same answer: the peek does not move the slot.
    expect((await readUpgradeFacts(admin, ask)).pending).toEqual({ state: 'pending' });
  });

  it('does not peek for a minor upgrade, nor at a slot a consumer streams', async () => {
    const { database, admin, replication, ask } = await caughtUp(0);
    await admin.query("INSERT INTO datastore.data_tbl (id, val) VALUES (1002, 'pending')");
    const minor = await readUpgradeFacts(admin, {
      ...ask,
      targetVersion: `${ask.targetVersion}.999`,
    });
    expect(minor.pending).toBeUndefined();

    const major = { ...ask, targetVersion: String(Number(ask.targetVersion) + 1) };
    const stream = await streamSlot(
      pg.config(database),
      replication.slotName,
      replication.publicationName,
    );
    try {
      const read = await readUpgradeFacts(admin, major);
      expect(read.slot).toMatchObject({ active: true });
      expect(read.pending).toBeUndefined();
      expect(planUpgrade(read, major).slotState).toMatch(/active \(streamed by PID \d+\)/);
    } finally {
      await stream.stop();
    }
  });

  it('runDoctor adds the plan to the report only when asked', async () => {
    const { database, replication, ask } = await caughtUp();
    const options = {
      connection: superuserConnection(pg, database),
      replication,
      replicationPassword: PASSWORD,
      slotLagWarnBytes: 1024 ** 3,
    };
    expect(await runDoctor(options)).not.toHaveProperty('upgrade');
    const report = await runDoctor({ ...options, upgrade: ask });
    expect(report.upgrade).toMatchObject({
      to: ask.targetVersion,
      slotState: expect.stringContaining('no unconfirmed changes'),
    });
  });
});
