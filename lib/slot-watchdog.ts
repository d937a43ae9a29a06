import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { constructError } from './construct-error';
import { resolveDatabaseTarget, type CdcDatabaseTarget } from './database-target';
import { HandlerFunction } from './handler-function';
import {
  acknowledgeFinding,
  acknowledgeVpcFunctionManagedPolicies,
  wildcardResourceFinding,
} from './nag-findings';
import {
  CONNECTION_ALARM_RULE,
  DEFAULT_SLOT_THRESHOLDS,
  ENVIRONMENT_DIMENSION,
  NOT_REPORTING_ALARM_RULE,
  SLOT_ALARM_RULES,
  WATCHDOG_NAMESPACE,
  WATCHDOG_VARIABLES,
  type AlarmComparison,
  type AlarmMissingData,
  type AlarmStatistic,
  type SlotThresholds,
  type WatchdogAlarmRule,
} from '../src/watchdog';

/**
 * Every alarm the watchdog can have: the slot rules, the one on its own connection and the one
 * on its silence.
 */
const WATCHDOG_ALARM_RULES = [
  ...SLOT_ALARM_RULES,
  CONNECTION_ALARM_RULE,
  NOT_REPORTING_ALARM_RULE,
] as const;

/** The id of one of the watchdog's alarms, e.g. `safe-wal-size-low`. */
export type WatchdogAlarmId = (typeof WATCHDOG_ALARM_RULES)[number]['id'];

export interface SlotWatchdogProps {
  /**
   * The RDS instance or Aurora cluster whose slot is watched (on a cluster, through its writer
   * endpoint); the function is admitted to its port.
   */
  readonly database: CdcDatabaseTarget;
  /** The database (dbname) the slot belongs to. */
  readonly databaseName: string;
  /** The logical replication slot to watch. */
  readonly slotName: string;
  /**
   * Secret (username, password) the function logs in with. It needs LOGIN only: the statement
   * reads catalog views any role may read.
   */
  readonly loginSecret: secretsmanager.ISecret;
  /** Value of the metrics' `Environment` dimension, e.g. `dev`. */
  readonly environmentName: string;
  /** The VPC of the database; the function runs in it. */
  readonly vpc: ec2.IVpc;
  /** Subnets for the function (those the database admits connections from). */
  readonly vpcSubnets: ec2.SubnetSelection;
  /**
   * `max_slot_wal_keep_size` in bytes: the safe-WAL-size alarm fires below
   * `safeWalSizeFraction` of it.
   *
   * @default - unlimited: no safe-WAL-size alarm (PostgreSQL never invalidates for WAL)
   */
  readonly maxSlotWalKeepSizeBytes?: number;
  /**
   * Alarm when `SlotSafeWalSizeBytes` falls below this fraction of `maxSlotWalKeepSizeBytes`.
   *
   * @default - DEFAULT_SLOT_THRESHOLDS.safeWalSizeFraction (0.5)
   */
  readonly safeWalSizeFraction?: number;
  /**
   * Alarm when no consumer has streamed the slot for longer than this.
   *
   * @default - DEFAULT_SLOT_THRESHOLDS.maxInactiveSeconds (3 hours)
   */
  readonly maxInactive?: Duration;
  /**
   * Time between two runs, and the period of the alarms (whole minutes).
   *
   * @default - Duration.minutes(1)
   */
  readonly schedule?: Duration;
  /**
   * Consecutive breaching runs before an alarm fires: one late run or one dropped connection
   * does not page anyone.
   *
   * @default - 3
   */
  readonly evaluationPeriods?: number;
  /**
   * Topic the alarms notify on ALARM and on OK.
   *
   * @default - no notification
   */
  readonly alarmTopic?: sns.ITopic;
  /**
   * Dashboard to add the watchdog's alarms and metrics to.
   *
   * @default - no widgets
   */
  readonly dashboard?: cloudwatch.Dashboard;
  /**
   * CloudWatch namespace of the metrics; the function may publish to this one only.
   *
   * @default - WATCHDOG_NAMESPACE (`RdsAirbyteCdc`)
   */
  readonly namespace?: string;
  /**
   * What happens to the function's log group on `cdk destroy`.
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * The slot watchdog (docs/slot-watchdog.md): a function run on a schedule in the database's
 * subnets that reads the slot's `pg_replication_slots` row and publishes how close it is to
 * invalidation, and the alarms on those metrics, built from the same rules as the doctor's
 * verdicts (SLOT_ALARM_RULES), with those on the watchdog itself (CONNECTION_ALARM_RULE,
 * NOT_REPORTING_ALARM_RULE).
 */
export class SlotWatchdog extends Construct {
  /** The function that reads the slot and publishes the metrics. */
  public readonly handler: HandlerFunction;
  /** The schedule that runs it. */
  public readonly rule: events.Rule;
  /** The alarms by rule id; a rule whose threshold does not apply (no limit) has none. */
  public readonly alarms: Readonly<Partial<Record<WatchdogAlarmId, cloudwatch.Alarm>>>;

