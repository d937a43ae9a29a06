import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import { handleAirbyteEvent } from './handler';

// Created once per container: the SDK client keeps its connections between invocations.
const secretsManager = new SecretsManagerClient({});

/** Custom resource (Provider framework onEvent): Airbyte source, destination and connection. */
export async function onEvent(event: CdkCustomResourceEvent): Promise<CdkCustomResourceResponse> {
  console.log(`${event.RequestType} ${event.LogicalResourceId} (${event.RequestId})`);
  return handleAirbyteEvent(event, { secretsManager, log: (line) => console.log(line) });
}
