import type { RDSClient } from '@aws-sdk/client-rds';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CdkCustomResourceEvent, CdkCustomResourceResponse } from 'aws-lambda';
import type { Client } from 'pg';
import { databaseLabel, describeDatabase, type DatabaseStatus } from '../../src/aws/rds-database';
import { readDatabaseSecret } from '../../src/aws/secrets';
import { PRE_UPGRADE_CHECK_ATTRIBUTES } from '../../src/contract/pre-upgrade-check';
import type { ConnectOptions } from '../../src/replication/connect';
import {
  nextSlotGeneration,
  runPreUpgradeCheck,
  slotFateFor,
  type PreUpgradeOutcome,
  type PreUpgradeRequest,
} from '../../src/upgrade/pre-upgrade';
import { isMajorUpgrade } from '../../src/upgrade/slot-fate';
import {
  parseProperties,
  physicalIdFor,
  slotGenerationOf,
  type PreUpgradeCheckRequest,
} from './properties';

export interface PreUpgradeCheckDependencies {
  readonly rds: RDSClient;
  readonly secretsManager: SecretsManagerClient;
  /** Opens a connection (src/replication's connect on Lambda). */
  readonly connect: (options: ConnectOptions) => Promise<Client>;
  /** PEM bundle of the CAs the database certificate must chain to (the RDS CAs on Lambda). */
  readonly caBundle: () => string | undefined;
  /** Where the run is described (CloudWatch Logs on Lambda). Never receives a secret. */
  readonly log: (message: string) => void;
}

/**
 * Fail fast: the deploy waits on this step before RDS does anything, and a database that does
 * not answer should fail it in seconds with the reason, not at CloudFormation's hour.
 */
export const PRE_UPGRADE_TIMEOUTS = {
  connectTimeoutMs: 10000,
  statementTimeoutMs: 60000,
  lockTimeoutMs: 10000,
  /** Client side, should the server stop answering mid-query: above statement_timeout. */
  queryTimeoutMs: 70000,
} as const satisfies Partial<ConnectOptions>;

/** What the run found, when there was no database to look at. */
type CheckResult = PreUpgradeOutcome | { readonly slotDropped: false; readonly fate?: undefined };

/**
 * The pre-upgrade check's lifecycle: before RDS modifies the instance (which depends on this
 * resource), find the deployed engine version and endpoint at run time and let
 * src/upgrade/pre-upgrade decide and do what the slot needs. Delete does nothing: the step only
 * ever acts before an upgrade.
 */
export class PreUpgradeCheckHandler {
  constructor(private readonly dependencies: PreUpgradeCheckDependencies) {}

  async onEvent(event: CdkCustomResourceEvent): Promise<CdkCustomResourceResponse> {
    if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId };
    const request = parseProperties(event.ResourceProperties);
    const previousGeneration = slotGenerationOf(
      event.RequestType === 'Update' ? event.PhysicalResourceId : undefined,
    );
    // Create runs the check too: the instance does not exist on a first deploy (nothing to do),
    // but this resource may be added to a stack in the same deploy as a major upgrade.
    const outcome = await this.check(request);
    const generation = nextSlotGeneration(previousGeneration, outcome, request.engineVersion);
    const droppedSlot = 'droppedSlot' in outcome ? outcome.droppedSlot : undefined;
    return {
      PhysicalResourceId: physicalIdFor(request.databaseReference.identifier, generation),
      Data: {
        [PRE_UPGRADE_CHECK_ATTRIBUTES.slotDropped]: String(outcome.slotDropped),
        [PRE_UPGRADE_CHECK_ATTRIBUTES.slotGeneration]: generation,
        ...(outcome.fate === undefined ? {} : { SlotFate: outcome.fate }),
        // The position the slot had, for whoever wants to compare it with Airbyte's state.
        ...(droppedSlot
          ? {
              DroppedSlotName: droppedSlot.slotName,
              DroppedSlotPlugin: droppedSlot.plugin,
              DroppedSlotConfirmedFlushLsn: droppedSlot.confirmedFlushLsn ?? '',
              DroppedSlotRestartLsn: droppedSlot.restartLsn ?? '',
            }
          : {}),
      },
    };
  }

  private async check(request: PreUpgradeCheckRequest): Promise<CheckResult> {
    const { log } = this.dependencies;
    const ref = request.databaseReference;
    const label = databaseLabel(ref);
    const database = await this.describe(request);
    if (!database) {
      log(`${label} does not exist yet: nothing to check.`);
      return { slotDropped: false };
    }
    if (!database.engineVersion) {
      throw new Error(
        `RDS did not say which engine version ${ref.kind} ${ref.identifier} runs (status ${database.status}): deploy again once it is available.`,
      );
    }
    const upgrade: PreUpgradeRequest = {
      deployedVersion: database.engineVersion,
      targetVersion: request.engineVersion,
      slotName: request.slotName,
      publicationName: request.publicationName,
      allowSlotRecreation: request.allowSlotRecreation,
    };
    const fate = slotFateFor(upgrade);
    log(
      `${label} runs ${database.engineVersion}; the template asks for ${request.engineVersion}: ${fate}.`,
    );
    if (!isMajorUpgrade(fate)) return { fate, action: 'none', slotDropped: false };
    if (!database.endpoint) {
      throw new Error(
        `${label} has no endpoint (status ${database.status}), so its replication slot cannot be checked before the upgrade: deploy again once it is available.`,
      );
    }
    const client = await this.connect(request, database.endpoint);
    try {
      return await runPreUpgradeCheck(client, upgrade, log);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  private async describe(request: PreUpgradeCheckRequest): Promise<DatabaseStatus | undefined> {
    const ref = request.databaseReference;
    try {
      return await describeDatabase(this.dependencies.rds, ref);
    } catch (error) {
      const action = ref.kind === 'cluster' ? 'rds:DescribeDBClusters' : 'rds:DescribeDBInstances';
      throw new Error(
        `Cannot describe ${databaseLabel(ref)} to check its replication slot before an engine upgrade: ${(error as Error).message}. Check that this function may call ${action} on it and reaches the RDS API (the interface endpoint in its subnets), then deploy again.`,
        { cause: error },
      );
    }
  }

  private async connect(
    request: PreUpgradeCheckRequest,
    endpoint: NonNullable<DatabaseStatus['endpoint']>,
  ): Promise<Client> {
    const master = await readDatabaseSecret(
      this.dependencies.secretsManager,
      request.masterSecretArn,
      'master user secret',
    );
    return this.dependencies.connect({
      host: endpoint.address,
      port: endpoint.port,
      user: master.username,
      password: master.password,
      database: request.database,
      tls: { mode: 'verify-full', ca: this.dependencies.caBundle() },
      applicationName: 'rds-airbyte-cdc-pre-upgrade',
      ...PRE_UPGRADE_TIMEOUTS,
    });
  }
}
