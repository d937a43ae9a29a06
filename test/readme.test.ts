import { readFileSync } from 'fs';
import * as path from 'path';
import { environmentSchema } from '../src/config';

interface SchemaDefinition {
  type: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  in?: unknown;
  options?: unknown[];
  element?: unknown;
}

/** Every field path of a zod schema (`database.port`, `replication.tables.name`, ...). */
function fieldPaths(schema: unknown, prefix = ''): string[] {
  const definition = (schema as { _zod: { def: SchemaDefinition } })._zod.def;
  switch (definition.type) {
    case 'object':
      return Object.entries(definition.shape ?? {}).flatMap(([key, value]) => {
        const fieldPath = prefix ? `${prefix}.${key}` : key;
        return [fieldPath, ...fieldPaths(value, fieldPath)];
      });
    case 'optional':
    case 'default':
    case 'prefault':
      return fieldPaths(definition.innerType, prefix);
    case 'pipe':
      return fieldPaths(definition.in, prefix);
    case 'union':
      return [
        ...new Set((definition.options ?? []).flatMap((option) => fieldPaths(option, prefix))),
      ];
    case 'array':
      return fieldPaths(definition.element, prefix);
    default:
      return [];
  }
}

describe('README', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');

  it('documents every configuration field', () => {
    const leaves = fieldPaths(environmentSchema).filter(
      (field, _index, all) => !all.some((other) => other.startsWith(`${field}.`)),
    );
    expect(leaves.length).toBeGreaterThan(30);
    expect(leaves.filter((field) => !readme.includes(`\`${field}\``))).toEqual([]);
  });

  it('leads the quick start with npm ci, the main job and the test command that CI runs', () => {
    const quickStart = readme.slice(readme.indexOf('## Quick start'));
    const commands = [...quickStart.matchAll(/^(npm|npx) [^\n#]*/gm)].map((match) =>
      match[0].trim(),
    );
    expect(commands.slice(0, 3)).toEqual(['npm ci', 'npm run local', 'npm test']);
    const ci = readFileSync(path.join(__dirname, '..', '.ci', 'run'), 'utf8');
    expect(ci).toMatch(/^npm test$/m);
  });
});
