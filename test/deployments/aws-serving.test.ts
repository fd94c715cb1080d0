import { describe, expect, it } from "vitest";

// The step modules read their environment when they load, as Lambdas do.
process.env.TABLE_NAME ??= "unit";
process.env.BUCKET_NAME ??= "unit";
const { AwsServing, slotPosixId } = await import("#lambdas/deployments/serving/aws-serving.ts");
const { removeSlot } = await import("#lambdas/deployments/workflow/retire-slots.ts");
const { shadowRuleFor } = await import("#lambdas/deployments/workflow/traffic-rules.ts");

import type { ResolvedTarget, Slot } from "#lambdas/deployments/deployment-record.ts";
import { primarySlot } from "../support/serving-slot.ts";

const LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/byom/1/80";
const SHADOW_LISTENER = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/byom/1/8081";
/** The shadow listener of an installation whose scoring ALB is internet-facing: on an ALB of its own. */
const OWN_SHADOW_LISTENER =
  "arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/byom-shadow/2/8081";

const settings = (shadow: boolean, shadowListenerArn = SHADOW_LISTENER) => ({
  clusterArn: "cluster",
  vpcId: "vpc",
  listenerArn: LISTENER,
  endpointBaseUrl: "http://internal-byom.elb.amazonaws.com",
  shadowListenerArn: shadow ? shadowListenerArn : undefined,
  shadowBaseUrl: shadow ? "http://internal-byom.elb.amazonaws.com:8081" : undefined,
  subnetIds: ["subnet-a"],
  securityGroupIds: ["sg-runtime"],
  executionRoleArn: "exec",
  processorExecutionRoleArn: "processor-exec",
  processorTaskRoleArn: "processor-task",
  taskRoleArn: "task",
  captureBoundaryArn: "arn:aws:iam::123456789012:policy/CaptureRoleBoundary",
  bucketName: "artifacts",
  runtimeLogGroup: "runtime-logs",
  processorLogGroup: "processor-logs",
  alarmTopicArn: undefined,
  fileSystemId: "fs",
  cpu: "1024",
  memory: "2048",
  region: "eu-west-1",
});

const PROCESSOR_IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/byom/images/ghcr.io/acme/p@sha256:def";

/** An AwsServing whose ELB and ECS clients record the commands they are sent and answer like the API. */
function recording(
  shadow: boolean,
  shadowListenerArn = SHADOW_LISTENER,
  options: {
    secretExists?: boolean;
    serviceArn?: string;
    stoppedTasks?: any[];
    roleExists?: boolean;
    roleGone?: boolean;
    /** The scalable target is gone between DescribeScalableTargets and DeregisterScalableTarget. */
    scalingGone?: boolean;
  } = {},
) {
  const serving = new AwsServing(settings(shadow, shadowListenerArn));
  const sent: Array<{ command: string; input: any }> = [];
  const send = async (command: { constructor: { name: string }; input: any }) => {
    sent.push({ command: command.constructor.name, input: command.input });
    switch (command.constructor.name) {
      case "DescribeRulesCommand":
        return { Rules: [] };
      case "CreateRuleCommand":
        return { Rules: [{ RuleArn: "rule-arn" }] };
      case "CreateTargetGroupCommand":
        return { TargetGroups: [{ TargetGroupArn: `tg-arn/${command.input.Name}` }] };
      case "RegisterTaskDefinitionCommand":
        return { taskDefinition: { taskDefinitionArn: "task-definition-arn" } };
      case "CreateServiceCommand":
        return { service: { serviceArn: options.serviceArn ?? "service-arn" } };
      case "CreateSecretCommand":
        if (options.secretExists)
          throw Object.assign(new Error("exists"), { name: "ResourceExistsException" });
        return { ARN: `arn:secret:${command.input.Name}-AbCdEf` };
      case "DescribeSecretCommand":
        return { ARN: `arn:secret:${command.input.SecretId}-AbCdEf` };
      case "CreateAccessPointCommand":
        return { AccessPointId: "fsap-new" };
      case "ListTasksCommand":
        return { taskArns: options.stoppedTasks?.map((t) => t.taskArn) ?? [] };
      case "DescribeTasksCommand":
        return { tasks: options.stoppedTasks ?? [] };
      case "DeregisterScalableTargetCommand":
        if (options.scalingGone)
          throw Object.assign(new Error("No scalable target"), { name: "ObjectNotFoundException" });
        return {};
      case "DescribeScalableTargetsCommand":
        // The service scales: its scalable target is registered.
        return { ScalableTargets: [{ ResourceId: command.input.ResourceIds?.[0] }] };
      case "DescribeServicesCommand":
        return { services: [{ events: [{ message: "(service byom-s1) has started 1 tasks" }] }] };
      case "CreateRoleCommand":
        if (options.roleExists)
          throw Object.assign(new Error("exists"), { name: "EntityAlreadyExistsException" });
        return { Role: { Arn: `arn:aws:iam::123456789012:role/byom/capture/${command.input.RoleName}` } };
      case "GetRoleCommand":
        return { Role: { Arn: `arn:aws:iam::123456789012:role/byom/capture/${command.input.RoleName}` } };
      case "DeleteRoleCommand":
        if (options.roleGone) throw Object.assign(new Error("gone"), { name: "NoSuchEntityException" });
        return {};
      default:
        return {};
    }
  };
  (serving as unknown as { elb: unknown }).elb = { send };
  (serving as unknown as { ecs: unknown }).ecs = { send };
  (serving as unknown as { efs: unknown }).efs = { send };
  (serving as unknown as { secrets: unknown }).secrets = { send };
  (serving as unknown as { scaling: unknown }).scaling = { send };
  (serving as unknown as { iam: unknown }).iam = { send };
  return { serving, sent };
}

