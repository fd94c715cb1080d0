import { CfnResource, type IAspect, Stack } from "aws-cdk-lib";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { IConstruct } from "constructs";
import { LogBucket } from "./constructs/log-bucket.ts";
import { ScoringCluster } from "./constructs/scoring-cluster.ts";
import { ROUTES } from "./routes.ts";

// biome-ignore lint/suspicious/noExplicitAny: template JSON, read like checkov reads it
type Properties = Record<string, any>;

/** A resource as it will appear in the template: what checkov reads. */
export interface RenderedResource {
  readonly Type: string;
  readonly Properties: Properties;
}

/** One checkov check that is the design for the resources `appliesTo` picks, and why. */
export interface CheckovAcknowledgement {
  readonly check: string;
  readonly reason: string;
  /** Exactly the resources that fail the check by design (a resource that passes must not match). */
  readonly appliesTo: (resource: RenderedResource, construct: CfnResource) => boolean;
}

const PUBLIC_OPERATIONS = new Set(ROUTES.filter((route) => route.public).map((route) => route.operationId));
// aws-cdk-lib adds some functions as plain CfnResources (custom-resource providers): match by type.
const isFunction = (r: RenderedResource) => r.Type === "AWS::Lambda::Function";
/** The L2 construct a CloudFormation resource is the default child of. */
const ownerOf = (construct: CfnResource): IConstruct | undefined => construct.node.scope;

/** The resource as CloudFormation will get it (overrides and tokens resolved). */
function render(construct: CfnResource): RenderedResource {
  const internal = construct as unknown as { _toCloudFormation(): object };
  const { Resources } = Stack.of(construct).resolve(internal._toCloudFormation());
  const resource = Object.values(Resources as object)[0] as { Type: string; Properties?: Properties };
  return { Type: resource.Type, Properties: resource.Properties ?? {} };
}

/** An HTTP listener's load balancer is internal. */
function onInternalLoadBalancer(listener: CfnResource): boolean {
  const loadBalancer = ownerOf(listener)?.node.scope;
  if (!(loadBalancer instanceof elbv2.ApplicationLoadBalancer)) return false;
  return (loadBalancer.node.defaultChild as elbv2.CfnLoadBalancer).scheme === "internal";
}

/**
 * checkov (test/support/checkov.ts) findings on the synthesized templates that are the design, each
 * with its reason: the one place they are acknowledged. The CheckovAcknowledgements aspect writes
 * them into the template as `Metadata.checkov.skip` of exactly the resources they name, so checkov
 * run on `cdk.out` reports them as skipped with the reason, and a new finding fails the tests.
 */
