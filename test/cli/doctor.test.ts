import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import * as path from 'path';
import { main } from '../../cli/doctor';
import { SUPPORTED_ENGINE_MAJORS } from '../../src/config/database';
import { stackNameFor, StackOutputs } from '../../src/contract/outputs';
import type { FixStatement } from '../../src/doctor';
import { findFreePort } from '../../src/local/free-port';
import { desiredStateFromConfig, setupReplication } from '../../src/replication';
import { applyFixStatements, replicationConfig } from '../support/doctor';
import { usePostgres } from '../support/postgres';

// TLS on, so that both a verified and a plain (loopback) connection can be tried.
const pg = usePostgres({ ssl: true });
const cloudFormation = mockClient(CloudFormationClient);
const secretsManager = mockClient(SecretsManagerClient);

const PASSWORD = 'Cli-Doctor-Secret-1';
const MASTER_SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:master-AbCdEf';
const REPLICATION_SECRET_ARN =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:replication-AbCdEf';

let workDir: string;

beforeAll(() => {
  workDir = mkdtempSync(path.join(tmpdir(), 'doctor-cli-'));
});
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
beforeEach(() => {
  cloudFormation.reset();
  secretsManager.reset();
});

interface Setup {
  readonly database: string;
  readonly user: string;
  readonly slotName: string;
  readonly cdkJsonPath: string;
}

/** A configured database and a cdk.json whose dev environment names its user and slot. */
async function configuredDatabase(): Promise<Setup> {
  const database = await pg.createDatabase('cli');
  const replication = replicationConfig();
  await setupReplication(await pg.connect(database), desiredStateFromConfig(replication, PASSWORD));
  const cdkJsonPath = path.join(workDir, `${database}.cdk.json`);
  writeFileSync(
    cdkJsonPath,
    JSON.stringify({
      context: {
        environments: {
          dev: {
            region: 'eu-west-1',
            database: { databaseName: database, port: pg.server.port },
            replication: {
              user: replication.user,
              slotName: replication.slotName,
              createDemoTable: true,
            },
          },
        },
      },
    }),
  );
  return { database, user: replication.user, slotName: replication.slotName, cdkJsonPath };
}

async function run(setup: Setup, argv: string[], env: NodeJS.ProcessEnv = {}) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await main(argv, {
    env,
    stdout: (text) => stdout.push(text),
    stderr: (text) => stderr.push(text),
    cdkJsonPath: setup.cdkJsonPath,
  });
  return { code, stdout: stdout.join('\n'), stderr: stderr.join('\n') };
}

/** The exact line `npm run local --keep` prints, as the replication user or the master user. */
const flags = (setup: Setup, user: string) => [
  '--host',
  '127.0.0.1',
  '--port',
  String(pg.server.port),
  '--user',
  user,
  '--password-env',
  'DOCTOR_PASSWORD',
  '--database',
  setup.database,
];

const checkLines = (stdout: string) =>
  stdout.split('\n').filter((line) => /^(✅|⚠️|❌|➖) /.test(line));

/** The statements printed under each ❌, read back from the text like a person would copy them. */
function printedStatements(stdout: string, database: string): FixStatement[] {
  const statements: FixStatement[] = [];
  let inFailure = false;
  let current = database;
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('     ')) {
      inFailure = line.startsWith('❌ ');
      current = database;
      continue;
    }
    const text = line.trim();
    if (!inFailure || text.startsWith('→')) continue;
    const connectTo = /^\\connect "(.+)"$/.exec(text);
    if (connectTo) {
      current = connectTo[1];
      continue;
    }
    statements.push(current === database ? { sql: text } : { sql: text, database: current });
  }
  return statements;
}