const slots: Slot[] = [
  {
    slotId: "c",
    position: 0,
    revision: 1,
    resources: { targetGroupArn: "tg-c" },
    target: { role: "champion", weight: 100 } as ResolvedTarget,
  },
  {
    slotId: "d",
    position: 1,
    revision: 1,
    resources: { targetGroupArn: "tg-d" },
    target: { role: "challenger", weight: 0 } as ResolvedTarget,
  },
];

describe("the AWS serving adapter's shadow rules", () => {
  it("puts a deployment's shadow rule on the shadow listener, prefix stripped, forwarding to the challenger", async () => {
    const { serving, sent } = recording(true);
    expect(serving.shadowBaseUrl).toBe("http://internal-byom.elb.amazonaws.com:8081");
    const rule = shadowRuleFor("dep-x", slots);
    if (!rule) throw new Error("no shadow rule");
    expect(await serving.putTrafficRule(rule)).toBe("rule-arn");
    const describe = sent.find((s) => s.command === "DescribeRulesCommand");
    expect(describe?.input.ListenerArn).toBe(SHADOW_LISTENER);
    const created = sent.find((s) => s.command === "CreateRuleCommand")?.input;
    expect(created.ListenerArn).toBe(SHADOW_LISTENER);
    expect(created.Conditions).toEqual([
      { Field: "path-pattern", PathPatternConfig: { Values: ["/dep-x/shadow/*"] } },
    ]);
    expect(created.Actions[0].ForwardConfig.TargetGroups).toEqual([{ TargetGroupArn: "tg-d", Weight: 100 }]);
    expect(created.Transforms[0].UrlRewriteConfig.Rewrites).toEqual([
      { Regex: "^/dep-x/shadow/(.*)$", Replace: "/$1" },
    ]);
  });

  it("moves an existing shadow rule to a new challenger in place", async () => {
    const { serving, sent } = recording(true);
    const rule = shadowRuleFor("dep-x", [
      slots[0] as Slot,
      { ...(slots[1] as Slot), resources: { targetGroupArn: "tg-e" } },
    ]);
    if (!rule) throw new Error("no shadow rule");
    expect(await serving.putTrafficRule(rule, "existing-rule")).toBe("existing-rule");
    expect(sent.map((s) => s.command)).toEqual(["ModifyRuleCommand"]);
    expect(sent[0]?.input.Actions[0].ForwardConfig.TargetGroups).toEqual([
      { TargetGroupArn: "tg-e", Weight: 100 },
    ]);
  });

  it("has no shadow base URL, and refuses shadow rules, without SHADOW_LISTENER_ARN", async () => {
    const { serving, sent } = recording(false);
    expect(serving.shadowBaseUrl).toBeUndefined();
    const rule = shadowRuleFor("dep-x", slots);
    if (!rule) throw new Error("no shadow rule");
    await expect(serving.putTrafficRule(rule)).rejects.toThrow(/no shadow listener/);
    expect(sent).toEqual([]);
  });
});

