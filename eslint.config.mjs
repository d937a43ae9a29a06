import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layers, imported in one direction only (docs/architecture.md): `lib/` (CDK constructs) may
 * import `src/`; `lambda/`, `cli/` and `bench/` may import `src/`; `src/` imports none of them,
 * and no CDK beyond reading a cloud assembly; `src/contract/` imports nothing of the project.
 */
const upTo = (folders) => `^(\\.\\./)+(${folders})(/|$)`;
const LAYER_MESSAGE =
  'Imports go one way: lib/ -> src/, lambda/ | cli/ | bench/ -> src/ (see docs/architecture.md).';

export const boundaries = [
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { regex: upTo('lib|lambda|cli|bench|bin|test'), message: LAYER_MESSAGE },
            {
              regex: '^(aws-cdk-lib(/(?!cx-api$).*)?|constructs)$',
              message: 'src/ is the runtime ground: CDK constructs belong in lib/.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['src/contract/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^\\.\\./',
              message:
                'src/contract/ is what the stack, its functions and the CLIs agree on: it imports nothing of the project.',
            },
            {
              regex: '^(?!zod/mini$)[^./]',
              message: 'src/contract/ uses zod/mini only (small Lambda bundles).',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lambda/**/*.ts', 'cli/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: upTo('lib|bin'), message: LAYER_MESSAGE }] },
      ],
    },
  },
];

export default tseslint.config(
  {
    // test/fixtures/ holds unchanged copies of upstream files, not project code.
    ignores: [
      'node_modules/',
      'cdk.out/',
      'dist/',
      'coverage/',
      'test/fixtures/',
      'test/debezium/target/',
      '**/*.js',
      '**/*.mjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      'no-console': 'off',
    },
  },
  ...boundaries,
);
