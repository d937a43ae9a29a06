import { ResourceImpact } from '@aws-cdk/cloudformation-diff';
import {
  destructiveCount,
  type DestructiveChange,
  type ResourceChange,
  type ResourceRef,
  type StackDiff,
  type Table,
} from './analyze';
import { dropsSlot, engineUpgradeLines } from './engine-upgrade';

/** Longest rendering of one property value before it is cut. */
const MAX_VALUE_LENGTH = 120;

const IMPACT_LABELS: Record<ResourceImpact, string> = {
  [ResourceImpact.WILL_CREATE]: 'create',
  [ResourceImpact.WILL_UPDATE]: 'update',
  [ResourceImpact.WILL_REPLACE]: '**replace**',
  [ResourceImpact.MAY_REPLACE]: '**may replace**',
  [ResourceImpact.WILL_DESTROY]: '**destroy**',
  [ResourceImpact.WILL_ORPHAN]: 'orphan (kept in AWS)',
  [ResourceImpact.WILL_IMPORT]: 'import',
  [ResourceImpact.NO_CHANGE]: 'no change',
};

const KIND_SYMBOLS: Record<ResourceChange['kind'], string> = {
  added: '+',
  removed: '-',
  changed: '~',
};

/** Text safe inside a Markdown table cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

/** Inline code that survives backticks in the value. */
function code(text: string): string {
  return `\`${text.replace(/`/g, "'")}\``;
}

function formatValue(value: unknown): string {
  if (value === undefined) return '(none)';
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return code(text.length > MAX_VALUE_LENGTH ? `${text.slice(0, MAX_VALUE_LENGTH - 1)}…` : text);
}

function resourceName(resource: ResourceRef): string {
  return resource.constructPath
    ? `${code(resource.constructPath.replace(/\/(Resource|Default)$/, ''))} (${resource.logicalId})`
    : code(resource.logicalId);
}

