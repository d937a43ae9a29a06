/**
 * The stack's side of an engine upgrade (docs/upgrading.md): the instance may take a new major,
 * its parameter group follows the major, the pre-upgrade check runs before the instance is
 * modified, and the replication setup runs again when that check dropped the slot.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { parseProperties as parsePreUpgradeProperties } from '../../lambda/pre-upgrade-check/properties';
import {
  PRE_UPGRADE_CHECK_ATTRIBUTES,
  PRE_UPGRADE_CHECK_RESOURCE_TYPE,
} from '../../src/contract/pre-upgrade-check';
import { databaseShapeOf, parseEnvironment, type DatabaseShape } from '../../src/config';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../../src/contract/replication-setup';
import { CDK_JSON_ENVIRONMENTS, synthesizeEnvironment } from '../support/stacks';

interface Resource {
  readonly Type: string;
  readonly Properties: Record<string, unknown>;
  readonly DependsOn?: string[];
}

function only(template: Template, type: string): [string, Resource] {
  const found = Object.entries(template.findResources(type)) as [string, Resource][];
  expect(found).toHaveLength(1);
  return found[0];
}

function devWithEngine(engineVersion: string): Template {
  const dev = CDK_JSON_ENVIRONMENTS.dev;
  return synthesizeEnvironment('dev', { ...dev, database: { ...dev.database, engineVersion } })
    .template;
}

/** The environments of each database shape, as cdk.json defines them. */
const environmentsOfShape = (shape: DatabaseShape) =>
  Object.keys(CDK_JSON_ENVIRONMENTS).filter(
    (name) =>
      databaseShapeOf(parseEnvironment(name, CDK_JSON_ENVIRONMENTS[name]).database) === shape,
  );

describe.each(environmentsOfShape('instance'))('engine upgrades in %s', (name) => {
  const { template } = synthesizeEnvironment(name);
  const config = parseEnvironment(name, CDK_JSON_ENVIRONMENTS[name]);
  const [checkId, check] = only(template, PRE_UPGRADE_CHECK_RESOURCE_TYPE);
  const [, instance] = only(template, 'AWS::RDS::DBInstance');

  it('allows a major upgrade, and the instance waits for the pre-upgrade check', () => {
    expect(instance.Properties.AllowMajorVersionUpgrade).toBe(true);
    expect(instance.DependsOn).toContain(checkId);
  });

  it('tells the check the configured version and acknowledgement, and nothing of the instance', () => {
    const properties = check.Properties;
    expect(properties).toMatchObject({
      EngineVersion: config.database.engineVersion,
      AllowSlotRecreation: String(config.replication.allowSlotRecreation),
      DbInstanceIdentifier: `rds-airbyte-cdc-${name}`,
    });
    // A reference to the instance would be a cycle: the instance depends on the check.
    const [instanceId] = Object.keys(template.findResources('AWS::RDS::DBInstance'));
    expect(JSON.stringify(properties)).not.toContain(instanceId);
    const deployed = Object.fromEntries(
      Object.entries(properties).map(([key, value]) => [
        key,
        typeof value === 'string' ? value : `<resolved ${key}>`,
      ]),
    );
    expect(parsePreUpgradeProperties(deployed).slotName).toBe(config.replication.slotName);
  });

  it("feeds the check's slot generation to the replication setup, which reruns when it changes", () => {
    const [, setup] = only(template, REPLICATION_SETUP_RESOURCE_TYPE);
    expect(setup.Properties.SlotGeneration).toEqual({
      'Fn::GetAtt': [checkId, PRE_UPGRADE_CHECK_ATTRIBUTES.slotGeneration],
    });
  });

  it('admits the check to the database port without going through the instance', () => {
    const ingress = Object.values(
      template.findResources('AWS::EC2::SecurityGroupIngress', {
        Properties: { Description: 'Pre-upgrade check function' },
      }),
    ) as Resource[];
    expect(ingress).toHaveLength(1);
    expect(ingress[0].Properties).toMatchObject({ FromPort: 5432, ToPort: 5432 });
  });
});

describe.each(environmentsOfShape('aurora'))(
  'engine upgrades of the Aurora cluster in %s',
  (name) => {
    const { template } = synthesizeEnvironment(name);
    const [checkId, check] = only(template, PRE_UPGRADE_CHECK_RESOURCE_TYPE);
    const [clusterId, cluster] = only(template, 'AWS::RDS::DBCluster');

    it('makes the cluster (and so its instances) wait for the pre-upgrade check', () => {
      expect(cluster.DependsOn).toContain(checkId);
    });

    it('names the cluster to the check by identifier, never by reference', () => {
      expect(check.Properties).toMatchObject({ DbClusterIdentifier: `rds-airbyte-cdc-${name}` });
      expect(check.Properties).not.toHaveProperty('DbInstanceIdentifier');
      expect(JSON.stringify(check.Properties)).not.toContain(clusterId);
    });

    it("feeds the check's slot generation to the replication setup", () => {
      const [, setup] = only(template, REPLICATION_SETUP_RESOURCE_TYPE);
      expect(setup.Properties.SlotGeneration).toEqual({
        'Fn::GetAtt': [checkId, PRE_UPGRADE_CHECK_ATTRIBUTES.slotGeneration],
      });
    });
  },
);

describe.each(environmentsOfShape('existing'))('a database the stack does not own (%s)', (name) => {
  it('gets no pre-upgrade check and no slot generation: the stack never upgrades it', () => {
    const { template } = synthesizeEnvironment(name);
    expect(template.findResources(PRE_UPGRADE_CHECK_RESOURCE_TYPE)).toEqual({});
    const [, setup] = only(template, REPLICATION_SETUP_RESOURCE_TYPE);
    expect(setup.Properties).not.toHaveProperty('SlotGeneration');
  });
});

describe('the cluster parameter group follows the major', () => {
  it.each([
    ['16', 'aurora-postgresql16'],
    ['17.4', 'aurora-postgresql17'],
  ])('engineVersion %s gives family %s', (engineVersion, family) => {
    const aurora = CDK_JSON_ENVIRONMENTS.aurora;
    const { template } = synthesizeEnvironment('aurora', {
      ...aurora,
      database: { ...aurora.database, engineVersion },
    });
    const [, group] = only(template, 'AWS::RDS::DBClusterParameterGroup');
    expect(group.Properties.Family).toBe(family);
    expect(group.Properties.Parameters).toMatchObject({ 'rds.logical_replication': '1' });
  });
});

describe('the parameter group follows the major', () => {
  it.each([
    ['16', 'postgres16'],
    ['17', 'postgres17'],
    ['18.1', 'postgres18'],
  ])('engineVersion %s gives family %s', (engineVersion, family) => {
    const [, group] = only(devWithEngine(engineVersion), 'AWS::RDS::DBParameterGroup');
    expect(group.Properties.Family).toBe(family);
    expect(group.Properties.Parameters).toMatchObject({ 'rds.logical_replication': '1' });
  });

  it('keeps the logical id, so that a new major replaces the group in place of the old', () => {
    const ids = ['16', '17'].map(
      (version) => only(devWithEngine(version), 'AWS::RDS::DBParameterGroup')[0],
    );
    expect(ids[0]).toBe(ids[1]);
  });
});
