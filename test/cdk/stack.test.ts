import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinImageFolders } from "#cdk/constructs/container-images.ts";
import { INGEST_TIMEOUT_SECONDS } from "#cdk/constructs/ingest-pipeline.ts";
import { JOB_TIMEOUT_SECONDS } from "#cdk/constructs/job-worker.ts";
import { imageBuild } from "#cdk/image-builds.ts";
import { usesS3 } from "#cdk/module-graph.ts";
import { ROUTES } from "#cdk/routes.ts";
import { RUNTIME_PORT, SHADOW_PORT } from "#lambdas/deployments/serving-contract.ts";
import { INGEST_PREFIXES } from "#lambdas/shared/object-keys.ts";
import { MAX_RECEIVE_COUNT } from "#local/ingest-queue.ts";
import { allowedActions, egressRules, type SynthesizedApp, synthesize } from "../support/cdk.ts";
import { checkovVenv, scanWithCheckov } from "../support/checkov.ts";

const TABLE_WRITES = [
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  "dynamodb:BatchWriteItem",
];

let synth: SynthesizedApp;
const logicalId = (element: unknown) => synth.stack.resolve((element as CfnElement).logicalId) as string;
const roleOf = (operationId: string) => {
  const fn = synth.stack.api.functions.get(operationId);
  if (!fn) throw new Error(`no function for ${operationId}`);
  return logicalId(fn.role.node.defaultChild);
};

/** A `prefix-list:<id>` of egressRules is the deploy-time lookup of the named AWS-managed list. */
function expectPrefixListLookup(prefixList: string, name: string): void {
  const lookup = synth.template.toJSON().Resources[prefixList.slice("prefix-list:".length)];
  for (const call of [lookup.Properties.Create, lookup.Properties.Update]) {
    expect(JSON.parse(call)).toMatchObject({
      service: "EC2",
      action: "describeManagedPrefixLists",
      parameters: { Filters: [{ Name: "prefix-list-name", Values: [name] }] },
    });
  }
}

// Synth takes 30-60 s alone and minutes on a loaded machine.
beforeAll(() => {
  checkovVenv().catch(() => {});
  synth = synthesize();
}, 300_000);

