import { integerFlag, parseArguments, parseFlags, UsageError } from '../../cli/support';
import { InputError } from '../../src/input-error';

const OPTIONS = {
  'password-env': { type: 'string' },
  'replication-password-env': { type: 'string' },
  'fail-on-warning': { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
} as const;

describe('parseFlags', () => {
  it('parses like util.parseArgs, and gives the values camel-cased as options name them', () => {
    const { values, camelCased } = parseFlags({
      args: ['--password-env', 'P', '--replication-password-env', 'R'],
      options: OPTIONS,
    });
    expect(values).toEqual({
      'password-env': 'P',
      'replication-password-env': 'R',
      'fail-on-warning': false,
      help: false,
    });
    expect(camelCased).toEqual({
      passwordEnv: 'P',
      replicationPasswordEnv: 'R',
      failOnWarning: false,
      help: false,
    });
  });

  it('an unknown flag is a usage error; --help one without a message', () => {
    expect(() => parseFlags({ args: ['--bogus'], options: OPTIONS })).toThrow(
      new UsageError("Unknown option '--bogus'"),
    );
    expect(() => parseFlags({ args: ['--help'], options: OPTIONS })).toThrow(new UsageError(''));
  });
});

describe('integerFlag', () => {
  it.each([
    [{}, undefined],
    [{ port: '5432' }, 5432],
  ])('%j: %s', (values, expected) => {
    expect(integerFlag(values, 'port', 1, 65535)).toBe(expected);
  });

  it.each(['0', '65536', '1.5', 'lots', ''])('"%s" is a usage error with the range', (port) => {
    expect(() => integerFlag({ port }, 'port', 1, 65535)).toThrow(
      new UsageError(`--port must be a whole number from 1 to 65535, got "${port}"`),
    );
  });
});

describe('UsageError', () => {
  it('is an input error, and parseArguments shows it with the usage, exit 2', () => {
    const stderr: string[] = [];
    const result = parseArguments(
      () => {
        throw new UsageError('--env is required');
      },
      'Usage: x',
      { stdout: () => undefined, stderr: (text) => stderr.push(text) },
    );
    expect(new UsageError('x')).toBeInstanceOf(InputError);
    expect(result).toEqual({ exitCode: 2 });
    expect(stderr).toEqual(['--env is required\n\nUsage: x']);
  });
});
