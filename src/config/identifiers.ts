import { z } from 'zod';

/**
 * PostgreSQL truncates identifiers longer than NAMEDATALEN - 1 = 63 bytes (not characters), so
 * two long names could silently become the same object. We refuse them instead.
 */
export const MAX_IDENTIFIER_BYTES = 63;

/** Role names PostgreSQL reserves: `CREATE ROLE` rejects them. */
const RESERVED_ROLE_NAMES = new Set([
  'public',
  'none',
  'current_user',
  'session_user',
  'current_role',
]);

// Control characters are legal inside a quoted identifier but only ever arrive by mistake (a
// stray newline from a YAML block) and make log lines and error messages misleading.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

/**
 * Any PostgreSQL identifier that will be double-quoted when it reaches SQL: upper case, spaces,
 * quotes and unicode are all legal once quoted, so only length and control characters matter.
 */
export const quotedIdentifier = z
  .string()
  .min(1, 'must not be empty')
  .refine((name) => Buffer.byteLength(name, 'utf8') <= MAX_IDENTIFIER_BYTES, {
    message: `must be at most ${MAX_IDENTIFIER_BYTES} bytes (PostgreSQL would truncate it)`,
  })
  .refine((name) => !CONTROL_CHARACTERS.test(name), {
    message: 'must not contain control characters (newline, tab, NUL, ...)',
  });

/** A schema name: `pg_` is reserved for system schemas. */
export const schemaName = quotedIdentifier.refine((name) => !name.toLowerCase().startsWith('pg_'), {
  message: 'must not start with "pg_" (reserved for system schemas)',
});

/** A role name: `pg_` is reserved for predefined roles, and a few names are keywords. */
export const roleName = quotedIdentifier
  .refine((name) => !name.toLowerCase().startsWith('pg_'), {
    message: 'must not start with "pg_" (reserved for predefined roles)',
  })
  .refine((name) => !RESERVED_ROLE_NAMES.has(name.toLowerCase()), {
    message: `must not be one of the reserved role names ${[...RESERVED_ROLE_NAMES].join(', ')}`,
  })
  .refine((name) => !/^rds/i.test(name), {
    message: 'must not start with "rds" (reserved by Amazon RDS)',
  });

/**
 * A replication slot name: PostgreSQL allows only lower-case letters, digits and underscores
 * (ReplicationSlotValidateName), so these never need quoting but we quote them anyway.
 */
export const slotName = z
  .string()
  .regex(
    /^[a-z0-9_]{1,63}$/,
    'must be 1 to 63 characters of lower-case letters, digits and underscores (PostgreSQL rejects anything else in a slot name)',
  );

/**
 * The database created with the instance. RDS is stricter than PostgreSQL here: a letter first,
 * then letters, digits or underscores, at most 63.
 */
export const databaseName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_]{0,62}$/,
    'must start with a letter and hold only letters, digits and underscores, at most 63 (Amazon RDS rule)',
  )
  .refine(
    (name) => !['postgres', 'template0', 'template1', 'rdsadmin'].includes(name.toLowerCase()),
    {
      message: 'must not be postgres, template0, template1 or rdsadmin',
    },
  );