describe('npm run doctor with explicit flags', () => {
  it('the --keep line as the replication user: every check ✅ or ➖ but TOAST ⚠️, exit 0', async () => {
    const setup = await configuredDatabase();
    const result = await run(setup, flags(setup, setup.user), { DOCTOR_PASSWORD: PASSWORD });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = checkLines(result.stdout);
    expect(lines).toHaveLength(26);
    expect(lines.filter((line) => line.startsWith('✅'))).toHaveLength(23);
    expect(lines).toContainEqual(expect.stringMatching(/^✅ slot .* as the watchdog sees it/));
    // The heartbeat table is on by default, so its check is among them.
    expect(lines).toContainEqual(
      expect.stringMatching(/^✅ heartbeat table "datastore"\."airbyte_heartbeat" exists/),
    );
    expect(lines.filter((line) => line.startsWith('➖')).join('\n')).toMatch(
      /rds.logical_replication.*\n.*connection uses TLS: plain TCP to 127.0.0.1/,
    );
    // The tutorial's val varchar is unbounded: TOAST may store it out of line.
    expect(lines.filter((line) => line.startsWith('⚠️'))).toEqual([
      expect.stringMatching(
        /^⚠️ .*TOAST.*: "datastore"\."data_tbl" \(val\) under REPLICA IDENTITY DEFAULT/,
      ),
    ]);
    expect(result.stdout).toContain(
      '     ALTER TABLE "datastore"."data_tbl" REPLICA IDENTITY FULL;',
    );
    expect(result.stdout).toContain('26 checks: 23 ✅  1 ⚠️  0 ❌  2 ➖');
  });

  it('as the master user over verified TLS (--ca-file), trying the replication login', async () => {
    const setup = await configuredDatabase();
    const caFile = pg.server.certificateAuthority?.certPath as string;
    const result = await run(
      setup,
      [
        ...flags(setup, pg.server.user),
        '--replication-password-env',
        'REPLICATION_PASSWORD',
        '--ca-file',
        caFile,
      ],
      { DOCTOR_PASSWORD: pg.server.password, REPLICATION_PASSWORD: PASSWORD },
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/✅ connection uses TLS: TLSv1\.\d, certificate verified/);
    expect(result.stdout).toContain(`✅ "${setup.user}" can log in: logged in with its password`);
    expect(result.stdout).not.toContain(PASSWORD);
    expect(result.stdout).not.toContain(pg.server.password);
  });

  it('--require-tls: plain TCP to 127.0.0.1 fails the TLS check too', async () => {
    const setup = await configuredDatabase();
    const result = await run(setup, [...flags(setup, setup.user), '--require-tls'], {
      DOCTOR_PASSWORD: PASSWORD,
    });
    expect(result.code).toBe(1);
    expect(checkLines(result.stdout).filter((line) => line.startsWith('❌'))).toEqual([
      '❌ connection uses TLS: not encrypted (server ssl = on)',
    ]);
    expect(result.stdout).toContain('The server offers TLS: connect with --ssl verify-full');
  });

  it('a broken database: exit 1; running the printed SQL makes it pass', async () => {
    const setup = await configuredDatabase();
    const admin = await pg.connect(setup.database);
    const user = admin.escapeIdentifier(setup.user);
    await admin.query(`REVOKE SELECT ON datastore.data_tbl FROM ${user}`);
    await admin.query(`GRANT INSERT, TRUNCATE ON datastore.data_tbl TO ${user}`);
    await admin.query(`ALTER ROLE ${user} NOLOGIN`);
    await admin.query(`SELECT pg_drop_replication_slot('${setup.slotName}')`);
    const argv = [
      ...flags(setup, pg.server.user),
      '--replication-password-env',
      'REPLICATION_PASSWORD',
    ];
    const env = { DOCTOR_PASSWORD: pg.server.password, REPLICATION_PASSWORD: PASSWORD };

    const broken = await run(setup, argv, env);
    expect(broken.code).toBe(1);
    expect(checkLines(broken.stdout).filter((line) => line.startsWith('❌'))).toEqual([
      `❌ "${setup.user}" can log in: the role has NOLOGIN`,
      `❌ "${setup.user}" has USAGE on "datastore" and SELECT on every published table: no SELECT on "datastore"."data_tbl"`,
      `❌ "${setup.user}" is read-only (no INSERT/UPDATE/DELETE/TRUNCATE, no CREATE): INSERT, TRUNCATE on "datastore"."data_tbl"`,
      `❌ replication slot "${setup.slotName}" exists: no such slot`,
    ]);
    expect(broken.stdout).toContain(`\\set replication_password '...'`);
    expect(broken.stdout).toMatch(/Run the statements under each ❌ as the master user/);

    const statements = printedStatements(broken.stdout, setup.database);
    expect(statements.map((statement) => statement.sql)).toEqual([
      `ALTER ROLE ${user} WITH LOGIN PASSWORD :'replication_password';`,
      `GRANT SELECT ON ALL TABLES IN SCHEMA "datastore" TO ${user};`,
      `REVOKE INSERT, TRUNCATE ON TABLE "datastore"."data_tbl" FROM ${user};`,
      `SELECT pg_create_logical_replication_slot('${setup.slotName}', 'pgoutput');`,
    ]);
    await applyFixStatements(pg, setup.database, statements, PASSWORD);

    const fixed = await run(setup, argv, env);
    expect(checkLines(fixed.stdout).filter((line) => !/^(✅|➖)/.test(line))).toEqual([
      expect.stringMatching(/^⚠️ .*TOAST/),
    ]);
    expect(fixed.code).toBe(0);
  });

  it('--json: the same checks for machines, ok and a summary', async () => {
    const setup = await configuredDatabase();
    const result = await run(setup, [...flags(setup, setup.user), '--json'], {
      DOCTOR_PASSWORD: PASSWORD,
    });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({
      ok: true,
      summary: { pass: 23, warn: 1, fail: 0, skip: 2 },
      target: {
        host: '127.0.0.1',
        port: pg.server.port,
        database: setup.database,
        user: setup.user,
      },
    });
    expect(report.checks.map((check: { id: string }) => check.id)).toContain('slot-lag');
    expect(report.checks.find((check: { id: string }) => check.id === 'toast')).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(
        /^"datastore"\."data_tbl" \(val\) under REPLICA IDENTITY DEFAULT: .*__debezium_unavailable_value/,
      ),
      fix: {
        sql: [{ sql: 'ALTER TABLE "datastore"."data_tbl" REPLICA IDENTITY FULL;' }],
        notes: expect.arrayContaining([expect.stringMatching(/"replicaIdentity": "full"/)]),
      },
    });
  });

  it('warnings exit 0, or 1 with --fail-on-warning', async () => {
    const setup = await configuredDatabase();
    const argv = [...flags(setup, setup.user), '--lag-warn-bytes', '1'];
    const env = { DOCTOR_PASSWORD: PASSWORD };
    const lenient = await run(setup, argv, env);
    expect(lenient.stdout).toMatch(/⚠️ slot ".*" retained WAL: .* retained, above 1 bytes/);
    expect(lenient.code).toBe(0);
    expect((await run(setup, [...argv, '--fail-on-warning'], env)).code).toBe(1);
  });

  it('a refused connection: "1 check", no statements to run, what to check instead', async () => {
    const setup = await configuredDatabase();
    const argv = flags(setup, setup.user);
    argv[argv.indexOf('--port') + 1] = String(await findFreePort());
    const result = await run(setup, argv, { DOCTOR_PASSWORD: PASSWORD });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('1 check: 0 ✅  0 ⚠️  1 ❌  0 ➖');
    expect(result.stdout).not.toMatch(/statements/);
    expect(result.stdout.split('\n').at(-1)).toMatch(
      /^Fix the connection, .*host and port.*security group, network.*password/,
    );
  });

  it.each([
    [['--port', '5432'], /--port applies to a database given with --host/],
    [['--host', 'db.example.com'], /--password-env VAR is required with --host/],
    [['--host', 'h', '--password-env', 'UNSET'], /Environment variable UNSET .* is empty or unset/],
    [
      ['--host', 'h', '--password-env', 'P', '--ssl', 'require'],
      /--ssl must be verify-full or disable/,
    ],
    [['--lag-warn-bytes', 'lots'], /--lag-warn-bytes must be a whole number/],
    [['--upgrade-to', 'latest'], /--upgrade-to must be a PostgreSQL version such as "18"/],
    [['--upgrade-to', '12'], /--upgrade-to must name a major RDS supports here/],
    [['--bogus'], /Unknown option '--bogus'/],
  ])('usage error %j: exit 2 with the reason and the usage', async (argv, message) => {
    const setup = await configuredDatabase();
    const result = await run(setup, argv, { P: 'x' });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: npm run doctor');
  });
});

