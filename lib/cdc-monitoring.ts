import { CfnOutput, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { constructError } from './construct-error';
import { ALARM_TOPIC_OUTPUT } from '../src/contract/outputs';

const GIB = 1024 ** 3;

/** Services that publish to the alarm topic: CloudWatch alarms and RDS event notifications. */
const PUBLISHING_SERVICES = ['cloudwatch.amazonaws.com', 'events.rds.amazonaws.com'];

export interface CdcMonitoringProps {
  /** The instance whose metrics and events are watched. */
  readonly instance: rds.IDatabaseInstance;
  /**
   * Storage allocated to the instance in GiB: the free-storage alarm fires below
   * `freeStorageFraction` of it.
   */
  readonly allocatedStorageGiB: number;
  /**
   * Alarm when `OldestReplicationSlotLag` exceeds this many bytes: the slot Airbyte reads is
   * falling behind. Keep it well below `max_slot_wal_keep_size`, at which PostgreSQL invalidates
   * the slot and forces a full resync.
   *
   * @default - 1 GiB
   */
  readonly oldestReplicationSlotLagBytes?: number;
  /**
   * Alarm when `ReplicationSlotDiskUsage` (WAL kept on disk for replication slots) exceeds this
   * many bytes.
   *
   * @default - 2 GiB
   */
  readonly replicationSlotDiskUsageBytes?: number;
  /**
   * Alarm when `TransactionLogsDiskUsage` (all WAL on disk) exceeds this many bytes.
   *
   * @default - 4 GiB
   */
  readonly transactionLogsDiskUsageBytes?: number;
  /**
   * Alarm when `FreeStorageSpace` falls below this fraction of `allocatedStorageGiB`. Storage
   * autoscaling only starts at 10 % free, so the default warns first.
   *
   * @default - 0.2
   */
  readonly freeStorageFraction?: number;
  /**
   * Alarm when `CPUUtilization` exceeds this percentage.
   *
   * @default - 80
   */
  readonly cpuPercent?: number;
  /**
   * Length of one evaluation period (RDS's basic metrics are 1-minute).
   *
   * @default - Duration.minutes(5)
   */
  readonly period?: Duration;
  /**
   * Consecutive periods a metric must breach before its alarm fires: filters out a checkpoint or
   * a vacuum spike.
   *
   * @default - 3
   */
  readonly evaluationPeriods?: number;
  /**
   * RDS event categories of the instance forwarded to the topic.
   *
   * @default - `failure`, `failover`, `low storage`
   */
  readonly eventCategories?: string[];
  /**
   * Address subscribed to the alarm topic by email (AWS sends a confirmation mail first).
   *
   * @default - no subscription: subscribe endpoints to `topic`, whose ARN is a stack output
   */
  readonly alarmEmail?: string;
  /**
   * Create a CloudWatch dashboard with the alarms and their metrics.
   *
   * @default - true
   */
  readonly createDashboard?: boolean;
  /**
   * Name of the CloudWatch dashboard, unique per account and region.
   *
   * @default - `<stack name>-cdc`
   */
  readonly dashboardName?: string;
}

/** The thresholds and periods the alarms use, every default filled in. */
interface AlarmSettings {
  readonly allocatedStorageGiB: number;
  readonly oldestReplicationSlotLagBytes: number;
  readonly replicationSlotDiskUsageBytes: number;
  readonly transactionLogsDiskUsageBytes: number;
  readonly freeStorageFraction: number;
  readonly cpuPercent: number;
  readonly period: Duration;
  readonly evaluationPeriods: number;
}

/** One alarm this construct creates, for the dashboard and for tests. */
interface AlarmSpec {
  readonly id: string;
  readonly metricName: string;
  readonly statistic: string;
  readonly threshold: number;
  readonly comparisonOperator: cloudwatch.ComparisonOperator;
  readonly description: string;
  /**
   * Slot metrics are absent while no slot exists (before the replication setup ran): that is
   * healthy. Other metrics go missing when the instance is stopped: neither healthy nor an alarm.
   */
  readonly treatMissingData: cloudwatch.TreatMissingData;
}

/**
 * Alarms, notifications and a dashboard for an RDS for PostgreSQL instance that feeds CDC: the
 * most common CDC incident is a replication slot that stops advancing and fills the disk with
 * WAL, so slot lag, WAL on disk and free storage each get an alarm, next to CPU and the RDS
 * failure, failover and low-storage events.
 */
export class CdcMonitoring extends Construct {
  /** Topic every alarm and RDS event notifies; subscribe pagers or chat bots to it. */
  public readonly topic: sns.ITopic;
  /** The alarms, keyed by metric name (`OldestReplicationSlotLag`, `FreeStorageSpace`, ...). */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  /** The dashboard, unless `createDashboard` is off. */
  public readonly dashboard?: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: CdcMonitoringProps) {
    super(scope, id);
    const { instance } = props;
    if (!(props.allocatedStorageGiB > 0)) {
      throw constructError(
        this,
        `allocatedStorageGiB must be a positive number, got ${props.allocatedStorageGiB}`,
      );
    }
    const settings = alarmSettings(props);

    // CloudWatch and RDS cannot use the AWS-managed SNS key: its policy does not admit them.
    const key = new kms.Key(this, 'TopicKey', {
      description: `Encrypts the CDC alarm topic of ${Stack.of(this).stackName}`,
      enableKeyRotation: true,
      // The key only protects notifications in flight; nothing outlives the stack under it.
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    const topic = new sns.Topic(this, 'AlarmTopic', {
      displayName: `${Stack.of(this).stackName} CDC alarms`,
      masterKey: key,
      enforceSSL: true,
    });
    for (const service of PUBLISHING_SERVICES) {
      const principal = new iam.ServicePrincipal(service);
      key.grant(principal, 'kms:Decrypt', 'kms:GenerateDataKey*');
      // The topic policy CDK writes for enforceSSL replaces SNS's default one, so the services
      // need an explicit grant, limited to this account.
      topic.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [principal],
          actions: ['sns:Publish'],
          resources: [topic.topicArn],
          conditions: { StringEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
    }
    if (props.alarmEmail) {
      topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    }
    this.topic = topic;
    // A fixed key, like the stack's other outputs, so that scripts can subscribe endpoints to it.
    new CfnOutput(this, 'AlarmTopicArn', {
      value: topic.topicArn,
      description: 'SNS topic of the CDC alarms and RDS events: subscribe pagers or chat to it',
    }).overrideLogicalId(ALARM_TOPIC_OUTPUT);

    const metric = (metricName: string, statistic: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName,
        dimensionsMap: { DBInstanceIdentifier: instance.instanceIdentifier },
        statistic,
        period: settings.period,
      });
    const action = new cloudwatchActions.SnsAction(topic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const graphs: cloudwatch.GraphWidget[] = [];
    for (const spec of alarmSpecs(settings)) {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        metric: metric(spec.metricName, spec.statistic),
        threshold: spec.threshold,
        comparisonOperator: spec.comparisonOperator,
        evaluationPeriods: settings.evaluationPeriods,
        datapointsToAlarm: settings.evaluationPeriods,
        treatMissingData: spec.treatMissingData,
        alarmDescription: spec.description,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms[spec.metricName] = alarm;
      graphs.push(
        new cloudwatch.GraphWidget({
          title: spec.metricName,
          left: [alarm.metric],
          leftAnnotations: [alarm.toAnnotation()],
          width: 8,
        }),
      );
    }
    this.alarms = alarms;

    new rds.CfnEventSubscription(this, 'InstanceEvents', {
      snsTopicArn: topic.topicArn,
      sourceType: 'db-instance',
      sourceIds: [instance.instanceIdentifier],
      eventCategories: props.eventCategories ?? ['failure', 'failover', 'low storage'],
      enabled: true,
    });

    if (props.createDashboard ?? true) {
      this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
        dashboardName: props.dashboardName ?? `${Stack.of(this).stackName}-cdc`,
        widgets: [
          [
            new cloudwatch.AlarmStatusWidget({
              title: 'CDC alarms',
              alarms: Object.values(alarms),
              width: 24,
            }),
          ],
          graphs,
        ],
      });
    }
  }
}

function alarmSettings(props: CdcMonitoringProps): AlarmSettings {
  return {
    allocatedStorageGiB: props.allocatedStorageGiB,
    oldestReplicationSlotLagBytes: props.oldestReplicationSlotLagBytes ?? GIB,
    replicationSlotDiskUsageBytes: props.replicationSlotDiskUsageBytes ?? 2 * GIB,
    transactionLogsDiskUsageBytes: props.transactionLogsDiskUsageBytes ?? 4 * GIB,
    freeStorageFraction: props.freeStorageFraction ?? 0.2,
    cpuPercent: props.cpuPercent ?? 80,
    period: props.period ?? Duration.minutes(5),
    evaluationPeriods: props.evaluationPeriods ?? 3,
  };
}

function alarmSpecs(settings: AlarmSettings): AlarmSpec[] {
  const { allocatedStorageGiB } = settings;
  const minutes = settings.period.toMinutes() * settings.evaluationPeriods;
  const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
  const gib = (value: number) => `${(value / GIB).toFixed(2)} GiB`;
  return [
    {
      id: 'ReplicationSlotLagAlarm',
      metricName: 'OldestReplicationSlotLag',
      statistic: cloudwatch.Stats.MAXIMUM,
      threshold: settings.oldestReplicationSlotLagBytes,
      comparisonOperator: above,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description:
        `The oldest replication slot lags more than ${gib(settings.oldestReplicationSlotLagBytes)} for ${minutes} min: ` +
        'Airbyte is not consuming it. Check the connection in Airbyte; if the slot is abandoned, drop it ' +
        '(SELECT pg_drop_replication_slot(...)) before WAL fills the disk.',
    },
    {
      id: 'ReplicationSlotDiskUsageAlarm',
      metricName: 'ReplicationSlotDiskUsage',
      statistic: cloudwatch.Stats.MAXIMUM,
      threshold: settings.replicationSlotDiskUsageBytes,
      comparisonOperator: above,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      description:
        `Replication slots hold more than ${gib(settings.replicationSlotDiskUsageBytes)} of WAL for ${minutes} min. ` +
        'Find the slot in pg_replication_slots (inactive, old restart_lsn) and resume or drop its consumer.',
    },
    {
      id: 'TransactionLogsDiskUsageAlarm',
      metricName: 'TransactionLogsDiskUsage',
      statistic: cloudwatch.Stats.MAXIMUM,
      threshold: settings.transactionLogsDiskUsageBytes,
      comparisonOperator: above,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      description:
        `WAL on disk exceeds ${gib(settings.transactionLogsDiskUsageBytes)} for ${minutes} min. ` +
        'Usually a stalled replication slot: see the ReplicationSlotDiskUsage alarm and pg_replication_slots.',
    },
    {
      id: 'FreeStorageSpaceAlarm',
      metricName: 'FreeStorageSpace',
      statistic: cloudwatch.Stats.MINIMUM,
      threshold: Math.round(settings.freeStorageFraction * allocatedStorageGiB * GIB),
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      description:
        `Free storage below ${Math.round(settings.freeStorageFraction * 100)} % of the ${allocatedStorageGiB} GiB allocated ` +
        `for ${minutes} min. Check WAL held by replication slots first, then table growth.`,
    },
    {
      id: 'CpuUtilizationAlarm',
      metricName: 'CPUUtilization',
      statistic: cloudwatch.Stats.AVERAGE,
      threshold: settings.cpuPercent,
      comparisonOperator: above,
      treatMissingData: cloudwatch.TreatMissingData.MISSING,
      description: `CPU above ${settings.cpuPercent} % for ${minutes} min. Check pg_stat_activity and Performance Insights.`,
    },
  ];
}
