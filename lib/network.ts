import { Annotations, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface CdcNetworkProps {
  /**
   * Import this VPC instead of creating one. Attributes, not a lookup, so that `cdk synth` stays
   * offline. It needs isolated subnets (the database and the functions) with a path to Secrets
   * Manager and RDS (its own interface endpoints or a NAT gateway), and public subnets when
   * `publiclyAccessible` is set.
   *
   * @default - a new VPC with isolated subnets and the Secrets Manager, RDS and CloudWatch interface endpoints
   */
  readonly existingVpc?: ec2.VpcAttributes;
  /**
   * Availability zones of a new VPC (ignored with `existingVpc`).
   *
   * @default - 2
   */
  readonly maxAzs?: number;
  /**
   * Whether the database gets a public address: a new VPC gets public subnets as well, and
   * `databaseSubnets` selects the public ones.
   *
   * @default - false
   */
  readonly publiclyAccessible?: boolean;
  /**
   * What happens to the flow-log group on `cdk destroy`.
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * Where the database and the functions that configure it live: a new VPC with isolated subnets
 * and the interface endpoints a Lambda there needs, or an existing VPC imported by id (no
 * context lookup, so `cdk synth` stays offline).
 */
export class CdcNetwork extends Construct {
  /** The VPC holding the database. */
  public readonly vpc: ec2.IVpc;
  /** Subnets for the database instance: public ones only when it must be publicly accessible. */
  public readonly databaseSubnets: ec2.SubnetSelection;
  /** Subnets for Lambdas that talk to the database (never public). */
  public readonly functionSubnets: ec2.SubnetSelection;
  private readonly endpoints: ec2.InterfaceVpcEndpoint[] = [];

  constructor(scope: Construct, id: string, props: CdcNetworkProps) {
    super(scope, id);
    const publiclyAccessible = props.publiclyAccessible ?? false;
    const isolated: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };
    const publicSubnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PUBLIC };
    this.functionSubnets = isolated;
    this.databaseSubnets = publiclyAccessible ? publicSubnets : isolated;

    if (props.existingVpc) {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', props.existingVpc);
      // CDK warns that the imported subnets have no route table ids; nothing here adds a route.
      Annotations.of(this).acknowledgeWarning(
        '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        'The stack adds no routes to an existing VPC, so it never reads the route table ids.',
      );
      return;
    }

    const subnetConfiguration: ec2.SubnetConfiguration[] = [
      { name: 'Isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 },
    ];
    if (publiclyAccessible) {
      subnetConfiguration.push({ name: 'Public', subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24 });
    }
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogs', {
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
    });
    const vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: props.maxAzs ?? 2,
      // Nothing here calls the internet: the Lambda reaches AWS APIs through endpoints, so a NAT
      // gateway would only add cost and an egress path.
      natGateways: 0,
      subnetConfiguration,
      flowLogs: {
        All: { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup) },
      },
    });
    // The Lambdas run in the isolated subnets and need these AWS APIs: the secrets to log in, RDS
    // to read the parameter group's status (and reboot when allowed), and CloudWatch for the
    // slot watchdog's metrics.
    // Closed by default: only the functions given to allowEndpointAccessFrom may use them.
    this.endpoints.push(
      vpc.addInterfaceEndpoint('SecretsManagerEndpoint', {
        service: ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
        subnets: isolated,
        open: false,
      }),
      vpc.addInterfaceEndpoint('RdsEndpoint', {
        service: ec2.InterfaceVpcEndpointAwsService.RDS,
        subnets: isolated,
        open: false,
      }),
      vpc.addInterfaceEndpoint('CloudWatchMonitoringEndpoint', {
        service: ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
        subnets: isolated,
        open: false,
      }),
    );
    this.vpc = vpc;
  }

  /**
   * Let a function in the VPC call Secrets Manager and RDS: through this network's interface
   * endpoints, or, in an existing VPC, over HTTPS to wherever its owner routes AWS APIs
   * (their endpoints or a NAT gateway).
   */
  public allowEndpointAccessFrom(peer: ec2.IConnectable): void {
    if (this.endpoints.length === 0) {
      peer.connections.allowTo(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs (existing VPC)');
      return;
    }
    for (const endpoint of this.endpoints) endpoint.connections.allowDefaultPortFrom(peer);
  }
}