  constructor(scope: Construct, id: string, props: SlotWatchdogProps) {
    super(scope, id);
    const schedule = props.schedule ?? Duration.minutes(1);
    const namespace = props.namespace ?? WATCHDOG_NAMESPACE;
    const thresholds: SlotThresholds = {
      safeWalSizeFraction: props.safeWalSizeFraction ?? DEFAULT_SLOT_THRESHOLDS.safeWalSizeFraction,
      maxSlotWalKeepSizeBytes: props.maxSlotWalKeepSizeBytes ?? null,
      maxInactiveSeconds:
        props.maxInactive?.toSeconds() ?? DEFAULT_SLOT_THRESHOLDS.maxInactiveSeconds,
    };
    const fraction = thresholds.safeWalSizeFraction;
    if (!(fraction > 0 && fraction < 1)) {
      throw constructError(this, `safeWalSizeFraction must be between 0 and 1, got ${fraction}`);
    }

    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'Slot watchdog function: egress to PostgreSQL and the AWS API endpoints only',
      allowAllOutbound: false,
    });
    const database = resolveDatabaseTarget(this, props.database);
    database.connections.allowDefaultPortFrom(securityGroup, 'Slot watchdog function');

    // Every variable the function reads (the compiler checks none is left out), as tokens.
    const variables: Record<keyof typeof WATCHDOG_VARIABLES, string> = {
      host: database.hostname,
      port: database.port,
      database: props.databaseName,
      slotName: props.slotName,
      secretArn: props.loginSecret.secretArn,
      environment: props.environmentName,
      namespace,
    };
    const environment: Record<string, string> = {};
    for (const key of Object.keys(variables) as (keyof typeof WATCHDOG_VARIABLES)[]) {
      environment[WATCHDOG_VARIABLES[key]] = variables[key];
    }
    this.handler = new HandlerFunction(this, 'Function', {
      handlerDirectory: 'slot-watchdog',
      handler: 'handler',
      description: `Publishes the health of replication slot ${props.slotName} to CloudWatch`,
      // The client gives up within seconds (5 s connect, 5 s statement, 8 s query): this only
      // ends a run that hangs elsewhere, well before the next one.
      timeout: Duration.seconds(30),
      logRemovalPolicy: props.logRemovalPolicy,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: [securityGroup],
      environment,
      trustsRdsCertificates: true,
    });
    // A failed run is not retried: it would read the same state, and the next run is due anyway.
    this.handler.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: Duration.minutes(1) });
    props.loginSecret.grantRead(this.handler);
    this.handler.addToRolePolicy(
      new iam.PolicyStatement({
        // PutMetricData has no resource type: the namespace condition is what limits it.
        actions: ['cloudwatch:PutMetricData'],
        resources: ['*'],
        conditions: { StringEquals: { 'cloudwatch:namespace': namespace } },
      }),
    );

    this.rule = new events.Rule(this, 'Schedule', {
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.handler, { retryAttempts: 0 })],
    });

    this.alarms = this.createAlarms(props, thresholds, schedule, namespace);
    if (props.dashboard) this.addWidgets(props.dashboard);
    this.acknowledgeNagFindings();
  }

  private createAlarms(
    props: SlotWatchdogProps,
    thresholds: SlotThresholds,
    period: Duration,
    namespace: string,
  ): Partial<Record<WatchdogAlarmId, cloudwatch.Alarm>> {
    const evaluationPeriods = props.evaluationPeriods ?? 3;
    const action = props.alarmTopic && new cloudwatchActions.SnsAction(props.alarmTopic);
    const alarms: Partial<Record<WatchdogAlarmId, cloudwatch.Alarm>> = {};
    for (const rule of WATCHDOG_ALARM_RULES as readonly WatchdogAlarmRule<WatchdogAlarmId>[]) {
      const threshold = rule.threshold(thresholds);
      if (threshold === undefined) continue;
      const statistic = rule.statistic ?? WORST_STATISTIC_OF[rule.comparison];
      const runs = Math.max(
        evaluationPeriods,
        Math.ceil((rule.minimumBreachMinutes ?? 0) / period.toMinutes()),
      );
      const alarm = new cloudwatch.Alarm(this, `${pascalCase(rule.id)}Alarm`, {
        metric: new cloudwatch.Metric({
          namespace,
          metricName: rule.metric,
          dimensionsMap: { [ENVIRONMENT_DIMENSION]: props.environmentName },
          statistic,
          period,
        }),
        threshold,
        comparisonOperator: COMPARISON_OPERATOR_OF[rule.comparison],
        evaluationPeriods: runs,
        datapointsToAlarm: runs,
        // The watchdog leaves a metric out exactly when its question has no answer (no slot, an
        // unlimited keep size, before PostgreSQL 17), so missing data is no breach; except for
        // the rule on the watchdog's silence, where it is the breach, and an unreachable
        // database is WatchdogConnectionFailed.
        treatMissingData: TREAT_MISSING_DATA_OF[rule.treatMissingData ?? 'notBreaching'],
        alarmDescription: `Slot watchdog (${rule.id}): ${statistic} of ${rule.metric} ${rule.comparison === 'LessThanThreshold' ? '<' : '>'} ${threshold} for ${runs} runs${rule.treatMissingData === 'breaching' ? ', no data counting as a breach' : ''}. See docs/slot-watchdog.md.`,
      });
      if (action) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
      alarms[rule.id] = alarm;
    }
    return alarms;
  }

  private addWidgets(dashboard: cloudwatch.Dashboard): void {
    const alarms = Object.values(this.alarms);
    dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Slot watchdog alarms', alarms, width: 24 }),
    );
    dashboard.addWidgets(
      ...alarms.map(
        (alarm) =>
          new cloudwatch.GraphWidget({
            // Two alarms watch WatchdogConnectionFailed: the statistic tells their graphs apart.
            title: `${(alarm.metric as cloudwatch.Metric).metricName} (${(alarm.metric as cloudwatch.Metric).statistic})`,
            left: [alarm.metric],
            leftAnnotations: [alarm.toAnnotation()],
            width: 8,
          }),
      ),
    );
  }

  private acknowledgeNagFindings(): void {
    acknowledgeVpcFunctionManagedPolicies(this);
    acknowledgeFinding(
      this,
      wildcardResourceFinding(this, '*'),
      'cloudwatch:PutMetricData has no resource type; the cloudwatch:namespace condition limits it to the watchdog namespace.',
    );
  }
}

/** The worst value of a period, unless a rule names its statistic: the lowest for a lower bound. */
const WORST_STATISTIC_OF: Record<AlarmComparison, AlarmStatistic> = {
  LessThanThreshold: 'Minimum',
  GreaterThanThreshold: 'Maximum',
};

const TREAT_MISSING_DATA_OF: Record<AlarmMissingData, cloudwatch.TreatMissingData> = {
  notBreaching: cloudwatch.TreatMissingData.NOT_BREACHING,
  breaching: cloudwatch.TreatMissingData.BREACHING,
};

const COMPARISON_OPERATOR_OF: Record<AlarmComparison, cloudwatch.ComparisonOperator> = {
  LessThanThreshold: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
  GreaterThanThreshold: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
};

/** `safe-wal-size-low` → `SafeWalSizeLow`, for construct ids. */
function pascalCase(kebab: string): string {
  return kebab.replace(/(^|-)([a-z])/g, (_match, _dash: string, letter: string) =>
    letter.toUpperCase(),
  );
}
