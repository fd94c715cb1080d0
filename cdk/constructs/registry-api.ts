import { Duration, RemovalPolicy, Validations } from "aws-cdk-lib";
import * as apigateway from "aws-cdk-lib/aws-apigateway";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import * as logs from "aws-cdk-lib/aws-logs";
import type * as s3 from "aws-cdk-lib/aws-s3";
import { Construct } from "constructs";
import { CAPTURE_PREFIX } from "#lambdas/monitoring/capture-location.ts";
import { REFERENCE_PREFIX } from "#lambdas/monitoring/reference-dataset-keys.ts";
import type { Route } from "#lambdas/shared/http/route.ts";
import { ARTIFACTS_PREFIX } from "#lambdas/shared/object-keys.ts";
import {
  checksMlflowHosts,
  usesCloudWatchMetrics,
  usesDynamoDb,
  usesJobQueue,
  usesS3,
} from "../module-graph.ts";
import { ByomFunction } from "./byom-function.ts";
import type { JobWorker } from "./job-worker.ts";

const READ_OBJECT_ACTIONS = ["s3:GetObject", "s3:GetObjectAttributes"];
/** Presigned single and multipart uploads, server-side copies, aborting an upload. */
const WRITE_OBJECT_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"];

export interface RegistryApiProps {
  readonly routes: readonly Route[];
  readonly table: dynamodb.ITableV2;
  readonly bucket: s3.IBucket;
  /** Steady-state requests per second across the API. @default 100 */
  readonly throttlingRateLimit?: number;
  /** @default 200 */
  readonly throttlingBurstLimit?: number;
  /** X-Ray tracing on the stage and every function. @default false */
  readonly tracing?: boolean;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /** @default "prod" */
  readonly stageName?: string;
  /** Where handlers that start jobs send them. */
  readonly jobs: JobWorker;
  /** Principals (role or user ARNs) that `admin` routes accept. @default none: nobody may call them */
  readonly adminPrincipals?: readonly string[];
  /** Hosts an MLflow import may reach although they resolve to private addresses (MLFLOW_ALLOWED_HOSTS). @default none */
  readonly mlflowAllowedHosts?: readonly string[];
}

/**
 * API Gateway REST's integration timeout without a quota increase. No route runs longer: long work
 * is a job (docs/ingestion.md, "Jobs"), and a route that declares more fails synth.
 */
export const MAX_INTEGRATION_TIMEOUT_SECONDS = 29;

/**
 * Per-method throttling (requests per second across all callers, burst), unless a route declares
 * its own (the MLflow import: each one holds the job worker for minutes): reads are cheap, writes
 * touch the table and the bucket.
 */
export const ROUTE_THROTTLES = {
  read: { rateLimit: 100, burstLimit: 200 },
  write: { rateLimit: 25, burstLimit: 50 },
} as const;

export function throttleOf(route: Route): { readonly rateLimit: number; readonly burstLimit: number } {
  if (route.throttle) return route.throttle;
  return route.method === "GET" ? ROUTE_THROTTLES.read : ROUTE_THROTTLES.write;
}

/**
 * The registry REST API: one API Gateway method and one Lambda per entry of ROUTES. IAM
 * authorization on every method but the `public` ones (health, the OpenAPI document); request
 * validation is the handlers' job (the same zod schemas generate the OpenAPI document). Each function
 * gets least privilege: the table only when its code imports the DynamoDB client, the bucket's
 * `artifacts/` prefix only when it imports the S3 client, and read-only access for GET routes.
 */
export class RegistryApi extends Construct {
  public readonly api: apigateway.RestApi;
  /** operationId → its function. */
  public readonly functions: ReadonlyMap<string, ByomFunction>;
  public readonly accessLogs: logs.LogGroup;
  /** One log group for every route's function (streams are named after the function). */
  public readonly functionLogs: logs.LogGroup;
  /** The roles allowed to write under the bucket's `artifacts/` prefix (see ArtifactBucket). */
  public readonly artifactWriters: iam.IRole[] = [];

