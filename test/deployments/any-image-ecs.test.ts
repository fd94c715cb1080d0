import {
  CreateClusterCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
} from "@aws-sdk/client-ecs";
import {
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResolvedTarget, Slot } from "#lambdas/deployments/deployment-record.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";
import { primarySlot } from "../support/serving-slot.ts";

/**
 * The task definitions and target group the AWS serving adapter registers for a slot whose
 * processor and runtime are catalog entries with images of their own, over the real ECS and ELBv2
 * wire protocols (moto server). What moto does not check: that the image exists or can be pulled,
 * that the roles exist or may be passed, Fargate's cpu/memory pairs, and that the EFS access point
 * exists; it runs no tasks.
 */
const REGION = "eu-west-1";
const RUNTIME_IMAGE = `123456789012.dkr.ecr.${REGION}.amazonaws.com/byom/images/ghcr.io/acme/scorer@sha256:${"a".repeat(64)}`;
const PROCESSOR_IMAGE = `123456789012.dkr.ecr.${REGION}.amazonaws.com/byom/images/docker.io/acme/prep@sha256:${"b".repeat(64)}`;

let moto: MotoServer;
let ecs: ECSClient;
let elb: ElasticLoadBalancingV2Client;
let serving: InstanceType<typeof import("#lambdas/deployments/serving/aws-serving.ts").AwsServing>;
let clusterArn: string;

