import type { Client } from 'pg';
import {
  INITIAL_SLOT_GENERATION,
  runPreUpgradeCheck,
  slotGenerationAfterDrop,
} from '../../../src/upgrade/pre-upgrade';
import { usePostgres } from '../../support/postgres';
import { event, propertiesFor, serveSecrets, useReplicationSetupHandler } from './fixtures';

/**
 * A major upgrade from before 17, as the stack runs it: the pre-upgrade check drops the slot,
 * RDS upgrades, and the replication setup, updated because the check's slot generation changed,
 * recreates the slot; the stack still owns it, so `cdk destroy` drops it.
 */
describe('the replication setup after a pre-upgrade check dropped the slot', () => {
  const pg = usePostgres({ ssl: true });
  const setup = useReplicationSetupHandler(pg);

  const slotOf = async (client: Client, slotName: string) =>
    (
      await client.query<{ plugin: string }>(
        'SELECT plugin FROM pg_replication_slots WHERE slot_name = $1',
        [slotName],
      )
    ).rows[0];

  it('recreates the slot on the Update the new generation brings, and still drops it on Delete', async () => {
    const database = await pg.createDatabase('upgrade');
    const before = propertiesFor(pg, database, { SlotGeneration: INITIAL_SLOT_GENERATION });
    serveSecrets(pg, before.User);
    const client = await pg.connect(database);
    const created = await setup().onEvent(event('Create', before));

    const outcome = await runPreUpgradeCheck(
      client,
      {
        deployedVersion: '16.4',
        targetVersion: '17',
        slotName: before.SlotName,
        publicationName: before.PublicationName,
        allowSlotRecreation: true,
      },
      () => undefined,
    );
    expect(outcome.action).toBe('dropped');
    expect(await slotOf(client, before.SlotName)).toBeUndefined();

    const after = { ...before, SlotGeneration: slotGenerationAfterDrop('17') };
    await setup().onEvent(
      event('Update', after, {
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: before,
      }),
    );
    expect(await slotOf(client, before.SlotName)).toEqual({ plugin: 'pgoutput' });
    const published = await client.query(
      'SELECT tablename FROM pg_publication_tables WHERE pubname = $1',
      [before.PublicationName],
    );
    expect(published.rows).toEqual([{ tablename: 'data_tbl' }]);

    await setup().onEvent(
      event('Delete', after, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    expect(await slotOf(client, before.SlotName)).toBeUndefined();
  });
});
