import { existsSync } from 'fs';
import * as path from 'path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { LambdaBundleOptions } from './lambda-bundle';
import { LAMBDA_RDS_CA_BUNDLE } from '../src/aws/rds-ca-bundle';

/**
 * Where the package holds the handlers' bundles, one directory per handler: `npm pack` builds
 * them (scripts/build-package.ts) beside the compiled `lib/`, as an installed package has
 * neither the TypeScript sources nor esbuild. The source tree has none: its synth bundles.
 */
export const PREBUILT_BUNDLES_DIR = path.join(__dirname, '..', 'lambda-bundles');

/** The handler's file in a bundle: NodejsFunction's name, which `handler` refers to. */
const BUNDLE_FILE = 'index.js';

/**
 * How a handler is bundled: at synth from the sources, and at pack time into the package, so
 * that both give the same bytes and the same asset hash.
 */
export function handlerBundleOptions(handlerDirectory: string) {
  return {
    entry: `lambda/${handlerDirectory}/index.ts`,
    target: 'node24',
    minify: true,
    // The runtime provides the AWS SDK v3; pg-native is optional in pg and never used.
    externals: ['pg-native', '@aws-sdk/*'],
  } satisfies LambdaBundleOptions;
}

/**
 * The handler's code: the package's prebuilt bundle when there is one, else esbuild at synth.
 * lambda-bundle.ts is loaded only then: it imports esbuild, which the package does not bring.
 */
function handlerCode(handlerDirectory: string): lambda.Code {
  const prebuilt = path.join(PREBUILT_BUNDLES_DIR, handlerDirectory);
  if (existsSync(path.join(prebuilt, BUNDLE_FILE))) return lambda.Code.fromAsset(prebuilt);
  const options = handlerBundleOptions(handlerDirectory);
  const projectRoot = path.join(__dirname, '..');
  if (!existsSync(path.join(projectRoot, options.entry))) {
    throw new Error(
      `No bundle of the ${handlerDirectory} handler in ${prebuilt} and no source to build it from: this copy of rds-airbyte-cdc was packed without its Lambda bundles. Pack it with npm pack, whose prepack script builds them.`,
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand, see above
  const { lambdaBundle } = require('./lambda-bundle') as typeof import('./lambda-bundle');
  return lambdaBundle(options);
}

export interface HandlerFunctionProps {
  /** Directory under `lambda/` holding the handler's `index.ts`. */
  readonly handlerDirectory: string;
  /**
   * Exported function to invoke.
   *
   * @default - `onEvent`
   */
  readonly handler?: string;
  /** What the function does, shown in the console. */
  readonly description: string;
  /** Upper bound of one invocation. */
  readonly timeout: Duration;
  /**
   * What happens to the function's log group on `cdk destroy`.
   *
   * @default - RemovalPolicy.RETAIN
   */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * Run in this VPC.
   *
   * @default - outside any VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets when in a VPC.
   *
   * @default - the VPC's private subnets, as lambda.Function chooses them
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups when in a VPC.
   *
   * @default - a new security group that allows all outbound traffic
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /**
   * Environment variables.
   *
   * @default - none
   */
  readonly environment?: Record<string, string>;
  /**
   * Use this role instead of a new one, for handlers that share their permissions.
   *
   * @default - a new role with the basic (and in a VPC, the VPC access) execution policy
   */
  readonly role?: iam.IRole;
  /**
   * Verify the database's certificate against the Amazon RDS CA bundle the Lambda runtime ships
   * (NODE_EXTRA_CA_CERTS, read with caBundleFromEnvironment).
   *
   * @default - false
   */
  readonly trustsRdsCertificates?: boolean;
}

/**
 * A custom-resource handler from `lambda/<dir>/index.ts`: current Node.js runtime on Graviton,
 * bundled and minified by esbuild with the runtime's own AWS SDK left out (once per synth, and
 * not at all while its inputs are unchanged: lambda-bundle.ts; in the installed package, at
 * pack time), logging to a log group the
 * stack owns (so `cdk destroy` can remove it) with a month's retention.
 */
export class HandlerFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: HandlerFunctionProps) {
    super(scope, id, {
      description: props.description,
      code: handlerCode(props.handlerDirectory),
      handler: `index.${props.handler ?? 'onEvent'}`,
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: props.timeout,
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      securityGroups: props.securityGroups,
      environment: {
        ...props.environment,
        ...(props.trustsRdsCertificates ? { NODE_EXTRA_CA_CERTS: LAMBDA_RDS_CA_BUNDLE } : {}),
      },
      role: props.role,
      logGroup: new logs.LogGroup(scope, `${id}Logs`, {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.RETAIN,
      }),
    });
  }
}
