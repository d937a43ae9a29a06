import { ConfigError, parseEnvironments } from '../../../src/config';
import {
  instanceIdentifierFor,
  masterSecretNameFor,
  loginSecretNameFor,
  stackNameFor,
} from '../../../src/contract/aws-names';

/**
 * The AWS rules, written out here rather than taken from the code under test, each with where
 * AWS states it.
 */
const AWS_RULES = {
  /** https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html */
  stackName: (name: string) => /^[A-Za-z][A-Za-z0-9-]*$/.test(name) && name.length <= 128,
  /**
   * https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBInstance.html
   * (DBInstanceIdentifier): 1 to 63 letters, digits or hyphens, a letter first, no hyphen last,
   * no two hyphens in a row.
   */
  dbInstanceIdentifier: (name: string) =>
    /^[A-Za-z][A-Za-z0-9-]*$/.test(name) &&
    !name.endsWith('-') &&
    !name.includes('--') &&
    name.length <= 63,
  /** https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html */
  secretName: (name: string) => /^[A-Za-z0-9/_+=.@-]+$/.test(name) && name.length <= 512,
  /** https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html */
  logGroupName: (name: string) => /^[.\-_/#A-Za-z0-9]+$/.test(name) && name.length <= 512,
};

/** Whatever a user could type as a PostgreSQL role name, and then some. */
const HOSTILE_USER_NAMES = [
  'cdc reader',
  'cdc-reader',
  'cdc_reader',
  'with "quotes"',
  "it's",
  'Ünïcødé',
  'Unicode',
  '日本語',
  '🙂',
  'a/b',
  '../../etc',
  'UPPER',
  '1leading',
  ' ',
  '-',
  '_',
  'master',
  'Master',
  'x"; DROP ROLE y; --',
  'tab\there',
  'é'.repeat(31),
  'x'.repeat(63),
  'reader-abcdef',
];

describe('loginSecretNameFor', () => {
  const instance = instanceIdentifierFor('dev');
  const derived = HOSTILE_USER_NAMES.map((user) => loginSecretNameFor(instance, user));

  it.each(HOSTILE_USER_NAMES)('gives %j a valid secret name of its own', (user) => {
    const name = loginSecretNameFor(instance, user);
    expect(AWS_RULES.secretName(name)).toBe(true);
    // One segment under the instance's prefix, never the master user's secret.
    expect(name.startsWith(`${instance}/`)).toBe(true);
    expect(name.slice(instance.length + 1)).not.toContain('/');
    expect(name.toLowerCase()).not.toBe(masterSecretNameFor(instance).toLowerCase());
    expect(loginSecretNameFor(instance, user)).toBe(name);
  });

  it('never gives two users one secret', () => {
    expect(new Set(derived.map((name) => name.toLowerCase())).size).toBe(derived.length);
  });

  it('keeps a name that is valid as it is, so that a deployed secret is not replaced', () => {
    expect(loginSecretNameFor(instance, 'airbyte')).toBe('rds-airbyte-cdc-dev/airbyte');
    expect(loginSecretNameFor(instance, 'cdc-reader')).toBe('rds-airbyte-cdc-dev/cdc-reader');
  });

  it('keeps what it can of an invalid name, readable, with a hash', () => {
    expect(loginSecretNameFor(instance, 'cdc reader')).toMatch(
      /^rds-airbyte-cdc-dev\/cdc-reader_[0-9a-f]{8}$/,
    );
    expect(loginSecretNameFor(instance, 'Ünïcødé')).toMatch(
      /^rds-airbyte-cdc-dev\/Unic-de_[0-9a-f]{8}$/,
    );
  });

  it('stays within the length limit under any prefix', () => {
    const longPrefix = 'p'.repeat(400);
    for (const user of ['x'.repeat(1000), 'é'.repeat(1000), 'x'.repeat(111)]) {
      expect(AWS_RULES.secretName(loginSecretNameFor(longPrefix, user))).toBe(true);
    }
  });
});

/** Environment names a user could put in cdk.json, and whether they can name the stack. */
const ENVIRONMENT_NAMES: [name: string, accepted: boolean][] = [
  ['dev', true],
  ['a', true],
  ['eu-live-2', true],
  ['x'.repeat(20), true],
  ['x'.repeat(21), false],
  ['Dev', false],
  ['dev_1', false],
  ['1dev', false],
  ['-dev', false],
  ['dev-', false],
  ['a--b', false],
  ['dév', false],
  ['dev prod', false],
  ['dev/x', false],
  ['a"b', false],
  ['', false],
];

describe('names derived from the environment name', () => {
  it.each(ENVIRONMENT_NAMES)(
    '%j: accepted %s; accepted, it makes valid AWS names',
    (name, accepted) => {
      let parsed = false;
      try {
        parseEnvironments({ [name]: {} });
        parsed = true;
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toContain(`Invalid environment name "${name}"`);
        expect((error as Error).message).toContain('a key of cdk.json context "environments"');
      }
      expect(parsed).toBe(accepted);
      if (!accepted) return;
      const instance = instanceIdentifierFor(name);
      expect(AWS_RULES.stackName(stackNameFor(name))).toBe(true);
      expect(AWS_RULES.dbInstanceIdentifier(instance)).toBe(true);
      expect(AWS_RULES.secretName(masterSecretNameFor(instance))).toBe(true);
      // The log groups RDS writes to, which the stack creates under the same names.
      expect(AWS_RULES.logGroupName(`/aws/rds/instance/${instance}/postgresql`)).toBe(true);
    },
  );

  it('keeps the names of today, which deployed stacks carry', () => {
    expect(stackNameFor('dev')).toBe('RdsAirbyteCdc-dev');
    expect(instanceIdentifierFor('dev')).toBe('rds-airbyte-cdc-dev');
    expect(masterSecretNameFor('rds-airbyte-cdc-dev')).toBe('rds-airbyte-cdc-dev/master');
  });
});
