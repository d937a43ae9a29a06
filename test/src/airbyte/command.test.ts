import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { parseEnvironment } from '../../../src/config';
import { runAirbyteCommand, type AirbyteCommandRequest } from '../../../src/airbyte/command';
import { InputError } from '../../../src/input-error';
import { FakeAirbyteServer } from '../../support/fake-airbyte-server';

const cloudFormation = mockClient(CloudFormationClient);
let fake: FakeAirbyteServer;

beforeEach(async () => {
  cloudFormation.reset();
  cloudFormation.on(DescribeStacksCommand).rejects(new Error('Could not load credentials'));
  fake = await new FakeAirbyteServer().start();
});
afterEach(() => fake.stop());

const dev = parseEnvironment('dev', {});
const request = (fields: Partial<AirbyteCommandRequest>): AirbyteCommandRequest => ({
  command: 'plan',
  refreshSecrets: false,
  ...fields,
});

async function run(fields: Partial<AirbyteCommandRequest>, env: NodeJS.ProcessEnv = {}) {
  const log: string[] = [];
  const outcome = await runAirbyteCommand(request(fields), dev, {
    env,
    log: (line) => log.push(line),
  });
  return { ...outcome, log };
}

describe('runAirbyteCommand', () => {
  it('plan without AWS or Airbyte: the requests, each gap logged as a note', async () => {
    const { report, notes, log } = await run({ command: 'plan', workspaceId: 'w' });
    expect(report).toMatchObject({
      environment: 'dev',
      apiUrl: 'http://localhost:8000/api/public/v1',
      workspaceId: 'w',
      source: { kind: 'source', name: 'rds-airbyte-cdc-dev-postgres' },
    });
    expect(notes).toEqual([]);
    expect(log).toEqual([
      expect.stringMatching(/^Note: Database of stack RdsAirbyteCdc-dev: Cannot read stack/),
      expect.stringMatching(/^Note: no Airbyte credentials, so the plan does not say/),
    ]);
    expect(fake.requests).toHaveLength(0);
  });

  it('apply and destroy without Airbyte credentials: an input error saying where to set them', async () => {
    for (const command of ['apply', 'destroy'] as const) {
      await expect(run({ command })).rejects.toThrow(InputError);
      await expect(run({ command })).rejects.toThrow(
        /^No Airbyte credentials: set AIRBYTE_CLIENT_ID/,
      );
    }
  });

  it('apply, then destroy: the outcomes to report, and the notes to print after them', async () => {
    const env = {
      AIRBYTE_CLIENT_ID: fake.clientId,
      AIRBYTE_CLIENT_SECRET: fake.clientSecret,
      PGPASSWORD: 'local-secret',
    };
    const database = { host: 'host.docker.internal', passwordEnv: 'PGPASSWORD' };
    const applied = await run({ command: 'apply', apiUrl: fake.apiUrl, ...database }, env);
    expect(applied.report).toMatchObject({ connection: { action: 'create' } });
    expect(applied.notes).toEqual([]);

    const { report, notes } = await run({ command: 'destroy', apiUrl: fake.apiUrl }, env);
    expect(report).toMatchObject({ environment: 'dev', apiUrl: fake.apiUrl, notes });
    expect(notes).toEqual([
      expect.stringMatching(/replication slot and publication in PostgreSQL were left in place/),
    ]);
    expect(cloudFormation.calls()).toHaveLength(0);
  });
});
