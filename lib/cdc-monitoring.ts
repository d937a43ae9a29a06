import { CfnOutput, Duration, RemovalPolicy, Stack, Token, Tokenization } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { constructError } from './construct-error';
import { resolveDatabaseTarget, type CdcDatabaseTarget } from './database-target';
import {
  DEFAULT_EVENT_CATEGORIES,
  DEFAULT_FREE_LOCAL_STORAGE_BYTES,
  eventCategoryIssues,
} from '../src/config/monitoring';
import type { DatabaseKind } from '../src/contract/database';
import { ALARM_TOPIC_OUTPUT } from '../src/contract/outputs';

const GIB = 1024 ** 3;

/** Services that publish to the alarm topic: CloudWatch alarms and RDS event notifications. */
const PUBLISHING_SERVICES = ['cloudwatch.amazonaws.com', 'events.rds.amazonaws.com'];

export interface CdcMonitoringProps {
  /**
   * The database whose metrics and events are watched: an RDS instance (its own metrics), or an
   * Aurora cluster (the metrics of whichever instance is its writer, so a failover keeps the
   * alarms valid).
   */
  readonly database: CdcDatabaseTarget;
  /**
   * RDS instance only: the storage allocated to it in GiB, a number or a token (an existing
   * instance's storage looked up at deploy time). The free-storage alarm fires below
   * `freeStorageFraction` of it. Not allowed for an Aurora cluster, whose volume grows by itself.
   *
   * @default - no free-storage alarm
   */
  readonly allocatedStorageGiB?: number;
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
   * RDS instance only: alarm when `FreeStorageSpace` falls below this fraction of
   * `allocatedStorageGiB`. Storage autoscaling only starts at 10 % free, so the default warns
   * first.
   *
   * @default - 0.2
   */
  readonly freeStorageFraction?: number;
  /**
   * Aurora cluster only (ignored for an instance): alarm when the writer's `FreeLocalStorage`
   * falls below this many bytes. Its local disk holds temporary files, logical decoding's spill
   * files and logs, and is fixed by the instance class.
   *
   * @default - 2 GiB
   */
  readonly freeLocalStorageBytes?: number;
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
   * RDS event categories of the database forwarded to the topic: DB instance categories for an
   * instance, DB cluster categories for a cluster (see RDS_INSTANCE_EVENT_CATEGORIES and
   * RDS_CLUSTER_EVENT_CATEGORIES).
   *
   * @default - `failure`, `failover`, `low storage` for an instance; `failure`, `failover` for a cluster
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
  readonly kind: DatabaseKind;
  /** Undefined: no free-storage alarm (a cluster, or an instance of unknown storage). */
  readonly allocatedStorageGiB?: number;
  readonly oldestReplicationSlotLagBytes: number;
  readonly replicationSlotDiskUsageBytes: number;
  readonly transactionLogsDiskUsageBytes: number;
  readonly freeStorageFraction: number;
  readonly freeLocalStorageBytes: number;
  readonly cpuPercent: number;
  readonly period: Duration;
  readonly evaluationPeriods: number;
}

