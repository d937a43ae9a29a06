import type { DatabaseReference } from '../contract/database';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Plain TCP never leaves this machine for these hosts. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** `<instance>.<hash>.<region>.rds.amazonaws.com[.cn]`: an RDS (or Aurora member) instance. */
const INSTANCE_ENDPOINT = /^([a-z][a-z0-9-]*)\.[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/i;

/**
 * `<cluster>.cluster-<hash>.<region>.rds.amazonaws.com[.cn]`: an Aurora cluster's writer endpoint,
 * or with `cluster-ro-` its reader endpoint. A custom endpoint (`cluster-custom-`) starts with the
 * endpoint's own name, not the cluster's, so it names no database.
 */
const CLUSTER_ENDPOINT =
  /^([a-z][a-z0-9-]*)\.cluster-(?:ro-)?[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com(\.cn)?$/i;

/**
 * The RDS database an endpoint belongs to, from its name alone: the cluster of an Aurora cluster
 * endpoint, else the instance of an instance endpoint; undefined for any other host.
 */
export function rdsDatabaseFromHost(host: string): DatabaseReference | undefined {
  const cluster = CLUSTER_ENDPOINT.exec(host)?.[1];
  if (cluster) return { kind: 'cluster', identifier: cluster.toLowerCase() };
  const instance = INSTANCE_ENDPOINT.exec(host)?.[1];
  return instance ? { kind: 'instance', identifier: instance.toLowerCase() } : undefined;
}
