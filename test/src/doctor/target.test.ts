import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { parseEnvironment } from '../../../src/config';
import { doctorOptionsFor, type DoctorRequest } from '../../../src/doctor/target';
import { InputError } from '../../../src/input-error';
import { answerSecrets, DATABASE_OUTPUTS, describedStack, SECRET_ARNS } from '../aws/fixtures';

const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);

const RDS_HOST = DATABASE_OUTPUTS.DatabaseEndpoint;

let projectRoot: string;
beforeEach(() => {
  cloudFormation.reset();
  secretsManager.reset();
  projectRoot = mkdtempSync(path.join(tmpdir(), 'doctor-target-'));
  writeFileSync(path.join(projectRoot, 'ca.pem'), 'PEM OF THE CA');
});
afterEach(() => rmSync(projectRoot, { recursive: true, force: true }));

const config = (raw: Record<string, unknown> = {}) => parseEnvironment('dev', raw);
const request = (fields: Partial<DoctorRequest> = {}): DoctorRequest => ({
  requireTls: false,
  ...fields,
});

describe('doctorOptionsFor --host', () => {
  it('connects as --user with the password from --password-env; plain TCP to loopback', async () => {
    const options = await doctorOptionsFor(
      request({ host: '127.0.0.1', user: 'postgres', passwordEnv: 'P' }),
      config(),
      { env: { P: 'secret' }, projectRoot },
    );
    expect(options.connection).toEqual({
      host: '127.0.0.1',
      port: 5432,
      database: 'app',
      user: 'postgres',
      password: 'secret',
      tls: { mode: 'disable' },
    });
    expect(options.replication.user).toBe('airbyte');
    expect(options.replicationPassword).toBeUndefined();
    expect(options.rdsDatabase).toBeUndefined();
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('verify-full elsewhere, or with --ca-file, trusting that file', async () => {
    const verified = await doctorOptionsFor(
      request({ host: '127.0.0.1', passwordEnv: 'P', caFile: 'ca.pem' }),
      config(),
      { env: { P: 'secret' }, projectRoot },
    );
    expect(verified.connection.tls).toEqual({ mode: 'verify-full', ca: 'PEM OF THE CA' });
    const remote = await doctorOptionsFor(
      request({ host: RDS_HOST, passwordEnv: 'P', lagWarnBytes: 7 }),
      config(),
      { env: { P: 'secret' }, projectRoot },
    );
    expect(remote.connection.tls).toEqual({ mode: 'verify-full' });
    expect(remote.rdsDatabase).toEqual({ kind: 'instance', identifier: 'rds-airbyte-cdc-dev' });
    const aurora = await doctorOptionsFor(
      request({
        host: 'rds-airbyte-cdc-dev.cluster-c1abc2def3gh.eu-west-1.rds.amazonaws.com',
        passwordEnv: 'P',
      }),
      config(),
      { env: { P: 'secret' }, projectRoot },
    );
    expect(aurora.rdsDatabase).toEqual({ kind: 'cluster', identifier: 'rds-airbyte-cdc-dev' });
    expect(remote.slotLagWarnBytes).toBe(7);
  });

  it("judges the slot by the environment's watchdog thresholds", async () => {
    const options = await doctorOptionsFor(
      request({ host: '127.0.0.1', passwordEnv: 'P' }),
      config({
        airbyte: { schedule: '0 0 2 * * ?' },
        monitoring: { slotSafeWalSizeFraction: 0.3 },
      }),
      { env: { P: 'secret' }, projectRoot },
    );
    expect(options.slotThresholds).toMatchObject({
      safeWalSizeFraction: 0.3,
      // Three missed syncs of a daily schedule.
      maxInactiveSeconds: 3 * 86400,
    });
  });

  it.each([
    [request({ host: 'h', passwordEnv: 'UNSET' }), /Environment variable UNSET \(--password-env\)/],
    [
      request({ host: 'h', passwordEnv: 'P', replicationPasswordEnv: 'R' }),
      /Environment variable R \(--replication-password-env\) is empty or unset/,
    ],
    [
      request({ host: 'h', passwordEnv: 'P', caFile: 'missing.pem' }),
      /^Cannot read the CA file \(--ca-file\) .*missing\.pem: ENOENT/,
    ],
  ])('%j: an input error', async (given, message) => {
    const options = doctorOptionsFor(given, config(), { env: { P: 'x' }, projectRoot });
    await expect(options).rejects.toThrow(InputError);
    await expect(options).rejects.toThrow(message);
  });
});

describe('doctorOptionsFor the deployed stack', () => {
  beforeEach(() => {
    cloudFormation.on(DescribeStacksCommand).resolves(describedStack(DATABASE_OUTPUTS));
    answerSecrets(secretsManager, {
      [SECRET_ARNS.masterUser]: { username: 'postgres', password: 'master-password' },
      [SECRET_ARNS.replicationUser]: { username: 'deployed_user', password: 'repl-password' },
    });
  });

  it('connects as the master user over verify-full with airbyte.caCertificateFile', async () => {
    const raw = { airbyte: { sslMode: 'verify-full', caCertificateFile: 'ca.pem' } };
    const options = await doctorOptionsFor(request(), config(raw), { env: {}, projectRoot });
    expect(options.connection).toEqual({
      host: RDS_HOST,
      port: 5433,
      database: 'deployed_db',
      user: 'postgres',
      password: 'master-password',
      tls: { mode: 'verify-full', ca: 'PEM OF THE CA' },
    });
    // The deployed replication user, whatever cdk.json says now, and its password to try.
    expect(options.replication.user).toBe('deployed_user');
    expect(options.replicationPassword).toBe('repl-password');
  });

  it('--replication-user names the user to check instead', async () => {
    const options = await doctorOptionsFor(request({ replicationUser: 'other' }), config(), {
      env: {},
      projectRoot,
    });
    expect(options.replication.user).toBe('other');
  });
});
