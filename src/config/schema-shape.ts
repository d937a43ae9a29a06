import type { z } from 'zod';

/**
 * The schema a wrapper stands for: what `optional`, `default`, a transform's input and the like
 * validate. Walkers of the config's shape (unknown-key suggestions, the documented-field list)
 * look through these the same way.
 */
export function unwrapSchema(schema: z.core.$ZodType): z.core.$ZodType {
  const def = (schema as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'nonoptional':
    case 'readonly':
    case 'catch':
      return unwrapSchema(def.innerType);
    case 'pipe':
      return unwrapSchema(def.in);
    default:
      return schema;
  }
}

/**
 * Every field path of a config schema, parents included (`database`, `database.port`,
 * `replication.tables.name`): array elements, a record's values (under the record's own path, as
 * its keys are the user's) and every member of a union contribute their keys.
 */
export function fieldPaths(schema: z.core.$ZodType, prefix = ''): string[] {
  const def = (unwrapSchema(schema) as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'object':
      return Object.entries(def.shape).flatMap(([key, field]) => {
        const fieldPath = prefix ? `${prefix}.${key}` : key;
        return [fieldPath, ...fieldPaths(field, fieldPath)];
      });
    case 'array':
      return fieldPaths(def.element, prefix);
    case 'record':
      return fieldPaths(def.valueType, prefix);
    case 'union':
      return [...new Set(def.options.flatMap((option) => fieldPaths(option, prefix)))];
    default:
      return [];
  }
}
