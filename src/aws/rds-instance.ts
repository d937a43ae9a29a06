import {
  DescribeDBInstancesCommand,
  RebootDBInstanceCommand,
  type RDSClient,
} from '@aws-sdk/client-rds';

/** What RDS says about the instance and its parameter group. */
export interface InstanceStatus {
  /** `available`, `rebooting`, `modifying`, `deleting`, ... */
  readonly instanceStatus: string;
  /** The attached parameter group. */
  readonly parameterGroupName: string;
  /** `in-sync`, `applying` or `pending-reboot`. */
  readonly parameterApplyStatus: string;
  /** RDS refuses to delete the instance while this is on. */
  readonly deletionProtection: boolean;
  /** The engine version it runs, e.g. `16.4`; undefined if RDS did not say. */
  readonly engineVersion?: string;
  /** Where it listens; undefined while it has no endpoint yet (being created). */
  readonly endpoint?: { readonly address: string; readonly port: number };
}

/** Describe the instance; undefined when it does not exist (any more). */
export async function describeInstance(
  rds: RDSClient,
  instanceIdentifier: string,
): Promise<InstanceStatus | undefined> {
  let instances;
  try {
    ({ DBInstances: instances } = await rds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: instanceIdentifier }),
    ));
  } catch (error) {
    if ((error as Error).name === 'DBInstanceNotFoundFault') return undefined;
    throw error;
  }
  const instance = instances?.[0];
  if (!instance) return undefined;
  const group = instance.DBParameterGroups?.[0];
  return {
    instanceStatus: instance.DBInstanceStatus ?? 'unknown',
    parameterGroupName: group?.DBParameterGroupName ?? 'unknown',
    parameterApplyStatus: group?.ParameterApplyStatus ?? 'unknown',
    deletionProtection: instance.DeletionProtection ?? false,
    engineVersion: instance.EngineVersion,
    endpoint:
      instance.Endpoint?.Address && instance.Endpoint.Port
        ? { address: instance.Endpoint.Address, port: instance.Endpoint.Port }
        : undefined,
  };
}

/** Reboot the instance so that a `pending-reboot` parameter group takes effect. */
export async function rebootInstance(rds: RDSClient, instanceIdentifier: string): Promise<void> {
  await rds.send(new RebootDBInstanceCommand({ DBInstanceIdentifier: instanceIdentifier }));
}

/** The command a user runs to do the same reboot by hand. */
export function rebootCommand(instanceIdentifier: string): string {
  return `aws rds reboot-db-instance --db-instance-identifier ${instanceIdentifier}`;
}
