/**
 * The names of AWS resources that the stack derives from the configuration, in one place, so
 * that the stack and the command-line tools agree on them and each is valid for the resource it
 * names. Two kinds of input reach a name:
 *
 * - the environment's name (a key of cdk.json's `environments`), the user's own choice:
 *   {@link ENVIRONMENT_NAME_PATTERN} refuses at synth any name that would make one of the
 *   derived names invalid, so these names are the environment's name unchanged;
 * - a PostgreSQL role name (`replication.user`), which may hold anything PostgreSQL accepts once
 *   quoted (spaces, quotes, unicode): {@link loginSecretNameFor} turns it into a valid
 *   secret name.
 */

/**
 * Environment names: lower-case letters, digits and single dashes, a letter first, no dash last,
 * at most 20 characters. They become the stack name (`RdsAirbyteCdc-<name>`: CloudFormation
 * takes letters, digits and dashes, a letter first) and the RDS instance identifier
 * (`rds-airbyte-cdc-<name>`: RDS refuses two dashes in a row and a dash at the end, and takes at
 * most 63 characters); through the identifier they prefix the secret and log group names.
 */
export const ENVIRONMENT_NAME_PATTERN = /^[a-z](?:[a-z0-9]|-(?=[a-z0-9])){0,19}$/;

/** {@link ENVIRONMENT_NAME_PATTERN} in words, for error messages. */
export const ENVIRONMENT_NAME_RULE =
  'must be 1 to 20 lower-case letters, digits and single dashes, starting with a letter and not ending with a dash (it names the stack RdsAirbyteCdc-<name> and the RDS instance rds-airbyte-cdc-<name>)';

/**
 * What Secrets Manager accepts as a secret name: 1 to 512 ASCII letters, digits and `/_+=.@-`
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html).
 */
export const SECRET_NAME_PATTERN = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** A secret's ARN: `arn:aws:secretsmanager:<region>:<account>:secret:<name>[-<suffix>]`. */
export const SECRET_ARN_PATTERN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/;

/** The longest secret name Secrets Manager accepts. */
const MAX_SECRET_NAME_LENGTH = 512;

/** Characters a secret name cannot hold, in runs; `/` too, so that a user stays one segment. */
const NOT_IN_SECRET_NAME_SEGMENT = /[^A-Za-z0-9_+=.@-]+/g;

/** The segment of the master user's secret, which no replication user's secret may take. */
const MASTER_SECRET_SEGMENT = 'master';

/** The CloudFormation stack of an environment: `cdk deploy RdsAirbyteCdc-dev`. */
export function stackNameFor(environmentName: string): string {
  return `RdsAirbyteCdc-${environmentName}`;
}

/** The RDS instance identifier of an environment, also the prefix of its secrets and logs. */
export function instanceIdentifierFor(environmentName: string): string {
  return `rds-airbyte-cdc-${environmentName}`;
}

/** The name of the master user's secret: `rds-airbyte-cdc-dev/master`. */
export function masterSecretNameFor(instanceIdentifier: string): string {
  return `${instanceIdentifier}/${MASTER_SECRET_SEGMENT}`;
}

/**
 * The name of a login role's secret (the replication user's, the watchdog's): `<instance>/<user>` when the user name can be a
 * segment of a secret name (`rds-airbyte-cdc-dev/airbyte`), so that the secret of a deployed
 * user is never renamed (which would replace it, and its password). Otherwise accents are
 * dropped, every run of other characters becomes `-`, and `_` with a hash of the exact user name
 * is appended, so that two users whose names differ only in such characters still get two
 * secrets: `cdc reader` gives `rds-airbyte-cdc-dev/cdc-reader_016bf422`. A user named `master`
 * gets the hash too: that name is the master user's secret.
 *
 * The hashed form never ends in a dash and six characters, which Secrets Manager advises against
 * (a partial-ARN lookup takes them for the suffix of the ARN); a name the user chose may, and is
 * kept: the stack and the tools find the secret by its complete ARN, from the stack's outputs.
 */
export function loginSecretNameFor(instanceIdentifier: string, username: string): string {
  const prefix = `${instanceIdentifier}/`;
  const withoutAccents = username.normalize('NFKD').replace(/\p{M}/gu, '');
  const readable =
    withoutAccents.replace(NOT_IN_SECRET_NAME_SEGMENT, '-').replace(/^-+|-+$/g, '') || 'user';
  if (
    readable === username &&
    readable.toLowerCase() !== MASTER_SECRET_SEGMENT &&
    prefix.length + readable.length <= MAX_SECRET_NAME_LENGTH
  ) {
    return `${prefix}${readable}`;
  }
  const suffix = `_${shortHash(username)}`;
  const room = MAX_SECRET_NAME_LENGTH - prefix.length - suffix.length;
  return `${prefix}${readable.slice(0, room)}${suffix}`;
}

/**
 * Eight hex digits of the 32-bit FNV-1a hash of the text's UTF-8 bytes: stable across runs and
 * machines, for telling names apart, not for security (src/contract/ may not import crypto).
 */
function shortHash(text: string): string {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, '0');
}