describe("the AWS serving adapter with the shadow listener on an ALB of its own (internet-facing scoring ALB)", () => {
  const challenger: Slot = {
    slotId: "sabc",
    position: 1,
    revision: 1,
    resources: { accessPointId: "fsap-sabc" },
    target: {
      role: "challenger",
      weight: 0,
      runtime: "python-scorer",
      images: { processor: PROCESSOR_IMAGE, runtime: "image@sha256:abc" },
    } as ResolvedTarget,
  };

  it("tells a shadow listener on another load balancer from one on the scoring ALB", () => {
    expect(recording(true, OWN_SHADOW_LISTENER).serving.shadowTargetGroups).toBe(true);
    expect(recording(true).serving.shadowTargetGroups).toBe(false);
    expect(recording(false).serving.shadowTargetGroups).toBe(false);
  });

  it("creates a challenger's second target group, health-checked like the first, under its own name", async () => {
    const { serving, sent } = recording(true, OWN_SHADOW_LISTENER);
    const scoringGroup = await serving.createTargetGroup("dep-x", challenger);
    const shadowGroup = await serving.createTargetGroup("dep-x", challenger, "shadow");
    expect([scoringGroup, shadowGroup]).toEqual(["tg-arn/byom-sabc", "tg-arn/byom-sabc-shadow"]);
    const created = sent.filter((s) => s.command === "CreateTargetGroupCommand").map((s) => s.input);
    expect(created).toHaveLength(2);
    for (const group of created) {
      expect(group).toMatchObject({
        Protocol: "HTTP",
        Port: 8080,
        VpcId: "vpc",
        TargetType: "ip",
        HealthCheckPath: "/readyz",
        Matcher: { HttpCode: "200" },
      });
      expect(group.Name.length).toBeLessThanOrEqual(32);
    }
    // Both drain like every slot's group.
    expect(sent.filter((s) => s.command === "ModifyTargetGroupAttributesCommand")).toHaveLength(2);
  });

  it("refuses a shadow target group when the shadow listener shares the scoring ALB", async () => {
    const { serving, sent } = recording(true);
    await expect(serving.createTargetGroup("dep-x", challenger, "shadow")).rejects.toThrow(
      /shares the scoring load balancer/,
    );
    expect(sent).toEqual([]);
  });

  it("registers the challenger's service in both target groups", async () => {
    const { serving, sent } = recording(true, OWN_SHADOW_LISTENER);
    await serving.startRuntime({
      slot: challenger,
      deploymentId: "dep-x",
      environment: { MODEL_ID: "m-v2" },
      targetGroupArn: "tg-scoring",
      shadowTargetGroupArn: "tg-shadow",
    });
    const service = sent.find((s) => s.command === "CreateServiceCommand")?.input;
    expect(service.loadBalancers).toEqual([
      { targetGroupArn: "tg-scoring", containerName: "runtime", containerPort: 8080 },
      { targetGroupArn: "tg-shadow", containerName: "runtime", containerPort: 8080 },
    ]);
  });

  it("registers a slot without a shadow group in its one target group, as before", async () => {
    const { serving, sent } = recording(true);
    await serving.startRuntime({
      slot: { ...challenger, target: { ...challenger.target, role: "champion" } },
      deploymentId: "dep-x",
      environment: {},
      targetGroupArn: "tg-scoring",
    });
    const service = sent.find((s) => s.command === "CreateServiceCommand")?.input;
    expect(service.loadBalancers).toEqual([
      { targetGroupArn: "tg-scoring", containerName: "runtime", containerPort: 8080 },
    ]);
  });

  it("puts the shadow rule on the shadow ALB's listener, forwarding to the challenger's second group", async () => {
    const { serving, sent } = recording(true, OWN_SHADOW_LISTENER);
    const rule = shadowRuleFor("dep-x", [
      slots[0] as Slot,
      { ...(slots[1] as Slot), resources: { targetGroupArn: "tg-d", shadowTargetGroupArn: "tg-d-shadow" } },
    ]);
    if (!rule) throw new Error("no shadow rule");
    await serving.putTrafficRule(rule);
    const created = sent.find((s) => s.command === "CreateRuleCommand")?.input;
    expect(created.ListenerArn).toBe(OWN_SHADOW_LISTENER);
    expect(created.Actions[0].ForwardConfig.TargetGroups).toEqual([
      { TargetGroupArn: "tg-d-shadow", Weight: 100 },
    ]);
  });

  it("deletes the challenger's two target groups with its slot, after its service", async () => {
    const { serving, sent } = recording(true, OWN_SHADOW_LISTENER);
    await removeSlot(
      "dep-x",
      {
        ...challenger,
        resources: {
          targetGroupArn: "tg-scoring",
          shadowTargetGroupArn: "tg-shadow",
          slotRuleArn: "slot-rule",
          serviceArn: "service-arn",
          taskDefinitionArn: "task-definition-arn",
        },
      },
      serving,
    );
    expect(sent.map((s) => s.command)).toEqual([
      "DescribeScalableTargetsCommand",
      "DeregisterScalableTargetCommand",
      "UpdateServiceCommand",
      "DeleteServiceCommand",
      "DeregisterTaskDefinitionCommand",
      "DeleteRuleCommand",
      "DeleteTargetGroupCommand",
      "DeleteTargetGroupCommand",
    ]);
    expect(
      sent.filter((s) => s.command === "DeleteTargetGroupCommand").map((s) => s.input.TargetGroupArn),
    ).toEqual(["tg-scoring", "tg-shadow"]);
  });
});

