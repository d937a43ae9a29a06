import { parseEnvironment } from '../../../src/config';
import { localAirbyteSource } from '../../../src/local/airbyte-source';
import { loadConnectorValidators, postgresSourceErrors } from '../../support/fake-airbyte-server';

const endpoint = {
  host: '127.0.0.1',
  port: 54321,
  database: 'app',
  username: 'airbyte',
  secretFiles: { password: '/tmp/x/airbyte.password', caCertificate: '/tmp/x/tls/ca.crt' },
};

describe('localAirbyteSource', () => {
  const source = localAirbyteSource(parseEnvironment('dev', {}), endpoint);

  it("fills Airbyte's create-source form with CDC over verify-full and secrets by location", () => {
    expect(Object.fromEntries(source.form)).toEqual({
      Host: '127.0.0.1',
      Port: '54321',
      'Database Name': 'app',
      Schemas: 'datastore',
      Username: 'airbyte',
      Password: '<contents of /tmp/x/airbyte.password>',
      'SSL Modes': 'verify-full',
      'CA Certificate': '<contents of /tmp/x/tls/ca.crt>',
      'Update Method': 'Read Changes using Write-Ahead Log (CDC)',
      Plugin: 'pgoutput',
      'Replication Slot': 'airbyte_slot',
      Publication: 'airbyte_publication',
      'LSN commit behaviour': 'After loading Data in the destination',
      'Debezium heartbeat query (Advanced)':
        'INSERT INTO "datastore"."airbyte_heartbeat" (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat',
    });
  });

  it('names no file for a server that is not kept: its files are removed with it', () => {
    const discarded = localAirbyteSource(parseEnvironment('dev', {}), {
      ...endpoint,
      secretFiles: undefined,
    });
    const printed = JSON.stringify(discarded);
    expect(printed).not.toMatch(/\/tmp\/x|contents of/);
    expect(Object.fromEntries(discarded.form)).toMatchObject({
      Password:
        "<the replication user's random password: removed with the server; run with --keep to keep it in a file>",
      'CA Certificate':
        "<the local CA's certificate: removed with the server; run with --keep to keep it in a file>",
    });
  });

  it('is a configuration the API schema and both connector specs of the Postgres source accept', () => {
    expect(postgresSourceErrors(loadConnectorValidators(), source.configuration)).toEqual([]);
  });

  it("writes the environment's heartbeat table on each heartbeat, in the first schema", () => {
    expect(source.configuration.replication_method).toMatchObject({
      heartbeat_action_query:
        'INSERT INTO "datastore"."airbyte_heartbeat" (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat',
    });
  });

  it('follows the environment: schema, slot and publication names', () => {
    const renamed = localAirbyteSource(
      parseEnvironment('dev', {
        replication: { schema: 'cdc', slotName: 'my_slot', publicationName: 'my_pub' },
      }),
      endpoint,
    );
    expect(renamed.configuration).toMatchObject({
      schemas: ['cdc'],
      replication_method: { replication_slot: 'my_slot', publication: 'my_pub' },
    });
  });
});