beforeAll(async () => {
  moto = await startMotoServer();
  Object.assign(process.env, {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: "moto",
    AWS_SECRET_ACCESS_KEY: "moto",
    AWS_ENDPOINT_URL_ECS: moto.endpoint,
    AWS_ENDPOINT_URL_ELASTIC_LOAD_BALANCING_V2: moto.endpoint,
    TABLE_NAME: "unit",
    BUCKET_NAME: "unit",
  });
  const client = { endpoint: moto.endpoint, region: REGION };
  ecs = new ECSClient(client);
  elb = new ElasticLoadBalancingV2Client(client);
  // The VPC, subnet and security group: the EC2 Query API spoken directly (this repository has no EC2 client).
  const ec2 = (body: string) =>
    fetch(moto.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `AWS4-HMAC-SHA256 Credential=moto/20260101/${REGION}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
      },
      body: `${body}&Version=2016-11-15`,
    }).then((r) => r.text());
  const vpcId = /<vpcId>([^<]+)<\/vpcId>/.exec(
    await ec2("Action=CreateVpc&CidrBlock=10.0.0.0%2F16"),
  )?.[1] as string;
  const subnetId = /<subnetId>([^<]+)<\/subnetId>/.exec(
    await ec2(`Action=CreateSubnet&VpcId=${vpcId}&CidrBlock=10.0.1.0%2F24`),
  )?.[1] as string;
  const groupId = /<groupId>([^<]+)<\/groupId>/.exec(
    await ec2(`Action=CreateSecurityGroup&VpcId=${vpcId}&GroupName=runtime&GroupDescription=runtime`),
  )?.[1] as string;
  clusterArn = (await ecs.send(new CreateClusterCommand({ clusterName: "byom" }))).cluster
    ?.clusterArn as string;
  const { AwsServing } = await import("#lambdas/deployments/serving/aws-serving.ts");
  serving = new AwsServing({
    clusterArn,
    vpcId,
    listenerArn: "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/byom/1/80",
    endpointBaseUrl: "http://byom.example",
    shadowListenerArn: undefined,
    shadowBaseUrl: undefined,
    alarmTopicArn: undefined,
    subnetIds: [subnetId],
    securityGroupIds: [groupId],
    executionRoleArn: "arn:aws:iam::123456789012:role/runtime-exec",
    taskRoleArn: "arn:aws:iam::123456789012:role/runtime-task",
    processorExecutionRoleArn: "arn:aws:iam::123456789012:role/processor-exec",
    processorTaskRoleArn: "arn:aws:iam::123456789012:role/processor-task",
    runtimeLogGroup: "runtime-logs",
    processorLogGroup: "processor-logs",
    fileSystemId: "fs-1",
    cpu: "1024",
    memory: "2048",
    region: REGION,
  });
}, 300_000);
afterAll(async () => {
  await moto?.stop();
});

const slot = (target: Partial<ResolvedTarget>): Slot =>
  primarySlot({
    processor: "acme-prep",
    runtime: "acme-scorer",
    images: { processor: PROCESSOR_IMAGE, runtime: RUNTIME_IMAGE },
    processorEnv: { PREP_MODE: "fast" },
    healthPath: "/model/schema",
    ...target,
  });

describe("a slot of image-only catalog entries on ECS", () => {
  it("registers the processor's task definition with its pinned image and env", async () => {
    const registered = await serving.processorTaskFor("dep-x", slot({}), "fsap-slot");
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: registered.taskDefinitionArn }),
    );
    expect(taskDefinition?.family).toBe("byom-dep-x-s0123456789ab-processor");
    expect(taskDefinition?.executionRoleArn).toBe("arn:aws:iam::123456789012:role/processor-exec");
    const [container] = taskDefinition?.containerDefinitions ?? [];
    expect(container?.name).toBe(registered.containerName);
    expect(container?.image).toBe(PROCESSOR_IMAGE);
    expect(container?.environment).toEqual([{ name: "PREP_MODE", value: "fast" }]);
  });

  it("registers the runtime's task definition (pinned image, port 8080, contract env) and a target group on its health path", async () => {
    const s = slot({});
    const targetGroupArn = await serving.createTargetGroup("dep-x", s);
    const groups = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [targetGroupArn] }));
    expect(groups.TargetGroups?.[0]).toMatchObject({ HealthCheckPath: "/model/schema", Port: 8080 });

    const started = await serving.startRuntime({
      slot: s,
      deploymentId: "dep-x",
      environment: {
        ACME_THREADS: "2",
        MODEL_PATH: "/mnt/models/dep-x/s0123456789ab/model",
        MODEL_ID: "m-v1",
      },
      targetGroupArn,
    });
    const { taskDefinition } = await ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: started.taskDefinitionArn }),
    );
    const [container] = taskDefinition?.containerDefinitions ?? [];
    expect(container?.image).toBe(RUNTIME_IMAGE);
    expect(container?.portMappings).toEqual([expect.objectContaining({ containerPort: 8080 })]);
    expect(Object.fromEntries((container?.environment ?? []).map((e) => [e.name, e.value]))).toEqual({
      ACME_THREADS: "2",
      MODEL_PATH: "/mnt/models/dep-x/s0123456789ab/model",
      MODEL_ID: "m-v1",
    });
    expect(taskDefinition?.executionRoleArn).toBe("arn:aws:iam::123456789012:role/runtime-exec");
    const services = await ecs.send(
      new DescribeServicesCommand({ cluster: clusterArn, services: [started.serviceArn] }),
    );
    expect(services.services?.[0]?.taskDefinition).toBe(started.taskDefinitionArn);
  });

  it("names the entries' own execution roles (imported images) in the task definitions it registers", async () => {
    const roles = {
      processor: "arn:aws:iam::123456789012:role/byom/images/byom-image-processor",
      runtime: "arn:aws:iam::123456789012:role/byom/images/byom-image-runtime",
    };
    // Another slot: target groups are named after theirs.
    const s = { ...slot({ executionRoles: roles }), slotId: "s0123456789ac" };
    const processor = await serving.processorTaskFor("dep-y", s, "fsap-slot");
    const targetGroupArn = await serving.createTargetGroup("dep-y", s);
    const runtime = await serving.startRuntime({
      slot: s,
      deploymentId: "dep-y",
      environment: { MODEL_PATH: "/mnt/models/dep-y/s0123456789ab/model", MODEL_ID: "m-v1" },
      targetGroupArn,
    });
    for (const [arn, role] of [
      [processor.taskDefinitionArn, roles.processor],
      [runtime.taskDefinitionArn, roles.runtime],
    ] as const) {
      const { taskDefinition } = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }));
      expect(taskDefinition?.executionRoleArn).toBe(role);
    }
  });

  it("refuses a slot planned before targets recorded their images, saying how to recover", async () => {
    await expect(serving.processorTaskFor("dep-x", slot({ images: undefined }), "fsap-slot")).rejects.toThrow(
      /records no processor image.*Update the deployment/,
    );
  });
});