export const CHECKOV_ACKNOWLEDGEMENTS: readonly CheckovAcknowledgement[] = [
  {
    check: "CKV_AWS_115",
    reason:
      "No reserved concurrency per function: it would set aside part of the account's pool for each of ~50 functions. Callers are bounded instead: API Gateway stage throttling (100 rps, burst 200) for the API functions, the SQS event source's maxConcurrency for ingest, one Step Functions execution per deployment change for the deployer steps; custom-resource handlers run only while CloudFormation deploys.",
    appliesTo: (r) => isFunction(r) && r.Properties.ReservedConcurrentExecutions === undefined,
  },
  {
    check: "CKV_AWS_116",
    reason:
      "No function is invoked asynchronously with an event that would be lost: API functions answer API Gateway synchronously, Step Functions calls the deployer steps and catches their failures, ingest reads SQS (whose own dead-letter queue keeps failed messages), the health monitor runs again every minute, and custom-resource handlers report failure to CloudFormation.",
    appliesTo: (r) => isFunction(r) && r.Properties.DeadLetterConfig === undefined,
  },
  {
    check: "CKV_AWS_117",
    reason:
      "Only functions that need the VPC run in it (the deployer steps: they mount EFS and reach runtime tasks). The others (API, ingest, catalog seed and aws-cdk-lib's custom-resource handlers) call only AWS APIs with least-privilege roles and run no user code; in the VPC they would need more interface endpoints (USD 7.30 a month per AZ each) and gain nothing.",
    appliesTo: (r) => isFunction(r) && r.Properties.VpcConfig === undefined,
  },
  {
    check: "CKV_AWS_173",
    reason:
      "Function environment variables hold only resource names, ARNs and settings, never a secret; Lambda encrypts them at rest with its service key.",
    appliesTo: (r) =>
      isFunction(r) &&
      r.Properties.KmsKeyArn === undefined &&
      Object.keys(r.Properties.Environment?.Variables ?? {}).length > 0,
  },
  {
    check: "CKV_AWS_158",
    reason:
      "CloudWatch Logs encrypts every log group at rest with keys it manages; who reads logs is decided by IAM (logs:GetLogEvents, FilterLogEvents). No customer-managed KMS key is configured: it would add a key policy as a second gate, at USD 1 a month plus requests. Runtime log groups can hold shadow comparison records (the challenger's answers), so an operator who needs that second gate should add one.",
    appliesTo: (r) => r.Type === "AWS::Logs::LogGroup" && r.Properties.KmsKeyId === undefined,
  },
  ...["CKV_AWS_2", "CKV_AWS_103"].map((check) => ({
    check,
    reason:
      "Plain HTTP only on internal load balancers: the scoring listener of an internal ALB installed without byom:certificateArn (reachable from the VPC and networks connected to it; pass a certificate for HTTPS) and the shadow listener, which only runtime tasks reach, inside the VPC. An internet-facing install refuses to synthesize without a certificate.",
    appliesTo: (r: RenderedResource, construct: CfnResource) =>
      r.Type === "AWS::ElasticLoadBalancingV2::Listener" &&
      r.Properties.Protocol === "HTTP" &&
      onInternalLoadBalancer(construct),
  })),
  {
    check: "CKV_AWS_260",
    reason:
      "Port 80 of an internet-facing scoring ALB only redirects to HTTPS on 443 (the listener forwards nothing), so clients typing http:// end up on TLS; byom:allowedCidr narrows who may connect at all.",
    appliesTo: (_, construct) => {
      const cluster = ownerOf(construct)?.node.scope;
      return (
        cluster instanceof ScoringCluster &&
        cluster.internetFacing &&
        cluster.loadBalancerSecurityGroup.node.defaultChild === construct
      );
    },
  },
  {
    check: "CKV_AWS_18",
    reason:
      "The log bucket is where access logs go; logging its own access would log into itself. CloudTrail data events can audit it if required.",
    appliesTo: (r, construct) =>
      r.Type === "AWS::S3::Bucket" && ownerOf(construct)?.node.scope instanceof LogBucket,
  },
  {
    check: "CKV_AWS_21",
    reason:
      "Log objects are written once by AWS log delivery and expire by lifecycle (90 days); versioning would only keep expired logs longer.",
    appliesTo: (r, construct) =>
      r.Type === "AWS::S3::Bucket" && ownerOf(construct)?.node.scope instanceof LogBucket,
  },
  {
    check: "CKV_AWS_27",
    reason:
      "The queues are encrypted with SQS-managed keys (SqsManagedSseEnabled, pinned by test/cdk/stack.test.ts); this check recognises only a KMS key (KmsMasterKeyId).",
    appliesTo: (r) =>
      r.Type === "AWS::SQS::Queue" &&
      r.Properties.SqsManagedSseEnabled === true &&
      r.Properties.KmsMasterKeyId === undefined,
  },
  {
    check: "CKV_AWS_59",
    reason:
      "GET /v1/health and GET /v1/openapi.json are public by design (routes marked public in lambdas/routes.ts): they return a status and the API's description, no project data. Every other method requires SigV4.",
    appliesTo: (r) =>
      r.Type === "AWS::ApiGateway::Method" &&
      r.Properties.AuthorizationType === "NONE" &&
      r.Properties.HttpMethod === "GET" &&
      PUBLIC_OPERATIONS.has(r.Properties.OperationName),
  },
  {
    check: "CKV_AWS_73",
    reason:
      "X-Ray tracing is an install option (byom:tracing=true), off by default: traces cost per request, and the stage's access log already records every request.",
    appliesTo: (r) => r.Type === "AWS::ApiGateway::Stage" && r.Properties.TracingEnabled !== true,
  },
  {
    check: "CKV_AWS_120",
    reason:
      "No API Gateway cache: answers depend on the caller's SigV4 identity (what projects it may see) and change with every write, so a cache would serve one principal's view to another or stale state; it also costs from USD 14 a month.",
    appliesTo: (r) => r.Type === "AWS::ApiGateway::Stage" && r.Properties.CacheClusterEnabled !== true,
  },
  {
    check: "CKV_AWS_111",
    reason:
      "The deployer's steps register a task definition and, with replicas.max > min, a scalable target and its policies per slot: ecs:RegisterTaskDefinition/DeregisterTaskDefinition/TagResource and application-autoscaling:RegisterScalableTarget/DeregisterScalableTarget/PutScalingPolicy support no resource-level permission for what they create (nor, with byom:tracing, do X-Ray's PutTraceSegments/PutTelemetryRecords). Every other write of theirs is scoped to Byom's resources (byom-* target groups, this cluster's services, byom/* secrets, the file system).",
    appliesTo: (r) => onlyWildcardOnlyWrites(r),
  },
];

