import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { type EnvironmentInput, parseEnvironments } from '../../../src/config';
import { stackNameFor } from '../../../src/contract/outputs';
import { RdsAirbyteCdcStack } from '../../../lib/rds-airbyte-cdc-stack';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../../../src/contract/replication-setup';
import {
  type CloudFormationTemplate,
  diffStack,
  diffStacks,
  isDestructive,
  type StackDiff,
} from '../../../src/diff/analyze';
import { readStacks } from '../../../src/diff/assembly';
import { renderReport, renderStackDiff } from '../../../src/diff/markdown';
import {
  appWithoutValidation,
  CDK_JSON_ENVIRONMENTS,
  databaseInstanceOf,
  synthesizeEnvironment,
} from '../../support/stacks';

const ENVIRONMENT = 'dev';
const STACK_NAME = stackNameFor(ENVIRONMENT);
const scratch = mkdtempSync(path.join(tmpdir(), 'diff-analyze-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** dev's cdk.json configuration with some sections replaced. */
function devWith(
  overrides: Partial<Record<keyof EnvironmentInput, Record<string, unknown>>>,
): EnvironmentInput {
  const dev = CDK_JSON_ENVIRONMENTS[ENVIRONMENT] as Record<
    string,
    Record<string, unknown> | undefined
  >;
  return Object.fromEntries(
    [...new Set([...Object.keys(dev), ...Object.keys(overrides)])].map((section) => [
      section,
      { ...dev[section], ...(overrides as Record<string, Record<string, unknown>>)[section] },
    ]),
  ) as EnvironmentInput;
}

/**
 * Synthesize dev's stack into a cloud assembly the way `npm run diff` does (path metadata on),
 * optionally altered after construction (an escape hatch). Returns the assembly directory.
 */
function synthesizeTree(
  raw: EnvironmentInput,
  alter?: (stack: RdsAirbyteCdcStack) => void,
): string {
  const outdir = mkdtempSync(path.join(scratch, 'cdk.out-'));
  const [config] = parseEnvironments({ [ENVIRONMENT]: raw }, ENVIRONMENT);
  const app = appWithoutValidation({
    outdir,
    context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:bundling-stacks': [] },
  });
  const stack = new RdsAirbyteCdcStack(app, STACK_NAME, { config });
  alter?.(stack);
  app.synth();
  return outdir;
}

function diffTrees(base: string, head: string): StackDiff {
  const diffs = diffStacks(readStacks(base), readStacks(head));
  expect(diffs.map((diff) => diff.stackName)).toEqual([STACK_NAME]);
  return diffs[0];
}

const baseTree = synthesizeTree(devWith({}));

describe('diff of two synthesized trees', () => {
  it('reports nothing between identical trees', () => {
    const diff = diffTrees(baseTree, synthesizeTree(devWith({})));
    expect(diff).toMatchObject({
      status: 'unchanged',
      resources: [],
      assetOnly: [],
      destructive: [],
    });
    expect(renderStackDiff(diff)).toContain('No changes.');
  });

  it('shows an instance class change as an in-place update of the instance, not destructive', () => {
    const diff = diffTrees(
      baseTree,
      synthesizeTree(devWith({ database: { instanceType: 't4g.small' } })),
    );
    expect(diff.resources).toEqual([
      expect.objectContaining({
        kind: 'changed',
        type: 'AWS::RDS::DBInstance',
        constructPath: `${STACK_NAME}/Database/Instance/Resource`,
        impact: 'WILL_UPDATE',
        properties: [
          {
            name: 'DBInstanceClass',
            impact: 'WILL_UPDATE',
            before: 'db.t4g.micro',
            after: 'db.t4g.small',
          },
        ],
      }),
    ]);
    expect(diff.destructive).toEqual([]);
    expect(renderStackDiff(diff)).toContain('`DBInstanceClass`: `db.t4g.micro` → `db.t4g.small`');
  });

  it('shows a table added to the publication as an update of the replication setup, not destructive', () => {
    const head = synthesizeTree(devWith({ replication: { tables: ['data_tbl', 'orders'] } }));
    const diff = diffTrees(baseTree, head);
    expect(diff.resources).toEqual([
      expect.objectContaining({
        kind: 'changed',
        type: REPLICATION_SETUP_RESOURCE_TYPE,
        constructPath: `${STACK_NAME}/ReplicationSetup/Resource/Default`,
        impact: 'WILL_UPDATE',
        properties: [
          expect.objectContaining({
            name: 'Tables',
            after: expect.stringContaining('"name":"orders"'),
          }),
        ],
      }),
    ]);
    expect(diff.destructive).toEqual([]);
    expect(renderStackDiff(diff)).toContain('`Tables`: `[{"name":"data_tbl"');
  });

  it('reports an engine major upgrade as the upgrade, not as a replaced parameter group and instance', () => {
    const base = synthesizeTree(devWith({ database: { engineVersion: '16' } }));
    const diff = diffTrees(base, synthesizeTree(devWith({ database: { engineVersion: '17' } })));
    // The new family replaces the group, and the instance's DBParameterGroupName "may" replace
    // it in the CloudFormation spec; in a major upgrade both are the upgrade itself, which
    // RDS applies in place (docs/upgrading.md), so they are no destructive change of their own.
    expect(diff.destructive).toEqual([]);
    const group = diff.resources.find((resource) => resource.type === 'AWS::RDS::DBParameterGroup');
    expect(group?.properties).toContainEqual(
      expect.objectContaining({
        name: 'Family',
        before: 'postgres16',
        after: 'postgres17',
        impact: 'WILL_REPLACE',
      }),
    );
    expect(diff.engineUpgrades).toEqual([expect.objectContaining({ from: '16', to: '17' })]);
    // Destructive still: the slot is dropped.
    expect(isDestructive([diff])).toBe(true);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain('> [!CAUTION]');
    expect(markdown).toContain('PostgreSQL 16 → 17. The replication slot will be dropped');
    expect(markdown).not.toMatch(/ParameterGroup` \(\w+\) will be replaced/);
  });

  it('puts a security group opened to 0.0.0.0/0 in the security section, with a warning', () => {
    const head = synthesizeTree(devWith({}), (stack) => {
      // cdk.json refuses 0.0.0.0/0 in allowedCidrs, so the rule comes through an escape hatch.
      const [group] = databaseInstanceOf(stack).connections.securityGroups;
      const rule = new ec2.CfnSecurityGroupIngress(stack, 'OpenToTheWorld', {
        groupId: group.securityGroupId,
        ipProtocol: 'tcp',
        fromPort: 5432,
        toPort: 5432,
        cidrIp: '0.0.0.0/0',
      });
      Validations.of(rule).acknowledge({
        id: 'CloudFormation-Validate::W2508',
        reason: 'the test needs exactly this mistake',
      });
    });
    const diff = diffTrees(baseTree, head);
    expect(diff.openToInternet).toEqual([expect.stringContaining('TCP 5432 from Everyone (IPv4)')]);
    expect(diff.securityGroupRules).toEqual([
      ['', 'Group', 'Dir', 'Protocol', 'Peer'],
      ['+', expect.stringContaining('DatabaseSecurityGroup'), 'In', 'TCP 5432', 'Everyone (IPv4)'],
    ]);
    expect(diff.destructive).toEqual([]);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain('### Security: IAM and security groups');
    expect(markdown).toContain('**Ingress open to the whole internet:**');
    expect(markdown).toContain('| + | ${DatabaseSecurityGroup');
  });

  it('names a stack the head no longer synthesizes without calling it destructive', () => {
    const [diff] = diffStacks(readStacks(baseTree), new Map());
    expect(diff).toMatchObject({ stackName: STACK_NAME, status: 'removed', destructive: [] });
    expect(renderStackDiff(diff)).toContain('`cdk deploy` leaves the deployed stack alone');
  });
});

describe('diff of handcrafted templates', () => {
  const lambda = (s3Key: string, memorySize = 256): CloudFormationTemplate => ({
    Resources: {
      Handler: {
        Type: 'AWS::Lambda::Function',
        Properties: { Code: { S3Bucket: 'assets', S3Key: s3Key }, MemorySize: memorySize },
        Metadata: {
          'aws:cdk:path': 'S/Handler/Resource',
          'aws:asset:path': s3Key.replace('.zip', ''),
        },
      },
      CDKMetadata: { Type: 'AWS::CDK::Metadata', Properties: { Analytics: s3Key } },
    },
  });
  const hashA = `${'a'.repeat(64)}.zip`;
  const hashB = `${'b'.repeat(64)}.zip`;

  it('lists a resource that differs only by asset hash once, outside the changes', () => {
    const diff = diffStack('S', lambda(hashA), lambda(hashB));
    expect(diff.resources).toEqual([]);
    expect(diff.assetOnly).toEqual([
      { logicalId: 'Handler', type: 'AWS::Lambda::Function', constructPath: 'S/Handler/Resource' },
    ]);
    expect(renderStackDiff(diff)).toContain(
      'Rebuilt assets only (code or files changed, nothing else): `S/Handler` (Handler).',
    );
  });

  it('hides the asset hash but not the other changes of the same resource', () => {
    const diff = diffStack('S', lambda(hashA), lambda(hashB, 512));
    expect(diff.assetOnly).toEqual([]);
    expect(diff.resources).toEqual([
      expect.objectContaining({
        logicalId: 'Handler',
        properties: [expect.objectContaining({ name: 'MemorySize', before: 256, after: 512 })],
      }),
    ]);
  });

  const setup = (
    logicalId: string,
    properties: Record<string, unknown>,
  ): CloudFormationTemplate => ({
    Resources: {
      [logicalId]: {
        Type: REPLICATION_SETUP_RESOURCE_TYPE,
        Properties: { ServiceToken: 'arn', ...properties },
      },
    },
  });

  it('warns when the replication setup is deleted, for instance because its logical id moved', () => {
    const diff = diffStack(
      'S',
      setup('ReplicationSetupA1', { SlotName: 'airbyte_slot' }),
      setup('MovedSetupB2', { SlotName: 'airbyte_slot' }),
    );
    expect(diff.destructive).toEqual([
      expect.objectContaining({
        logicalId: 'ReplicationSetupA1',
        action: 'deleted',
        what: 'replication setup',
      }),
    ]);
    expect(renderStackDiff(diff)).toContain('the old slot and publication are dropped');
  });

  it('recognises a generic custom resource by its logical id', () => {
    const generic: CloudFormationTemplate = {
      Resources: {
        ReplicationSetupCustomResource12: {
          Type: 'AWS::CloudFormation::CustomResource',
          Properties: {},
        },
      },
    };
    expect(diffStack('S', generic, { Resources: {} }).destructive).toEqual([
      expect.objectContaining({ action: 'deleted', what: 'replication setup' }),
    ]);
  });

  it('says when a deleted instance keeps a final snapshot', () => {
    const withInstance: CloudFormationTemplate = {
      Resources: {
        Db: {
          Type: 'AWS::RDS::DBInstance',
          DeletionPolicy: 'Snapshot',
          Properties: { Engine: 'postgres' },
        },
      },
    };
    const diff = diffStack('S', withInstance, { Resources: {} });
    expect(diff.destructive).toEqual([
      expect.objectContaining({ action: 'deleted', deletionPolicy: 'Snapshot' }),
    ]);
    expect(renderStackDiff(diff)).toContain('will be deleted.** Its DeletionPolicy is Snapshot.');
  });

  it('does not flag an added instance, nor other resources being replaced', () => {
    const queue = (name: string): CloudFormationTemplate => ({
      Resources: { Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: name } } },
    });
    const replaced = diffStack('S', queue('a'), queue('b'));
    expect(replaced.resources[0].impact).toBe('WILL_REPLACE');
    expect(replaced.destructive).toEqual([]);
    expect(
      diffStack('S', { Resources: {} }, { Resources: { Db: { Type: 'AWS::RDS::DBInstance' } } })
        .destructive,
    ).toEqual([]);
  });

  it('summarises every stack at the top of the report, destructive ones first in a caution block', () => {
    const calm = diffStack('Calm', lambda(hashA), lambda(hashA, 512));
    const loud = diffStack('Loud', setup('ReplicationSetup', {}), { Resources: {} });
    const same = diffStack('Same', lambda(hashA), lambda(hashA));
    const report = renderReport([calm, loud, same], {
      base: 'main (abc1234)',
      head: 'working tree',
    });
    expect(report).toContain('Base: main (abc1234) · Head: working tree');
    expect(report).toContain('> **1 destructive change:** Loud: replication setup deleted.');
    expect(report).toContain(
      '| Calm | 0 added, 0 removed, 1 changed, 0 asset-only | none | none |',
    );
    expect(report).toContain(
      '| Loud | 0 added, 1 removed, 0 changed, 0 asset-only | **1** | none |',
    );
    expect(report).toContain('| Same | no changes | none | none |');
  });
});

describe('replication setup property changes', () => {
  const setup = (properties: Record<string, string>): CloudFormationTemplate => ({
    Resources: {
      ReplicationSetup648A8C9B: {
        Type: REPLICATION_SETUP_RESOURCE_TYPE,
        Properties: {
          ServiceToken: 'arn',
          SlotName: 'airbyte_slot',
          Database: 'app',
          Tables: '[{"name":"data_tbl"}]',
          ...properties,
        },
      },
    },
  });

  it('treats a table added to the publication as an in-place update', () => {
    const diff = diffStack(
      'S',
      setup({}),
      setup({ Tables: '[{"name":"data_tbl"},{"name":"orders"}]' }),
    );
    expect(diff.destructive).toEqual([]);
    expect(diff.resources).toEqual([
      expect.objectContaining({
        kind: 'changed',
        impact: 'WILL_UPDATE',
        properties: [
          expect.objectContaining({
            name: 'Tables',
            after: '[{"name":"data_tbl"},{"name":"orders"}]',
          }),
        ],
      }),
    ]);
  });

  it.each([
    ['SlotName', 'cdc_slot'],
    ['PublicationName', 'cdc_publication'],
    ['Database', 'other'],
  ])('warns that changing %s recreates what Airbyte reads', (name, value) => {
    const diff = diffStack('S', setup({}), setup({ [name]: value }));
    expect(diff.destructive).toEqual([
      expect.objectContaining({ action: 'recreated', what: 'replication setup' }),
    ]);
    expect(renderStackDiff(diff)).toContain('`ReplicationSetup648A8C9B` will be recreated.**');
  });
});

describe('the other database shapes', () => {
  /** An environment of cdk.json with some of its sections' fields replaced, synthesized. */
  function synthesizeShape(
    name: string,
    overrides: Partial<Record<keyof EnvironmentInput, Record<string, unknown>>> = {},
  ): CloudFormationTemplate {
    const environment = CDK_JSON_ENVIRONMENTS[name] as Record<
      string,
      Record<string, unknown> | undefined
    >;
    const raw = Object.fromEntries(
      [...new Set([...Object.keys(environment), ...Object.keys(overrides)])].map((section) => [
        section,
        {
          ...environment[section],
          ...(overrides as Record<string, Record<string, unknown>>)[section],
        },
      ]),
    ) as EnvironmentInput;
    return synthesizeEnvironment(name, raw).template.toJSON() as CloudFormationTemplate;
  }

  const AURORA_STACK = stackNameFor('aurora');
  const aurora = synthesizeShape('aurora');

  /** The logical id of the only resource of the type whose properties match. */
  function logicalIdOf(
    template: CloudFormationTemplate,
    type: string,
    properties: Record<string, unknown> = {},
  ): string {
    const ids = Object.entries(template.Resources ?? {})
      .filter(
        ([, resource]) =>
          resource.Type === type &&
          Object.entries(properties).every(
            ([name, value]) => resource.Properties?.[name] === value,
          ),
      )
      .map(([logicalId]) => logicalId);
    expect(ids).toHaveLength(1);
    return ids[0];
  }

  it('warns that a replaced Aurora cluster is a new, empty one, its instances going with it', () => {
    // CloudFormation replaces a cluster for a new DatabaseName.
    const diff = diffStack(
      AURORA_STACK,
      aurora,
      synthesizeShape('aurora', { database: { databaseName: 'orders' } }),
    );
    const cluster = logicalIdOf(aurora, 'AWS::RDS::DBCluster');
    expect(diff.destructive).toEqual([
      expect.objectContaining({
        logicalId: cluster,
        action: 'replaced',
        what: 'database cluster',
        deletionPolicy: 'Snapshot',
      }),
      // A new database name is also a new slot and publication.
      expect.objectContaining({ action: 'recreated', what: 'replication setup' }),
    ]);
    // The writer and the reader are replaced with the cluster (a new DBClusterIdentifier), and
    // its warning covers them: none of their own says "no data is lost".
    expect(
      diff.resources.filter(
        (resource) =>
          resource.type === 'AWS::RDS::DBInstance' && resource.impact === 'WILL_REPLACE',
      ),
    ).toHaveLength(2);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain(`**The database cluster \`${cluster}\` will be replaced.**`);
    expect(markdown).toContain('a new, empty cluster is created and the old one is deleted');
    expect(markdown).not.toContain('no data is lost');
    expect(markdown).not.toContain('a new, empty instance');
  });

  it('says a replaced reader of the cluster loses no data, unlike a stand-alone instance', () => {
    const reader = logicalIdOf(aurora, 'AWS::RDS::DBInstance', { PromotionTier: 1 });
    // CloudFormation replaces an instance for a new identifier; no configuration field renames
    // a reader, so the head is the same template with that one property changed.
    const head = structuredClone(aurora) as CloudFormationTemplate;
    const properties = head.Resources?.[reader].Properties as Record<string, unknown>;
    properties.DBInstanceIdentifier = `${String(properties.DBInstanceIdentifier)}-b`;
    const diff = diffStack(AURORA_STACK, aurora, head);
    expect(diff.destructive).toEqual([
      expect.objectContaining({ logicalId: reader, action: 'replaced', what: 'cluster instance' }),
    ]);
    const markdown = renderStackDiff(diff);
    expect(markdown).toContain(`**The cluster instance \`${reader}\` will be replaced.**`);
    expect(markdown).toContain(
      "no data is lost: the data, the WAL and the replication slot live in the cluster's storage",
    );
    expect(markdown).not.toContain('a new, empty instance');
  });

  it('gives a reader removed from the cluster the same text', () => {
    const diff = diffStack(
      AURORA_STACK,
      aurora,
      synthesizeShape('aurora', { database: { readers: 0 } }),
    );
    expect(diff.destructive).toEqual([
      expect.objectContaining({
        type: 'AWS::RDS::DBInstance',
        action: 'deleted',
        what: 'cluster instance',
        consequence: expect.stringContaining('no data is lost'),
      }),
    ]);
  });

  it('warns of the cluster parameter group replaced outside a major upgrade: a reboot of the writer', () => {
    const group = logicalIdOf(aurora, 'AWS::RDS::DBClusterParameterGroup');
    const head = structuredClone(aurora) as CloudFormationTemplate;
    (head.Resources?.[group].Properties as Record<string, unknown>).Description = 'renamed';
    const diff = diffStack(AURORA_STACK, aurora, head);
    expect(diff.engineUpgrades).toEqual([]);
    expect(diff.destructive).toEqual([
      expect.objectContaining({
        logicalId: group,
        action: 'replaced',
        what: 'database cluster parameter group',
        consequence: expect.stringContaining('wait for a reboot of the writer'),
      }),
    ]);
    expect(isDestructive([diff])).toBe(true);
  });

  it("finds no database to protect in an existing database's stack, only what the stack made in it", () => {
    const existing = synthesizeShape('existing');
    expect(
      Object.values(existing.Resources ?? {}).filter((resource) =>
        resource.Type.startsWith('AWS::RDS::DB'),
      ),
    ).toEqual([]);
    const diff = diffStack(
      stackNameFor('existing'),
      existing,
      synthesizeShape('existing', { database: { databaseName: 'sales' } }),
    );
    expect(diff.engineUpgrades).toEqual([]);
    expect(diff.destructive).toEqual([
      expect.objectContaining({ action: 'recreated', what: 'replication setup' }),
    ]);
  });
});
