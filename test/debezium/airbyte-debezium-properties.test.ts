import {
  airbyteDebeziumProperties,
  patternQuote,
  sanitizeTopicPrefix,
  tableIncludeList,
  withProbeSettings,
} from './airbyte-debezium-properties';
import { parseJavaMajor } from './probe';

const FILES = { offsetFile: '/tmp/x/offsets.dat', caCertificateFile: '/tmp/x/ca.pem' };

function source(overrides: Record<string, unknown> = {}, cdc: Record<string, unknown> = {}) {
  return {
    sourceType: 'postgres',
    host: '127.0.0.1',
    port: 5432,
    database: 'app',
    schemas: ['datastore'],
    username: 'airbyte',
    password: 'secret',
    ssl_mode: { mode: 'verify-full', ca_certificate: 'PEM' },
    tunnel_method: { tunnel_method: 'NO_TUNNEL' },
    replication_method: {
      method: 'CDC',
      replication_slot: 'airbyte_slot',
      publication: 'airbyte_publication',
      lsn_commit_behaviour: 'After loading Data in the destination',
      heartbeat_action_query: '',
      ...cdc,
    },
    ...overrides,
  };
}

describe('patternQuote and tableIncludeList', () => {
  it('quote as java.util.regex.Pattern.quote does, commas escaped for the list', () => {
    expect(patternQuote('datastore.data_tbl')).toBe('\\Qdatastore.data_tbl\\E');
    expect(patternQuote('a\\Eb')).toBe('\\Qa\\E\\\\E\\Qb\\E');
    expect(
      tableIncludeList([
        { namespace: 'datastore', name: 'data_tbl' },
        { namespace: 's', name: 'a,b' },
      ]),
    ).toBe('\\Qdatastore.data_tbl\\E,\\Qs.a\\,b\\E');
    expect(tableIncludeList([])).toBe('$^');
  });

  it('sanitizes the topic prefix as Airbyte does', () => {
    expect(sanitizeTopicPrefix('app')).toBe('app');
    expect(sanitizeTopicPrefix('my db/ü')).toBe('my_db__');
  });
});

describe('airbyteDebeziumProperties', () => {
  it('mirrors the CDC source: slot, publication, TLS, no LSN flush, no password', () => {
    const properties = airbyteDebeziumProperties(source(), [], FILES);
    expect(properties).toMatchObject({
      'connector.class': 'io.debezium.connector.postgresql.PostgresConnector',
      name: 'app',
      'topic.prefix': 'app',
      'plugin.name': 'pgoutput',
      'slot.name': 'airbyte_slot',
      'publication.name': 'airbyte_publication',
      'publication.autocreate.mode': 'disabled',
      'snapshot.mode': 'initial',
      'flush.lsn.source': 'false',
      'database.sslmode': 'verify-full',
      'database.sslrootcert': FILES.caCertificateFile,
      'offset.storage.file.filename': FILES.offsetFile,
      'heartbeat.interval.ms': '10000',
    });
    expect(properties).not.toHaveProperty('database.password');
    expect(properties).not.toHaveProperty('heartbeat.action.query');
  });

  it('lets Debezium flush under "While reading Data" and runs a heartbeat query when one is set', () => {
    const properties = airbyteDebeziumProperties(
      source(
        { ssl_mode: { mode: 'require' } },
        {
          lsn_commit_behaviour: 'While reading Data',
          heartbeat_action_query: 'UPDATE hb SET at = now()',
        },
      ),
      [],
      FILES,
    );
    expect(properties['flush.lsn.source']).toBe('true');
    expect(properties['heartbeat.action.query']).toBe('UPDATE hb SET at = now()');
    expect(properties['database.sslmode']).toBe('require');
    expect(properties).not.toHaveProperty('database.sslrootcert');
  });

  it('refuses a source that is not in CDC mode', () => {
    expect(() =>
      airbyteDebeziumProperties(source({ replication_method: { method: 'Standard' } }), [], FILES),
    ).toThrow('not in CDC mode');
  });

  it('adds the probe settings only when given', () => {
    expect(withProbeSettings({ a: '1' }, {})).toEqual({ a: '1' });
    expect(withProbeSettings({ a: '1' }, { printEvents: false, progressEvery: 100 })).toEqual({
      a: '1',
      'probe.print.events': 'false',
      'probe.progress.every': '100',
    });
  });
});

describe('parseJavaMajor', () => {
  it('reads both version styles', () => {
    expect(parseJavaMajor('openjdk version "17.0.15" 2025-04-15')).toBe(17);
    expect(parseJavaMajor('openjdk version "25" 2025-09-16')).toBe(25);
    expect(parseJavaMajor('java version "1.8.0_392"')).toBe(8);
    expect(parseJavaMajor('nonsense')).toBeUndefined();
  });
});