function renderTable(rows: Table): string[] {
  const [header, ...body] = rows;
  return [
    `| ${header.map(cell).join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...body.map((row) => `| ${row.map(cell).join(' | ')} |`),
  ];
}

function details(resource: ResourceChange): string {
  const properties = resource.properties.map(
    (property) =>
      `${code(property.name)}: ${formatValue(property.before)} → ${formatValue(property.after)}` +
      (property.impact === ResourceImpact.WILL_UPDATE
        ? ''
        : ` (${IMPACT_LABELS[property.impact]})`),
  );
  const attributes = resource.attributes.map((attribute) => `${code(attribute)} changed`);
  return [...properties, ...attributes].join('<br>');
}

function destructiveWarning(change: DestructiveChange): string[] {
  const snapshot =
    change.action === 'deleted' && change.deletionPolicy !== 'Delete'
      ? ` Its DeletionPolicy is ${change.deletionPolicy}.`
      : '';
  return [
    '> [!CAUTION]',
    `> **The ${change.what} ${resourceName(change)} ${change.action === 'may be replaced' ? 'may be replaced' : `will be ${change.action}`}.**${snapshot}`,
    `> ${change.consequence}`,
    ...(change.action === 'may be replaced'
      ? [
          '> Whether it is depends on values known only at deploy time: `cdk diff` against the deployed stack (with AWS credentials) tells.',
        ]
      : []),
    '',
  ];
}

function securitySection(diff: StackDiff): string[] {
  if (!diff.iamStatements && !diff.iamManagedPolicies && !diff.securityGroupRules) return [];
  const lines = ['### Security: IAM and security groups', ''];
  for (const rule of diff.openToInternet) {
    lines.push('> [!WARNING]', `> **Ingress open to the whole internet:** ${code(rule)}`, '');
  }
  const tables: [string, Table | undefined][] = [
    ['IAM statements', diff.iamStatements],
    ['IAM managed policies', diff.iamManagedPolicies],
    ['Security group rules', diff.securityGroupRules],
  ];
  for (const [title, rows] of tables) {
    if (rows) lines.push(`**${title}**`, '', ...renderTable(rows), '');
  }
  return lines;
}

function countSummary(diff: StackDiff): string {
  if (diff.status === 'removed') return 'no longer synthesized';
  if (diff.status === 'unchanged' && diff.assetOnly.length === 0) return 'no changes';
  const count = (kind: ResourceChange['kind']) =>
    diff.resources.filter((resource) => resource.kind === kind).length;
  return `${count('added')} added, ${count('removed')} removed, ${count('changed')} changed, ${diff.assetOnly.length} asset-only`;
}

/** The Markdown section of one stack. */
export function renderStackDiff(diff: StackDiff): string {
  const lines = [`## ${diff.stackName}`, ''];
  if (diff.status === 'removed') {
    lines.push(
      'The head no longer synthesizes this stack. `cdk deploy` leaves the deployed stack alone; ' +
        `\`cdk destroy ${diff.stackName}\` would remove it.`,
      '',
    );
    return lines.join('\n');
  }
  if (diff.status === 'unchanged' && diff.assetOnly.length === 0) {
    lines.push('No changes.', '');
    return lines.join('\n');
  }
  lines.push(
    ...diff.engineUpgrades.flatMap((upgrade) =>
      engineUpgradeLines(upgrade, resourceName(upgrade), diff.stackName),
    ),
  );
  lines.push(...diff.destructive.flatMap(destructiveWarning));
  lines.push(`${diff.status === 'new' ? 'New stack: ' : ''}${countSummary(diff)}.`, '');
  lines.push(...securitySection(diff));
  if (diff.resources.length > 0) {
    lines.push(
      '### Resources',
      '',
      '| | Resource | Type | Impact | Details |',
      '| --- | --- | --- | --- | --- |',
    );
    for (const resource of diff.resources) {
      lines.push(
        `| ${KIND_SYMBOLS[resource.kind]} | ${cell(resourceName(resource))} | ${resource.type} | ${IMPACT_LABELS[resource.impact]} | ${cell(details(resource))} |`,
      );
    }
    lines.push('');
  }
  if (diff.assetOnly.length > 0) {
    lines.push(
      `Rebuilt assets only (code or files changed, nothing else): ${diff.assetOnly.map(resourceName).join(', ')}.`,
      '',
    );
  }
  if (diff.outputs.length > 0) {
    lines.push(
      `Outputs: ${diff.outputs.map((output) => `${code(output.name)} ${output.change}`).join(', ')}.`,
      '',
    );
  }
  return lines.join('\n');
}

export interface ReportHeading {
  /** What the head is (`working tree`, a directory). */
  readonly head: string;
  /** What the base is (`origin/main (3f2c1ab)`, a directory). */
  readonly base: string;
}

/** The whole report: a summary table, then one section per stack. */
export function renderReport(diffs: readonly StackDiff[], heading: ReportHeading): string {
  const destructive = diffs.flatMap((diff) => [
    ...diff.engineUpgrades
      .filter(dropsSlot)
      .map(
        (upgrade) =>
          `${diff.stackName}: replication slot dropped and recreated by the engine upgrade ${upgrade.from} → ${upgrade.to}, Airbyte resync`,
      ),
    ...diff.destructive.map((change) => `${diff.stackName}: ${change.what} ${change.action}`),
  ]);
  const lines = ['# CDK synth diff', '', `Base: ${heading.base} · Head: ${heading.head}`, ''];
  if (destructive.length > 0) {
    lines.push(
      '> [!CAUTION]',
      `> **${destructive.length} destructive change${destructive.length === 1 ? '' : 's'}:** ` +
        destructive.join('; ') +
        '. See the stacks below.',
      '',
    );
  }
  lines.push('| Stack | Changes | Destructive | Security |', '| --- | --- | --- | --- |');
  for (const diff of diffs) {
    const security = [
      diff.iamStatements || diff.iamManagedPolicies ? 'IAM' : '',
      diff.securityGroupRules ? 'security groups' : '',
      diff.openToInternet.length > 0 ? '**open to the internet**' : '',
    ].filter(Boolean);
    lines.push(
      `| ${diff.stackName} | ${countSummary(diff)} | ` +
        `${destructiveCount(diff) > 0 ? `**${destructiveCount(diff)}**` : 'none'} | ${security.join(', ') || 'none'} |`,
    );
  }
  lines.push('');
  return [lines.join('\n'), ...diffs.map(renderStackDiff)].join('\n');
}
