/**
 * The contract between the constructs and their functions: what the synthesized stack writes
 * for each custom resource is what the function's parser accepts, and a property that breaks the
 * contract is named.
 */
import { parseAirbyteProperties } from '../../../lambda/airbyte-setup/properties';
import { parseProperties as parseReplicationProperties } from '../../../lambda/replication-setup/properties';
import { AIRBYTE_RESOURCE_TYPE } from '../../../src/contract/airbyte-connection';
import { REPLICATION_SETUP_RESOURCE_TYPE } from '../../../src/contract/replication-setup';
import { CDK_JSON_ENVIRONMENTS, synthesizeEnvironment } from '../../support/stacks';

const MANAGED_AIRBYTE = {
  apiUrl: 'https://api.airbyte.com/v1',
  workspaceId: '1d3c5f0e-7a2b-4c8d-9e1f-2a3b4c5d6e7f',
  credentialsSecret: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:airbyte/app-AbCdEf',
};

/**
 * A resource's properties as its function receives them: CloudFormation resolves every
 * intrinsic (Ref, GetAtt, Join) to a string, and adds the ServiceToken.
 */
function asDeployed(properties: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(properties).map(([key, value]) => [
      key,
      typeof value === 'string' ? value : key === 'Port' ? '5432' : `<resolved ${key}>`,
    ]),
  );
}

function propertiesOf(type: string): Record<string, unknown> {
  const { template } = synthesizeEnvironment('dev', {
    ...CDK_JSON_ENVIRONMENTS.dev,
    airbyte: MANAGED_AIRBYTE,
  });
  const [resource] = Object.values(template.findResources(type)) as Array<{
    Properties: Record<string, unknown>;
  }>;
  return asDeployed(resource!.Properties);
}

describe('the replication setup contract', () => {
  const written = propertiesOf(REPLICATION_SETUP_RESOURCE_TYPE);

  it('parses what the construct writes', () => {
    expect(parseReplicationProperties(written)).toMatchObject({
      port: 5432,
      schema: 'datastore',
      schemas: [{ name: 'datastore', tables: [{ name: 'data_tbl', replicaIdentity: 'default' }] }],
      user: 'airbyte',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      createDemoTable: true,
      rebootIfPending: true,
      removalPolicy: 'destroy',
    });
  });

  it('names what breaks it', () => {
    const without = { ...written };
    delete without.SlotName;
    delete without.User;
    expect(() => parseReplicationProperties(without)).toThrow(
      'Replication setup custom resource is missing properties User, SlotName (a bug in the stack)',
    );
    expect(() => parseReplicationProperties({ ...written, Port: 'x' })).toThrow(
      'property Port is not a port number: x',
    );
    expect(() => parseReplicationProperties({ ...written, Tables: '[{' })).toThrow(
      'property Tables is not JSON',
    );
    expect(() =>
      parseReplicationProperties({
        ...written,
        Tables: '[{"name":"t","replicaIdentity":"nothing"}]',
      }),
    ).toThrow(/property Tables\.0\.replicaIdentity/);
    expect(() => parseReplicationProperties({ ...written, RemovalPolicy: 'keep' })).toThrow(
      'property RemovalPolicy must be destroy, snapshot, retain, not keep',
    );
  });
});

