import { readFileSync } from 'fs';
import * as path from 'path';
import {
  CfnElement,
  CfnOutput,
  CustomResource,
  Duration,
  RemovalPolicy,
  SecretValue,
  Stack,
  Validations,
} from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct, type IDependable } from 'constructs';
import { HandlerFunction } from './handler-function';
import type { AirbyteSettings, ReplicationTarget } from '../src/airbyte/settings';
import {
  AIRBYTE_RESOURCE_TYPE,
  type AirbyteResourceProperties,
} from '../src/contract/airbyte-connection';
import { AirbyteStackOutputs } from '../src/contract/outputs';

/** Where `airbyte.caCertificateFile` is resolved from. */
const PROJECT_ROOT = path.join(__dirname, '..');

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
  /** The environment's Airbyte settings, defaults resolved. */
  readonly settings: AirbyteSettings;
  /** Schema, tables, slot and publication the source reads. */
  readonly replication: ReplicationTarget;
  /** Database host name Airbyte connects to. */
  readonly host: string;
  /** Database port (a token is fine). */
  readonly port: string;
  /** Database (dbname) holding the replicated schema. */
  readonly databaseName: string;
  /** The replication user's secret: the source logs in with it. Only its ARN reaches the function. */
  readonly replicationUserSecret: secretsmanager.ISecret;
  /**
   * What must exist before Airbyte is told about the database, typically the replication setup
   * custom resource (user, publication and slot). Default: none.
   */
  readonly dependsOn?: IDependable[];
  /** What `cdk destroy` does to the S3 bucket: `destroy` empties and deletes it. Default: retain. */
  readonly bucketRemovalPolicy?: 'destroy' | 'snapshot' | 'retain';
  /** What happens to the function's log groups on `cdk destroy`. Default: RemovalPolicy.RETAIN. */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * The VPC and subnets for the function when `airbyte.runInVpc` is set (required then). The
   * subnets need a path to Secrets Manager: give the function to the VPC endpoints' security
   * groups (CdcNetwork.allowEndpointAccessFrom). Default: none.
   */
  readonly vpc?: ec2.IVpc;
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
        this.bucket = this.createBucket(props.bucketRemovalPolicy ?? 'retain');
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
      const { resource, handler } = this.createCustomResource(props, bucketName);
      this.resource = resource;
      this.handler = handler;
    }
  }

  private createBucket(removal: 'destroy' | 'snapshot' | 'retain'): s3.Bucket {
    const destroy = removal === 'destroy';
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
    Validations.of(bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would need a second bucket per environment; writes come from one IAM principal (Airbyte) and CloudTrail data events can audit them where required.',
    });
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
    Validations.of(policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${this.nagArn(prefixArn)}]`,
      reason: `Airbyte names its files itself; the wildcard is limited to the destination prefix ${bucketPath}/.`,
    });
    Validations.of(secret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'An IAM access key cannot be rotated by Secrets Manager alone (the key must be replaced in IAM and in Airbyte); replace the WriterAccessKey and redeploy to rotate.',
    });
    return secret;
  }

  /**
   * Where the function runs: nowhere in particular by default, or in the VPC with a security
   * group that may only open connections to Airbyte's port (AWS endpoints are added by the stack).
   */
  private functionNetwork(props: AirbyteConnectionProps): {
    vpc?: ec2.IVpc;
    vpcSubnets?: ec2.SubnetSelection;
    securityGroups?: ec2.ISecurityGroup[];
  } {
    if (!props.settings.runInVpc) return {};
    if (!props.vpc) {
      throw new Error(
        'AirbyteConnection: airbyte.runInVpc is set but no vpc was given (a bug in the stack)',
      );
    }
    const url = new URL(props.settings.apiUrl!);
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

  /** The logical id a construct's CloudFormation resource gets (stable: derived from its path). */
  private logicalIdOf(construct: Construct): string {
    return Stack.of(this).resolve((construct.node.defaultChild as CfnElement).logicalId) as string;
  }

  /**
   * An ARN as cdk-nag prints it in a finding id: the partition as `<AWS::Partition>`, a
   * referenced resource as `<LogicalId>`.
   */
  private nagArn(arn: string): string {
    const resolved = Stack.of(this).resolve(arn) as unknown;
    const parts: unknown[] =
      typeof resolved === 'string'
        ? [resolved]
        : ((resolved as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1] ?? []);
    return parts
      .map((part) => {
        if (typeof part === 'string') return part;
        const record = part as Record<string, unknown>;
        if (typeof record.Ref === 'string') return `<${record.Ref}>`;
        const getAtt = record['Fn::GetAtt'] as [string, string] | undefined;
        return getAtt ? `<${getAtt[0]}.${getAtt[1]}>` : JSON.stringify(part);
      })
      .join('');
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

  private createCustomResource(props: AirbyteConnectionProps, bucketName: string | undefined) {
    const { settings } = props;
    const logRemovalPolicy = props.logRemovalPolicy ?? RemovalPolicy.RETAIN;
    // Validated by config: apiUrl implies workspaceId and credentialsSecret.
    const credentials = this.credentialsSecret(settings.credentialsSecret!);

    const network = this.functionNetwork(props);
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
    const caCertificate =
      settings.sslMode === 'verify-full' && settings.caCertificateFile
        ? readFileSync(path.resolve(PROJECT_ROOT, settings.caCertificateFile), 'utf8')
        : undefined;
    const properties: AirbyteResourceProperties = {
      ApiUrl: settings.apiUrl!,
      WorkspaceId: settings.workspaceId!,
      CredentialsSecretId: credentials.secretArn,
      ReplicationUserSecretArn: props.replicationUserSecret.secretArn,
      Host: props.host,
      Port: props.port,
      Database: props.databaseName,
      Settings: JSON.stringify(settings),
      Replication: JSON.stringify(props.replication),
      ...(destination.type === 's3' && bucketName
        ? { S3BucketName: bucketName, S3Region: destination.region ?? Stack.of(this).region }
        : {}),
      ...(this.accessKeySecret ? { S3AccessKeySecretArn: this.accessKeySecret.secretArn } : {}),
      ...(caCertificate ? { CaCertificate: caCertificate } : {}),
    };
    const resource = new CustomResource(this, 'Resource', {
      serviceToken: provider.serviceToken,
      resourceType: AIRBYTE_RESOURCE_TYPE,
      properties,
    });
    for (const dependency of props.dependsOn ?? []) resource.node.addDependency(dependency);

    Validations.of(handler).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'AWS-managed minimum for a function: write its logs.',
    });
    if (network.vpc) {
      Validations.of(handler).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
        reason:
          'AWS-managed minimum for a function in a VPC: create and delete its network interfaces.',
      });
    }
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The CDK Provider framework functions only write their logs.',
    });
    Validations.of(provider).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${this.logicalIdOf(handler)}.Arn>:*]`,
      reason:
        'The Provider framework may invoke any version of its own handler function (ARN with :*), nothing else.',
    });
    return { resource, handler };
  }
}
