import { parseEnvironment, type EnvironmentConfig } from '../../../src/config';
import { localDesiredState, localPostgresMajor, LocalRunError } from '../../../src/local/run';

/** An environment whose engineVersion the schema would refuse, as a hand-built config may have. */
function withEngineVersion(config: EnvironmentConfig, engineVersion: string): EnvironmentConfig {
  return { ...config, database: { ...config.database, engineVersion } };
}

describe('localPostgresMajor', () => {
  it('is the major of database.engineVersion, with or without a minor', () => {
    expect(localPostgresMajor(parseEnvironment('dev', {}))).toBe('17');
    for (const [engineVersion, major] of [
      ['14', '14'],
      ['14.12', '14'],
      ['15', '15'],
      ['16.4', '16'],
      ['17.6', '17'],
      ['18', '18'],
    ]) {
      const config = parseEnvironment('dev', { database: { engineVersion } });
      expect(localPostgresMajor(config)).toBe(major);
    }
  });

  it.each(['13', '19.1'])(
    'refuses engineVersion %s, naming database.engineVersion and the majors it can run',
    (engineVersion) => {
      const config = withEngineVersion(parseEnvironment('staging', {}), engineVersion);
      expect(() => localPostgresMajor(config)).toThrow(LocalRunError);
      expect(() => localPostgresMajor(config)).toThrow(
        `database.engineVersion of environment "staging" is "${engineVersion}" (PostgreSQL ${engineVersion.split('.')[0]}), which npm run local cannot start: it runs PostgreSQL 14, 15, 16, 17, 18. Set database.engineVersion to one of them.`,
      );
    },
  );
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

  it("adds the slot watchdog's role where the environment has a watchdog, and only there", () => {
    const withWatchdog = localDesiredState(parseEnvironment('staging', {}), 'pw', 'watchdog-pw');
    expect(withWatchdog.monitoringUser).toEqual({
      name: 'airbyte_watchdog',
      password: 'watchdog-pw',
    });
    const without = parseEnvironment('staging', { monitoring: { watchdog: false } });
    expect(localDesiredState(without, 'pw', 'watchdog-pw').monitoringUser).toBeUndefined();
  });

  it('refuses tables a fresh local database cannot have, naming replication.tables', () => {
    const config = parseEnvironment('prod', { replication: { tables: ['orders'] } });
    expect(() => localDesiredState(config, 'pw')).toThrow(
      /environment "prod" lists "orders" in schema "datastore".*--env dev.*replication\.tables/,
    );
  });
});