describe("the synthesized Byom stack", () => {
  it("has no cdk-nag AwsSolutions finding that is not acknowledged with a reason", () => {
    expect(synth.unacknowledgedFindings).toEqual([]);
  });

  it("acknowledges no cdk-nag rule that finds nothing (every acknowledgement is still needed)", () => {
    expect(synth.unusedAcknowledgements).toEqual([]);
  });

  it("has no checkov finding that is not acknowledged, and no checkov acknowledgement that silences nothing", async () => {
    const report = await scanWithCheckov(
      synth.assembly.getStackArtifact(synth.stack.artifactId).templateFullPath,
    );
    expect(report.unacknowledged).toEqual([]);
    expect(report.unneeded).toEqual([]);
    expect(report.acknowledged).toBeGreaterThan(0);
  }, 900_000);

  describe("registry API", () => {
    it("creates one Lambda and one method per route, wired to each other", () => {
      const methods = synth.template.findResources("AWS::ApiGateway::Method");
      for (const route of ROUTES) {
        const fn = synth.stack.api.functions.get(route.operationId);
        expect(fn, route.operationId).toBeDefined();
        const method = Object.values(methods).find((m) => m.Properties.OperationName === route.operationId);
        expect(method?.Properties.HttpMethod, route.operationId).toBe(route.method);
        expect(JSON.stringify(method?.Properties.Integration.Uri)).toContain(
          logicalId(fn?.function.node.defaultChild),
        );
      }
      expect(synth.stack.api.functions.size).toBe(ROUTES.length);
      const apiFunctions = Object.values(synth.template.findResources("AWS::Lambda::Function")).filter((f) =>
        String(f.Properties.Description).match(/^Byom (GET|POST|PUT|PATCH|DELETE) \//),
      );
      expect(apiFunctions).toHaveLength(ROUTES.length);
    });

    it("declares at most one path variable under any resource (API Gateway refuses siblings like {p} and {projectId})", () => {
      const resources = Object.values(synth.template.findResources("AWS::ApiGateway::Resource"));
      const variablesByParent = new Map<string, string[]>();
      for (const resource of resources) {
        const part = String(resource.Properties.PathPart);
        if (!part.startsWith("{")) continue;
        const parent = JSON.stringify(resource.Properties.ParentId);
        variablesByParent.set(parent, [...(variablesByParent.get(parent) ?? []), part]);
      }
      for (const parts of variablesByParent.values()) expect(parts).toHaveLength(1);
      expect(resources.length).toBeGreaterThan(0);
    });

    it("stays under CloudFormation's 500 resources per stack, with room for a few more routes", () => {
      // About 5 resources per route (function, role, policy, permission, method; the routes' and the
      // deploy steps' functions share a log group each). The bound leaves room for a dozen more
      // routes; past it, the registry API moves into a NestedStack.
      const count = Object.keys(synth.template.toJSON().Resources).length;
      expect(count).toBeLessThan(470);
    });

    it("caps API Gateway's wait at 29 s (the REST default) even for longer-running functions", () => {
      const methods = Object.values(synth.template.findResources("AWS::ApiGateway::Method"));
      for (const route of ROUTES) {
        const method = methods.find((m) => m.Properties.OperationName === route.operationId);
        const expected = Math.min(route.lambda?.timeoutSeconds ?? 10, 29) * 1000;
        expect(method?.Properties.Integration.TimeoutInMillis, route.operationId).toBe(expected);
      }
    });

    it("requires SigV4 (AWS_IAM) on every method except health and the OpenAPI document", () => {
      const methods = Object.values(synth.template.findResources("AWS::ApiGateway::Method")).filter(
        (m) => m.Properties.HttpMethod !== "OPTIONS",
      );
      const publicOperations = ROUTES.filter((r) => r.public).map((r) => r.operationId);
      expect(publicOperations.sort()).toEqual(["health", "openapi"]);
      for (const method of methods) {
        const expected = publicOperations.includes(method.Properties.OperationName) ? "NONE" : "AWS_IAM";
        expect(method.Properties.AuthorizationType, method.Properties.OperationName).toBe(expected);
      }
    });

    it("bundles each function for ARM64 on Node.js 22 with its route's timeout and memory", () => {
      for (const route of ROUTES) {
        const fn = synth.stack.api.functions.get(route.operationId);
        synth.template.hasResourceProperties("AWS::Lambda::Function", {
          FunctionName: Match.absent(),
          Description: `Byom ${route.method} ${route.path}`,
          Runtime: "nodejs22.x",
          Architectures: ["arm64"],
          Handler: "index.handler",
          Timeout: route.lambda?.timeoutSeconds ?? 10,
          MemorySize: route.lambda?.memoryMb ?? 512,
        });
        expect(fn?.function.runtime.name).toBe("nodejs22.x");
      }
    });

    it("gives GET handlers no write access to the table", () => {
      for (const route of ROUTES.filter((r) => r.method === "GET")) {
        const actions = allowedActions(synth.template, roleOf(route.operationId));
        for (const write of TABLE_WRITES) expect(actions, route.operationId).not.toContain(write);
        expect(
          actions.filter(
            // Reads only (the drift function also lists captured files).
            (a) =>
              a.startsWith("s3:") && !["s3:GetObject", "s3:GetObjectAttributes", "s3:ListBucket"].includes(a),
          ),
        ).toEqual([]);
      }
    });

    it("gives the table only to handlers that use it and the bucket only to handlers that use S3", () => {
      expect(allowedActions(synth.template, roleOf("health")).filter((a) => !a.startsWith("logs:"))).toEqual(
        [],
      );
      const createProject = allowedActions(synth.template, roleOf("createProject"));
      expect(createProject).toContain("dynamodb:PutItem");
      expect(createProject.filter((a) => a.startsWith("s3:"))).toEqual([]);
      for (const route of ROUTES) {
        const s3Actions = allowedActions(synth.template, roleOf(route.operationId)).filter((a) =>
          a.startsWith("s3:"),
        );
        if (usesS3(route.handler)) expect(s3Actions.length, route.operationId).toBeGreaterThan(0);
        else expect(s3Actions, route.operationId).toEqual([]);
      }
      expect(usesS3("lambdas/artifacts/handlers/create-artifact.ts")).toBe(true);
      expect(usesS3("lambdas/projects/handlers/create-project.ts")).toBe(false);
    });

    it("lets no API handler delete objects: deletions run in the job worker", () => {
      const deleters = ROUTES.filter((route) =>
        allowedActions(synth.template, roleOf(route.operationId)).includes("s3:DeleteObject"),
      ).map((route) => route.operationId);
      expect(deleters).toEqual([]);
      const worker = logicalId(synth.stack.jobs.worker.role.node.defaultChild);
      expect(allowedActions(synth.template, worker)).toContain("s3:DeleteObject");
    });

    it("never grants a wildcard action", () => {
      for (const policy of Object.values(synth.template.findResources("AWS::IAM::Policy"))) {
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
          if (statement.Effect === "Allow")
            expect(actions.filter((a: string) => a.includes("*"))).toEqual([]);
        }
      }
    });

    it("logs access, throttles and answers API Gateway's own errors in the API's error shape", () => {
      synth.template.hasResourceProperties("AWS::ApiGateway::Stage", {
        AccessLogSetting: Match.objectLike({ DestinationArn: Match.anyValue() }),
        MethodSettings: Match.arrayWith([
          Match.objectLike({ ThrottlingRateLimit: Match.anyValue(), ThrottlingBurstLimit: Match.anyValue() }),
        ]),
      });
      synth.template.hasResourceProperties("AWS::ApiGateway::GatewayResponse", {
        ResponseType: "MISSING_AUTHENTICATION_TOKEN",
        ResponseTemplates: { "application/json": Match.stringLikeRegexp('"code": "UNAUTHENTICATED"') },
      });
      synth.template.resourceCountIs("AWS::ApiGateway::RequestValidator", 0);
    });

    it("throttles every route on its own: the MLflow import far below the other writes", () => {
      const [stage] = Object.values(synth.template.findResources("AWS::ApiGateway::Stage"));
      const settings = stage?.Properties.MethodSettings as Array<Record<string, unknown>>;
      const of = (method: string, path: string) =>
        settings.find((s) => s.HttpMethod === method && s.ResourcePath === `/${path.replace(/\//g, "~1")}`);
      for (const route of ROUTES) {
        expect(of(route.method, route.path), `${route.method} ${route.path}`).toBeDefined();
      }
      expect(of("POST", "/v1/projects/{projectId}/imports/mlflow")).toMatchObject({
        ThrottlingRateLimit: 2,
        ThrottlingBurstLimit: 5,
      });
      expect(of("GET", "/v1/projects/{projectId}")).toMatchObject({ ThrottlingRateLimit: 100 });
      expect(of("POST", "/v1/projects")).toMatchObject({ ThrottlingRateLimit: 25 });
    });

    it("reserves no concurrency by default (a new account has none to reserve)", () => {
      for (const fn of Object.values(synth.template.findResources("AWS::Lambda::Function"))) {
        expect(fn.Properties.ReservedConcurrentExecutions).toBeUndefined();
      }
    });
  });

  describe("storage", () => {
    it("encrypts the table, keeps point-in-time recovery and protects it from deletion", () => {
      synth.template.hasResource("AWS::DynamoDB::GlobalTable", {
        DeletionPolicy: "Retain",
        Properties: Match.objectLike({
          BillingMode: "PAY_PER_REQUEST",
          SSESpecification: { SSEEnabled: true, SSEType: "KMS" },
          Replicas: [
            Match.objectLike({
              DeletionProtectionEnabled: true,
              PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
            }),
          ],
          GlobalSecondaryIndexes: [Match.objectLike({ IndexName: "gsi1" })],
        }),
      });
    });

    it("makes the artifact bucket private, encrypted, versioned, logged and TLS-only", () => {
      const bucket = logicalId(synth.stack.artifacts.bucket.node.defaultChild);
      const properties = synth.template.toJSON().Resources[bucket].Properties;
      expect(properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(
        properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toEqual({
        SSEAlgorithm: "AES256",
      });
      expect(properties.VersioningConfiguration).toEqual({ Status: "Enabled" });
      expect(properties.LoggingConfiguration.DestinationBucketName).toEqual({
        Ref: logicalId(synth.stack.logBucket.bucket.node.defaultChild),
      });
      expect(properties.LifecycleConfiguration.Rules).toContainEqual(
        expect.objectContaining({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 7 } }),
      );
      expect(properties.CorsConfiguration).toBeUndefined();
      synth.template.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: "Deny",
              Action: "s3:*",
              Principal: { AWS: "*" },
              Condition: { Bool: { "aws:SecureTransport": "false" } },
            }),
          ]),
        },
      });
    });

    it("expires captured requests after 30 days by default; they are encrypted with the bucket's default key", () => {
      const bucket = logicalId(synth.stack.artifacts.bucket.node.defaultChild);
      const properties = synth.template.toJSON().Resources[bucket].Properties;
      expect(properties.LifecycleConfiguration.Rules).toContainEqual({
        Id: "ExpireCapturedRequests",
        Prefix: "capture/",
        ExpirationInDays: 30,
        NoncurrentVersionExpiration: { NoncurrentDays: 1 },
        Status: "Enabled",
      });
      // Runtimes send no encryption header: every object gets the bucket's default encryption.
      expect(
        properties.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault,
      ).toBeDefined();
    });

    it("lets the drift function read and list captured requests only", () => {
      const statements = synth.template.toJSON().Resources;
      const role = roleOf("getDeploymentDrift");
      const policies = Object.values(statements as Record<string, { Type: string; Properties: any }>).filter(
        (r) =>
          r.Type === "AWS::IAM::Policy" && r.Properties.Roles.some((x: { Ref: string }) => x.Ref === role),
      );
      const s3 = policies
        .flatMap((p) => p.Properties.PolicyDocument.Statement)
        .filter((st: { Action: string | string[] }) => [st.Action].flat().some((a) => a.startsWith("s3:")));
      expect(s3.map((st: { Action: string }) => st.Action).sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
      expect(JSON.stringify(s3)).toContain("capture/*");
      expect(JSON.stringify(s3)).not.toContain("artifacts/");
    });

    it("lets only Byom's own writer roles put objects under artifacts/ (a deny for every other principal)", () => {
      const bucket = logicalId(synth.stack.artifacts.bucket.node.defaultChild);
      const [policy] = Object.values(synth.template.findResources("AWS::S3::BucketPolicy")).filter(
        (p) => p.Properties.Bucket.Ref === bucket,
      );
      const statement = policy?.Properties.PolicyDocument.Statement.find(
        (s: { Sid?: string }) => s.Sid === "OnlyByomWritesArtifacts",
      );
      expect(statement).toMatchObject({ Effect: "Deny", Principal: { AWS: "*" }, Action: "s3:PutObject" });
      expect(JSON.stringify(statement.Resource)).toContain('"/artifacts/*"');
      const allowed = (
        statement.Condition.ArnNotEquals["aws:PrincipalArn"] as Array<{ "Fn::GetAtt": string[] }>
      )
        .map((arn) => arn["Fn::GetAtt"][0])
        .sort();
      // Exactly the roles IAM lets write there: the upload routes and ingestion (drop folder copies).
      const writers = Object.entries(synth.template.findResources("AWS::IAM::Policy"))
        .filter(([, p]) =>
          p.Properties.PolicyDocument.Statement.some(
            (s: { Action: string | string[]; Resource: unknown }) =>
              [s.Action].flat().includes("s3:PutObject") && JSON.stringify(s.Resource).includes("artifacts/"),
          ),
        )
        .flatMap(([, p]) => p.Properties.Roles.map((r: { Ref: string }) => r.Ref))
        .sort();
      expect(allowed).toEqual(writers);
      expect(allowed).toContain(roleOf("createArtifact"));
      expect(allowed).toContain(logicalId(synth.stack.ingest.ingest.role.node.defaultChild));
      expect(allowed).toContain(logicalId(synth.stack.jobs.worker.role.node.defaultChild));
      expect(allowed).not.toContain(roleOf("getArtifact"));
    });

    it("blocks public access and denies plain HTTP on the log bucket too", () => {
      const bucket = logicalId(synth.stack.logBucket.bucket.node.defaultChild);
      synth.template.hasResourceProperties("AWS::S3::BucketPolicy", {
        Bucket: { Ref: bucket },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
    });

    it("encrypts the model file system and refuses clients without TLS", () => {
      synth.template.hasResourceProperties("AWS::EFS::FileSystem", {
        Encrypted: true,
        FileSystemPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
          ]),
        },
      });
      synth.template.hasResourceProperties("AWS::EFS::AccessPoint", {
        RootDirectory: Match.objectLike({ Path: "/models" }),
        PosixUser: { Uid: "10001", Gid: "10001" },
      });
    });
  });

  describe("job worker", () => {
    it("feeds the worker from an encrypted queue with a dead-letter queue, one message per invocation", () => {
      const queue = logicalId(synth.stack.jobs.queue.node.defaultChild);
      const dlq = logicalId(synth.stack.jobs.deadLetterQueue.node.defaultChild);
      const properties = synth.template.toJSON().Resources[queue].Properties;
      expect(properties.SqsManagedSseEnabled).toBe(true);
      expect(properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] },
        maxReceiveCount: MAX_RECEIVE_COUNT,
      });
      expect(properties.VisibilityTimeout).toBe(6 * JOB_TIMEOUT_SECONDS);
      synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: { "Fn::GetAtt": [queue, "Arn"] },
        BatchSize: 1,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
      const worker = synth.stack.jobs.worker.function.node.defaultChild as CfnElement;
      const fn = synth.template.toJSON().Resources[logicalId(worker)].Properties;
      expect(fn.Timeout).toBe(JOB_TIMEOUT_SECONDS);
      expect(Object.keys(fn.Environment.Variables)).toEqual(
        expect.arrayContaining(["TABLE_NAME", "BUCKET_NAME", "JOBS_QUEUE_URL"]),
      );
      // The worker drains its dead-letter queue too, ending a job whose worker died FAILED
      // (lambdas/jobs/worker.ts failDeadLetteredJob); the alarm counts the letters it receives.
      expect(fn.Environment.Variables.JOB_DEAD_LETTER_QUEUE_ARN).toEqual({ "Fn::GetAtt": [dlq, "Arn"] });
      expect(synth.template.toJSON().Resources[dlq].Properties.VisibilityTimeout).toBe(
        6 * JOB_TIMEOUT_SECONDS,
      );
      synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        EventSourceArn: { "Fn::GetAtt": [dlq, "Arn"] },
        FunctionName: { Ref: logicalId(worker) },
        BatchSize: 1,
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
      synth.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        MetricName: "NumberOfMessagesReceived",
        Dimensions: [{ Name: "QueueName", Value: { "Fn::GetAtt": [dlq, "QueueName"] } }],
      });
    });

    it("lets exactly the handlers that start jobs send to the job queue, with its URL in their environment", () => {
      const queue = logicalId(synth.stack.jobs.queue.node.defaultChild);
      const starters = [
        "deleteProject",
        "deleteExperiment",
        "completeArtifactUpload",
        "importMlflowModel",
        "addCatalogEntry",
      ];
      for (const route of ROUTES) {
        const fn = synth.stack.api.functions.get(route.operationId);
        const resolved = synth.template.toJSON().Resources[logicalId(fn?.function.node.defaultChild)];
        const env = resolved.Properties.Environment?.Variables ?? {};
        const sends = allowedActions(synth.template, roleOf(route.operationId)).includes("sqs:SendMessage");
        const starts = starters.includes(route.operationId);
        expect(sends, route.operationId).toBe(starts);
        expect(env.JOBS_QUEUE_URL !== undefined, route.operationId).toBe(starts);
        if (starts) expect(env.JOBS_QUEUE_URL).toEqual({ Ref: queue });
        // Starting a job needs the table and the queue; the job worker does the S3 work.
        if (starts) {
          expect(
            allowedActions(synth.template, roleOf(route.operationId)).filter((a) => a.startsWith("s3:")),
            route.operationId,
          ).toEqual([]);
          expect(env.BUCKET_NAME, route.operationId).toBeUndefined();
        }
      }
    });
  });

  describe("ingest pipeline", () => {
    it("sends ObjectCreated events under every ingest prefix to the queue", () => {
      const notifications = Object.values(synth.template.findResources("Custom::S3BucketNotifications"));
      expect(notifications).toHaveLength(1);
      const queueConfigs = notifications[0]?.Properties.NotificationConfiguration.QueueConfigurations;
      const prefixes = queueConfigs.map(
        (c: { Filter: { Key: { FilterRules: Array<{ Name: string; Value: string }> } } }) =>
          c.Filter.Key.FilterRules.find((rule) => rule.Name === "prefix")?.Value,
      );
      expect(prefixes.sort()).toEqual([...INGEST_PREFIXES].sort());
      for (const config of queueConfigs) {
        expect(config.Events).toEqual(["s3:ObjectCreated:*"]);
        expect(config.QueueArn).toEqual({
          "Fn::GetAtt": [logicalId(synth.stack.ingest.queue.node.defaultChild), "Arn"],
        });
      }
    });

    it("encrypts both queues, refuses plain HTTP and dead-letters after local mode's receive count", () => {
      const queue = logicalId(synth.stack.ingest.queue.node.defaultChild);
      const dlq = logicalId(synth.stack.ingest.deadLetterQueue.node.defaultChild);
      const resources = synth.template.toJSON().Resources;
      for (const id of [queue, dlq]) {
        expect(resources[id].Properties.SqsManagedSseEnabled, id).toBe(true);
        synth.template.hasResourceProperties("AWS::SQS::QueuePolicy", {
          Queues: [{ Ref: id }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: "Deny", Condition: { Bool: { "aws:SecureTransport": "false" } } }),
            ]),
          },
        });
      }
      expect(resources[queue].Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: { "Fn::GetAtt": [dlq, "Arn"] },
        maxReceiveCount: MAX_RECEIVE_COUNT,
      });
      expect(resources[queue].Properties.VisibilityTimeout).toBeGreaterThanOrEqual(
        6 * INGEST_TIMEOUT_SECONDS,
      );
    });

    it("raises an alarm while anything waits in the dead-letter queue", () => {
      synth.template.hasResourceProperties("AWS::CloudWatch::Alarm", {
        Namespace: "AWS/SQS",
        MetricName: "ApproximateNumberOfMessagesVisible",
        Dimensions: [
          {
            Name: "QueueName",
            Value: {
              "Fn::GetAtt": [logicalId(synth.stack.ingest.deadLetterQueue.node.defaultChild), "QueueName"],
            },
          },
        ],
        ComparisonOperator: "GreaterThanThreshold",
        Threshold: 0,
      });
    });

    it("runs the ingest handler for 15 minutes with partial batch failures reported", () => {
      const ingest = logicalId(synth.stack.ingest.ingest.function.node.defaultChild);
      const resources = synth.template.toJSON().Resources;
      expect(resources[ingest].Properties.Timeout).toBe(15 * 60);
      synth.template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
        FunctionName: { Ref: ingest },
        FunctionResponseTypes: ["ReportBatchItemFailures"],
      });
      const actions = allowedActions(
        synth.template,
        logicalId(synth.stack.ingest.ingest.role.node.defaultChild),
      );
      expect(actions).toEqual(
        expect.arrayContaining([
          "s3:GetObject",
          "s3:PutObject",
          "s3:AbortMultipartUpload",
          "sqs:ReceiveMessage",
        ]),
      );
      expect(actions).not.toContain("s3:DeleteObject");
    });
  });

  describe("network and scoring", () => {
    it("answers unmatched scoring paths with a 404 in the scorer API's error shape", () => {
      synth.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::Listener", {
        DefaultActions: [
          {
            Type: "fixed-response",
            FixedResponseConfig: Match.objectLike({ StatusCode: "404", ContentType: "application/json" }),
          },
        ],
      });
    });

    it("keeps the ALB internal by default, with access logs and invalid headers dropped", () => {
      for (const attribute of ["access_logs.s3.enabled", "routing.http.drop_invalid_header_fields.enabled"]) {
        synth.template.hasResourceProperties("AWS::ElasticLoadBalancingV2::LoadBalancer", {
          Scheme: "internal",
          LoadBalancerAttributes: Match.arrayWith([{ Key: attribute, Value: "true" }]),
        });
      }
    });

    it("lets only the ALB (and the deployer's verification step) reach runtime tasks, on 8080, and only Byom tasks and deployer steps reach EFS, on 2049", () => {
      const resources = synth.template.toJSON().Resources;
      const runtimeSg = logicalId(synth.stack.scoring.runtimeSecurityGroup.node.defaultChild);
      const albSg = logicalId(synth.stack.scoring.loadBalancerSecurityGroup.node.defaultChild);
      const efsSg = logicalId(synth.stack.fileSystem.securityGroup.node.defaultChild);
      const processorSg = logicalId(synth.stack.scoring.processorSecurityGroup.node.defaultChild);
      const deployerSg = logicalId(synth.stack.servingWorkflows.securityGroup.node.defaultChild);
      for (const sg of [runtimeSg, efsSg, processorSg]) {
        expect(resources[sg].Properties.SecurityGroupIngress ?? [], sg).toEqual([]);
      }
      const ingress = (target: string) =>
        Object.values(synth.template.findResources("AWS::EC2::SecurityGroupIngress"))
          .map((r) => r.Properties)
          .filter((p) => JSON.stringify(p.GroupId) === JSON.stringify({ "Fn::GetAtt": [target, "GroupId"] }));
      expect(ingress(runtimeSg)).toEqual([
        expect.objectContaining({
          IpProtocol: "tcp",
          FromPort: RUNTIME_PORT,
          ToPort: RUNTIME_PORT,
          SourceSecurityGroupId: { "Fn::GetAtt": [albSg, "GroupId"] },
        }),
        // The deploy workflow scores a new slot's sample request directly, before traffic moves.
        expect.objectContaining({
          IpProtocol: "tcp",
          FromPort: RUNTIME_PORT,
          ToPort: RUNTIME_PORT,
          SourceSecurityGroupId: { "Fn::GetAtt": [deployerSg, "GroupId"] },
        }),
      ]);
      expect(ingress(processorSg)).toEqual([]);
      const efsIngress = ingress(efsSg);
      expect(efsIngress.map((p) => [p.FromPort, p.ToPort])).toEqual([
        [2049, 2049],
        [2049, 2049],
        [2049, 2049],
      ]);
      expect(efsIngress.map((p) => p.SourceSecurityGroupId["Fn::GetAtt"][0]).sort()).toEqual(
        [runtimeSg, processorSg, deployerSg].sort(),
      );
    });

    it("gives runtime tasks no way out but EFS, the VPC endpoints, S3's gateway endpoint and the shadow listener", () => {
      const sg = (group: unknown) =>
        `sg:${logicalId((group as { node: { defaultChild: unknown } }).node.defaultChild)}`;
      const { network, scoring, fileSystem } = synth.stack;
      const s3PrefixList = `prefix-list:${logicalId(network.node.findChild("S3PrefixList").node.findChild("Resource").node.defaultChild)}`;
      expect(egressRules(synth.template, logicalId(scoring.runtimeSecurityGroup.node.defaultChild))).toEqual(
        [
          `tcp 2049-2049 to ${sg(fileSystem.securityGroup)}`,
          `tcp 443-443 to ${sg(network.endpointSecurityGroup)}`,
          `tcp 443-443 to ${s3PrefixList}`,
          `tcp ${SHADOW_PORT}-${SHADOW_PORT} to ${sg(scoring.loadBalancerSecurityGroup)}`,
        ].sort(),
      );
      expect(
        egressRules(synth.template, logicalId(scoring.processorSecurityGroup.node.defaultChild)),
      ).toEqual(
        [
          `tcp 2049-2049 to ${sg(fileSystem.securityGroup)}`,
          `tcp 443-443 to ${sg(network.endpointSecurityGroup)}`,
          `tcp 443-443 to ${s3PrefixList}`,
        ].sort(),
      );
      // The prefix list is the region's AWS-managed S3 list, looked up at deploy time.
      expectPrefixListLookup(s3PrefixList, "com.amazonaws.us-east-1.s3");
    });

    it("gives the deployer's steps no way out but EFS, the endpoints, S3, DynamoDB and runtime tasks' 8080", () => {
      const sg = (group: unknown) =>
        `sg:${logicalId((group as { node: { defaultChild: unknown } }).node.defaultChild)}`;
      const { network, scoring, fileSystem, servingWorkflows: deployer } = synth.stack;
      const prefixList = (id: string) =>
        `prefix-list:${logicalId(network.node.findChild(id).node.findChild("Resource").node.defaultChild)}`;
      expect(egressRules(synth.template, logicalId(deployer.securityGroup.node.defaultChild))).toEqual(
        [
          `tcp 2049-2049 to ${sg(fileSystem.securityGroup)}`,
          `tcp 443-443 to ${sg(network.endpointSecurityGroup)}`,
          `tcp 443-443 to ${prefixList("S3PrefixList")}`,
          `tcp 443-443 to ${prefixList("DynamoDBPrefixList")}`,
          `tcp ${RUNTIME_PORT}-${RUNTIME_PORT} to ${sg(scoring.runtimeSecurityGroup)}`,
        ].sort(),
      );
      expectPrefixListLookup(prefixList("DynamoDBPrefixList"), "com.amazonaws.us-east-1.dynamodb");
    });

    it("limits every VPC endpoint to this account: the S3 one to the artifact bucket and ECR's layer bucket, the DynamoDB one to the table", () => {
      const { network, artifacts, table } = synth.stack;
      const endpoints = synth.template.findResources("AWS::EC2::VPCEndpoint");
      expect(Object.keys(endpoints)).toHaveLength(12);
      const thisAccount = { Ref: "AWS::AccountId" };
      const bucket = logicalId(artifacts.bucket.node.defaultChild);
      expect(endpoints[logicalId(network.s3Endpoint.node.defaultChild)]?.Properties.PolicyDocument).toEqual({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ThisAccountsBuckets",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "s3:*",
            Resource: [
              { "Fn::GetAtt": [bucket, "Arn"] },
              { "Fn::Join": ["", [{ "Fn::GetAtt": [bucket, "Arn"] }, "/*"]] },
            ],
            Condition: { StringEquals: { "aws:PrincipalAccount": thisAccount } },
          },
          {
            Sid: "EcrImageLayers",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "s3:GetObject",
            Resource: {
              "Fn::Join": [
                "",
                ["arn:", { Ref: "AWS::Partition" }, ":s3:::prod-us-east-1-starport-layer-bucket/*"],
              ],
            },
          },
        ],
      });
      const tableArn = { "Fn::GetAtt": [logicalId(table.table.node.defaultChild), "Arn"] };
      expect(
        endpoints[logicalId(network.dynamoDbEndpoint.node.defaultChild)]?.Properties.PolicyDocument,
      ).toEqual({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "ThisAccountsTables",
            Effect: "Allow",
            Principal: { AWS: "*" },
            Action: "dynamodb:*",
            Resource: [tableArn, { "Fn::Join": ["", [tableArn, "/index/*"]] }],
            Condition: { StringEquals: { "aws:PrincipalAccount": thisAccount } },
          },
        ],
      });
      const interfaces = Object.values(endpoints).filter((e) => e.Properties.VpcEndpointType === "Interface");
      expect(interfaces).toHaveLength(10);
      for (const endpoint of interfaces) {
        expect(endpoint.Properties.PolicyDocument, JSON.stringify(endpoint.Properties.ServiceName)).toEqual({
          Version: "2012-10-17",
          Statement: [
            {
              Sid: "ThisAccountOnly",
              Effect: "Allow",
              Principal: { AWS: "*" },
              Action: "*",
              Resource: "*",
              Condition: {
                StringEquals: { "aws:PrincipalAccount": thisAccount, "aws:ResourceAccount": thisAccount },
              },
            },
          ],
        });
      }
    });

    it("records all VPC traffic, accepted and rejected, in flow logs in the log bucket", () => {
      const flowLogs = Object.values(synth.template.findResources("AWS::EC2::FlowLog"));
      expect(flowLogs.map((f) => f.Properties)).toEqual([
        expect.objectContaining({
          ResourceType: "VPC",
          ResourceId: { Ref: logicalId(synth.stack.network.vpc.node.defaultChild) },
          TrafficType: "ALL",
          LogDestinationType: "s3",
          LogDestination: {
            "Fn::Join": [
              "",
              [
                { "Fn::GetAtt": [logicalId(synth.stack.logBucket.bucket.node.defaultChild), "Arn"] },
                "/vpc-flow-logs/",
              ],
            ],
          },
        }),
      ]);
    });

    it("lets only this account's log delivery write flow logs, and only under their prefix", () => {
      const logBucket = logicalId(synth.stack.logBucket.bucket.node.defaultChild);
      const policy = Object.values(synth.template.findResources("AWS::S3::BucketPolicy")).find(
        (p) => p.Properties.Bucket.Ref === logBucket,
      );
      const statements = policy?.Properties.PolicyDocument.Statement as any[];
      const write = statements.find((s) => s.Sid === "FlowLogDeliveryWrite");
      expect(write).toMatchObject({
        Effect: "Allow",
        Principal: { Service: "delivery.logs.amazonaws.com" },
        Action: "s3:PutObject",
        Resource: {
          "Fn::Join": [
            "",
            [
              { "Fn::GetAtt": [logBucket, "Arn"] },
              "/vpc-flow-logs/AWSLogs/",
              { Ref: "AWS::AccountId" },
              "/*",
            ],
          ],
        },
        Condition: {
          StringEquals: {
            "aws:SourceAccount": { Ref: "AWS::AccountId" },
            "s3:x-amz-acl": "bucket-owner-full-control",
          },
        },
      });
      expect(write.Condition.ArnLike["aws:SourceArn"]).toBeDefined();
    });

    it("refuses an internet-facing scoring endpoint without a certificate, saying what to pass", () => {
      expect(() => synthesize({ "byom:internetFacing": "true" })).toThrow(
        /-c byom:certificateArn=arn:aws:acm:<region>:<account>:certificate\/<id>/,
      );
    });

    it("keeps one ALB when it is internal: the shadow listener is on it", () => {
      synth.template.resourceCountIs("AWS::ElasticLoadBalancingV2::LoadBalancer", 1);
      expect(synth.stack.scoring.shadowLoadBalancer).toBe(synth.stack.scoring.loadBalancer);
      const listener = synth.stack.scoring.shadowListener;
      const resources = synth.template.toJSON().Resources;
      expect(resources[logicalId(listener.node.defaultChild)].Properties.LoadBalancerArn).toEqual({
        Ref: logicalId(synth.stack.scoring.loadBalancer.node.defaultChild),
      });
    });

    it("opens the shadow listener to runtime tasks only, and tells the deployer where it is", () => {
      const listener = synth.stack.scoring.shadowListener;
      expect(listener).toBeDefined();
      const resources = synth.template.toJSON().Resources;
      const shadow = resources[logicalId(listener?.node.defaultChild)].Properties;
      expect(shadow.Port).toBe(SHADOW_PORT);
      expect(shadow.Protocol).toBe("HTTP");
      expect(shadow.DefaultActions[0].FixedResponseConfig.StatusCode).toBe("404");
      const albSg = logicalId(synth.stack.scoring.loadBalancerSecurityGroup.node.defaultChild);
      const runtimeSg = logicalId(synth.stack.scoring.runtimeSecurityGroup.node.defaultChild);
      // Champions send their copies there; no CIDR (no scoring client) may.
      const inline = resources[albSg].Properties.SecurityGroupIngress ?? [];
      expect(inline.filter((rule: any) => rule.FromPort === SHADOW_PORT)).toEqual([]);
      const onShadowPort = Object.values(synth.template.findResources("AWS::EC2::SecurityGroupIngress"))
        .map((r) => r.Properties)
        .filter((p) => p.FromPort === SHADOW_PORT || p.ToPort === SHADOW_PORT);
      expect(onShadowPort).toEqual([
        expect.objectContaining({
          IpProtocol: "tcp",
          FromPort: SHADOW_PORT,
          ToPort: SHADOW_PORT,
          GroupId: { "Fn::GetAtt": [albSg, "GroupId"] },
          SourceSecurityGroupId: { "Fn::GetAtt": [runtimeSg, "GroupId"] },
        }),
      ]);
      const steps = Object.values(synth.template.findResources("AWS::Lambda::Function")).filter((f) =>
        String(f.Properties.Description ?? "").startsWith("Byom deployer step"),
      );
      for (const step of steps) {
        const env = step.Properties.Environment.Variables;
        expect(env.SHADOW_LISTENER_ARN).toEqual({ Ref: logicalId(listener?.node.defaultChild) });
        expect(JSON.stringify(env.SHADOW_BASE_URL)).toContain(`:${SHADOW_PORT}`);
      }
    });

    it("puts tasks in isolated subnets reaching AWS through endpoints, with no NAT gateway", () => {
      synth.template.resourceCountIs("AWS::EC2::NatGateway", 0);
      const endpoints = Object.values(synth.template.findResources("AWS::EC2::VPCEndpoint")).map((e) =>
        JSON.stringify(e.Properties.ServiceName),
      );
      for (const service of [
        "s3",
        "dynamodb",
        "ecr.api",
        "ecr.dkr",
        "logs",
        "ecs",
        "elasticloadbalancing",
        "states",
        "elasticfilesystem",
        "secretsmanager",
        "application-autoscaling",
        "monitoring",
      ]) {
        expect(
          endpoints.some((name) => name.includes(`.${service}`)),
          service,
        ).toBe(true);
      }
      // Interface endpoints (the network's and the deployer's alike) in the first AZ only, by default.
      const interfaces = Object.values(synth.template.findResources("AWS::EC2::VPCEndpoint")).filter(
        (e) => e.Properties.VpcEndpointType === "Interface",
      );
      expect(interfaces.length).toBe(10);
      for (const endpoint of interfaces) expect(endpoint.Properties.SubnetIds.length).toBe(1);
      synth.template.hasResourceProperties("AWS::ECS::Cluster", {
        ClusterSettings: [{ Name: "containerInsights", Value: "enabled" }],
      });
    });
  });

  describe("images and catalog", () => {
    it("stages one image asset per image folder of the built-in catalog, built from runtime-images/", () => {
      const folders = builtinImageFolders();
      expect(folders.length).toBeGreaterThanOrEqual(2);
      const manifest = JSON.parse(
        readFileSync(join(synth.assembly.directory, `${synth.stack.artifactId}.assets.json`), "utf8"),
      ) as {
        dockerImages: Record<
          string,
          {
            source: {
              directory: string;
              dockerFile: string;
              platform: string;
              dockerBuildArgs?: Record<string, string>;
              dockerBuildTarget?: string;
            };
          }
        >;
      };
      const images = Object.values(manifest.dockerImages).map((image) => image.source);
      const built = (file: string, args: Record<string, string> | undefined, target: string | undefined) =>
        `${file} ${JSON.stringify(args ?? {})} ${target ?? ""}`;
      expect(
        images.map((image) => built(image.dockerFile, image.dockerBuildArgs, image.dockerBuildTarget)).sort(),
      ).toEqual(
        folders
          .map((f) => imageBuild(f))
          .map((b) => built(b.file, b.buildArgs, b.target))
          .sort(),
      );
      // The Python images share one Dockerfile; only the Java ones have their own.
      expect(
        images.filter((image) => image.dockerFile === "python.Dockerfile").length,
      ).toBeGreaterThanOrEqual(6);
      for (const image of images) {
        expect(image.platform).toBe("linux/amd64");
        // The staged build context is runtime-images/: the shared Python packages and the Dockerfile.
        const context = join(synth.assembly.directory, image.directory);
        expect(existsSync(join(context, image.dockerFile)), image.dockerFile).toBe(true);
        expect(existsSync(join(context, "python")), image.dockerFile).toBe(true);
      }
    });

    it("seeds the catalog through a custom resource that carries the image URIs", () => {
      const seeds = Object.values(synth.template.findResources("Custom::ByomCatalogSeed"));
      expect(seeds).toHaveLength(1);
      expect(Object.keys(seeds[0]?.Properties.ImageUris).sort()).toEqual(builtinImageFolders());
      expect(seeds[0]?.Properties.CatalogHash).toMatch(/^[0-9a-f]{64}$/);
    });
  });
});
