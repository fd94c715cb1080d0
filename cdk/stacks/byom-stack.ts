import { CfnOutput, type CfnResource, RemovalPolicy, Stack, type StackProps, Validations } from "aws-cdk-lib";
import { Port } from "aws-cdk-lib/aws-ec2";
import * as sns from "aws-cdk-lib/aws-sns";
import type { Construct, IConstruct } from "constructs";
import { RUNTIME_PORT } from "#lambdas/deployments/serving-contract.ts";
import { CAPTURE_PREFIX } from "#lambdas/monitoring/capture-location.ts";
import { REFERENCE_PREFIX } from "#lambdas/monitoring/reference-dataset-keys.ts";
import type { Route } from "#lambdas/shared/http/route.ts";
import { ARTIFACTS_PREFIX, DROP_PREFIX } from "#lambdas/shared/object-keys.ts";
import { ArtifactBucket } from "../constructs/artifact-bucket.ts";
import { CatalogImages } from "../constructs/catalog-images.ts";
import { CatalogSeed } from "../constructs/catalog-seed.ts";
import { ContainerImages } from "../constructs/container-images.ts";
import { IngestPipeline } from "../constructs/ingest-pipeline.ts";
import { JobWorker } from "../constructs/job-worker.ts";
import { LogBucket } from "../constructs/log-bucket.ts";
import { ModelFileSystem } from "../constructs/model-file-system.ts";
import { Network } from "../constructs/network.ts";
import { RegistryApi } from "../constructs/registry-api.ts";
import { RegistryTable } from "../constructs/registry-table.ts";
import { ScoringCluster } from "../constructs/scoring-cluster.ts";
import { ServingWorkflows } from "../constructs/serving-workflows.ts";
import { ROUTES } from "../routes.ts";

export interface ByomStackProps extends StackProps {
  /** Keep the table and buckets (and protect the table) when the stack is deleted. @default true */
  readonly retainData?: boolean;
  /** An internet-facing scoring ALB; requires `certificateArn`. @default false (internal) */
  readonly internetFacing?: boolean;
  /** Who may reach the scoring ALB. @default the VPC's CIDR, or 0.0.0.0/0 when internet-facing */
  readonly allowedCidr?: string;
  /** ACM certificate for an HTTPS scoring listener (TLS 1.2+, port 80 redirects). @default HTTP on port 80 */
  readonly certificateArn?: string;
  /** X-Ray tracing for the API and functions. @default false */
  readonly tracing?: boolean;
  /** Reserved concurrency for the job worker, the only long-running function of the API. @default none */
  readonly jobWorkerReservedConcurrency?: number;
  /**
   * Let an internet-facing install serve deployments without a passphrase (security mode none).
   * @default false (refused with 409 when internetFacing; always allowed on an internal ALB)
   */
  readonly allowUnauthenticatedScoring?: boolean;
  /** The most replicas a deployment target may ask for. @default 10 */
  readonly maxReplicas?: number;
  /** An existing SNS topic the deployments' 5xx-rate and p99-latency alarms notify. @default none */
  readonly alarmTopicArn?: string;
  /** The account's raised ELB quotas (rules, target groups per ALB). @default 100 each */
  readonly albQuotas?: { readonly rules?: number; readonly targetGroups?: number };
  /** Interface endpoints in every AZ. @default false (first AZ only) */
  readonly endpointsInEveryAz?: boolean;
  /** IAM principal ARNs allowed to change the catalog. @default none (nobody) */
  readonly adminPrincipals?: readonly string[];
  /** Hosts MLflow imports may reach although they resolve to private addresses. @default none */
  readonly mlflowAllowedHosts?: readonly string[];
  /** Days captured requests are kept (docs/monitoring.md). @default 30 */
  readonly captureRetentionDays?: number;
  /** @default ROUTES from lambdas/routes.ts */
  readonly routes?: readonly Route[];
  /** @default the built-in handler paths (for tests that stand in a handler) */
  readonly ingestHandler?: string;
  readonly seedCatalogHandler?: string;
}

/**
 * Byom's static infrastructure (docs/deploy-aws.md): storage, the registry API, the ingest pipeline, catalog
 * seeding, the network, the scoring cluster behind its ALB and the processor/runtime images. The
 * deploy workflow adds its state machines with `this.table`, `this.fileSystem`, `this.scoring`,
 * `this.images` and friends.
 */