describe("the AWS serving adapter's per-slot access points", () => {
  const slot = primarySlot({
    runtime: "python-scorer",
    images: { processor: PROCESSOR_IMAGE, runtime: "image@sha256:abc" },
    processorEnv: { MLFLOW_MODE: "strict" },
  });
  const SLOT_DIR = "/mnt/models/dep-x/s0123456789ab";
  /** A slot's task definitions (runtime and processor) name the models volume through its access point alone. */
  const SLOT_VOLUMES = [
    {
      name: "models",
      efsVolumeConfiguration: {
        fileSystemId: "fs",
        transitEncryption: "ENABLED",
        authorizationConfig: { accessPointId: "fsap-slot", iam: "ENABLED" },
      },
    },
  ];

  it("roots a slot's access point at its own directory, with a POSIX user of its own", async () => {
    const { serving, sent } = recording(false);
    const volume = await serving.createSlotVolume("dep-x", slot);
    const other = await serving.createSlotVolume("dep-x", { ...slot, slotId: "sfedcba987654" });
    // Each first looks for the slot's own (a retried step's), then creates it.
    expect(sent.map((s) => s.command)).toEqual([
      "DescribeAccessPointsCommand",
      "CreateAccessPointCommand",
      "DescribeAccessPointsCommand",
      "CreateAccessPointCommand",
    ]);
    const [input, otherInput] = sent
      .filter((s) => s.command === "CreateAccessPointCommand")
      .map((s) => s.input);
    expect(input.RootDirectory.Path).toBe("/models/dep-x/s0123456789ab");
    expect(input.FileSystemId).toBe("fs");
    const uid = slotPosixId("s0123456789ab");
    expect(input.PosixUser).toEqual({ Uid: uid, Gid: uid });
    expect(input.RootDirectory.CreationInfo).toEqual({ OwnerUid: uid, OwnerGid: uid, Permissions: "750" });
    // Not the images' shared user, and not another slot's.
    expect(uid).not.toBe(10001);
    expect(otherInput.PosixUser.Uid).not.toBe(uid);
    expect(input.Tags).toEqual(
      expect.arrayContaining([
        { Key: "byom:deployment", Value: "dep-x" },
        { Key: "byom:slot", Value: "s0123456789ab" },
      ]),
    );
    expect(volume).toEqual({ accessPointId: "fsap-new", owner: { uid, gid: uid } });
    expect(other.owner?.uid).toBe(otherInput.PosixUser.Uid);
  });

  it("mounts only the slot's directory, read only, through its access point in the runtime's task", async () => {
    const { serving, sent } = recording(false);
    await serving.startRuntime({
      slot,
      deploymentId: "dep-x",
      environment: { MODEL_PATH: `${SLOT_DIR}/model`, MODEL_ID: "m-v1" },
      targetGroupArn: "tg",
    });
    const task = sent.find((s) => s.command === "RegisterTaskDefinitionCommand")?.input;
    expect(task.volumes).toEqual(SLOT_VOLUMES);
    expect(task.containerDefinitions[0].mountPoints).toEqual([
      { sourceVolume: "models", containerPath: SLOT_DIR, readOnly: true },
    ]);
  });

  it("registers the slot's processor from its catalog entry (pinned image, env) with the slot's volume alone", async () => {
    const { serving, sent } = recording(false);
    const processor = await serving.processorTaskFor("dep-x", slot, "fsap-slot");
    expect(processor).toEqual({ taskDefinitionArn: "task-definition-arn", containerName: "processor" });
    expect(sent.map((s) => s.command)).toEqual(["RegisterTaskDefinitionCommand"]);
    const task = sent[0]?.input;
    expect(task.family).toBe("byom-dep-x-s0123456789ab-processor");
    expect(task).toMatchObject({
      cpu: "1024",
      memory: "4096",
      ephemeralStorage: { sizeInGiB: 40 },
      executionRoleArn: "processor-exec",
      taskRoleArn: "processor-task",
    });
    expect(task.volumes).toEqual(SLOT_VOLUMES);
    expect(task.containerDefinitions).toEqual([
      expect.objectContaining({
        name: "processor",
        image: PROCESSOR_IMAGE,
        environment: [{ name: "MLFLOW_MODE", value: "strict" }],
        mountPoints: [{ sourceVolume: "models", containerPath: SLOT_DIR, readOnly: false }],
      }),
    ]);
  });

  it("deletes the slot's access point and processor task definition with the slot", async () => {
    const { serving, sent } = recording(false);
    await removeSlot(
      "dep-x",
      { ...slot, resources: { accessPointId: "fsap-slot", processorTaskDefinitionArn: "td-processor" } },
      serving,
    );
    expect(sent).toEqual([
      { command: "DeregisterTaskDefinitionCommand", input: { taskDefinition: "td-processor" } },
      { command: "DeleteAccessPointCommand", input: { AccessPointId: "fsap-slot" } },
    ]);
  });
});

