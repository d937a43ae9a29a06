import type { Client } from 'pg';
import { setupReplication, type DesiredReplicationState } from '../../../src/replication';
import {
  ALLOW_SLOT_RECREATION_SETTING,
  INITIAL_SLOT_GENERATION,
  nextSlotGeneration,
  pendingChanges,
  PreUpgradeRefusedError,
  runPreUpgradeCheck,
  SlotInUseError,
  slotGenerationAfterDrop,
  type PreUpgradeRequest,
} from '../../../src/upgrade/pre-upgrade';
import { uniqueName, usePostgres } from '../../support/postgres';
import { createRdsLikeDatabase } from '../../support/rds-like';
import { serverVersionOf, streamSlot, tutorialState } from '../replication/fixtures';

const pg = usePostgres();

/**
 * The server is of one major per run: a "16" or "17" source is the deployed version the step is
 * told, which is what chooses its logic; the SQL runs on the real server either way.
 */
const FROM_16: Pick<PreUpgradeRequest, 'deployedVersion' | 'targetVersion'> = {
  deployedVersion: '16.4',
  targetVersion: '17',
};
const FROM_17: Pick<PreUpgradeRequest, 'deployedVersion' | 'targetVersion'> = {
  deployedVersion: '17.6',
  targetVersion: '18',
};

interface Pipeline {
  readonly database: string;
  readonly master: string;
  readonly masterPassword: string;
  /** The RDS-like master user (no superuser), as the step logs in on RDS. */
  readonly client: Client;
  readonly desired: DesiredReplicationState;
}

/** A database set up as the stack sets it up, by its RDS-like master user. */
async function setUpPipeline(): Promise<Pipeline> {
  const rds = await createRdsLikeDatabase(pg);
  const desired = tutorialState();
  await setupReplication(rds.client, desired);
  return { ...rds, desired };
}

function request(
  pipeline: Pipeline,
  versions: Pick<PreUpgradeRequest, 'deployedVersion' | 'targetVersion'>,
  allowSlotRecreation: boolean,
): PreUpgradeRequest {
  return {
    ...versions,
    slotName: pipeline.desired.slotName,
    publicationName: pipeline.desired.publicationName,
    allowSlotRecreation,
  };
}

/** The slot and everything else the setup made, as plain SQL sees it. */
async function inspect(pipeline: Pipeline) {
  const { rows } = await pipeline.client.query(
    `SELECT
       (SELECT row_to_json(s) FROM (
          SELECT plugin, confirmed_flush_lsn::text, restart_lsn::text FROM pg_replication_slots
           WHERE slot_name = $1) s) AS slot,
       (SELECT array_agg(tablename::text ORDER BY tablename) FROM pg_publication_tables
         WHERE pubname = $2) AS published,
       (SELECT rolreplication FROM pg_roles WHERE rolname = $3) AS user_replicates,
       (SELECT count(*)::int FROM datastore.data_tbl) AS rows`,
    [pipeline.desired.slotName, pipeline.desired.publicationName, pipeline.desired.user],
  );
  return rows[0];
}

async function refusal(work: Promise<unknown>): Promise<PreUpgradeRefusedError> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(PreUpgradeRefusedError);
  return error as PreUpgradeRefusedError;
}

const quiet = () => undefined;

// Slots are the instance's, and RDS refuses an upgrade from before 17 while any exists: drop the
// ones an earlier test of this file left, so that each test sees only its own.
afterEach(async () => {
  const admin = await pg.connect();
  await admin.query(
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_type = 'logical' AND NOT active",
  );
});

