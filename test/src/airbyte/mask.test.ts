import { SECRET_FIELDS, SECRET_MASK, isSatisfiedBy, maskSecrets } from '../../../src/airbyte/mask';
import { readAirbyteFixture, secretFieldsOf } from '../../support/fake-airbyte-server';

describe('SECRET_FIELDS', () => {
  it.each([
    'source-postgres.api-schema.json',
    'source-postgres.connector-spec.json',
    'source-postgres.connector-spec-3.8.json',
    'destination-s3.api-schema.json',
  ])('covers every airbyte_secret field of %s', (file) => {
    const schema = JSON.parse(readAirbyteFixture(file)) as unknown;
    const secrets = [...secretFieldsOf(schema)];
    expect(secrets.length).toBeGreaterThan(0);
    expect(secrets.filter((field) => !SECRET_FIELDS.has(field))).toEqual([]);
  });
});

describe('maskSecrets', () => {
  it('masks nested secret values and leaves the rest, without touching the input', () => {
    const body = {
      name: 'n',
      configuration: {
        password: 'p',
        ssl_mode: { mode: 'verify-full', ca_certificate: 'pem' },
        port: 5432,
      },
    };
    expect(maskSecrets(body)).toEqual({
      name: 'n',
      configuration: {
        password: SECRET_MASK,
        ssl_mode: { mode: 'verify-full', ca_certificate: SECRET_MASK },
        port: 5432,
      },
    });
    expect(body.configuration.password).toBe('p');
  });
});

describe('isSatisfiedBy', () => {
  it('ignores defaults Airbyte added and masked secrets, but sees every real difference', () => {
    const desired = { host: 'h', password: 'new', streams: [{ name: 'a' }] };
    expect(
      isSatisfiedBy(desired, {
        host: 'h',
        password: SECRET_MASK,
        queue_size: 10000,
        streams: [{ name: 'a', x: 1 }],
      }),
    ).toBe(true);
    expect(
      isSatisfiedBy(desired, { host: 'other', password: SECRET_MASK, streams: [{ name: 'a' }] }),
    ).toBe(false);
    expect(
      isSatisfiedBy(desired, {
        host: 'h',
        password: SECRET_MASK,
        streams: [{ name: 'a' }, { name: 'b' }],
      }),
    ).toBe(false);
    expect(isSatisfiedBy(desired, { host: 'h', password: SECRET_MASK })).toBe(false);
    expect(isSatisfiedBy({ port: 5432 }, { port: '5432' })).toBe(false);
  });
});