describe("the AWS serving adapter's runtime secrets", () => {
  const slot = primarySlot({
    runtime: "python-scorer",
    images: { processor: PROCESSOR_IMAGE, runtime: "image@sha256:abc" },
    processorEnv: { MLFLOW_MODE: "strict" },
  });

  it("stores a passphrase hash as a secret named for the slot, tagged for its deployment", async () => {
    const { serving, sent } = recording(false);
    const arn = await serving.storeRuntimeSecret("dep-x", slot, "scrypt$hash");
    expect(arn).toBe("arn:secret:byom/dep-x/s0123456789ab-AbCdEf");
    expect(sent).toHaveLength(1);
    expect(sent[0]?.input).toMatchObject({ Name: "byom/dep-x/s0123456789ab", SecretString: "scrypt$hash" });
    expect(sent[0]?.input.Tags).toEqual(expect.arrayContaining([{ Key: "byom:deployment", Value: "dep-x" }]));
  });

  it("gives an existing secret of a retried step the value again", async () => {
    const { serving, sent } = recording(false, SHADOW_LISTENER, { secretExists: true });
    const arn = await serving.storeRuntimeSecret("dep-x", slot, "scrypt$hash");
    expect(sent.map((s) => s.command)).toEqual([
      "CreateSecretCommand",
      "PutSecretValueCommand",
      "DescribeSecretCommand",
    ]);
    expect(sent[1]?.input).toEqual({ SecretId: "byom/dep-x/s0123456789ab", SecretString: "scrypt$hash" });
    expect(arn).toBe("arn:secret:byom/dep-x/s0123456789ab-AbCdEf");
  });

  it("puts the secret in the task definition's secrets, not its environment", async () => {
    const { serving, sent } = recording(false);
    await serving.startRuntime({
      slot,
      deploymentId: "dep-x",
      environment: { MODEL_ID: "m-v1" },
      secrets: { BYOM_PASSPHRASE_HASH: "arn:secret:byom/dep-x/s0123456789ab-AbCdEf" },
      targetGroupArn: "tg",
    });
    const container = sent.find((s) => s.command === "RegisterTaskDefinitionCommand")?.input
      .containerDefinitions[0];
    expect(container.secrets).toEqual([
      { name: "BYOM_PASSPHRASE_HASH", valueFrom: "arn:secret:byom/dep-x/s0123456789ab-AbCdEf" },
    ]);
    expect(container.environment).toEqual([{ name: "MODEL_ID", value: "m-v1" }]);
  });

  it("passes each secret setting by its JSON key of the slot's secret, none in the environment", async () => {
    const { serving, sent } = recording(false);
    const arn = "arn:secret:byom/dep-x/s0123456789ab-AbCdEf";
    await serving.startRuntime({
      slot,
      deploymentId: "dep-x",
      environment: { MODEL_ID: "m-v1", BYOM_WORKERS: "2" },
      secrets: { ACME_TOKEN: `${arn}:ACME_TOKEN::`, BYOM_PASSPHRASE_HASH: `${arn}:BYOM_PASSPHRASE_HASH::` },
      targetGroupArn: "tg",
    });
    const container = sent.find((s) => s.command === "RegisterTaskDefinitionCommand")?.input
      .containerDefinitions[0];
    expect(container.secrets).toEqual([
      { name: "ACME_TOKEN", valueFrom: `${arn}:ACME_TOKEN::` },
      { name: "BYOM_PASSPHRASE_HASH", valueFrom: `${arn}:BYOM_PASSPHRASE_HASH::` },
    ]);
    expect(container.environment).toEqual([
      { name: "MODEL_ID", value: "m-v1" },
      { name: "BYOM_WORKERS", value: "2" },
    ]);
  });

  it("deletes the secret with the slot, without a recovery window", async () => {
    const { serving, sent } = recording(false);
    await removeSlot("dep-x", { ...slot, resources: { passphraseSecretArn: "arn:secret:x" } }, serving);
    expect(sent).toEqual([
      {
        command: "DeleteSecretCommand",
        input: { SecretId: "arn:secret:x", ForceDeleteWithoutRecovery: true },
      },
    ]);
  });
});