describe('the pre-upgrade step from a "16" source (the slot must go)', () => {
  it('with the acknowledgement drops the slot and only it, logging its position, and a retry reports the same drop', async () => {
    const pipeline = await setUpPipeline();
    const before = await inspect(pipeline);
    expect(before.slot).not.toBeNull();
    const logged: string[] = [];

    const outcome = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, FROM_16, true),
      (m) => logged.push(m),
    );
    expect(outcome).toEqual({
      fate: 'dropped',
      action: 'dropped',
      slotDropped: true,
      droppedSlot: expect.objectContaining({
        slotName: pipeline.desired.slotName,
        plugin: 'pgoutput',
        confirmedFlushLsn: before.slot.confirmed_flush_lsn,
        restartLsn: before.slot.restart_lsn,
      }),
    });
    expect(logged.join('\n')).toContain(
      `confirmed_flush_lsn ${before.slot.confirmed_flush_lsn}, restart_lsn ${before.slot.restart_lsn}`,
    );
    // The slot is gone; publication, user and data are as the setup left them.
    expect(await inspect(pipeline)).toEqual({ ...before, slot: null });

    // A retry (CloudFormation's, or a deploy after a failed one) finds no slot: the same drop.
    const retry = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, FROM_16, true),
      quiet,
    );
    expect(retry).toEqual({ fate: 'dropped', action: 'dropped-earlier', slotDropped: true });
    expect(nextSlotGeneration(INITIAL_SLOT_GENERATION, retry, FROM_16.targetVersion)).toBe(
      nextSlotGeneration(INITIAL_SLOT_GENERATION, outcome, FROM_16.targetVersion),
    );
    expect(await inspect(pipeline)).toEqual({ ...before, slot: null });
  });

  it('without the acknowledgement refuses, naming the setting and the resync, and leaves the slot where it was', async () => {
    const pipeline = await setUpPipeline();
    const before = await inspect(pipeline);

    const error = await refusal(
      runPreUpgradeCheck(pipeline.client, request(pipeline, FROM_16, false), quiet),
    );
    expect(error.message).toContain(`"${ALLOW_SLOT_RECREATION_SETTING}": true`);
    expect(error.message).toContain('cdk.json');
    expect(error.message).toContain('full copy of every published table');
    expect(error.message).toContain('Nothing was changed');
    expect(await inspect(pipeline)).toEqual(before);
  });

  it('refuses while a consumer streams the slot, dropping nothing', async () => {
    const pipeline = await setUpPipeline();
    const stream = await streamSlot(
      { ...pg.config(pipeline.database), user: pipeline.master, password: pipeline.masterPassword },
      pipeline.desired.slotName,
      pipeline.desired.publicationName,
    );
    try {
      const error = await refusal(
        runPreUpgradeCheck(pipeline.client, request(pipeline, FROM_16, true), quiet),
      );
      expect(error).toBeInstanceOf(SlotInUseError);
      expect(error.message).toContain('Airbyte is syncing; deploy again after the sync ends');
      expect((await inspect(pipeline)).slot).not.toBeNull();
    } finally {
      await stream.stop();
    }
  });

  it("refuses when the instance has a logical slot that is not the stack's, dropping neither", async () => {
    const pipeline = await setUpPipeline();
    const foreign = uniqueName('other_slot');
    await pipeline.client.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [
      foreign,
    ]);
    const before = await inspect(pipeline);

    const error = await refusal(
      runPreUpgradeCheck(pipeline.client, request(pipeline, FROM_16, true), quiet),
    );
    expect(error.message).toContain(`"${foreign}" (database ${pipeline.database})`);
    expect(await inspect(pipeline)).toEqual(before);
    const { rowCount } = await pipeline.client.query(
      'SELECT 1 FROM pg_replication_slots WHERE slot_name = $1',
      [foreign],
    );
    expect(rowCount).toBe(1);
  });

  it('without a slot has nothing to do, and without the acknowledgement reports no drop', async () => {
    const pipeline = await setUpPipeline();
    await pipeline.client.query('SELECT pg_drop_replication_slot($1)', [pipeline.desired.slotName]);
    const outcome = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, FROM_16, false),
      quiet,
    );
    expect(outcome).toEqual({ fate: 'dropped', action: 'no-slot', slotDropped: false });
  });
});

describe('the pre-upgrade step from a "17" source (the slot is kept if consumed)', () => {
  it('keeps a slot with nothing pending, even with the acknowledgement', async () => {
    const pipeline = await setUpPipeline();
    const before = await inspect(pipeline);
    const outcome = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, FROM_17, true),
      quiet,
    );
    expect(outcome).toEqual({ fate: 'kept-if-consumed', action: 'kept', slotDropped: false });
    expect(await inspect(pipeline)).toEqual(before);
  });

  it('finds a change to a published table pending without consuming it: refused without the acknowledgement, dropped with it', async () => {
    const pipeline = await setUpPipeline();
    const { slotName, publicationName } = pipeline.desired;
    expect(await pendingChanges(pipeline.client, slotName, publicationName)).toBe(false);
    await pipeline.client.query("INSERT INTO datastore.data_tbl VALUES (3, 'c')");
    expect(await pendingChanges(pipeline.client, slotName, publicationName)).toBe(true);
    const before = await inspect(pipeline);

    const error = await refusal(
      runPreUpgradeCheck(pipeline.client, request(pipeline, FROM_17, false), quiet),
    );
    expect(error.message).toContain('has not confirmed');
    expect(error.message).toContain('run two syncs');
    expect(error.message).toContain(`"${ALLOW_SLOT_RECREATION_SETTING}": true`);
    // Peeking consumed nothing: the slot's position is unchanged and the change still pending.
    expect(await inspect(pipeline)).toEqual(before);
    expect(await pendingChanges(pipeline.client, slotName, publicationName)).toBe(true);

    const outcome = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, FROM_17, true),
      quiet,
    );
    expect(outcome).toMatchObject({
      fate: 'kept-if-consumed',
      action: 'dropped',
      slotDropped: true,
    });
    expect(await inspect(pipeline)).toEqual({ ...before, slot: null });
  });

  it('keeps the slot once its consumer confirmed the change', async () => {
    const pipeline = await setUpPipeline();
    const { slotName } = pipeline.desired;
    await pipeline.client.query("INSERT INTO datastore.data_tbl VALUES (3, 'c')");
    // What a consumer's confirmation does to the slot, without a consumer to wait for.
    await pipeline.client.query('SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())', [
      slotName,
    ]);
    const outcome = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, FROM_17, false),
      quiet,
    );
    expect(outcome.action).toBe('kept');
  });

  it('refuses a streamed slot, which cannot be peeked', async () => {
    const pipeline = await setUpPipeline();
    const stream = await streamSlot(
      { ...pg.config(pipeline.database), user: pipeline.master, password: pipeline.masterPassword },
      pipeline.desired.slotName,
      pipeline.desired.publicationName,
    );
    try {
      // Past the step's own look at pg_replication_slots: the peek itself refuses.
      await expect(
        pendingChanges(
          pipeline.client,
          pipeline.desired.slotName,
          pipeline.desired.publicationName,
        ),
      ).rejects.toThrow(SlotInUseError);
      const error = await refusal(
        runPreUpgradeCheck(pipeline.client, request(pipeline, FROM_17, true), quiet),
      );
      expect(error.message).toContain('Airbyte is syncing');
      expect((await inspect(pipeline)).slot).not.toBeNull();
    } finally {
      await stream.stop();
    }
  });
});

