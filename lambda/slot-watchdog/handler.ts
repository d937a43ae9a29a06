import {
  PutMetricDataCommand,
  type CloudWatchClient,
  type MetricDatum,
} from '@aws-sdk/client-cloudwatch';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Client } from 'pg';
import { readDatabaseSecret } from '../../src/aws/secrets';
import type { ConnectOptions } from '../../src/replication/connect';
import {
  CONNECTION_FAILED_METRIC,
  ENVIRONMENT_DIMENSION,
  WATCHDOG_NAMESPACE,
  slotMetrics,
  type MetricValue,
} from '../../src/watchdog/metrics';
import { readSlotHealthReadOnly, type SlotHealth } from '../../src/watchdog/slot-health';
import type { WatchdogSettings } from '../../src/watchdog/settings';

export interface SlotWatchdogDependencies {
  readonly cloudWatch: CloudWatchClient;
  readonly secretsManager: SecretsManagerClient;
  /**
   * Opens a normal connection (src/replication's connect on Lambda): never a replication one, so
   * the watchdog takes no WAL sender and cannot stream or move the slot.
   */
  readonly connect: (options: ConnectOptions) => Promise<Client>;
  /** PEM bundle of the CAs the database certificate must chain to (the RDS CAs on Lambda). */
  readonly caBundle: () => string | undefined;
  /** Where the run is described (CloudWatch Logs on Lambda). Never receives a secret. */
  readonly log: (message: string) => void;
}

/**
 * Seconds, not the setup's minutes: a run every minute must finish well inside its function
 * timeout, and a database that does not answer is reported as such at once.
 */
export const WATCHDOG_TIMEOUTS = {
  connectTimeoutMs: 5000,
  statementTimeoutMs: 5000,
  lockTimeoutMs: 1000,
  /** Client side, should the server stop answering mid-query: above statement_timeout. */
  queryTimeoutMs: 8000,
} as const satisfies Partial<ConnectOptions>;

/** What one run published. */
export interface WatchdogRun {
  /** The slot could be read; false when the connection or the read failed. */
  readonly read: boolean;
  readonly metrics: readonly MetricValue[];
}

/**
 * One run of the slot watchdog: read the slot's health as the monitoring role, in a read-only
 * transaction, and publish its metrics in one PutMetricData. A database that cannot be reached
 * or read is `WatchdogConnectionFailed = 1`, logged, not an exception: a retry would only fail
 * the same way, and the next scheduled run tries again anyway.
 */
export class SlotWatchdog {
  constructor(
    private readonly settings: WatchdogSettings,
    private readonly dependencies: SlotWatchdogDependencies,
  ) {}

  async run(): Promise<WatchdogRun> {
    const { log } = this.dependencies;
    const { slotName } = this.settings;
    let read = false;
    let metrics: MetricValue[];
    try {
      const slot = slotMetrics(await this.readHealth());
      read = true;
      metrics = [{ name: CONNECTION_FAILED_METRIC, value: 0, unit: 'None' }, ...slot];
      log(
        `Slot "${slotName}": ${slot.map((metric) => `${metric.name}=${metric.value}`).join(' ')}`,
      );
    } catch (error) {
      log(`Cannot read slot "${slotName}": ${(error as Error).message}`);
      metrics = [{ name: CONNECTION_FAILED_METRIC, value: 1, unit: 'None' }];
    }
    // A failure here is thrown: the function's Errors metric is then the only signal left.
    await this.dependencies.cloudWatch.send(
      new PutMetricDataCommand({
        Namespace: this.settings.namespace ?? WATCHDOG_NAMESPACE,
        MetricData: metrics.map((metric) => this.datum(metric)),
      }),
    );
    return { read, metrics };
  }

  private datum(metric: MetricValue): MetricDatum {
    return {
      MetricName: metric.name,
      Dimensions: [{ Name: ENVIRONMENT_DIMENSION, Value: this.settings.environment }],
      Value: metric.value,
      Unit: metric.unit,
    };
  }

  private async readHealth(): Promise<SlotHealth> {
    const { settings, dependencies } = this;
    const login = await readDatabaseSecret(
      dependencies.secretsManager,
      settings.secretArn,
      'watchdog user secret',
    );
    const client = await dependencies.connect({
      host: settings.host,
      port: settings.port,
      database: settings.database,
      user: login.username,
      password: login.password,
      tls: { mode: 'verify-full', ca: dependencies.caBundle() },
      applicationName: 'rds-airbyte-cdc-watchdog',
      ...WATCHDOG_TIMEOUTS,
    });
    try {
      return await readSlotHealthReadOnly(client, settings.slotName);
    } finally {
      await client.end().catch(() => undefined);
    }
  }
}
