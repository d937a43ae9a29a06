import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'crypto';

/** PostgreSQL's default scram_iterations. */
const SCRAM_ITERATIONS = 4096;

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (what psql's \password sends).
 * Sending the verifier instead of the password keeps the plain password out of server logs
 * (RDS often runs with log_statement = ddl) and pg_stat_statements.
 */
export function scramSha256Verifier(password: string, salt: Buffer = randomBytes(16)): string {
  // PostgreSQL applies SASLprep to the password; NFKC is its core and the identity for ASCII.
  const saltedPassword = pbkdf2Sync(
    password.normalize('NFKC'),
    salt,
    SCRAM_ITERATIONS,
    32,
    'sha256',
  );
  const clientKey = createHmac('sha256', saltedPassword).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', saltedPassword).update('Server Key').digest();
  return `SCRAM-SHA-256$${SCRAM_ITERATIONS}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