describe('npm run doctor --env (the deployed stack)', () => {
  function deployedStack(setup: Setup) {
    cloudFormation.on(DescribeStacksCommand, { StackName: stackNameFor('dev') }).resolves({
      Stacks: [
        {
          StackName: stackNameFor('dev'),
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          Outputs: Object.entries({
            [StackOutputs.databaseEndpoint]: '127.0.0.1',
            [StackOutputs.databasePort]: String(pg.server.port),
            [StackOutputs.databaseName]: setup.database,
            [StackOutputs.masterUserSecretArn]: MASTER_SECRET_ARN,
            [StackOutputs.replicationUserSecretArn]: REPLICATION_SECRET_ARN,
          }).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
        },
      ],
    });
    secretsManager.on(GetSecretValueCommand, { SecretId: MASTER_SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ username: pg.server.user, password: pg.server.password }),
    });
    secretsManager.on(GetSecretValueCommand, { SecretId: REPLICATION_SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ username: setup.user, password: PASSWORD }),
    });
  }

  it('reads outputs and both secrets, connects as the master user and tries the replication login', async () => {
    const setup = await configuredDatabase();
    deployedStack(setup);
    const result = await run(setup, ['--env', 'dev']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Doctor: 127.0.0.1:${pg.server.port}/${setup.database} as "${pg.server.user}"`,
    );
    expect(result.stdout).toContain(`✅ "${setup.user}" can log in: logged in with its password`);
    expect(result.stdout).not.toContain(PASSWORD);
  });

  it('the replication secret holding another password: the login check fails', async () => {
    const setup = await configuredDatabase();
    deployedStack(setup);
    secretsManager.on(GetSecretValueCommand, { SecretId: REPLICATION_SECRET_ARN }).resolves({
      SecretString: JSON.stringify({ username: setup.user, password: 'rotated-Elsewhere-9' }),
    });
    const result = await run(setup, ['--env', 'dev']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`❌ "${setup.user}" can log in: .*refused user`));
    expect(result.stdout).not.toContain('rotated-Elsewhere-9');
  });

  it('without AWS credentials: says to deploy or to pass flags, exit 1', async () => {
    const setup = await configuredDatabase();
    cloudFormation
      .on(DescribeStacksCommand)
      .rejects(new Error('Could not load credentials from any providers'));
    const result = await run(setup, ['--env', 'dev']);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('Could not load credentials from any providers');
    expect(result.stderr).toContain(`Deploy it first (npx cdk deploy ${stackNameFor('dev')})`);
    expect(result.stderr).toContain('--host');
  });

  it('a stack without the master secret output: names the output and the redeploy', async () => {
    const setup = await configuredDatabase();
    deployedStack(setup);
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [
        {
          StackName: stackNameFor('dev'),
          CreationTime: new Date(),
          StackStatus: 'CREATE_COMPLETE',
          // Everything but the master secret, as a stack deployed by an older version.
          Outputs: [
            { OutputKey: StackOutputs.databaseEndpoint, OutputValue: '127.0.0.1' },
            { OutputKey: StackOutputs.databasePort, OutputValue: '5432' },
            { OutputKey: StackOutputs.databaseName, OutputValue: 'app' },
            { OutputKey: StackOutputs.replicationUserSecretArn, OutputValue: 'arn:replication' },
          ],
        },
      ],
    });
    const result = await run(setup, ['--env', 'dev']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/has no output MasterUserSecretArn: redeploy it/);
  });
});

describe('npm run doctor --upgrade-to', () => {
  it('after the checks, says what the next major does to the slot, from the server, and the steps', async () => {
    const setup = await configuredDatabase();
    const admin = await pg.connect(setup.database);
    const { rows } = await admin.query<{ version: string }>(
      "SELECT current_setting('server_version_num') AS version",
    );
    const major = Math.floor(Number(rows[0].version) / 10000);
    const argv = [...flags(setup, pg.server.user), '--upgrade-to', String(major + 1)];

    const result = await run(setup, argv, { DOCTOR_PASSWORD: pg.server.password });

    if (!(SUPPORTED_ENGINE_MAJORS as readonly string[]).includes(String(major + 1))) {
      // The newest major (npm run test:majors runs 18): there is no next one to upgrade to.
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `--upgrade-to must name a major RDS supports here (${SUPPORTED_ENGINE_MAJORS.join(', ')}), got "${major + 1}"`,
      );
      return;
    }
    expect(result.stderr).toBe('');
    // The plan informs; the checks decide the exit code.
    expect(result.code).toBe(0);
    const plan = result.stdout.slice(result.stdout.indexOf('\nUpgrade from ') + 1).split('\n');
    expect(plan[0]).toMatch(
      new RegExp(
        `^Upgrade from ${major}\\.\\d+ \\(the server's version\\) to ${major + 1}: a major upgrade`,
      ),
    );
    expect(plan[1]).toContain(`Now: slot "${setup.slotName}" exists, inactive`);
    expect(plan).toContainEqual(
      expect.stringMatching(/^ {5}\d\. Deploy: `npx cdk deploy RdsAirbyteCdc-dev`\.$/),
    );

    const json = await run(setup, [...argv, '--json'], { DOCTOR_PASSWORD: pg.server.password });
    expect(JSON.parse(json.stdout).upgrade).toMatchObject({
      from: expect.stringMatching(new RegExp(`^${major}\\.`)),
      to: String(major + 1),
      fate: major < 17 ? 'dropped' : 'kept-if-consumed',
    });
  });

  it('prints nothing about upgrades without the flag', async () => {
    const setup = await configuredDatabase();
    const result = await run(setup, flags(setup, pg.server.user), {
      DOCTOR_PASSWORD: pg.server.password,
    });
    expect(result.stdout).not.toContain('Upgrade from');
  });
});
