import {
  CfnOutput,
  CustomResource,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { constructError } from './construct-error';
import { HandlerFunction } from './handler-function';
import { acknowledgeFinding, managedPolicyFinding, wildcardResourceFinding } from './nag-findings';
import { AIRBYTE_UI_RESYNC } from '../src/airbyte/resync';
import type { AirbyteSettings, StreamedPublication } from '../src/airbyte/settings';
import {
  AIRBYTE_RESOURCE_TYPE,
  airbyteReplicationProperty,
  type AirbyteResourceProperties,
  SLOT_GENERATION_OUTPUT,
} from '../src/contract/airbyte-connection';
import { AirbyteStackOutputs } from '../src/contract/outputs';

/**
 * What the Airbyte S3 destination does with the bucket (Airbyte's S3 destination docs): write,
 * read back its own files to check, list, clean up multipart uploads.
 */
const AIRBYTE_S3_OBJECT_ACTIONS = [
  's3:PutObject',
  's3:GetObject',
  's3:DeleteObject',
  's3:AbortMultipartUpload',
  's3:ListMultipartUploadParts',
];
const AIRBYTE_S3_BUCKET_ACTIONS = [
  's3:ListBucket',
  's3:ListBucketMultipartUploads',
  's3:GetBucketLocation',
];

export interface AirbyteConnectionProps {
  /**
   * The environment's Airbyte settings, defaults resolved: what the function creates in Airbyte.
   * One object because it travels as it is, as the custom resource's `Settings` JSON.
   */
  readonly settings: AirbyteSettings;
  /**
   * Schema, tables, slot and publication the source reads; the custom resource's `Replication`
   * JSON.
   */
  readonly replication: StreamedPublication;
  /** Database host name Airbyte connects to. */
  readonly host: string;
  /** Database port (a token is fine). */
  readonly port: string;
  /** Database (dbname) holding the replicated schema. */
  readonly databaseName: string;
  /** The replication user's secret: the source logs in with it. Only its ARN reaches the function. */
  readonly replicationUserSecret: secretsmanager.ISecret;
  /**
   * PEM CA bundle the source verifies the database's certificate with, for `sslMode`
   * `verify-full` (public, not a secret).
   *
   * @default - none: the source trusts the certificate without checking it against a bundle
   */
  readonly caCertificate?: string;
  /**
   * The replication slot's generation (PreUpgradeCheck.slotGeneration), which changes when a
   * deploy recreated the slot. With `apiUrl` the function then starts a resync of the
   * connection; without it the stack outputs it (`ReplicationSlotGeneration`), saying what to
   * click in Airbyte when it changes.
   *
   * @default - no resync is ever started, and no output
   */
  readonly slotGeneration?: string;
  /**
   * What must exist before Airbyte is told about the database, typically the replication setup
   * custom resource (user, publication and slot).
   *
   * @default - none
   */
  readonly dependsOn?: IDependable[];
  /**
   * What `cdk destroy` does to the S3 bucket the construct creates: DESTROY empties and deletes
   * it; anything else keeps it and its data (a bucket has no snapshot).
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly bucketRemovalPolicy?: RemovalPolicy;
  /**
   * What happens to the function's log groups on `cdk destroy`.
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The VPC for the function, required when `settings.runInVpc` is set. The function needs a
   * path to Secrets Manager: give it to the VPC endpoints' security groups
   * (CdcNetwork.allowEndpointAccessFrom).
   *
   * @default - none: the function runs outside any VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the function in `vpc`.
   *
   * @default - the VPC's private subnets, as lambda.Function chooses them
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
}

/**
 * The Airbyte side of the pipeline. With an S3 destination (and no bucket of your own) it creates
 * the bucket and the credentials Airbyte writes with; when `apiUrl` is set it also manages the
 * source, destination and connection with a custom resource that runs after the replication setup.
 */
export class AirbyteConnection extends Construct {
  /** The destination bucket, when the stack creates it. */
  public readonly bucket?: s3.Bucket;
  /** The secret with the access key Airbyte writes to the bucket with (access-key authentication). */
  public readonly accessKeySecret?: secretsmanager.Secret;
  /** The custom resource, when `apiUrl` is set. */
  public readonly resource?: CustomResource;
  /** The function behind the custom resource, when `apiUrl` is set. */
  public readonly handler?: HandlerFunction;

  constructor(scope: Construct, id: string, props: AirbyteConnectionProps) {
    super(scope, id);
    const { settings } = props;
    const destination = settings.destination;
    const stack = Stack.of(this);

    let bucketName: string | undefined;
    if (destination.type === 's3') {
      bucketName = destination.bucketName;
      if (bucketName === undefined) {
        this.bucket = this.createBucket(props.bucketRemovalPolicy ?? RemovalPolicy.RETAIN);
        bucketName = this.bucket.bucketName;
      }
      const bucketArn = stack.formatArn({
        service: 's3',
        region: '',
        account: '',
        resource: bucketName,
      });
      const prefixArn = `${bucketArn}/${destination.bucketPath}/*`;
      if (destination.authentication === 'access-key') {
        this.accessKeySecret = this.createWriterKey(bucketArn, prefixArn, destination.bucketPath);
      } else if (destination.authentication === 'role' && destination.roleArn && this.bucket) {
        const principal = new iam.ArnPrincipal(destination.roleArn);
        this.bucket.addToResourcePolicy(
          new iam.PolicyStatement({
            principals: [principal],
            actions: AIRBYTE_S3_OBJECT_ACTIONS,
            resources: [prefixArn],
          }),
        );
        this.bucket.addToResourcePolicy(
          new iam.PolicyStatement({
            principals: [principal],
            actions: AIRBYTE_S3_BUCKET_ACTIONS,
            resources: [bucketArn],
          }),
        );
      }
      new CfnOutput(stack, AirbyteStackOutputs.bucketName, {
        value: bucketName,
        description: 'Airbyte destination: S3 Bucket Name',
      });
      new CfnOutput(stack, AirbyteStackOutputs.bucketRegion, {
        value: destination.region ?? stack.region,
        description: 'Airbyte destination: S3 Bucket Region',
      });
      if (this.accessKeySecret) {
        new CfnOutput(stack, AirbyteStackOutputs.s3AccessKeySecretArn, {
          value: this.accessKeySecret.secretArn,
          description:
            'Airbyte destination: Access Key ID and Secret Access Key are in this secret',
        });
      }
    }

    if (settings.apiUrl !== undefined) {
      const { resource, handler } = this.createCustomResource(
        props,
        this.managedAirbyte(settings, settings.apiUrl),
        bucketName,
      );
      this.resource = resource;
      this.handler = handler;
    } else if (props.slotGeneration !== undefined) {
      // Nothing here can start the resync: the output tells the person who deploys.
      new CfnOutput(stack, SLOT_GENERATION_OUTPUT, {
        value: props.slotGeneration,
        description: `Replication slot generation. When a deploy changes it, the slot was recreated (a major engine upgrade) and the Airbyte connection must resync, a full copy of every published table: ${AIRBYTE_UI_RESYNC}.`,
      });
    }
  }

  private createBucket(removalPolicy: RemovalPolicy): s3.Bucket {
    const destroy = removalPolicy === RemovalPolicy.DESTROY;
    const bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      // A bucket has no snapshot: anything but destroy keeps it and its data.
      removalPolicy: destroy ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN,
      autoDeleteObjects: destroy,
    });
    acknowledgeFinding(
      bucket,
      'AwsSolutions-S1',
      'Server access logs would need a second bucket per environment; writes come from one IAM principal (Airbyte) and CloudTrail data events can audit them where required.',
    );
    return bucket;
  }

  /**
   * An IAM user that may only write under the destination prefix, and its access key in Secrets
   * Manager. A long-lived key is the one credential every Airbyte (Cloud, abctl, Kubernetes)
   * accepts; the role option is Cloud-only.
   */
  private createWriterKey(
    bucketArn: string,
    prefixArn: string,
    bucketPath: string,
  ): secretsmanager.Secret {
    const user = new iam.User(this, 'WriterUser');
    const policy = new iam.Policy(this, 'WriterPolicy', {
      statements: [
        new iam.PolicyStatement({ actions: AIRBYTE_S3_OBJECT_ACTIONS, resources: [prefixArn] }),
        new iam.PolicyStatement({
          actions: AIRBYTE_S3_BUCKET_ACTIONS,
          resources: [bucketArn],
        }),
      ],
    });
    policy.attachToUser(user);
    const accessKey = new iam.AccessKey(this, 'WriterAccessKey', { user });
    const secret = new secretsmanager.Secret(this, 'WriterAccessKeySecret', {
      description: 'Access key Airbyte writes the CDC data to S3 with',
      secretObjectValue: {
        accessKeyId: SecretValue.unsafePlainText(accessKey.accessKeyId),
        secretAccessKey: accessKey.secretAccessKey,
      },
    });
    acknowledgeFinding(
      policy,
      wildcardResourceFinding(policy, prefixArn),
      `Airbyte names its files itself; the wildcard is limited to the destination prefix ${bucketPath}/.`,
    );
    acknowledgeFinding(
      secret,
      'AwsSolutions-SMG4',
      'An IAM access key cannot be rotated by Secrets Manager alone (the key must be replaced in IAM and in Airbyte); replace the WriterAccessKey and redeploy to rotate.',
    );
    return secret;
  }

  /**
   * What a managed Airbyte needs beside its URL. Validated configuration always has both with
   * `apiUrl`; settings built by hand may not, and the function would only fail at deploy time.
   */
  private managedAirbyte(settings: AirbyteSettings, apiUrl: string): ManagedAirbyte {
    const { workspaceId, credentialsSecret } = settings;
    if (workspaceId === undefined) {
      throw constructError(
        this,
        'airbyte.apiUrl is set but airbyte.workspaceId is not: the source, destination and connection are created in that workspace',
      );
    }
    if (credentialsSecret === undefined) {
      throw constructError(
        this,
        'airbyte.apiUrl is set but airbyte.credentialsSecret is not: the function calls the Airbyte API with those credentials',
      );
    }
    return { apiUrl, workspaceId, credentialsSecret };
  }

  /**
   * Where the function runs: nowhere in particular by default, or in the VPC with a security
   * group that may only open connections to Airbyte's port (AWS endpoints are added by the stack).
   */
  private functionNetwork(
    props: AirbyteConnectionProps,
    apiUrl: string,
  ): {
    vpc?: ec2.IVpc;
    vpcSubnets?: ec2.SubnetSelection;
    securityGroups?: ec2.ISecurityGroup[];
  } {
    if (!props.settings.runInVpc) return {};
    if (!props.vpc) {
      throw constructError(
        this,
        'airbyte.runInVpc is set but no vpc was given: pass the VPC (and subnets) the function runs in',
      );
    }
    const url = new URL(apiUrl);
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: `Airbyte setup function: the Airbyte API (port ${port}) and the AWS API endpoints only`,
      allowAllOutbound: false,
    });
    // Airbyte's address can change (a pod, a load balancer): the port is the boundary.
    securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), 'Airbyte public API');
    return { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: [securityGroup] };
  }

  private credentialsSecret(secretId: string): secretsmanager.ISecret {
    if (!secretId.startsWith('arn:')) {
      return secretsmanager.Secret.fromSecretNameV2(this, 'AirbyteCredentials', secretId);
    }
    // A complete ARN ends with the 6-character suffix Secrets Manager adds to the name.
    return /-[A-Za-z0-9]{6}$/.test(secretId)
      ? secretsmanager.Secret.fromSecretCompleteArn(this, 'AirbyteCredentials', secretId)
      : secretsmanager.Secret.fromSecretPartialArn(this, 'AirbyteCredentials', secretId);
  }

  private createCustomResource(
    props: AirbyteConnectionProps,
    airbyte: ManagedAirbyte,
    bucketName: string | undefined,
  ) {
    const { settings } = props;
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;
    const credentials = this.credentialsSecret(airbyte.credentialsSecret);

    const network = this.functionNetwork(props, airbyte.apiUrl);
    // Outside any VPC (the default) Airbyte Cloud and a public self-managed Airbyte are on the
    // internet and Secrets Manager is reached through its public endpoint; inside, a private
    // Airbyte is reached directly and Secrets Manager through the VPC endpoint.
    const handler = new HandlerFunction(this, 'Function', {
      ...network,
      handlerDirectory: 'airbyte-setup',
      description: 'Creates or updates the Airbyte source, destination and connection',
      // Five retried calls of at most 30 s each per resource fit with room to spare.
      timeout: Duration.minutes(5),
      logRemovalPolicy,
    });
    credentials.grantRead(handler);
    props.replicationUserSecret.grantRead(handler);
    this.accessKeySecret?.grantRead(handler);

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: handler,
      logGroup: new logs.LogGroup(this, 'ProviderLogs', {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: logRemovalPolicy,
      }),
    });

    const destination = settings.destination;
    const properties: AirbyteResourceProperties = {
      ApiUrl: airbyte.apiUrl,
      WorkspaceId: airbyte.workspaceId,
      CredentialsSecretId: credentials.secretArn,
      ReplicationUserSecretArn: props.replicationUserSecret.secretArn,
      Host: props.host,
      Port: props.port,
      Database: props.databaseName,
      Settings: JSON.stringify(settings),
      Replication: JSON.stringify(airbyteReplicationProperty(props.replication)),
      ...(destination.type === 's3' && bucketName
        ? { S3BucketName: bucketName, S3Region: destination.region ?? Stack.of(this).region }
        : {}),
      ...(this.accessKeySecret ? { S3AccessKeySecretArn: this.accessKeySecret.secretArn } : {}),
      ...(props.caCertificate ? { CaCertificate: props.caCertificate } : {}),
      ...(props.slotGeneration !== undefined ? { SlotGeneration: props.slotGeneration } : {}),
    };
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: AIRBYTE_RESOURCE_TYPE,
      properties,
    });
    for (const dependency of props.dependsOn ?? []) resource.node.addDependency(dependency);

    const basicExecutionRole = managedPolicyFinding(
      this,
      'service-role/AWSLambdaBasicExecutionRole',
    );
    acknowledgeFinding(
      handler,
      basicExecutionRole,
      'AWS-managed minimum for a function: write its logs.',
    );
    if (network.vpc) {
      acknowledgeFinding(
        handler,
        managedPolicyFinding(this, 'service-role/AWSLambdaVPCAccessExecutionRole'),
        'AWS-managed minimum for a function in a VPC: create and delete its network interfaces.',
      );
    }
    acknowledgeFinding(
      provider,
      basicExecutionRole,
      'The CDK Provider framework functions only write their logs.',
    );
    acknowledgeFinding(
      provider,
      wildcardResourceFinding(this, `${handler.functionArn}:*`),
      'The Provider framework may invoke any version of its own handler function (ARN with :*), nothing else.',
    );
    return { resource, handler };
  }
}

/** The Airbyte API the custom resource manages the source, destination and connection through. */
interface ManagedAirbyte {
  readonly apiUrl: string;
  readonly workspaceId: string;
  readonly credentialsSecret: string;
}
