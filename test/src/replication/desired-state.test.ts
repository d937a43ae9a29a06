import { replicationSchema } from '../../../src/config/replication';
import { desiredStateFromConfig } from '../../../src/replication';

describe('desiredStateFromConfig', () => {
  it('maps the validated replication config, each table with its identity', () => {
    const config = replicationSchema.parse({
      tables: ['data_tbl', { name: 'events', replicaIdentity: 'full' }],
      createDemoTable: true,
    });
    expect(desiredStateFromConfig(config, 'pw', { heartbeatTable: 'hb' })).toEqual({
      schema: 'datastore',
      tables: [
        { name: 'data_tbl', replicaIdentity: 'default' },
        { name: 'events', replicaIdentity: 'full' },
      ],
      user: 'airbyte',
      password: 'pw',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      createDemoTable: true,
      heartbeatTable: 'hb',
    });
  });

  it('refuses an empty password, naming the user', () => {
    const config = replicationSchema.parse({});
    expect(() => desiredStateFromConfig(config, '')).toThrow(/replication user "airbyte" is empty/);
  });
});