/**
 * Write actions that AWS authorizes only on `*`: a task definition family or a scalable target
 * that does not exist yet has no ARN to name (the deployer's steps register them per slot).
 */
const WILDCARD_ONLY_WRITES = new Set([
  "ecs:RegisterTaskDefinition",
  "ecs:DeregisterTaskDefinition",
  "ecs:TagResource",
  "application-autoscaling:RegisterScalableTarget",
  "application-autoscaling:DeregisterScalableTarget",
  "application-autoscaling:PutScalingPolicy",
  // With byom:tracing: X-Ray has no resource-level permissions either.
  "xray:PutTraceSegments",
  "xray:PutTelemetryRecords",
]);
const asList = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
/** A policy whose only unscoped write actions are ones AWS allows on `*` alone. */
function onlyWildcardOnlyWrites(r: RenderedResource): boolean {
  if (r.Type !== "AWS::IAM::Policy") return false;
  const unscoped = asList<Properties>(r.Properties.PolicyDocument?.Statement)
    .filter((statement) => asList(statement.Resource).includes("*"))
    .flatMap((statement) => asList<string>(statement.Action));
  const writes = unscoped.filter(
    (action) => !/:(Describe|Get|List)/.test(action) && action !== "elasticfilesystem:ClientMount",
  );
  // X-Ray's writes alone do not fail the check; only the deployer's registrations do.
  return (
    writes.some((action) => !action.startsWith("xray:")) &&
    writes.every((action) => WILDCARD_ONLY_WRITES.has(action))
  );
}

/** The metadata key checkov reads skips from, on a CloudFormation resource. */
export const CHECKOV_METADATA_KEY = "checkov";

/** Writes CHECKOV_ACKNOWLEDGEMENTS into each matching resource's `Metadata.checkov.skip`. */
export class CheckovAcknowledgements implements IAspect {
  visit(node: IConstruct): void {
    if (!(node instanceof CfnResource)) return;
    const resource = render(node);
    const skip = CHECKOV_ACKNOWLEDGEMENTS.filter((ack) => ack.appliesTo(resource, node)).map((ack) => ({
      id: ack.check,
      comment: ack.reason,
    }));
    if (skip.length > 0) node.addMetadata(CHECKOV_METADATA_KEY, { skip });
  }
}