describe("the AWS serving adapter's capacity", () => {
  const sized = (replicas: { min: number; max: number }): Slot =>
    primarySlot({
      runtime: "python-scorer",
      images: { processor: PROCESSOR_IMAGE, runtime: "image@sha256:abc" },
      resources: { cpu: "0.5", memoryMiB: 3072, replicas },
    });
  const TARGET_GROUP =
    "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/byom-s0123456789ab/73e2d6bc24d8a067";
  const SERVICE = "arn:aws:ecs:eu-west-1:123456789012:service/byom/byom-s0123456789ab";
  /** What stopping a runtime sends: its scalable target goes before the service. */
  const STOP_RUNTIME_CALLS = [
    "DescribeScalableTargetsCommand",
    "DeregisterScalableTargetCommand",
    "UpdateServiceCommand",
    "DeleteServiceCommand",
  ];

  it("sizes the task as the target asks and starts min tasks", async () => {
    const { serving, sent } = recording(false);
    await serving.startRuntime({
      slot: sized({ min: 2, max: 2 }),
      deploymentId: "dep-x",
      environment: {},
      targetGroupArn: "tg",
    });
    const task = sent.find((s) => s.command === "RegisterTaskDefinitionCommand")?.input;
    expect([task.cpu, task.memory]).toEqual(["512", "3072"]);
    const service = sent.find((s) => s.command === "CreateServiceCommand")?.input;
    expect(service.desiredCount).toBe(2);
    // Fixed at 2: no autoscaling.
    expect(sent.map((s) => s.command)).not.toContain("RegisterScalableTargetCommand");
  });

  it("registers autoscaling between min and max, tracking ALB requests per task and CPU", async () => {
    const { serving, sent } = recording(false, SHADOW_LISTENER, { serviceArn: SERVICE });
    await serving.startRuntime({
      slot: sized({ min: 1, max: 4 }),
      deploymentId: "dep-x",
      environment: {},
      targetGroupArn: TARGET_GROUP,
    });
    const scaling = sent.filter((s) => /Scal/.test(s.command));
    expect(scaling.map((s) => s.command)).toEqual([
      "RegisterScalableTargetCommand",
      "PutScalingPolicyCommand",
      "PutScalingPolicyCommand",
    ]);
    expect(scaling[0]?.input).toEqual({
      ServiceNamespace: "ecs",
      ResourceId: "service/byom/byom-s0123456789ab",
      ScalableDimension: "ecs:service:DesiredCount",
      MinCapacity: 1,
      MaxCapacity: 4,
    });
    const [requests, cpu] = scaling.slice(1).map((s) => s.input.TargetTrackingScalingPolicyConfiguration);
    expect(requests.PredefinedMetricSpecification).toEqual({
      PredefinedMetricType: "ALBRequestCountPerTarget",
      ResourceLabel: "app/byom/1/targetgroup/byom-s0123456789ab/73e2d6bc24d8a067",
    });
    expect(requests.TargetValue).toBe(1000);
    expect(cpu.PredefinedMetricSpecification).toEqual({
      PredefinedMetricType: "ECSServiceAverageCPUUtilization",
    });
    expect(cpu.TargetValue).toBe(70);
  });

  it("removes the scalable target before the service", async () => {
    const { serving, sent } = recording(false);
    await serving.stopRuntime({ serviceArn: SERVICE });
    expect(sent.map((s) => s.command)).toEqual(STOP_RUNTIME_CALLS);
    expect(sent[1]?.input.ResourceId).toBe("service/byom/byom-s0123456789ab");
  });

  it("goes on when the scalable target disappears between the lookup and the removal", async () => {
    // AWS's answer (ObjectNotFoundException); moto answers ValidationException, so it is recorded.
    const { serving, sent } = recording(false, SHADOW_LISTENER, { scalingGone: true });
    await serving.stopRuntime({ serviceArn: SERVICE });
    expect(sent.map((s) => s.command)).toEqual(STOP_RUNTIME_CALLS);
  });
});