  constructor(scope: Construct, id: string, props: RegistryApiProps) {
    super(scope, id);
    this.accessLogs = new logs.LogGroup(this, "AccessLogs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new apigateway.RestApi(this, "Api", {
      description: "Byom registry API; the OpenAPI document is at /v1/openapi.json",
      endpointTypes: [apigateway.EndpointType.REGIONAL],
      cloudWatchRole: false,
      deployOptions: {
        stageName: props.stageName ?? "prod",
        accessLogDestination: new apigateway.LogGroupLogDestination(this.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        throttlingRateLimit: props.throttlingRateLimit ?? 100,
        throttlingBurstLimit: props.throttlingBurstLimit ?? 200,
        methodOptions: Object.fromEntries(
          props.routes.map((route) => {
            const { rateLimit, burstLimit } = throttleOf(route);
            return [
              `${route.path}/${route.method}`,
              { throttlingRateLimit: rateLimit, throttlingBurstLimit: burstLimit },
            ];
          }),
        ),
        tracingEnabled: props.tracing ?? false,
        metricsEnabled: true,
      },
      defaultMethodOptions: { authorizationType: apigateway.AuthorizationType.IAM },
    });
    this.addErrorResponses();

    // One group for all routes' functions instead of one each: a route then costs five
    // CloudFormation resources, not six, in a stack capped at 500.
    this.functionLogs = new logs.LogGroup(this, "FunctionLogs", {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const functions = new Map<string, ByomFunction>();
    for (const route of props.routes) {
      const timeoutSeconds = route.lambda?.timeoutSeconds ?? 10;
      if (timeoutSeconds > MAX_INTEGRATION_TIMEOUT_SECONDS) {
        throw new Error(
          `${route.operationId} declares a ${timeoutSeconds} s timeout; API Gateway waits ${MAX_INTEGRATION_TIMEOUT_SECONDS} s. Run the work as a job (lambdas/jobs).`,
        );
      }
      const fn = new ByomFunction(this, route.operationId, {
        entry: route.handler,
        description: `Byom ${route.method} ${route.path}`,
        timeoutSeconds,
        memoryMb: route.lambda?.memoryMb ?? 512,
        tracing: props.tracing ?? false,
        logGroup: this.functionLogs,
        environment: {
          ...(usesDynamoDb(route.handler) ? { TABLE_NAME: props.table.tableName } : {}),
          ...(usesS3(route.handler) ? { BUCKET_NAME: props.bucket.bucketName } : {}),
          ...(route.admin ? { ADMIN_PRINCIPALS: (props.adminPrincipals ?? []).join(",") } : {}),
          // The import request refuses a private host at once, by the job worker's rules (pinned-host.ts).
          ...(props.mlflowAllowedHosts?.length && checksMlflowHosts(route.handler)
            ? { MLFLOW_ALLOWED_HOSTS: props.mlflowAllowedHosts.join(",") }
            : {}),
        },
      });
      this.grant(route, fn, props);
      if (usesJobQueue(route.handler)) props.jobs.allowStarting(fn);
      const method = this.api.root.resourceForPath(route.path).addMethod(
        route.method,
        new apigateway.LambdaIntegration(fn.function, {
          timeout: Duration.seconds(timeoutSeconds),
          // One invoke permission per method instead of two: the console's test-invoke is not
          // needed, and a stack has at most 500 resources.
          allowTestInvoke: false,
        }),
        {
          operationName: route.operationId,
          authorizationType: route.public
            ? apigateway.AuthorizationType.NONE
            : apigateway.AuthorizationType.IAM,
        },
      );
      if (route.public) {
        for (const rule of ["AwsSolutions-APIG4", "AwsSolutions-COG4"]) {
          Validations.of(method).acknowledge({
            id: rule,
            reason: `${route.method} ${route.path} is public by design (liveness, the API's own description); it reads nothing private.`,
          });
        }
      }
      functions.set(route.operationId, fn);
    }
    this.functions = functions;

    const acknowledgements: Record<string, string> = {
      "AwsSolutions-APIG2":
        "Every handler validates path, query and body with the zod schemas that also generate the OpenAPI document; a second copy of those rules in API Gateway would drift.",
      "AwsSolutions-APIG3":
        "WAF is an opt-in cost (about USD 5 a month plus rules); every method but health and the OpenAPI document needs SigV4 and the stage is throttled.",
      "AwsSolutions-APIG6":
        "Execution logging needs an account-wide API Gateway CloudWatch role that this stack does not own; access logs are on and every function logs each request.",
      "AwsSolutions-COG4":
        "Callers are IAM principals (SigV4): project membership is granted to IAM roles and users, not to Cognito users.",
    };
    for (const [rule, reason] of Object.entries(acknowledgements)) {
      Validations.of(this.api).acknowledge({ id: rule, reason });
    }
  }

  private grant(route: Route, fn: ByomFunction, props: RegistryApiProps): void {
    const readOnly = route.method === "GET";
    if (usesDynamoDb(route.handler)) {
      if (readOnly) props.table.grantReadData(fn.function);
      else props.table.grantReadWriteData(fn.function);
    }
    if (usesCloudWatchMetrics(route.handler)) {
      // GetMetricData has no resource-level permissions: "*" is the only resource it takes.
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: ["cloudwatch:GetMetricData"], resources: ["*"] }),
      );
      Validations.of(fn.role).acknowledge({
        id: "AwsSolutions-IAM5[Resource::*]",
        reason:
          "cloudwatch:GetMetricData takes no resource-level permission; the function only reads (deployment metrics).",
      });
    }
    if (!usesS3(route.handler)) return;
    if (route.operationId === "getDeploymentDrift") {
      // Reads captured requests and reference datasets (docs/monitoring.md), nothing else.
      const prefixes = [CAPTURE_PREFIX, REFERENCE_PREFIX];
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ["s3:GetObject"],
          resources: prefixes.map((prefix) => props.bucket.arnForObjects(`${prefix}*`)),
        }),
      );
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ["s3:ListBucket"],
          resources: [props.bucket.bucketArn],
          conditions: { StringLike: { "s3:prefix": prefixes.map((prefix) => `${prefix}*`) } },
        }),
      );
      return;
    }
    if (route.operationId === "attachReferenceDataset") {
      // Presigns the upload of a version's reference dataset and replaces an earlier one.
      fn.role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ["s3:PutObject"],
          resources: [props.bucket.arnForObjects(`${REFERENCE_PREFIX}*`)],
        }),
      );
      return;
    }
    // Presigned URLs carry the signer's permissions: GET routes presign downloads, the others
    // presign single and multipart uploads (and abort them). Deleting objects is the job worker's.
    const actions = readOnly ? READ_OBJECT_ACTIONS : [...READ_OBJECT_ACTIONS, ...WRITE_OBJECT_ACTIONS];
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions, resources: [props.bucket.arnForObjects(`${ARTIFACTS_PREFIX}*`)] }),
    );
    if (actions.includes("s3:PutObject")) this.artifactWriters.push(fn.role);
  }

  /** API Gateway's own rejections (bad signature, unknown path, throttling) in the API's error shape. */
  private addErrorResponses(): void {
    // $context.error.messageString is already a quoted JSON string.
    const body = (code: string, message = "$context.error.messageString") =>
      `{"error": {"code": "${code}", "message": ${message}, "details": []}}`;
    const unsigned = JSON.stringify(
      "The request is not signed, or no such path exists. Sign requests with AWS SigV4 (service execute-api) and check the path against /v1/openapi.json.",
    );
    const responses: Array<[string, apigateway.ResponseType, string]> = [
      ["Unauthorized", apigateway.ResponseType.UNAUTHORIZED, body("UNAUTHENTICATED")],
      ["AccessDenied", apigateway.ResponseType.ACCESS_DENIED, body("FORBIDDEN")],
      [
        "MissingToken",
        apigateway.ResponseType.MISSING_AUTHENTICATION_TOKEN,
        body("UNAUTHENTICATED", unsigned),
      ],
      ["InvalidSignature", apigateway.ResponseType.INVALID_SIGNATURE, body("UNAUTHENTICATED")],
      ["ExpiredToken", apigateway.ResponseType.EXPIRED_TOKEN, body("UNAUTHENTICATED")],
      ["Throttled", apigateway.ResponseType.THROTTLED, body("THROTTLED")],
      ["TooLarge", apigateway.ResponseType.REQUEST_TOO_LARGE, body("PAYLOAD_TOO_LARGE")],
      ["Default4xx", apigateway.ResponseType.DEFAULT_4XX, body("VALIDATION_FAILED")],
      ["Default5xx", apigateway.ResponseType.DEFAULT_5XX, body("INTERNAL")],
    ];
    for (const [id, type, template] of responses) {
      this.api.addGatewayResponse(id, { type, templates: { "application/json": template } });
    }
  }
}
