import { parseEnvironment, type EnvironmentInput } from '../../../src/config';
import { configErrorFor } from '../../support/config';

/** The message parseEnvironment throws for `replication`. */
const errorFor = (replication: EnvironmentInput['replication']): string =>
  configErrorFor({ replication });

describe('replication.tables replica identity by unique index', () => {
  it('takes { "index": name } on a table and keeps the names working', () => {
    const config = parseEnvironment('dev', {
      replication: {
        replicaIdentity: 'full',
        tables: [
          'a',
          { name: 'b', replicaIdentity: 'default' },
          { name: 'c', replicaIdentity: { index: 'c_code_key' } },
        ],
      },
    });
    expect(config.replication.schemas[0].tables).toEqual([
      { name: 'a', replicaIdentity: 'full' },
      { name: 'b', replicaIdentity: 'default' },
      { name: 'c', replicaIdentity: { index: 'c_code_key' } },
    ]);
  });

  it('checks the index name as an identifier, and takes no other key', () => {
    const index = (replicaIdentity: unknown): string =>
      errorFor({
        tables: [{ name: 'c', replicaIdentity }],
      } as unknown as EnvironmentInput['replication']);
    expect(index({ index: '' })).toContain(
      'replication.tables[0].replicaIdentity.index: must not be empty',
    );
    expect(index({ index: 'x'.repeat(64) })).toContain(
      'replication.tables[0].replicaIdentity.index: must be at most 63 bytes',
    );
    expect(index({ indx: 'c_code_key' })).toMatch(/replication\.tables\[0\]\.replicaIdentity/);
  });

  it('refuses an index as the section-wide default (an index belongs to one table)', () => {
    expect(
      errorFor({
        replicaIdentity: { index: 'c_code_key' },
      } as unknown as EnvironmentInput['replication']),
    ).toMatch(/replication\.replicaIdentity/);
  });
});

describe('replication.tables size', () => {
  const names = (count: number): string[] => Array.from({ length: count }, (_, i) => `t${i}`);

  it('takes 5,000 tables: their Tables property fits the Lambda event', () => {
    const config = parseEnvironment('dev', { replication: { tables: names(5000) } });
    expect(config.replication.schemas[0].tables).toHaveLength(5000);
  });

  it('refuses 10,000 at synth, saying which limit and how many would fit', () => {
    const message = errorFor({ tables: names(10000) });
    expect(message).toContain('replication.tables');
    expect(message).toMatch(
      /lists 10000 tables, \d+ KiB as the replication setup's Tables property/,
    );
    expect(message).toContain('at most 400 KiB');
    expect(message).toMatch(/at most about \d{4} tables/);
  });
});

describe('replication.tables "*"', () => {
  it("is the whole schema, with the section's identity", () => {
    const config = parseEnvironment('dev', {
      replication: { tables: '*', replicaIdentity: 'full' },
    });
    expect(config.replication.schemas[0].tables).toEqual({
      wholeSchema: true,
      replicaIdentity: 'full',
    });
  });

  it('cannot be combined with a list, saying how to write it', () => {
    const message = errorFor({ tables: ['orders', '*'] });
    expect(message).toContain('replication.tables[1]');
    expect(message).toContain('"*" cannot be combined with a list: write "tables": "*"');
  });
});

describe('replication.tables as a string', () => {
  it('takes only "*"', () => {
    expect(errorFor({ tables: 'orders' })).toContain(
      'replication.tables: must be "*" (every table of the schema) or a list of tables',
    );
  });
});

describe('replication.schemas', () => {
  it('takes several schemas in config order, each a list or "*", the first being schema', () => {
    const config = parseEnvironment('dev', {
      replication: {
        schemas: { sales: ['orders', { name: 'items', replicaIdentity: 'full' }], crm: '*' },
      },
    });
    expect(config.replication.schema).toBe('sales');
    expect(config.replication.schemas).toEqual([
      {
        name: 'sales',
        tables: [
          { name: 'orders', replicaIdentity: 'default' },
          { name: 'items', replicaIdentity: 'full' },
        ],
      },
      { name: 'crm', tables: { wholeSchema: true, replicaIdentity: 'default' } },
    ]);
  });

  it('refuses it beside schema or tables, saying how to write one form', () => {
    const message = errorFor({
      schema: 'sales',
      tables: ['orders'],
      schemas: { crm: '*' },
    } as EnvironmentInput['replication']);
    expect(message).toContain(
      'replication.schemas: replaces schema and tables: write every schema with its tables inside "schemas"',
    );
    expect(message).toContain('and remove "schema" and "tables"');
  });

  it('names the schema of a wrong entry, and checks schema names', () => {
    expect(errorFor({ schemas: { sales: ['orders', '*'] } })).toContain(
      'replication.schemas.sales[1]: "*" cannot be combined with a list: write "sales": "*"',
    );
    expect(errorFor({ schemas: { sales: ['orders', 'orders'] } })).toContain(
      'replication.schemas.sales[1]: lists "orders" twice',
    );
    expect(errorFor({ schemas: {} })).toContain(
      'replication.schemas: must name at least one schema with its tables',
    );
    expect(errorFor({ schemas: { pg_sales: '*' } })).toMatch(
      /replication\.schemas\.pg_sales: the name must not start with "pg_"/,
    );
    expect(
      errorFor({
        schemas: { sales: [{ nme: 'orders' }] },
      } as unknown as EnvironmentInput['replication']),
    ).toContain('replication.schemas.sales[0].nme: unknown key; did you mean name?');
  });

  it('counts every schema toward the Tables property limit', () => {
    const names = (prefix: string) => Array.from({ length: 5000 }, (_, i) => `${prefix}${i}`);
    const message = errorFor({ schemas: { a: names('t'), b: names('u') } });
    expect(message).toMatch(/replication\.schemas: lists 10000 tables/);
  });
});

describe('replication.heartbeatTable', () => {
  const heartbeatTableOf = (replication: EnvironmentInput['replication']) =>
    parseEnvironment('dev', { replication }).replication.heartbeatTable;

  it('is airbyte_heartbeat when the section names none, and a given name otherwise', () => {
    expect(heartbeatTableOf({})).toBe('airbyte_heartbeat');
    expect(heartbeatTableOf({ heartbeatTable: 'Beat "1"' })).toBe('Beat "1"');
  });

  it('is off (undefined, as consumers read it) with false', () => {
    const replication = parseEnvironment('dev', {
      replication: { heartbeatTable: false },
    }).replication;
    expect(replication.heartbeatTable).toBeUndefined();
  });

  it('refuses true and anything but a name, and checks the name as an identifier', () => {
    const heartbeat = (heartbeatTable: unknown): string =>
      errorFor({ heartbeatTable } as unknown as EnvironmentInput['replication']);
    expect(heartbeat(true)).toContain(
      'replication.heartbeatTable: must be a table name or false (no heartbeat table); true names no table',
    );
    expect(heartbeat(1)).toContain(
      'replication.heartbeatTable: must be a table name or false (no heartbeat table)',
    );
    expect(heartbeat('')).toContain('replication.heartbeatTable: must not be empty');
    expect(heartbeat('x'.repeat(64))).toContain(
      'replication.heartbeatTable: must be at most 63 bytes',
    );
  });
});