describe("the AWS serving adapter's view of a runtime that does not start", () => {
  // ECS's answers are recorded here: moto launches no tasks for a service, so it cannot produce a
  // stopped task with a stop code (what real ECS reports for a pull failure or an exited container).
  const slot = {
    slotId: "s1",
    position: 0,
    revision: 1,
    resources: {
      targetGroupArn: "tg-s1",
      serviceArn: "arn:aws:ecs:eu-west-1:123456789012:service/byom/byom-s1",
    },
    target: { role: "primary", weight: 100, runtime: "acme" },
  } as unknown as Slot;

  it("fails at once with ECS's reason when the image cannot be pulled", async () => {
    const { serving, sent } = recording(false, SHADOW_LISTENER, {
      stoppedTasks: [
        {
          taskArn: "t-1",
          stopCode: "TaskFailedToStart",
          stoppedAt: new Date(),
          stoppedReason:
            "CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref 123456789012.dkr.ecr.eu-west-1.amazonaws.com/byom/images/ghcr.io/acme/r@sha256:abc: not found",
          containers: [{ name: "runtime" }],
        },
      ],
    });
    const health = await serving.runtimeHealth(slot);
    expect(health.state).toBe("failing");
    expect(health.state !== "healthy" && health.detail).toMatch(
      /^a task stopped: CannotPullContainerError: .*not found/,
    );
    const list = sent.find((s) => s.command === "ListTasksCommand")?.input;
    expect(list).toEqual({ cluster: "cluster", serviceName: "byom-s1", desiredStatus: "STOPPED" });
  });

  it("fails with the container's exit code when the runtime exits, naming the latest stopped task", async () => {
    const { serving } = recording(false, SHADOW_LISTENER, {
      stoppedTasks: [
        {
          taskArn: "t-old",
          stopCode: "ServiceSchedulerInitiated",
          stoppedAt: new Date(1000),
          stoppedReason: "Task failed ELB health checks",
        },
        {
          taskArn: "t-new",
          stopCode: "EssentialContainerExited",
          stoppedAt: new Date(2000),
          stoppedReason: "Essential container in task exited",
          containers: [{ name: "runtime", exitCode: 3 }],
        },
      ],
    });
    const health = await serving.runtimeHealth(slot);
    expect(health).toEqual({
      state: "failing",
      detail: expect.stringContaining(
        "a task stopped: Essential container in task exited; container runtime exited with code 3",
      ),
    });
  });

  it("keeps waiting, with the reason, when the load balancer stopped a task that was slow to become healthy", async () => {
    const { serving } = recording(false, SHADOW_LISTENER, {
      stoppedTasks: [
        {
          taskArn: "t",
          stopCode: "ServiceSchedulerInitiated",
          stoppedAt: new Date(),
          stoppedReason: "Task failed ELB health checks in (target-group tg-s1)",
        },
      ],
    });
    const health = await serving.runtimeHealth(slot);
    expect(health.state).toBe("starting");
    expect(health.state !== "healthy" && health.detail).toContain("Task failed ELB health checks");
  });
});