/** One alarm this construct creates, for the dashboard and for tests. */
interface AlarmSpec {
  readonly id: string;
  readonly metricName: string;
  readonly statistic: string;
  /**
   * Alarm on `metric / denominator` instead of the metric itself: free storage as a fraction of
   * an allocation known only at deploy time (a token), which CloudWatch's metric math divides.
   */
  readonly denominator?: string;
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
 * Alarms, notifications and a dashboard for an RDS for PostgreSQL instance or an Aurora
 * PostgreSQL cluster that feeds CDC: the most common CDC incident is a replication slot that
 * stops advancing and fills the disk with WAL, so slot lag, WAL on disk and free storage each get
 * an alarm, next to CPU and the RDS failure and failover events. On Aurora the alarms watch the
 * writer (dimensions `DBClusterIdentifier` and `Role=WRITER`: the slot lives on the writer, and
 * the metrics follow a failover), free storage is the writer's local storage (the cluster volume
 * grows by itself and publishes no `FreeStorageSpace`), and the events are the cluster's.
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
    const database = resolveDatabaseTarget(this, props.database);
    const { allocatedStorageGiB } = props;
    if (allocatedStorageGiB !== undefined) {
      if (database.kind === 'cluster') {
        throw constructError(
          this,
          'allocatedStorageGiB applies to an RDS instance only: an Aurora cluster volume grows by itself (its free local storage is watched instead, see freeLocalStorageBytes)',
        );
      }
      if (!Token.isUnresolved(allocatedStorageGiB) && !(allocatedStorageGiB > 0)) {
        throw constructError(
          this,
          `allocatedStorageGiB must be a positive number, got ${allocatedStorageGiB}`,
        );
      }
    }
    const eventCategories = props.eventCategories ?? [...DEFAULT_EVENT_CATEGORIES[database.kind]];
    const categoryIssues = eventCategoryIssues(database.kind, eventCategories);
    if (categoryIssues.length > 0) {
      throw constructError(
        this,
        `eventCategories: ${categoryIssues.map((issue) => issue.message).join('; ')}`,
      );
    }
    const settings = alarmSettings(props, database.kind);

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

    // Aurora publishes every instance metric per role too: the writer's follow a failover.
    const dimensionsMap: Record<string, string> =
      database.kind === 'cluster'
        ? { DBClusterIdentifier: database.identifier, Role: 'WRITER' }
        : { DBInstanceIdentifier: database.identifier };
    const metric = (spec: AlarmSpec): cloudwatch.IMetric => {
      const raw = new cloudwatch.Metric({
        namespace: 'AWS/RDS',
        metricName: spec.metricName,
        dimensionsMap,
        statistic: spec.statistic,
        period: settings.period,
      });
      if (spec.denominator === undefined) return raw;
      const variable = spec.metricName.charAt(0).toLowerCase() + spec.metricName.slice(1);
      return new cloudwatch.MathExpression({
        expression: `${variable} / (${spec.denominator})`,
        usingMetrics: { [variable]: raw },
        label: `${spec.metricName} (fraction of allocated)`,
        period: settings.period,
      });
    };
    const action = new cloudwatchActions.SnsAction(topic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    const graphs: cloudwatch.GraphWidget[] = [];
    for (const spec of alarmSpecs(settings)) {
      const alarm = new cloudwatch.Alarm(this, spec.id, {
        metric: metric(spec),
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

    const cluster = database.kind === 'cluster';
    new rds.CfnEventSubscription(this, cluster ? 'ClusterEvents' : 'InstanceEvents', {
      snsTopicArn: topic.topicArn,
      sourceType: cluster ? 'db-cluster' : 'db-instance',
      sourceIds: [database.identifier],
      eventCategories,
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

function alarmSettings(props: CdcMonitoringProps, kind: DatabaseKind): AlarmSettings {
  return {
    kind,
    allocatedStorageGiB: props.allocatedStorageGiB,
    oldestReplicationSlotLagBytes: props.oldestReplicationSlotLagBytes ?? GIB,
    replicationSlotDiskUsageBytes: props.replicationSlotDiskUsageBytes ?? 2 * GIB,
    transactionLogsDiskUsageBytes: props.transactionLogsDiskUsageBytes ?? 4 * GIB,
    freeStorageFraction: props.freeStorageFraction ?? 0.2,
    freeLocalStorageBytes: props.freeLocalStorageBytes ?? DEFAULT_FREE_LOCAL_STORAGE_BYTES,
    cpuPercent: props.cpuPercent ?? 80,
    period: props.period ?? Duration.minutes(5),
    evaluationPeriods: props.evaluationPeriods ?? 3,
  };
}

/**
 * The free-storage alarm: of an instance, `FreeStorageSpace` against its allocation (a fixed
 * threshold in bytes when the allocation is known at synth, metric math against the token when
 * it is looked up at deploy); of a cluster, the writer's `FreeLocalStorage`; none for an instance
 * of unknown allocation.
 */
function freeStorageSpec(settings: AlarmSettings, minutes: number): AlarmSpec[] {
  const { allocatedStorageGiB, freeStorageFraction } = settings;
  const below = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;
  if (settings.kind === 'cluster') {
    return [
      {
        id: 'FreeLocalStorageAlarm',
        metricName: 'FreeLocalStorage',
        statistic: cloudwatch.Stats.MINIMUM,
        threshold: settings.freeLocalStorageBytes,
        comparisonOperator: below,
        treatMissingData: cloudwatch.TreatMissingData.MISSING,
        description:
          `The writer's free local storage is below ${gib(settings.freeLocalStorageBytes)} for ${minutes} min. ` +
          'It holds temporary files, the spill files of large transactions decoded for the slot, and logs: ' +
          'check ReplicationSlotDiskUsage and pg_stat_database.temp_bytes, then consider a larger instance class.',
      },
    ];
  }
  if (allocatedStorageGiB === undefined) return [];
  const percent = `${Math.round(freeStorageFraction * 100)} %`;
  const spec = {
    id: 'FreeStorageSpaceAlarm',
    metricName: 'FreeStorageSpace',
    statistic: cloudwatch.Stats.MINIMUM,
    comparisonOperator: below,
    treatMissingData: cloudwatch.TreatMissingData.MISSING,
  };
  if (Token.isUnresolved(allocatedStorageGiB)) {
    // CloudFormation resolves the token inside the expression string.
    const allocated = Tokenization.stringifyNumber(allocatedStorageGiB);
    return [
      {
        ...spec,
        denominator: `${allocated} * ${GIB}`,
        threshold: freeStorageFraction,
        description:
          `Free storage below ${percent} of the ${allocated} GiB allocated for ${minutes} min. ` +
          'Check WAL held by replication slots first, then table growth.',
      },
    ];
  }
  return [
    {
      ...spec,
      threshold: Math.round(freeStorageFraction * allocatedStorageGiB * GIB),
      description:
        `Free storage below ${percent} of the ${allocatedStorageGiB} GiB allocated ` +
        `for ${minutes} min. Check WAL held by replication slots first, then table growth.`,
    },
  ];
}

const gib = (value: number) => `${(value / GIB).toFixed(2)} GiB`;

function alarmSpecs(settings: AlarmSettings): AlarmSpec[] {
  const minutes = settings.period.toMinutes() * settings.evaluationPeriods;
  const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
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
    ...freeStorageSpec(settings, minutes),
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
