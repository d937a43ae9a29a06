/**
 * Fault injection against a real PostgreSQL: the replication setup handler is killed before each
 * step of its plans (its session ended, as a timed-out or cancelled invocation leaves it), then
 * retried and deleted; two Creates race, and a Delete races a Create. After every scenario the
 * database holds exactly what the stack should: after the final Delete, what it held before the
 * stack (the schema and the demo table's data stay).
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import type { Client } from 'pg';
import { ReplicationSetupHandler } from '../../../lambda/replication-setup/handler';
import type { ReplicationSetupProperties } from '../../../src/contract/replication-setup';
import { REPLICATION_LOCK } from '../../../src/replication';
import { uniqueName, usePostgres } from '../../support/postgres';
import { createRdsLikeDatabase } from '../../support/rds-like';
import { event, propertiesFor, rds, rdsSays, serveSecrets } from './fixtures';

const pg = usePostgres({ ssl: true });

interface Pipeline {
  readonly properties: ReplicationSetupProperties;
  /** Superuser on the pipeline's database: the test's own eyes and hands. */
  readonly admin: Client;
  readonly master: string;
  /** The master user as the secrets answer with it, for serveSecrets. */
  readonly asServer: {
    readonly server: { user: string; password: string; host: string; port: number };
  };
}

async function freshPipeline(
  overrides: Partial<ReplicationSetupProperties> = {},
): Promise<Pipeline> {
  const rdsLike = await createRdsLikeDatabase(pg);
  const asServer = {
    server: {
      host: pg.server.host,
      port: pg.server.port,
      user: rdsLike.master,
      password: rdsLike.masterPassword,
    },
  };
  const properties = propertiesFor(asServer, rdsLike.database, overrides);
  serveSecrets(asServer, properties.User);
  return {
    properties,
    admin: await pg.connect(rdsLike.database),
    master: rdsLike.master,
    asServer,
  };
}

function handler(beforeStep?: () => unknown, log: (line: string) => void = () => undefined) {
  return new ReplicationSetupHandler({
    rds: new RDSClient({ region: 'eu-west-1' }),
    secretsManager: new SecretsManagerClient({ region: 'eu-west-1' }),
    caBundle: () => pg.server.certificateAuthority!.certPem,
    log,
    beforeStep,
  });
}

/** Ends the master's sessions in the pipeline's database, waiting until they are gone. */
async function killMasterSessions(pipeline: Pipeline): Promise<void> {
  await pipeline.admin.query(
    `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
      WHERE usename = $1 AND datname = current_database()`,
    [pipeline.master],
  );
}

/** A hook that kills the run before its step number `n`, counting the steps of every plan. */
function killBefore(n: number, pipeline: Pipeline): () => Promise<void> {
  let seen = 0;
  return async () => {
    if (seen++ === n) await killMasterSessions(pipeline);
  };
}

/** How many steps a run makes (counted by the hook, nothing killed). */
function stepCounter(): { readonly hook: () => void; readonly count: () => number } {
  let seen = 0;
  return { hook: () => void (seen += 1), count: () => seen };
}

interface Footprint {
  readonly roles: string[];
  readonly slots: string[];
  readonly publications: string[];
}

/** What of the stack's kind is in the database: replication roles, slots, publications. */
async function footprint(pipeline: Pipeline, users: readonly string[]): Promise<Footprint> {
  const { admin } = pipeline;
  const roles = await admin.query<{ rolname: string }>(
    'SELECT rolname FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname',
    [users],
  );
  const slots = await admin.query<{ slot_name: string }>(
    'SELECT slot_name FROM pg_replication_slots WHERE database = current_database() ORDER BY 1',
  );
  const publications = await admin.query<{ pubname: string }>(
    'SELECT pubname FROM pg_publication ORDER BY 1',
  );
  return {
    roles: roles.rows.map((row) => row.rolname),
    slots: slots.rows.map((row) => row.slot_name),
    publications: publications.rows.map((row) => row.pubname),
  };
}

const NOTHING: Footprint = { roles: [], slots: [], publications: [] };

function deployed(properties: ReplicationSetupProperties): Footprint {
  return {
    roles: [properties.User],
    slots: [properties.SlotName],
    publications: [properties.PublicationName],
  };
}

async function demoRows(pipeline: Pipeline): Promise<unknown[]> {
  const { rows } = await pipeline.admin.query('SELECT id, val FROM datastore.data_tbl ORDER BY id');
  return rows;
}