export class ByomStack extends Stack {
  public readonly logBucket: LogBucket;
  public readonly table: RegistryTable;
  public readonly artifacts: ArtifactBucket;
  public readonly jobs: JobWorker;
  public readonly network: Network;
  public readonly fileSystem: ModelFileSystem;
  public readonly scoring: ScoringCluster;
  public readonly images: ContainerImages;
  public readonly api: RegistryApi;
  public readonly ingest: IngestPipeline;
  public readonly catalogSeed: CatalogSeed;
  public readonly servingWorkflows: ServingWorkflows;
  public readonly catalogImages: CatalogImages;

  constructor(scope: Construct, id: string, props: ByomStackProps = {}) {
    super(scope, id, { description: "Byom: bring your own model (registry, ingest, scoring)", ...props });
    const retainData = props.retainData ?? true;
    const dataRemoval = retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

    this.logBucket = new LogBucket(this, "AccessLogs", { removalPolicy: dataRemoval });
    this.table = new RegistryTable(this, "Registry", {
      deletionProtection: retainData,
      removalPolicy: dataRemoval,
    });
    this.artifacts = new ArtifactBucket(this, "Artifacts", {
      accessLogsBucket: this.logBucket.bucket,
      captureRetentionDays: props.captureRetentionDays,
      removalPolicy: dataRemoval,
    });

    this.network = new Network(this, "Network", {
      endpointsInEveryAz: props.endpointsInEveryAz,
      flowLogBucket: this.logBucket.bucket,
      buckets: [this.artifacts.bucket],
      tables: [this.table.table],
    });
    this.fileSystem = new ModelFileSystem(this, "Models", {
      vpc: this.network.vpc,
      subnets: this.network.taskSubnets,
    });
    this.scoring = new ScoringCluster(this, "Scoring", {
      vpc: this.network.vpc,
      vpcCidr: this.network.cidr,
      privateSubnets: this.network.taskSubnets,
      publicSubnets: this.network.publicSubnets,
      accessLogsBucket: this.logBucket.bucket,
      internetFacing: props.internetFacing,
      allowedCidr: props.allowedCidr,
      certificateArn: props.certificateArn,
    });
    // Tasks' only ways out (their security groups allow no other egress): EFS on 2049, AWS APIs
    // through the VPC endpoints on 443, and for runtimes the shadow listener (ScoringCluster).
    for (const [securityGroup, use] of [
      [this.scoring.runtimeSecurityGroup, "Runtime tasks read models"],
      [this.scoring.processorSecurityGroup, "Processor tasks write models"],
    ] as const) {
      this.fileSystem.allowFrom(securityGroup, use);
      this.network.allowAwsServicesFrom(securityGroup);
    }
    this.images = new ContainerImages(this, "Images");

    this.jobs = new JobWorker(this, "Jobs", {
      table: this.table.table,
      bucket: this.artifacts.bucket,
      tracing: props.tracing,
      reservedConcurrency: props.jobWorkerReservedConcurrency,
      mlflowAllowedHosts: props.mlflowAllowedHosts,
    });
    this.api = new RegistryApi(this, "Api", {
      jobs: this.jobs,
      routes: props.routes ?? ROUTES,
      table: this.table.table,
      bucket: this.artifacts.bucket,
      tracing: props.tracing,
      adminPrincipals: props.adminPrincipals,
      mlflowAllowedHosts: props.mlflowAllowedHosts,
    });
    this.ingest = new IngestPipeline(this, "Ingest", {
      table: this.table.table,
      bucket: this.artifacts.bucket,
      handler: props.ingestHandler,
      tracing: props.tracing,
    });
    this.artifacts.restrictArtifactWrites([
      ...this.api.artifactWriters,
      this.ingest.ingest.role,
      this.jobs.worker.role,
    ]);
    this.catalogSeed = new CatalogSeed(this, "Catalog", {
      table: this.table.table,
      imageUris: this.images.imageUris(),
      handler: props.seedCatalogHandler,
    });

    this.acknowledgeFindings();

    // The id stays "Deployer" (its old name): renaming it would change every logical ID under it and
    // make an upgrade replace the running workflows, roles and step functions.
    this.servingWorkflows = new ServingWorkflows(this, "Deployer", {
      table: this.table.table,
      bucket: this.artifacts.bucket,
      vpc: this.network.vpc,
      taskSubnets: this.network.taskSubnets,
      endpoints: this.network,
      fileSystem: this.fileSystem,
      scoring: this.scoring,
      images: this.images,
      apiFunctions: this.api.functions,
      tracing: props.tracing,
      maxReplicas: props.maxReplicas,
      alarmTopic: props.alarmTopicArn
        ? sns.Topic.fromTopicArn(this, "AlarmTopic", props.alarmTopicArn)
        : undefined,
      albQuotas: props.albQuotas,
      unauthenticatedScoring:
        props.internetFacing && !props.allowUnauthenticatedScoring ? "refused" : "allowed",
    });

    // Catalog images from outside the account are copied into ECR from outside the VPC.
    const addEntry = this.api.functions.get("addCatalogEntry");
    this.catalogImages = new CatalogImages(this, "CatalogImages", {
      images: this.images,
      importers: [...(addEntry ? [addEntry] : []), this.jobs.worker],
      deleter: this.api.functions.get("deleteCatalogEntry"),
      taskLogGroups: this.servingWorkflows.taskLogGroups,
      seeder: this.catalogSeed.seeder,
    });

    // The deployer's steps (Byom's code, in the VPC): EFS (Deployer), AWS APIs through the
    // endpoints, DynamoDB, and runtime tasks' scorer API to verify a new slot before traffic moves.
    this.network.allowAwsServicesFrom(this.servingWorkflows.securityGroup);
    this.network.allowDynamoDbFrom(this.servingWorkflows.securityGroup);
    this.servingWorkflows.securityGroup.addEgressRule(
      this.scoring.runtimeSecurityGroup,
      Port.tcp(RUNTIME_PORT),
      "Verify a new runtime's sample request",
    );

    new CfnOutput(this, "ApiUrl", { value: this.api.api.url, description: "Registry API base URL" });
    new CfnOutput(this, "ScoringUrl", {
      value: this.scoring.endpointBaseUrl,
      description: "Scoring base URL: <ScoringUrl>/<deploymentId>/model/score",
    });
    new CfnOutput(this, "BucketName", { value: this.artifacts.bucket.bucketName });
    new CfnOutput(this, "TableName", { value: this.table.table.tableName });
  }

