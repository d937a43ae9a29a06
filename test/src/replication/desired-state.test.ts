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
      schemas: [{ name: 'datastore' }],
      tables: [
        { schema: 'datastore', name: 'data_tbl', replicaIdentity: 'default' },
        { schema: 'datastore', name: 'events', replicaIdentity: 'full' },
      ],
      user: 'airbyte',
      password: 'pw',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      createDemoTable: true,
      heartbeatTable: 'hb',
    });
  });

  it('qualifies every table with its schema, the first schema holding demo and heartbeat', () => {
    const config = replicationSchema.parse({
      schemas: { sales: ['orders', { name: 'items', replicaIdentity: 'full' }], crm: '*' },
      replicaIdentity: 'full',
      heartbeatTable: 'hb',
    });
    const desired = desiredStateFromConfig(config, 'pw');
    expect(desired.schema).toBe('sales');
    expect(desired.schemas).toEqual([
      { name: 'sales' },
      { name: 'crm', wholeSchema: { replicaIdentity: 'full' } },
    ]);
    expect(desired.tables).toEqual([
      { schema: 'sales', name: 'orders', replicaIdentity: 'full' },
      { schema: 'sales', name: 'items', replicaIdentity: 'full' },
    ]);
    expect(desired.heartbeatTable).toBe('hb');
  });

  it('refuses an empty password, naming the user', () => {
    const config = replicationSchema.parse({});
    expect(() => desiredStateFromConfig(config, '')).toThrow(/replication user "airbyte" is empty/);
  });
});
