import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent, CdkCustomResourceIsCompleteEvent } from 'aws-lambda';
import { caBundleFromEnvironment } from '../../src/aws/rds-ca-bundle';
import { ReplicationSetupHandler } from './handler';

const handler = new ReplicationSetupHandler({
  rds: new RDSClient({}),
  secretsManager: new SecretsManagerClient({}),
  // The stack points NODE_EXTRA_CA_CERTS at the RDS CA bundle that the Lambda runtime ships.
  caBundle: () => caBundleFromEnvironment(),
  log: (message) => console.log(message),
});

/** Provider framework onEvent: Create, Update and Delete. */
export const onEvent = (event: CdkCustomResourceEvent) => handler.onEvent(event);
/** Provider framework isComplete: finishes a setup that waited for a reboot. */
export const isComplete = (event: CdkCustomResourceIsCompleteEvent) => handler.isComplete(event);
