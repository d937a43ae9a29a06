import { setupReplication } from '../../../src/replication';
import { heartbeatUpsertSql } from '../../../src/replication/heartbeat';
import { usePostgres } from '../../support/postgres';
import { streamSlot, tutorialState } from './fixtures';

const pg = usePostgres();

describe('heartbeatUpsertSql on a real PostgreSQL', () => {
  it('runs as the replication user, repeatedly, and each run is a change on the slot', async () => {
    const database = await pg.createDatabase();
    const admin = await pg.connect(database);
    // A schema name that needs quoting, as config allows.
    const desired = tutorialState({ schema: 'Sales "EU"', heartbeatTable: 'airbyte_heartbeat' });
    await setupReplication(admin, desired);
    const userConfig = { ...pg.config(database), user: desired.user, password: desired.password };
    const user = await pg.connect(database, { user: desired.user, password: desired.password });
    const stream = await streamSlot(userConfig, desired.slotName, desired.publicationName);
    try {
      const query = heartbeatUpsertSql(desired.schema, 'airbyte_heartbeat');
      await user.query(query);
      await user.query(query);

      const changes = await stream.waitForChanges(2, 20_000);
      expect(
        changes.map((change) => `${change.tag} ${change.relation.schema}.${change.relation.name}`),
      ).toEqual(['insert Sales "EU".airbyte_heartbeat', 'update Sales "EU".airbyte_heartbeat']);
      const { rows } = await admin.query(
        `SELECT count(*)::int AS count FROM "Sales ""EU""".airbyte_heartbeat`,
      );
      expect(rows[0].count).toBe(1);
    } finally {
      await stream.stop();
    }
  });
});
