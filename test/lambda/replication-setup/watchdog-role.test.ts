import type { Client } from 'pg';
import type { ReplicationSetupProperties } from '../../../src/contract/replication-setup';
import { uniqueName, usePostgres } from '../../support/postgres';
import {
  event,
  propertiesFor,
  serveSecrets,
  serveWatchdogSecret,
  useReplicationSetupHandler,
  WATCHDOG_PASSWORD,
  WATCHDOG_SECRET_ARN,
} from './fixtures';

/** The slot watchdog's role through the custom resource's lifecycle, on a real PostgreSQL. */
describe('replication setup handler and the slot watchdog role', () => {
  const pg = usePostgres({ ssl: true });
  const setup = useReplicationSetupHandler(pg);

  async function withWatchdog(): Promise<{
    properties: ReplicationSetupProperties;
    client: Client;
  }> {
    const database = await pg.createDatabase('watchdog');
    const properties = propertiesFor(pg, database, {
      MonitoringUser: uniqueName('airbyte_watchdog'),
      MonitoringUserSecretArn: WATCHDOG_SECRET_ARN,
    });
    serveSecrets(pg, properties.User);
    serveWatchdogSecret(properties.MonitoringUser!);
    return { properties, client: await pg.connect(database) };
  }

  const roleExists = async (client: Client, name: string): Promise<boolean> =>
    (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).rowCount === 1;

  it('Create makes the role with the password of its secret; Delete drops it with the rest', async () => {
    const { properties, client } = await withWatchdog();
    const created = await setup().onEvent(event('Create', properties));
    const watchdog = await pg.connect(properties.Database, {
      user: properties.MonitoringUser,
      password: WATCHDOG_PASSWORD,
    });
    const { rows } = await watchdog.query('SHOW default_transaction_read_only');
    expect(rows[0].default_transaction_read_only).toBe('on');
    await watchdog.end();

    await setup().onEvent(
      event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    expect(await roleExists(client, properties.MonitoringUser!)).toBe(false);
    expect(await roleExists(client, properties.User)).toBe(false);
  });

  it('an Update that renames the role drops the old one; one without a watchdog drops it too', async () => {
    const { properties, client } = await withWatchdog();
    const created = await setup().onEvent(event('Create', properties));
    const renamed = { ...properties, MonitoringUser: uniqueName('airbyte_watchdog_v2') };
    serveWatchdogSecret(renamed.MonitoringUser);
    await setup().onEvent(
      event('Update', renamed, {
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: properties,
      }),
    );
    expect(await roleExists(client, renamed.MonitoringUser)).toBe(true);
    expect(await roleExists(client, properties.MonitoringUser!)).toBe(false);

    const { MonitoringUser: _user, MonitoringUserSecretArn: _arn, ...withoutWatchdog } = renamed;
    await setup().onEvent(
      event('Update', withoutWatchdog, {
        PhysicalResourceId: created.PhysicalResourceId,
        OldResourceProperties: renamed,
      }),
    );
    expect(await roleExists(client, renamed.MonitoringUser)).toBe(false);
    expect(await roleExists(client, properties.User)).toBe(true);
  });

  it('keeps a watchdog role that existed before the stack on Delete', async () => {
    const { properties, client } = await withWatchdog();
    await client.query(`CREATE ROLE ${client.escapeIdentifier(properties.MonitoringUser!)} LOGIN`);
    const created = await setup().onEvent(event('Create', properties));
    await setup().onEvent(
      event('Delete', properties, { PhysicalResourceId: created.PhysicalResourceId }),
    );
    expect(await roleExists(client, properties.MonitoringUser!)).toBe(true);
    expect(await roleExists(client, properties.User)).toBe(false);
  });

  it('refuses a secret whose username is not the configured watchdog user, naming both', async () => {
    const { properties } = await withWatchdog();
    serveWatchdogSecret('someone_else');
    await expect(setup().onEvent(event('Create', properties))).rejects.toThrow(
      /watchdog user secret holds username "someone_else" but the configuration says "airbyte_watchdog_\d+_\d+"/,
    );
  });
});
