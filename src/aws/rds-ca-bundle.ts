import { readFileSync } from 'fs';

/**
 * Where the Lambda Node.js runtime ships the Amazon RDS CA bundle. The stack points
 * NODE_EXTRA_CA_CERTS here for every function that connects to the database
 * (HandlerFunction's `trustsRdsCertificates`).
 */
export const LAMBDA_RDS_CA_BUNDLE = '/var/runtime/ca-cert.pem';

/**
 * The PEM bundle the database certificate must chain to: the file NODE_EXTRA_CA_CERTS names, or
 * undefined without one (Node's own roots then).
 */
export function caBundleFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const bundle = env.NODE_EXTRA_CA_CERTS;
  return bundle ? readFileSync(bundle, 'utf8') : undefined;
}
