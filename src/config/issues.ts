import type { z } from 'zod';
import { unwrapSchema } from './schema-shape';
import { nearestName } from './suggestion';

/** The schema the issues came from and the raw value it was given, to name the known keys. */
export interface IssueSource {
  readonly schema: z.core.$ZodType;
  readonly input: unknown;
}

type Path = readonly PropertyKey[];

/**
 * One line per problem, each naming its field (`replication.slotName: must be ...`). An unknown
 * key gets a line of its own with the nearest known key at that level, when one is close
 * (`replication.slotNmae: unknown key; did you mean slotName?`), else the keys that are known
 * there. A value that matches no member of a union is reported with the problems of the one
 * member its shape fits, when only one does (a table entry given as an object with a typo).
 */
export function formatIssues(
  where: string,
  issues: readonly z.core.$ZodIssue[],
  source?: IssueSource,
): string {
  const lines = issues
    .flatMap((issue) => flattenUnion(issue, []))
    .flatMap(({ issue, path }) => describe(issue, path, source))
    .map(({ path, message }) => `  - ${fieldOf(path) || '(root)'}: ${message}`);
  return `Invalid configuration for ${where}:\n${lines.join('\n')}`;
}

/** `replication.tables[0].name` */
function fieldOf(path: Path): string {
  return path
    .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
    .join('')
    .replace(/^\./, '');
}

interface PlacedIssue {
  readonly issue: z.core.$ZodIssue;
  /** The issue's path from the root of the parsed value. */
  readonly path: Path;
}

/**
 * An `invalid_union` whose value the members refused for different reasons: when all members
 * but one refused its type outright, that member's own issues say what is wrong.
 */
function flattenUnion(issue: z.core.$ZodIssue, parent: Path): PlacedIssue[] {
  const path = [...parent, ...issue.path];
  if (issue.code !== 'invalid_union') return [{ issue, path }];
  const plausible = issue.errors.filter(
    (memberIssues) =>
      !memberIssues.some((member) => member.code === 'invalid_type' && member.path.length === 0),
  );
  if (plausible.length !== 1) return [{ issue, path }];
  return plausible[0].flatMap((member) => flattenUnion(member, path));
}

function describe(
  issue: z.core.$ZodIssue,
  path: Path,
  source: IssueSource | undefined,
): { path: Path; message: string }[] {
  if (issue.code === 'invalid_key') {
    // A record's key (a schema name) broke its rule: say which rule, not just "Invalid key".
    return [{ path, message: `the name ${issue.issues.map((inner) => inner.message).join('; ')}` }];
  }
  if (issue.code !== 'unrecognized_keys') return [{ path, message: issue.message }];
  const known = source ? knownKeysAt(source.schema, path, source.input) : [];
  return issue.keys.map((key) => {
    const suggestion = nearestName(key, known);
    const hint = suggestion
      ? `did you mean ${suggestion}?`
      : known.length > 0
        ? `the keys here are ${known.join(', ')}`
        : 'remove it';
    return { path: [...path, key], message: `unknown key; ${hint}` };
  });
}

/**
 * The keys the object schema at `path` knows, looking through defaults, optionals, transforms,
 * arrays and unions (of a discriminated union, the members the input's discriminator selects).
 */
export function knownKeysAt(schema: z.core.$ZodType, path: Path, input: unknown): string[] {
  const def = (unwrapSchema(schema) as z.core.$ZodTypes)._zod.def;
  switch (def.type) {
    case 'object': {
      if (path.length === 0) return Object.keys(def.shape);
      const [key, ...rest] = path;
      const field = typeof key === 'string' ? def.shape[key] : undefined;
      return field ? knownKeysAt(field, rest, propertyOf(input, key)) : [];
    }
    case 'array': {
      const [index, ...rest] = path;
      return typeof index === 'number'
        ? knownKeysAt(def.element, rest, propertyOf(input, index))
        : [];
    }
    case 'record': {
      // A record's keys are the user's (schema names): below each, its value's schema.
      const [key, ...rest] = path;
      return key === undefined ? [] : knownKeysAt(def.valueType, rest, propertyOf(input, key));
    }
    case 'union': {
      const discriminator = 'discriminator' in def ? String(def.discriminator) : undefined;
      const selected =
        discriminator === undefined
          ? def.options
          : def.options.filter((option) =>
              option._zod.propValues?.[discriminator]?.has(
                propertyOf(input, discriminator) as z.core.util.Primitive,
              ),
            );
      return [...new Set(selected.flatMap((option) => knownKeysAt(option, path, input)))];
    }
    default:
      return [];
  }
}

function propertyOf(value: unknown, key: PropertyKey): unknown {
  return typeof value === 'object' && value !== null
    ? (value as Record<PropertyKey, unknown>)[key]
    : undefined;
}