describe("the pre-upgrade step on this server's own major (npm run test:majors: 14 to 18)", () => {
  it('drops the slot from before 17, with the acknowledgement only; keeps it from 17 on', async () => {
    const pipeline = await setUpPipeline();
    const version = await serverVersionOf(pipeline.client);
    const major = Math.floor(version / 10000);
    const versions = {
      deployedVersion: `${major}.${version % 100}`,
      targetVersion: `${major + 1}`,
    };
    const before = await inspect(pipeline);
    if (major < 17) {
      const refused = await refusal(
        runPreUpgradeCheck(pipeline.client, request(pipeline, versions, false), quiet),
      );
      expect(refused.message).toContain(`"${ALLOW_SLOT_RECREATION_SETTING}": true`);
      expect(await inspect(pipeline)).toEqual(before);
      const outcome = await runPreUpgradeCheck(
        pipeline.client,
        request(pipeline, versions, true),
        quiet,
      );
      expect(outcome.action).toBe('dropped');
      expect(await inspect(pipeline)).toEqual({ ...before, slot: null });
    } else {
      const outcome = await runPreUpgradeCheck(
        pipeline.client,
        request(pipeline, versions, false),
        quiet,
      );
      expect(outcome.action).toBe('kept');
      expect(await inspect(pipeline)).toEqual(before);
    }
  });
});

describe('the pre-upgrade step without a major upgrade', () => {
  it.each([
    ['the same version', '17.6', '17.6', 'unchanged'],
    ['a minor upgrade', '17.4', '17.6', 'kept-minor'],
    ['a bare major', '17.6', '17', 'unchanged'],
  ])('leaves the slot alone on %s', async (_what, deployedVersion, targetVersion, fate) => {
    const pipeline = await setUpPipeline();
    await pipeline.client.query("INSERT INTO datastore.data_tbl VALUES (3, 'c')");
    const before = await inspect(pipeline);
    const outcome = await runPreUpgradeCheck(
      pipeline.client,
      request(pipeline, { deployedVersion, targetVersion }, true),
      quiet,
    );
    expect(outcome).toEqual({ fate, action: 'none', slotDropped: false });
    expect(await inspect(pipeline)).toEqual(before);
  });

  it('refuses a downgrade, saying which version to set', async () => {
    const pipeline = await setUpPipeline();
    const error = await refusal(
      runPreUpgradeCheck(
        pipeline.client,
        request(pipeline, { deployedVersion: '17.6', targetVersion: '16' }, true),
        quiet,
      ),
    );
    expect(error.message).toContain('RDS does not downgrade');
    expect(error.message).toContain('at least "17.6"');
  });
});

describe('the slot generation', () => {
  it('changes exactly when the slot was dropped, to one the target major alone decides', () => {
    expect(nextSlotGeneration('dropped-for-17', { slotDropped: false }, '18')).toBe(
      'dropped-for-17',
    );
    expect(nextSlotGeneration('dropped-for-17', { slotDropped: true }, '18.1')).toBe(
      'dropped-for-18',
    );
    expect(slotGenerationAfterDrop('17')).toBe(slotGenerationAfterDrop('17.6'));
    expect(slotGenerationAfterDrop('17')).not.toBe(INITIAL_SLOT_GENERATION);
  });
});
