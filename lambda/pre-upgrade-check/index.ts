import { RDSClient } from '@aws-sdk/client-rds';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent } from 'aws-lambda';
import { caBundleFromEnvironment } from '../../src/aws/rds-ca-bundle';
import { connect } from '../../src/replication/connect';
import { PreUpgradeCheckHandler } from './handler';

const handler = new PreUpgradeCheckHandler({
  rds: new RDSClient({}),
  secretsManager: new SecretsManagerClient({}),
  connect,
  // The stack points NODE_EXTRA_CA_CERTS at the RDS CA bundle that the Lambda runtime ships.
  caBundle: () => caBundleFromEnvironment(),
  log: (message) => console.log(message),
});

/** Provider framework onEvent: Create, Update and Delete. */
export const onEvent = (event: CdkCustomResourceEvent) => handler.onEvent(event);
