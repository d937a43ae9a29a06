import { z } from 'zod';
import { environmentSchema } from '../../../src/config';
import { fieldPaths, unwrapSchema } from '../../../src/config/schema-shape';

describe('config schema shape', () => {
  it('looks through optional, default and transforms to the schema they wrap', () => {
    const inner = z.object({ a: z.string() });
    expect(unwrapSchema(inner.optional().default({ a: 'x' }))).toBe(inner);
    expect(unwrapSchema(z.string().transform((value) => value.length))).toBeInstanceOf(z.ZodString);
  });

  it('lists every field path, through arrays and every member of a union', () => {
    const schema = z.object({
      port: z.number().default(5432),
      tables: z.array(z.union([z.string(), z.object({ name: z.string(), key: z.string() })])),
      destination: z.discriminatedUnion('type', [
        z.object({ type: z.literal('s3'), bucket: z.string() }),
        z.object({ type: z.literal('local'), path: z.string() }),
      ]),
    });
    expect(fieldPaths(schema)).toEqual([
      'port',
      'tables',
      'tables.name',
      'tables.key',
      'destination',
      'destination.type',
      'destination.bucket',
      'destination.path',
    ]);
  });

  it('finds the fields of the real environment schema', () => {
    expect(fieldPaths(environmentSchema)).toEqual(
      expect.arrayContaining(['replication.slotName', 'airbyte.destination.bucketPath']),
    );
  });
});
