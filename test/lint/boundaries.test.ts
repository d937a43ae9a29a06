/**
 * The layer rule of eslint.config.mjs, run through ESLint itself: a wrong-way import fails
 * `npm run lint`, the right way passes. ESLint loads its ESM config by dynamic import, which
 * Jest's module system does not offer, so one plain Node process lints every case.
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.join(__dirname, '..', '..');

const LINT_CASES = `
import { ESLint } from 'eslint';
const cases = JSON.parse(await new Promise((resolve) => {
  let input = '';
  process.stdin.on('data', (chunk) => (input += chunk)).on('end', () => resolve(input));
}));
const eslint = new ESLint({ cwd: process.cwd() });
const answers = [];
for (const [file, code] of cases) {
  const [result] = await eslint.lintText(code, { filePath: file });
  answers.push(result.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message));
}
process.stdout.write(JSON.stringify(answers));
`;

const use = (specifier: string): string =>
  `import * as m from '${specifier}';\nexport default m;\n`;

/** [file, import specifier] -> the no-restricted-imports messages ESLint gives that import. */
function lintImports(cases: ReadonlyArray<readonly [string, string]>): string[][] {
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', LINT_CASES], {
    cwd: ROOT,
    input: JSON.stringify(
      cases.map(([file, specifier]) => [path.join(ROOT, file), use(specifier)]),
    ),
    encoding: 'utf8',
  });
  if (run.status !== 0) throw new Error(`ESLint failed: ${run.stderr}`);
  return JSON.parse(run.stdout) as string[][];
}

const WRONG_WAY: ReadonlyArray<readonly [string, string]> = [
  ['src/doctor/example.ts', '../../lib/cdc-database'],
  ['src/example.ts', '../lib/outputs'],
  ['src/local/example.ts', '../../lambda/replication-setup/handler'],
  ['src/airbyte/example.ts', '../../cli/support'],
  ['src/local/example.ts', '../../test/support/postgres'],
  ['lambda/replication-setup/example.ts', '../../lib/replication-setup'],
  ['cli/example.ts', '../lib/outputs'],
  ['bench/example.ts', '../lib/network'],
];
const CDK_IN_SRC: ReadonlyArray<readonly [string, string]> = [
  ['src/example.ts', 'aws-cdk-lib/aws-rds'],
  ['src/example.ts', 'aws-cdk-lib'],
  ['src/example.ts', 'constructs'],
];
const CONTRACT_OUTWARD: ReadonlyArray<readonly [string, string]> = [
  ['src/contract/example.ts', '../config'],
  ['src/contract/example.ts', 'zod'],
];
const ALLOWED: ReadonlyArray<readonly [string, string]> = [
  ['lib/example.ts', '../src/contract/outputs'],
  ['lambda/airbyte-setup/example.ts', '../../src/airbyte/apply'],
  ['cli/example.ts', '../src/doctor'],
  ['src/doctor/example.ts', '../replication'],
  // Reading a cloud assembly is tooling, not constructs.
  ['src/diff/example.ts', 'aws-cdk-lib/cx-api'],
  ['src/contract/example.ts', 'zod/mini'],
  ['src/contract/example.ts', './outputs'],
  // A package whose name merely contains "lib" is no layer.
  ['src/example.ts', 'zlib'],
];

describe('the import boundaries (eslint.config.mjs)', () => {
  const answers = lintImports([...WRONG_WAY, ...CDK_IN_SRC, ...CONTRACT_OUTWARD, ...ALLOWED]);
  let next = 0;
  const take = (count: number): string[][] => answers.slice(next, (next += count));
  const wrongWay = take(WRONG_WAY.length);
  const cdkInSrc = take(CDK_IN_SRC.length);
  const contractOutward = take(CONTRACT_OUTWARD.length);
  const allowed = take(ALLOWED.length);

  it.each(WRONG_WAY.map((entry, index) => [...entry, index] as const))(
    '%s may not import %s',
    (_file, _specifier, index) => {
      expect(wrongWay[index]).toEqual([expect.stringContaining('Imports go one way')]);
    },
  );

  it('keeps CDK constructs out of src/', () => {
    expect(cdkInSrc).toEqual(CDK_IN_SRC.map(() => [expect.stringContaining('CDK constructs')]));
  });

  it('keeps src/contract/ free of the project and of everything but zod/mini', () => {
    expect(contractOutward.map((messages) => messages.length)).toEqual([1, 1]);
  });

  it('lets every layer import src/ and lib/ import it', () => {
    expect(allowed).toEqual(ALLOWED.map(() => []));
  });
});
