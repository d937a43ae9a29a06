/**
 * Custom resource properties as they travel: CloudFormation turns every scalar into a string, so
 * each resource's contract is a schema of strings that the construct writes and its function
 * parses, and the typed values are decoded from those strings in one place per resource. zod/mini
 * keeps the Lambda bundles small (the full zod would add about 450 KB).
 */
import * as z from 'zod/mini';

/** A property that must be present and not empty. */
export const requiredText = z.string().check(z.minLength(1, 'is empty'));
/** A property the construct may leave out. */
export const optionalText = z.optional(z.string());

/** The resource's properties are not what its contract says; names each property and why. */
export class ResourcePropertiesError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResourcePropertiesError';
  }
}

function describeIssues(resource: string, issues: readonly z.core.$ZodIssue[], input: unknown) {
  const record = (input ?? {}) as Record<string, unknown>;
  const missing = issues
    .filter((issue) => issue.path.length === 1 && record[String(issue.path[0])] === undefined)
    .map((issue) => String(issue.path[0]));
  const wrong = issues
    .filter((issue) => !missing.includes(String(issue.path[0])))
    .map((issue) => `property ${issue.path.map(String).join('.') || '(all)'} ${issue.message}`);
  return [
    ...(missing.length > 0 ? [`is missing properties ${missing.join(', ')}`] : []),
    ...wrong,
  ].map((part) => `${resource} custom resource ${part}`);
}

/**
 * Parse what CloudFormation sent with the resource's contract. The stack validated the
 * configuration already, so a failure is a bug in the stack or a hand-edited template: the
 * message says which properties are wrong.
 */
export function parseResourceProperties<Schema extends z.ZodMiniType>(
  resource: string,
  schema: Schema,
  raw: unknown,
): z.output<Schema> {
  const result = z.safeParse(schema, raw);
  if (result.success) return result.data;
  throw new ResourcePropertiesError(
    `${describeIssues(resource, result.error.issues, raw).join('; ')} (a bug in the stack)`,
  );
}

/** Decode a property that carries JSON, checked against `schema`; errors name the property. */
export function parseJsonProperty<Schema extends z.ZodMiniType>(
  resource: string,
  property: string,
  text: string,
  schema: Schema,
): z.output<Schema> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ResourcePropertiesError(
      `${resource} custom resource property ${property} is not JSON`,
    );
  }
  const result = z.safeParse(schema, value);
  if (result.success) return result.data;
  const why = result.error.issues
    .map((issue) => `${[property, ...issue.path.map(String)].join('.')} ${issue.message}`)
    .join('; ');
  throw new ResourcePropertiesError(`${resource} custom resource property ${why}`);
}
