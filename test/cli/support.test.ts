import { spawnSync } from 'child_process';
import * as path from 'path';
import {
  integerFlag,
  noteNodeVersion,
  parseArguments,
  parseFlags,
  UsageError,
} from '../../cli/support';
import { isBelowBaseline, SDK_NODE_VERSION_WARNING_SWITCH } from '../../src/aws/node-version';
import { findFreePort } from '../../src/local/free-port';
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

describe('noteNodeVersion', () => {
  it('below the baseline: one line, and the AWS SDK warning switched off', () => {
    const env: NodeJS.ProcessEnv = {};
    const stderr: string[] = [];
    noteNodeVersion('v20.20.2', env, (text) => stderr.push(text));
    expect(stderr).toEqual([
      "Note: Node.js v20.20.2 is past its end of life; this project's baseline is Node.js 22 or later (AWS SDK releases from January 2027 require it).",
    ]);
    expect(env).toEqual({ [SDK_NODE_VERSION_WARNING_SWITCH]: 'true' });
  });

  it.each(['v22.12.0', 'v24.1.0'])('%s: nothing said, nothing switched off', (version) => {
    const env: NodeJS.ProcessEnv = {};
    const stderr: string[] = [];
    noteNodeVersion(version, env, (text) => stderr.push(text));
    expect({ env, stderr }).toEqual({ env: {}, stderr: [] });
  });
});

describe('a command that creates AWS SDK clients, on this Node.js', () => {
  it('prints no multi-line SDK warning, and at most one line about the Node.js version', async () => {
    const ROOT = path.join(__dirname, '..', '..');
    // The stack is read from an endpoint nothing listens on, once: the doctor creates its
    // CloudFormation and Secrets Manager clients, fails at once and says so (exit 1).
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'not-a-secret',
      AWS_ENDPOINT_URL: `http://127.0.0.1:${await findFreePort()}`,
      AWS_MAX_ATTEMPTS: '1',
    };
    // As a user's shell has it: the jest setup file switches the SDK warning off for tests.
    delete env[SDK_NODE_VERSION_WARNING_SWITCH];
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'cli', 'doctor.ts'), '--env', 'dev'],
      { cwd: ROOT, env, encoding: 'utf8' },
    );
    expect(run.stderr).toMatch(/^doctor --env dev failed: Cannot read stack RdsAirbyteCdc-dev/m);
    expect(run.status).toBe(1);
    expect(run.stderr).not.toMatch(/NodeVersionSupportWarning|NodeDeprecationWarning|\(node:\d+\)/);
    const aboutNode = run.stderr.split('\n').filter((line) => /node(\.js)? ?(>=|v?\d)/i.test(line));
    expect(aboutNode).toEqual(
      isBelowBaseline(process.version)
        ? [
            expect.stringMatching(
              /^Note: Node\.js v\d+\.\d+\.\d+ is past its end of life; .* baseline is Node\.js 22 or later/,
            ),
          ]
        : [],
    );
  });
});
