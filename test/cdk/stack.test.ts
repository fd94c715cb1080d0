import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { CfnElement } from "aws-cdk-lib";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it } from "vitest";
import { builtinImageFolders } from "#cdk/constructs/container-images.ts";
import { INGEST_TIMEOUT_SECONDS } from "#cdk/constructs/ingest-pipeline.ts";
import { usesS3 } from "#cdk/module-graph.ts";
import { ROUTES } from "#cdk/routes.ts";
import { RUNTIME_PORT, SHADOW_PORT } from "#lambdas/deployments/serving-contract.ts";
import { INGEST_PREFIXES } from "#lambdas/shared/object-keys.ts";
import { MAX_RECEIVE_COUNT } from "#local/ingest-queue.ts";
import { allowedActions, type SynthesizedApp, synthesize } from "../support/cdk.ts";

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

beforeAll(() => {
  synth = synthesize();
});

describe("the synthesized Byom stack", () => {
  it("has no cdk-nag AwsSolutions finding that is not acknowledged with a reason", () => {
    expect(synth.unacknowledgedFindings).toEqual([]);
  });

  it("acknowledges no cdk-nag rule that finds nothing (every acknowledgement is still needed)", () => {
    expect(synth.unusedAcknowledgements).toEqual([]);
  });

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
      // About 6 resources per route (function, role, policy, log group, permission, method). Past
      // this mark, move the registry API into a NestedStack before a new route breaks deploys.
      const count = Object.keys(synth.template.toJSON().Resources).length;
      expect(count).toBeLessThan(450);
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
            (a) => a.startsWith("s3:") && a !== "s3:GetObject" && a !== "s3:GetObjectAttributes",
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

    it("lets only DELETE handlers delete objects, and those nothing else in the bucket", () => {
      const deleters = ROUTES.filter((route) =>
        allowedActions(synth.template, roleOf(route.operationId)).includes("s3:DeleteObject"),
      ).map((route) => route.operationId);
      expect(deleters).toEqual(expect.arrayContaining(["deleteExperiment", "deleteProject"]));
      for (const operationId of deleters) {
        expect(ROUTES.find((r) => r.operationId === operationId)?.method).toBe("DELETE");
        const s3Actions = allowedActions(synth.template, roleOf(operationId)).filter((a) =>
          a.startsWith("s3:"),
        );
        expect(s3Actions.sort()).toEqual(["s3:AbortMultipartUpload", "s3:DeleteObject"]);
      }
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
      const deployerSg = logicalId(synth.stack.deployer.securityGroup.node.defaultChild);
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
      expect(interfaces.length).toBe(9);
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
        dockerImages: Record<string, { source: { directory: string; dockerFile: string; platform: string } }>;
      };
      const images = Object.values(manifest.dockerImages).map((image) => image.source);
      expect(images.map((image) => image.dockerFile).sort()).toEqual(
        folders.map((f) => `${f}/Dockerfile`).sort(),
      );
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