  /**
   * cdk-nag findings that are the design, each with its reason. They name exact resources (the
   * table's index ARN, the bucket's key prefixes), so a new wildcard elsewhere still fails synth.
   */
  private acknowledgeFindings(): void {
    const arnOf = (resource: IConstruct) => `<${this.resolve((resource as CfnResource).logicalId)}.Arn>`;
    const table = arnOf(this.table.table.node.defaultChild as IConstruct);
    const bucket = arnOf(this.artifacts.bucket.node.defaultChild as IConstruct);
    const reasons: Record<string, string> = {
      [`AwsSolutions-IAM5[Resource::${table}/index/*]`]:
        "Table grants include the table's own secondary indexes (GSI1 serves the list-by-principal access pattern); no other table is reachable.",
      [`AwsSolutions-IAM5[Resource::${bucket}/${ARTIFACTS_PREFIX}*]`]:
        "Artifact keys are generated per project/experiment/artifact; access is limited to the artifacts/ prefix of this one bucket.",
      [`AwsSolutions-IAM5[Resource::${bucket}/${DROP_PREFIX}*]`]:
        "The drop folder's keys are chosen by users; only the ingest function reads under drop/, and only there.",
      [`AwsSolutions-IAM5[Resource::${bucket}/${REFERENCE_PREFIX}*]`]:
        "Reference datasets are keyed by project, model and version; only the attach route (put, replace) and the drift function (read) use reference/.",
      [`AwsSolutions-IAM5[Resource::${bucket}/${CAPTURE_PREFIX}*]`]:
        "Captured requests are keyed by deployment, target and day; only the drift function reads under capture/, and only there.",
      "AwsSolutions-L1":
        "Functions run on Node.js 22, the runtime the project builds and tests against; moving to a newer runtime is a tested change, not a flag flip.",
    };
    for (const [id, reason] of Object.entries(reasons)) Validations.of(this).acknowledge({ id, reason });

    // The S3 notification handler is a singleton that aws-cdk-lib adds with AWSLambdaBasicExecutionRole.
    const notifications = this.node.children.find((child) =>
      child.node.id.startsWith("BucketNotificationsHandler"),
    );
    if (notifications) {
      Validations.of(notifications).acknowledge({
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]",
        reason:
          "aws-cdk-lib's bucket-notification handler comes with this managed policy; it only writes its own logs and runs at deploy time.",
      });
    }
  }
}
