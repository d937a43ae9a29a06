import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { caBundleFromEnvironment } from '../../src/aws/rds-ca-bundle';
import { connect } from '../../src/replication/connect';
import { watchdogSettingsFrom } from '../../src/watchdog/settings';
import { SlotWatchdog, type WatchdogRun } from './handler';

// Created once per container: the SDK clients keep their connections between invocations.
const watchdog = new SlotWatchdog(watchdogSettingsFrom(process.env), {
  cloudWatch: new CloudWatchClient({}),
  secretsManager: new SecretsManagerClient({}),
  connect,
  // The stack points NODE_EXTRA_CA_CERTS at the RDS CA bundle that the Lambda runtime ships.
  caBundle: () => caBundleFromEnvironment(),
  log: (message) => console.log(message),
});

/** The scheduled event carries nothing the run needs. */
export const handler = (): Promise<WatchdogRun> => watchdog.run();
