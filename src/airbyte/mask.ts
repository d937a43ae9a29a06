/**
 * Airbyte answers secret configuration fields with this mask instead of their value, and `plan`
 * prints it in their place.
 */
export const SECRET_MASK = '**********';

/**
 * Configuration keys the connector specs mark `airbyte_secret` (source-postgres before and since
 * 3.8, destination-s3; a test checks this list against the schemas in test/fixtures/airbyte).
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'ca_certificate',
  'client_certificate',
  'client_key',
  'client_key_password',
  'ssh_key',
  'tunnel_user_password',
  'access_key_id',
  'secret_access_key',
]);

/** A copy of `value` with every secret field's value replaced by the mask. */
export function maskSecrets<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => maskSecrets(item)) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [
      key,
      SECRET_FIELDS.has(key) && typeof item === 'string' && item !== ''
        ? SECRET_MASK
        : maskSecrets(item),
    ]),
  ) as T;
}

/**
 * Whether what Airbyte holds already says everything `desired` says. Extra keys on Airbyte's side
 * are defaults it filled in and do not count; a masked value matches any value, because Airbyte
 * never shows secrets back (so a rotated password alone is only sent with `refreshSecrets`).
 */
export function isSatisfiedBy(desired: unknown, existing: unknown): boolean {
  if (existing === SECRET_MASK && typeof desired === 'string') return true;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(existing) &&
      existing.length === desired.length &&
      desired.every((item, index) => isSatisfiedBy(item, existing[index]))
    );
  }
  if (desired !== null && typeof desired === 'object') {
    if (existing === null || typeof existing !== 'object' || Array.isArray(existing)) return false;
    const existingObject = existing as Record<string, unknown>;
    return Object.entries(desired).every(
      ([key, item]) => item === undefined || isSatisfiedBy(item, existingObject[key]),
    );
  }
  return desired === existing;
}
