/**
 * The heartbeat is on in every environment cdk.json defines: the replication setup creates the
 * table (its custom resource carries it) and the Airbyte source's heartbeat query writes it, in
 * the environment's first schema. Without it an idle database's slot falls behind RDS's own WAL
 * (test/debezium/heartbeat.test.ts shows that with the real engine).
 */
import { buildSourceConfiguration } from '../../src/airbyte/bodies';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../../src/contract/replication-setup';
import { heartbeatQueryOf, targetFor } from '../src/airbyte/fixtures';
import { CDK_JSON_ENVIRONMENTS, synthesizeEnvironment } from '../support/stacks';

/** Each cdk.json environment's first published schema, where the heartbeat table lives. */
const FIRST_SCHEMAS: Record<string, string> = {
  dev: 'datastore',
  staging: 'datastore',
  prod: 'datastore',
  analytics: 'sales',
  aurora: 'datastore',
  existing: 'public',
};

/** The replication setup custom resource's properties in a synthesized environment. */
function replicationSetupProperties(
  name: string,
  raw = CDK_JSON_ENVIRONMENTS[name],
): Record<string, unknown> {
  const resources = Object.values(
    synthesizeEnvironment(name, raw).template.findResources(REPLICATION_SETUP_RESOURCE_TYPE),
  );
  expect(resources).toHaveLength(1);
  return resources[0].Properties as Record<string, unknown>;
}

/** The heartbeat query of the Airbyte source body built for an environment. */
const sourceHeartbeatQuery = (name: string, raw = CDK_JSON_ENVIRONMENTS[name]): string =>
  heartbeatQueryOf(buildSourceConfiguration(targetFor(name, raw)));

describe('the heartbeat in every cdk.json environment', () => {
  it('covers every environment cdk.json defines', () => {
    expect(Object.keys(FIRST_SCHEMAS).sort()).toEqual(Object.keys(CDK_JSON_ENVIRONMENTS).sort());
  });

  describe.each(Object.entries(FIRST_SCHEMAS))('environment %s', (name, firstSchema) => {
    it('has the replication setup create the heartbeat table in the first schema', () => {
      expect(replicationSetupProperties(name)).toMatchObject({
        Schema: firstSchema,
        HeartbeatTable: 'airbyte_heartbeat',
      });
    });

    it("has the Airbyte source's heartbeat query write that table", () => {
      expect(sourceHeartbeatQuery(name)).toBe(
        `INSERT INTO "${firstSchema}"."airbyte_heartbeat" (id, last_heartbeat) VALUES (1, now()) ON CONFLICT (id) DO UPDATE SET last_heartbeat = EXCLUDED.last_heartbeat`,
      );
    });
  });
});

describe('"heartbeatTable": false', () => {
  const raw = CDK_JSON_ENVIRONMENTS.dev;
  const withoutHeartbeat = { ...raw, replication: { ...raw.replication, heartbeatTable: false } };

  it('leaves the table out of the replication setup and the query out of the source', () => {
    expect(replicationSetupProperties('dev', withoutHeartbeat)).not.toHaveProperty(
      'HeartbeatTable',
    );
    // Empty: the connector's own default, no heartbeat query.
    expect(sourceHeartbeatQuery('dev', withoutHeartbeat)).toBe('');
  });
});