const physicalIdOf = (properties: ReplicationSetupProperties): string =>
  `${properties.DbInstanceIdentifier}/${properties.Database}/${properties.SlotName}/${properties.PublicationName}`;

const deleteEvent = (properties: ReplicationSetupProperties) =>
  event('Delete', properties, { PhysicalResourceId: physicalIdOf(properties) });

beforeEach(() => {
  rds.reset();
  rdsSays('available', 'in-sync');
});

describe('killed before any step, then retried and deleted', () => {
  it('Create converges, and Delete leaves the database as before the stack', async () => {
    const probe = await freshPipeline();
    const counter = stepCounter();
    await handler(counter.hook).onEvent(event('Create', probe.properties));
    const steps = counter.count();
    expect(steps).toBeGreaterThanOrEqual(9);

    for (let n = 0; n < steps; n++) {
      const pipeline = await freshPipeline();
      const { properties } = pipeline;
      const before = await footprint(pipeline, [properties.User]);
      expect(before).toEqual(NOTHING);
      const killed = handler(killBefore(n, pipeline)).onEvent(event('Create', properties));
      await expect(killed).rejects.toThrow(/connection to the database was lost during this step/);
      await expect(handler().onEvent(event('Create', properties))).resolves.toMatchObject({
        PhysicalResourceId: physicalIdOf(properties),
      });
      expect({ n, state: await footprint(pipeline, [properties.User]) }).toEqual({
        n,
        state: deployed(properties),
      });
      await handler().onEvent(deleteEvent(properties));
      expect({ n, state: await footprint(pipeline, [properties.User]) }).toEqual({
        n,
        state: before,
      });
      expect(await demoRows(pipeline)).toEqual([
        { id: '1', val: 'a' },
        { id: '2', val: 'b' },
      ]);
    }
  });

  it('says what a lost connection did and did not commit', async () => {
    const pipeline = await freshPipeline();
    // Step 2 is inside the first transaction; the last step (the slot) comes after its commit.
    await expect(
      handler(killBefore(2, pipeline)).onEvent(event('Create', pipeline.properties)),
    ).rejects.toThrow(/rolled back; nothing of this run was committed\. Running the setup again/);
    const counter = stepCounter();
    const other = await freshPipeline();
    await handler(counter.hook).onEvent(event('Create', other.properties));
    const lastStep = counter.count() - 1;
    const again = await freshPipeline();
    await expect(
      handler(killBefore(lastStep, again)).onEvent(event('Create', again.properties)),
    ).rejects.toThrow(new RegExp(`${lastStep} earlier step\\(s\\) had been committed`));
    // CloudFormation sends no Delete after a failed Create: the run removed what it had
    // committed, on a fresh connection since its own was gone.
    expect(await footprint(again, [again.properties.User])).toEqual(NOTHING);
  });

  it('Update (a renamed user and a new keyless table) converges, and Delete removes both users', async () => {
    const probe = await prepareUpdate();
    const counter = stepCounter();
    await handler(counter.hook).onEvent(probe.update);
    const steps = counter.count();
    expect(steps).toBeGreaterThanOrEqual(10);

    for (let n = 0; n < steps; n++) {
      const { pipeline, renamed, update } = await prepareUpdate();
      const users = [pipeline.properties.User, renamed.User];
      await expect(handler(killBefore(n, pipeline)).onEvent(update)).rejects.toThrow();
      await expect(handler().onEvent(update)).resolves.toMatchObject({
        PhysicalResourceId: physicalIdOf(renamed),
      });
      expect({ n, state: await footprint(pipeline, users) }).toEqual({
        n,
        state: deployed(renamed),
      });
      const published = await pipeline.admin.query(
        'SELECT tablename FROM pg_publication_tables WHERE pubname = $1 ORDER BY 1',
        [renamed.PublicationName],
      );
      expect(published.rows.map((row) => row.tablename)).toEqual(['audit_log', 'data_tbl']);
      await handler().onEvent(deleteEvent(renamed));
      expect({ n, state: await footprint(pipeline, users) }).toEqual({ n, state: NOTHING });
    }
  });

  it('Delete converges when retried', async () => {
    const probe = await freshPipeline();
    await handler().onEvent(event('Create', probe.properties));
    const counter = stepCounter();
    await handler(counter.hook).onEvent(deleteEvent(probe.properties));
    const steps = counter.count();
    expect(steps).toBeGreaterThanOrEqual(4);

    for (let n = 0; n < steps; n++) {
      const pipeline = await freshPipeline();
      const { properties } = pipeline;
      await handler().onEvent(event('Create', properties));
      await expect(
        handler(killBefore(n, pipeline)).onEvent(deleteEvent(properties)),
      ).rejects.toThrow();
      await handler().onEvent(deleteEvent(properties));
      expect({ n, state: await footprint(pipeline, [properties.User]) }).toEqual({
        n,
        state: NOTHING,
      });
      expect(await demoRows(pipeline)).toHaveLength(2);
    }
  });
});