describe('the whole schema ("*") across the contract', () => {
  const { template } = synthesizeEnvironment('dev', {
    ...CDK_JSON_ENVIRONMENTS.dev,
    replication: { ...CDK_JSON_ENVIRONMENTS.dev.replication, tables: '*', replicaIdentity: 'full' },
    airbyte: MANAGED_AIRBYTE,
  });
  const propertiesOfType = (type: string): Record<string, unknown> => {
    const [resource] = Object.values(template.findResources(type)) as Array<{
      Properties: Record<string, unknown>;
    }>;
    return asDeployed(resource!.Properties);
  };

  it('reaches the setup function and the Airbyte function with the section identity', () => {
    const whole = { wholeSchema: true, replicaIdentity: 'full' };
    const setup = propertiesOfType(REPLICATION_SETUP_RESOURCE_TYPE);
    expect(setup.Tables).toBe(JSON.stringify(whole));
    expect(parseReplicationProperties(setup).schemas).toEqual([
      { name: 'datastore', tables: whole },
    ]);
    const airbyte = parseAirbyteProperties(propertiesOfType(AIRBYTE_RESOURCE_TYPE));
    expect(airbyte.replication.schemas).toEqual([{ name: 'datastore', tables: whole }]);
  });

  it('carries several schemas as { schemas }, the first being Schema, and reads them back', () => {
    const { template } = synthesizeEnvironment('dev', {
      ...CDK_JSON_ENVIRONMENTS.dev,
      replication: {
        ...CDK_JSON_ENVIRONMENTS.dev.replication,
        schemas: { sales: ['orders', { name: 'items', replicaIdentity: 'full' }], crm: '*' },
      },
    });
    const [resource] = Object.values(
      template.findResources(REPLICATION_SETUP_RESOURCE_TYPE),
    ) as Array<{ Properties: Record<string, unknown> }>;
    const setup = asDeployed(resource!.Properties);
    expect(setup.Schema).toBe('sales');
    const schemas = [
      {
        name: 'sales',
        tables: [
          { name: 'orders', replicaIdentity: 'default' },
          { name: 'items', replicaIdentity: 'full' },
        ],
      },
      { name: 'crm', tables: { wholeSchema: true, replicaIdentity: 'default' } },
    ];
    expect(JSON.parse(setup.Tables as string)).toEqual({ schemas });
    expect(parseReplicationProperties(setup).schemas).toEqual(schemas);
    expect(() => parseReplicationProperties({ ...setup, Schema: 'crm' })).toThrow(
      'property Tables must name schema "crm" (property Schema) first, not "sales"',
    );
    expect(() =>
      parseReplicationProperties({ ...setup, Tables: JSON.stringify({ schemas: [schemas[0]] }) }),
    ).toThrow(/property Tables\.schemas must hold at least two schemas/);
  });

  it('names a broken whole-schema value', () => {
    const setup = propertiesOfType(REPLICATION_SETUP_RESOURCE_TYPE);
    expect(() =>
      parseReplicationProperties({
        ...setup,
        Tables: '{"wholeSchema":true,"replicaIdentity":"nothing"}',
      }),
    ).toThrow(/property Tables\.replicaIdentity/);
  });
});

describe('the Airbyte connection contract', () => {
  const written = propertiesOf(AIRBYTE_RESOURCE_TYPE);

  it('parses what the construct writes, JSON included', () => {
    const request = parseAirbyteProperties(written);
    expect(request.properties.WorkspaceId).toBe(MANAGED_AIRBYTE.workspaceId);
    expect(request.settings).toMatchObject({
      environment: 'dev',
      connectionName: 'rds-airbyte-cdc-dev',
      destination: { type: 'dev-null' },
    });
    expect(request.replication).toEqual({
      schema: 'datastore',
      slotName: 'airbyte_slot',
      publicationName: 'airbyte_publication',
      schemas: [{ name: 'datastore', tables: [{ name: 'data_tbl', replicaIdentity: 'default' }] }],
    });
  });

  it('names what breaks it, nested JSON included', () => {
    expect(() => parseAirbyteProperties({ ...written, Replication: '{"schema":"s"}' })).toThrow(
      /Airbyte custom resource property Replication\.slotName/,
    );
    const settings = JSON.parse(String(written.Settings)) as Record<string, unknown>;
    expect(() =>
      parseAirbyteProperties({
        ...written,
        Settings: JSON.stringify({ ...settings, destination: { type: 'ftp' } }),
      }),
    ).toThrow(/property Settings\.destination\.type/);
  });
});
