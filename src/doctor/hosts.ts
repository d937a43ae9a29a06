const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Plain TCP never leaves this machine for these hosts. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

const RDS_ENDPOINT = /^([a-z][a-z0-9-]*)\.[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/i;

/** The instance identifier is the first label of an RDS instance endpoint. */
export function rdsInstanceIdentifierFromHost(host: string): string | undefined {
  return RDS_ENDPOINT.exec(host)?.[1];
}
