import { join } from "node:path";
import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as nodejs from "aws-cdk-lib/aws-lambda-nodejs";
import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import { LAMBDA_BUNDLING, LAMBDA_NODE_OPTIONS } from "../lambda-bundling.ts";
import { REPO_ROOT } from "../paths.ts";

export interface ByomFunctionProps {
  /** The handler module, relative to the repository root (a route's `handler`); it exports `handler`. */
  readonly entry: string;
  readonly description?: string;
  /** @default 10 */
  readonly timeoutSeconds?: number;
  /** @default 512 */
  readonly memoryMb?: number;
  /** @default {} */
  readonly environment?: Readonly<Record<string, string>>;
  /** Active X-Ray tracing. @default false */
  readonly tracing?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** What happens to the log group when the stack is deleted. @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
  /**
   * A log group shared with sibling functions (Lambda names each stream after its function, so
   * records stay attributable). Saves one resource per function in a stack near CloudFormation's
   * 500-resource limit. @default a log group of its own
   */
  readonly logGroup?: logs.ILogGroup;
  /** Run inside this VPC (for EFS or private endpoints). @default not in a VPC */
  readonly vpc?: ec2.IVpc;
  /** @default the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** @default a new security group (only with `vpc`) */
  readonly securityGroups?: ec2.ISecurityGroup[];
  /** An EFS access point mounted under /mnt (requires `vpc`). @default none */
  readonly filesystem?: lambda.FileSystem;
  /** Reserved (and at the same time maximum) concurrent executions. @default none: the account's pool */
  readonly reservedConcurrency?: number;
}

/**
 * One Lambda of Byom: a NodejsFunction bundled by the local esbuild during synth (no Docker), ESM,
 * minified with source maps, ARM64 on Node.js 22, with its own (or a given shared) log group and its own role that
 * may write only to that log group. Callers add grants next to the environment variable naming the resource.
 */
export class ByomFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.ILogGroup;

  constructor(scope: Construct, id: string, props: ByomFunctionProps) {
    super(scope, id);
    this.logGroup =
      props.logGroup ??
      new logs.LogGroup(this, "Logs", {
        retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
        removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
      });
    // A role of its own instead of AWSLambdaBasicExecutionRole: logs go to this function's group only.
    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("lambda.amazonaws.com"),
      description: `Byom ${props.entry}`,
    });
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["logs:CreateLogStream", "logs:PutLogEvents"],
        resources: [this.logGroup.logGroupArn],
      }),
    );
    if (props.tracing) {
      this.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
          resources: ["*"],
        }),
      );
      Validations.of(this.role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason: "X-Ray's PutTraceSegments and PutTelemetryRecords support no resource-level permissions.",
      });
    }
    this.function = new nodejs.NodejsFunction(this, "Function", {
      entry: join(REPO_ROOT, props.entry),
      handler: "handler",
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, "package-lock.json"),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      description: props.description ?? props.entry,
      timeout: Duration.seconds(props.timeoutSeconds ?? 10),
      memorySize: props.memoryMb ?? 512,
      role: this.role,
      logGroup: this.logGroup,
      tracing: props.tracing ? lambda.Tracing.ACTIVE : lambda.Tracing.DISABLED,
      environment: { NODE_OPTIONS: LAMBDA_NODE_OPTIONS, ...props.environment },
      ...(props.vpc
        ? { vpc: props.vpc, vpcSubnets: props.vpcSubnets, securityGroups: props.securityGroups }
        : {}),
      ...(props.filesystem ? { filesystem: props.filesystem } : {}),
      ...(props.reservedConcurrency !== undefined
        ? { reservedConcurrentExecutions: props.reservedConcurrency }
        : {}),
      bundling: {
        minify: LAMBDA_BUNDLING.minify,
        sourceMap: LAMBDA_BUNDLING.sourcemap,
        target: LAMBDA_BUNDLING.target,
        format: nodejs.OutputFormat.ESM,
        mainFields: [...LAMBDA_BUNDLING.mainFields],
        externalModules: [...LAMBDA_BUNDLING.external],
        banner: LAMBDA_BUNDLING.banner.js,
        forceDockerBundling: false,
        logLevel: nodejs.LogLevel.WARNING,
      },
    });
  }
}