describe('what the record changes for Delete', () => {
  it('keeps a slot the user had, and refuses on a protected instance before dropping anything', async () => {
    const pipeline = await freshPipeline();
    const { properties, admin } = pipeline;
    await admin.query("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", [
      properties.SlotName,
    ]);
    await handler().onEvent(event('Create', properties));
    rds.reset();
    rdsSays('available', 'in-sync', true);
    await expect(handler().onEvent(deleteEvent(properties))).rejects.toThrow(
      /deletion protection on.*Nothing was dropped/s,
    );
    expect(await footprint(pipeline, [properties.User])).toEqual(deployed(properties));
    rds.reset();
    rdsSays('available', 'in-sync');
    await handler().onEvent(deleteEvent(properties));
    // The slot was the user's: it stays; what the stack made goes.
    expect(await footprint(pipeline, [properties.User])).toEqual({
      ...NOTHING,
      slots: [properties.SlotName],
    });
    await admin.query('SELECT pg_drop_replication_slot($1)', [properties.SlotName]);
  });
});

/** A deployed pipeline and an Update that renames its user and adds a keyless table. */
async function prepareUpdate() {
  const pipeline = await freshPipeline();
  await handler().onEvent(event('Create', pipeline.properties));
  await pipeline.admin.query('CREATE TABLE datastore.audit_log (actor text, action text)');
  // The master owns the application's tables (it may then change their replica identity).
  await pipeline.admin.query(`ALTER TABLE datastore.audit_log OWNER TO "${pipeline.master}"`);
  const renamed = {
    ...pipeline.properties,
    User: uniqueName('airbyte_renamed'),
    Tables: JSON.stringify([
      { name: 'data_tbl', replicaIdentity: 'default' },
      { name: 'audit_log', replicaIdentity: 'full' },
    ]),
  };
  serveSecrets(pipeline.asServer, renamed.User);
  const update = event('Update', renamed, {
    PhysicalResourceId: physicalIdOf(pipeline.properties),
    OldResourceProperties: { ServiceToken: 'token', ...pipeline.properties },
  });
  return { pipeline, renamed, update };
}

/** Resolves once some session waits for the replication lock (nothing else takes it). */
async function someoneWaitsForTheLock(admin: Client): Promise<void> {
  for (let attempt = 0; attempt < 600; attempt++) {
    const { rows } = await admin.query(
      `SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objsubid = 1
          AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
      [REPLICATION_LOCK],
    );
    if (rows.length > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('no run ever waited for the replication lock');
}

/**
 * Runs `first`; at its first step, while it holds the lock, starts `second` and lets `first` go
 * on only once `second` waits for the lock. Resolves with both outcomes.
 */
async function overlapping(
  pipeline: Pipeline,
  first: CdkCustomResourceEvent,
  second: CdkCustomResourceEvent,
): Promise<[PromiseSettledResult<unknown>, PromiseSettledResult<unknown>]> {
  let waiting: Promise<unknown> | undefined;
  const running = handler(async () => {
    if (waiting) return;
    waiting = handler().onEvent(second);
    await someoneWaitsForTheLock(pipeline.admin);
  }).onEvent(first);
  const [firstOutcome] = await Promise.allSettled([running]);
  if (!waiting) throw new Error('the first run made no step: nothing overlapped it');
  const [secondOutcome] = await Promise.allSettled([waiting]);
  return [firstOutcome, secondOutcome];
}

describe('runs at the same time', () => {
  it('two Creates of one resource: the second waits, both succeed, one of everything', async () => {
    const pipeline = await freshPipeline();
    const { properties } = pipeline;
    const outcomes = await overlapping(
      pipeline,
      event('Create', properties),
      event('Create', properties),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await footprint(pipeline, [properties.User])).toEqual(deployed(properties));
  });

  it('a Delete that races a Create waits for it, then removes everything', async () => {
    const pipeline = await freshPipeline();
    const { properties } = pipeline;
    const outcomes = await overlapping(
      pipeline,
      event('Create', properties),
      deleteEvent(properties),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await footprint(pipeline, [properties.User])).toEqual(NOTHING);
  });
});
