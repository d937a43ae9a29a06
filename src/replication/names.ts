import { escapeIdentifier } from 'pg';

/** `"schema"."table"`, both quoted, for SQL. */
export function qualifiedName(schema: string, table: string): string {
  return `${escapeIdentifier(schema)}.${escapeIdentifier(table)}`;
}

/** `"schema"."table"` for messages: double-quoted like PostgreSQL prints names. */
export function displayName(schema: string, table: string): string {
  return `"${schema}"."${table}"`;
}

/** `schema "a"` or `schemas "a", "b"`, for messages. */
export function schemasNamed(names: readonly string[]): string {
  return `${names.length === 1 ? 'schema' : 'schemas'} ${names.map((name) => `"${name}"`).join(', ')}`;
}
