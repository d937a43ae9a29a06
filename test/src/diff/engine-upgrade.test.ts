import type { EnvironmentInput } from '../../../src/config';
import { stackNameFor } from '../../../src/contract/outputs';
import {
  type CloudFormationTemplate,
  destructiveCount,
  diffStack,
  isDestructive,
} from '../../../src/diff/analyze';
import { AIRBYTE_UI_RESYNC } from '../../../src/airbyte/resync';
import { renderReport, renderStackDiff } from '../../../src/diff/markdown';
import { CDK_JSON_ENVIRONMENTS, synthesizeEnvironment } from '../../support/stacks';

const ENVIRONMENT = 'dev';
const STACK_NAME = stackNameFor(ENVIRONMENT);

const MANAGED_AIRBYTE = {
  apiUrl: 'https://api.airbyte.com/v1',
  workspaceId: '1d3c5f0e-7a2b-4c8d-9e1f-2a3b4c5d6e7f',
  credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte/app-AbCdEf',
};

/** dev's cdk.json configuration with the engine version and some sections' fields replaced. */
function dev(
  engineVersion: string,
  overrides: { replication?: Record<string, unknown>; airbyte?: Record<string, unknown> } = {},
): CloudFormationTemplate {
  const base = CDK_JSON_ENVIRONMENTS[ENVIRONMENT] as Record<string, Record<string, unknown>>;
  const raw = {
    ...base,
    database: { ...base.database, engineVersion },
    replication: { ...base.replication, ...overrides.replication },
    ...(overrides.airbyte ? { airbyte: { ...base.airbyte, ...overrides.airbyte } } : {}),
  } as EnvironmentInput;
  return synthesizeEnvironment(ENVIRONMENT, raw).template.toJSON() as CloudFormationTemplate;
}

const dev16 = dev('16');
const dev17 = dev('17');