describe("the AWS serving adapter's capture roles", () => {
  const slot: Slot = {
    slotId: "s0123456",
    position: 0,
    revision: 1,
    resources: { targetGroupArn: "tg", accessPointId: "fsap-s" },
    target: {
      role: "primary",
      weight: 100,
      runtime: "python-scorer",
      images: { processor: "processor@sha256:1", runtime: "runtime@sha256:2" },
    } as ResolvedTarget,
  };

  it("creates a deployment's role under the boundary, trusted by ECS tasks, writing only its capture prefix", async () => {
    const { serving, sent } = recording(false);
    const arn = await serving.captureRole("dep-x");
    expect(arn).toBe("arn:aws:iam::123456789012:role/byom/capture/byom-capture-dep-x");
    const create = sent.find((s) => s.command === "CreateRoleCommand")?.input;
    expect(create).toMatchObject({
      RoleName: "byom-capture-dep-x",
      Path: "/byom/capture/",
      PermissionsBoundary: "arn:aws:iam::123456789012:policy/CaptureRoleBoundary",
    });
    expect(JSON.parse(create.AssumeRolePolicyDocument).Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "ecs-tasks.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
      },
    ]);
    const policy = sent.find((s) => s.command === "PutRolePolicyCommand")?.input;
    const statements = JSON.parse(policy.PolicyDocument).Statement;
    expect(statements[0]).toEqual({
      Effect: "Allow",
      Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
      Resource: "arn:aws:s3:::artifacts/capture/dep-x/*",
    });
    expect(statements[1].Action).toBe("elasticfilesystem:ClientMount");
    expect(statements).toHaveLength(2);
  });

  it("reuses the role a retried step or an earlier revision created, putting its policy again", async () => {
    const { serving, sent } = recording(false, SHADOW_LISTENER, { roleExists: true });
    expect(await serving.captureRole("dep-x")).toContain("byom-capture-dep-x");
    expect(sent.map((s) => s.command)).toEqual([
      "CreateRoleCommand",
      "GetRoleCommand",
      "PutRolePolicyCommand",
    ]);
  });

  it("runs a capturing slot's task with the deployment's role instead of the shared runtime role", async () => {
    const { serving, sent } = recording(false);
    await serving.startRuntime({
      slot,
      deploymentId: "dep-x",
      environment: { MODEL_PATH: "/m", MODEL_ID: "m" },
      targetGroupArn: "tg",
      taskRoleArn: "arn:aws:iam::123456789012:role/byom/capture/byom-capture-dep-x",
    });
    const registered = sent.find((s) => s.command === "RegisterTaskDefinitionCommand")?.input;
    expect(registered.taskRoleArn).toBe("arn:aws:iam::123456789012:role/byom/capture/byom-capture-dep-x");
    const { serving: plain, sent: plainSent } = recording(false);
    await plain.startRuntime({ slot, deploymentId: "dep-y", environment: {}, targetGroupArn: "tg" });
    expect(plainSent.find((s) => s.command === "RegisterTaskDefinitionCommand")?.input.taskRoleArn).toBe(
      "task",
    );
  });

  it("deletes the role's policy, then the role, and tolerates a role already gone", async () => {
    const { serving, sent } = recording(false);
    await serving.deleteCaptureRole("dep-x");
    expect(sent.map((s) => [s.command, s.input.RoleName])).toEqual([
      ["DeleteRolePolicyCommand", "byom-capture-dep-x"],
      ["DeleteRoleCommand", "byom-capture-dep-x"],
    ]);
    const { serving: gone } = recording(false, SHADOW_LISTENER, { roleGone: true });
    await expect(gone.deleteCaptureRole("dep-x")).resolves.toBeUndefined();
  });
});