describe('npm run diff on an engine version change', () => {
  it('flags 16 -> 17 as dropping the slot, destructive, and names the missing acknowledgement', () => {
    const diff = diffStack(STACK_NAME, dev16, dev17);
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({
        type: 'AWS::RDS::DBInstance',
        from: '16',
        to: '17',
        fate: 'dropped',
        allowSlotRecreation: false,
        airbyteManaged: false,
      }),
    ]);
    expect(isDestructive([diff])).toBe(true);
    // The new family's parameter group and the instance's move to it are the upgrade itself,
    // not a replacement of the database: the slot's drop is the one destructive change.
    expect(diff.destructive).toEqual([]);
    expect(destructiveCount(diff)).toBe(1);
    const markdown = renderStackDiff(diff);
    expect(markdown).not.toContain('may be replaced');
    expect(markdown).toContain("parameter group is replaced by one of the new major's family");
    expect(markdown).toContain(
      'PostgreSQL 16 → 17. The replication slot will be dropped and recreated, and the Airbyte connection resynced.**',
    );
    expect(markdown).toContain(
      '`replication.allowSlotRecreation: true` is required and the head does not set it',
    );
    expect(markdown).toContain('a full copy of every published table');
    // Without airbyte.apiUrl the report says what to click.
    expect(markdown).toContain(AIRBYTE_UI_RESYNC);
    expect(markdown).not.toContain('the deploy starts the resync itself');
  });

  it('says the drop is acknowledged and that the deploy starts the resync when the stack manages Airbyte', () => {
    const head = dev('17', {
      replication: { allowSlotRecreation: true },
      airbyte: MANAGED_AIRBYTE,
    });
    const diff = diffStack(STACK_NAME, dev16, head);
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ fate: 'dropped', allowSlotRecreation: true, airbyteManaged: true }),
    ]);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain('`replication.allowSlotRecreation` is `true` in the head');
    expect(markdown).toContain('the deploy starts the resync itself (an Airbyte `reset` job)');
    expect(markdown).not.toContain(AIRBYTE_UI_RESYNC);
  });

  it('counts the slot drop in the report summary and the destructive column', () => {
    const diff = diffStack(STACK_NAME, dev16, dev17);
    const report = renderReport([diff], { base: 'main (abc1234)', head: 'working tree' });
    expect(report).toContain(
      `${STACK_NAME}: replication slot dropped and recreated by the engine upgrade 16 → 17, Airbyte resync`,
    );
    // The slot drop, and the parameter group replacement and possible instance replacement.
    expect(destructiveCount(diff)).toBe(diff.destructive.length + 1);
    expect(report).toContain(`| **${destructiveCount(diff)}** |`);
  });

  it('says 17 -> 18 keeps the slot if consumed, is not a slot drop, and points at the doctor', () => {
    const diff = diffStack(STACK_NAME, dev17, dev('18'));
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ from: '17', to: '18', fate: 'kept-if-consumed' }),
    ]);
    expect(destructiveCount(diff)).toBe(diff.destructive.length);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain(
      'PostgreSQL 17 → 18. The replication slot is kept, provided it has no unconfirmed changes.**',
    );
    expect(markdown).toContain('With unconfirmed changes the deploy stops there');
    expect(markdown).toContain('`npm run doctor -- --env dev --upgrade-to 18`');
    expect(markdown).not.toContain('will be dropped and recreated');
  });

  it('says 17 -> 18 with the acknowledgement may drop the slot and resync', () => {
    const diff = diffStack(
      STACK_NAME,
      dev17,
      dev('18', { replication: { allowSlotRecreation: true } }),
    );
    expect(renderStackDiff(diff)).toContain(
      'lets it drop the slot instead, and the Airbyte connection then resyncs',
    );
  });

  it('gives a minor upgrade a NOTE that the slot is kept, and nothing destructive', () => {
    const diff = diffStack(STACK_NAME, dev('17.4'), dev('17.6'));
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ from: '17.4', to: '17.6', fate: 'kept-minor' }),
    ]);
    expect(diff.destructive).toEqual([]);
    expect(isDestructive([diff])).toBe(false);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain('> [!NOTE]');
    expect(markdown).toContain(
      'PostgreSQL 17.4 → 17.6.** The replication slot and its position are kept',
    );
    expect(markdown).not.toContain('[!CAUTION]');
  });

  it('reports nothing about the engine when the version is unchanged', () => {
    const diff = diffStack(STACK_NAME, dev17, dev('17', { replication: { tables: ['a'] } }));
    expect(diff.engineUpgrades).toEqual([]);
  });

  const instance = (EngineVersion: string): CloudFormationTemplate => ({
    Resources: { Db: { Type: 'AWS::RDS::DBInstance', Properties: { EngineVersion } } },
  });

  it('makes a slot-dropping upgrade destructive by itself (exit 3 with --fail-on-destructive)', () => {
    const diff = diffStack('S', instance('16.4'), instance('17.2'));
    // An engine version change is an in-place update for CloudFormation: no resource rule fires.
    expect(diff.destructive).toEqual([]);
    expect(destructiveCount(diff)).toBe(1);
    expect(isDestructive([diff])).toBe(true);
    expect(isDestructive([diffStack('S', instance('17.2'), instance('18.1'))])).toBe(false);
  });

  it('warns that RDS does not downgrade', () => {
    const diff = diffStack('S', instance('17'), instance('16'));
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ fate: 'downgrade', airbyteManaged: false }),
    ]);
    // A template without the pre-upgrade check leaves the acknowledgement unknown.
    expect(diff.engineUpgrades[0]).not.toHaveProperty('allowSlotRecreation');
    expect(renderStackDiff(diff)).toContain('RDS does not downgrade PostgreSQL');
    expect(isDestructive([diff])).toBe(false);
  });
});

describe('npm run diff on an engine version change of an Aurora cluster', () => {
  const AURORA = 'aurora';
  const AURORA_STACK = stackNameFor(AURORA);

  /** aurora's cdk.json configuration with the engine version and replication fields replaced. */
  function aurora(
    engineVersion: string,
    replication: Record<string, unknown> = {},
  ): CloudFormationTemplate {
    const base = CDK_JSON_ENVIRONMENTS[AURORA] as Record<string, Record<string, unknown>>;
    const raw = {
      ...base,
      database: { ...base.database, engineVersion },
      replication: { ...base.replication, ...replication },
    } as EnvironmentInput;
    return synthesizeEnvironment(AURORA, raw).template.toJSON() as CloudFormationTemplate;
  }

  const aurora16 = aurora('16');
  const aurora17 = aurora('17');

  it('flags 16 -> 17 of the cluster as dropping the slot, the group and the move to it being the upgrade', () => {
    const diff = diffStack(AURORA_STACK, aurora16, aurora17);
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({
        type: 'AWS::RDS::DBCluster',
        database: 'cluster',
        engine: 'aurora-postgresql',
        from: '16',
        to: '17',
        fate: 'dropped',
        allowSlotRecreation: false,
      }),
    ]);
    // The new family does replace the cluster parameter group...
    expect(diff.resources).toContainEqual(
      expect.objectContaining({
        type: 'AWS::RDS::DBClusterParameterGroup',
        impact: 'WILL_REPLACE',
        properties: [
          expect.objectContaining({
            name: 'Family',
            before: 'aurora-postgresql16',
            after: 'aurora-postgresql17',
          }),
        ],
      }),
    );
    // ...but that and the cluster's move to it are the upgrade, not destructive changes apart.
    expect(diff.destructive).toEqual([]);
    expect(destructiveCount(diff)).toBe(1);
    expect(isDestructive([diff])).toBe(true);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain('> [!CAUTION]');
    expect(markdown).toContain(
      '**Major engine upgrade of the database cluster `DatabaseCluster5B53A178`: Aurora PostgreSQL 16 → 17. The replication slot will be dropped and recreated, and the Airbyte connection resynced.**',
    );
    expect(markdown).toContain(
      'drops the slot (logging its position) before the cluster is modified',
    );
    expect(markdown).toContain(
      "The cluster's parameter group is replaced by one of the new major's family with the same settings, and the cluster moves to it",
    );
    expect(markdown).not.toContain('instance');
    expect(markdown).not.toContain('will be replaced');
  });

  it('says 17 -> 18 of the cluster keeps the slot if consumed and points at the doctor for aurora', () => {
    const diff = diffStack(AURORA_STACK, aurora17, aurora('18'));
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ database: 'cluster', fate: 'kept-if-consumed' }),
    ]);
    expect(diff.destructive).toEqual([]);
    expect(isDestructive([diff])).toBe(false);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain(
      'Aurora PostgreSQL 17 → 18. The replication slot is kept, provided it has no unconfirmed changes.**',
    );
    expect(markdown).toContain('peeks at the slot before the cluster is modified');
    expect(markdown).toContain('`npm run doctor -- --env aurora --upgrade-to 18`');
  });

  it("gives a minor change of the cluster a NOTE that restarts the cluster's instances", () => {
    const diff = diffStack(AURORA_STACK, aurora('17.4'), aurora('17.6'));
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ database: 'cluster', fate: 'kept-minor' }),
    ]);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain(
      '**Minor engine version change of the database cluster `DatabaseCluster5B53A178`: Aurora PostgreSQL 17.4 → 17.6.**',
    );
    expect(markdown).toContain("RDS restarts the cluster's instances with new binaries");
    expect(markdown).not.toContain('[!CAUTION]');
  });

  /** A cluster whose instance has a DB parameter group of its own, as another app may define. */
  const cluster = (major: string): CloudFormationTemplate => ({
    Resources: {
      Cluster: {
        Type: 'AWS::RDS::DBCluster',
        Properties: {
          Engine: 'aurora-postgresql',
          EngineVersion: major,
          DBClusterParameterGroupName: { Ref: 'ClusterGroup' },
        },
      },
      ClusterGroup: {
        Type: 'AWS::RDS::DBClusterParameterGroup',
        Properties: { Family: `aurora-postgresql${major}`, Description: 'cdc' },
      },
      InstanceGroup: {
        Type: 'AWS::RDS::DBParameterGroup',
        Properties: { Family: `aurora-postgresql${major}`, Description: 'cdc' },
      },
      Writer: {
        Type: 'AWS::RDS::DBInstance',
        Properties: {
          Engine: 'aurora-postgresql',
          DBClusterIdentifier: { Ref: 'Cluster' },
          DBParameterGroupName: { Ref: 'InstanceGroup' },
        },
      },
    },
  });

  it("counts the instances' parameter group and their move to it as part of the cluster's upgrade", () => {
    const diff = diffStack('S', cluster('16'), cluster('17'));
    // The writer carries no version: the upgrade is the cluster's alone.
    expect(diff.engineUpgrades).toEqual([
      expect.objectContaining({ logicalId: 'Cluster', database: 'cluster', fate: 'dropped' }),
    ]);
    const replaced = diff.resources.filter((resource) =>
      ['WILL_REPLACE', 'MAY_REPLACE'].includes(resource.impact),
    );
    // The writer "may" be replaced by its move to the new group, in the CloudFormation spec.
    expect(replaced.map((resource) => resource.logicalId).sort()).toEqual([
      'ClusterGroup',
      'InstanceGroup',
      'Writer',
    ]);
    expect(diff.destructive).toEqual([]);
    expect(destructiveCount(diff)).toBe(1);
    // Outside a major upgrade the same groups' replacement is destructive.
    const described = cluster('16');
    const groups = described.Resources as Record<string, { Properties: Record<string, unknown> }>;
    groups.ClusterGroup.Properties.Description = 'changed';
    groups.InstanceGroup.Properties.Description = 'changed';
    expect(
      diffStack('S', cluster('16'), described).destructive.map(
        (change) => `${change.what} ${change.action}`,
      ),
    ).toEqual([
      'database cluster parameter group replaced',
      'database parameter group replaced',
      // Its move to the new group: CloudFormation decides at deploy time.
      'cluster instance may be replaced',
    ]);
  });
});
