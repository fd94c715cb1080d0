import {
  ApplicationAutoScalingClient,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { CloudWatchLogsClient, GetLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import {
  CreateServiceCommand,
  DeleteServiceCommand,
  DeregisterTaskDefinitionCommand,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  DescribeTasksCommand,
  ECSClient,
  ListServicesCommand,
  ListTaskDefinitionFamiliesCommand,
  ListTaskDefinitionsCommand,
  ListTasksCommand,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from "@aws-sdk/client-ecs";
import {
  CreateAccessPointCommand,
  DeleteAccessPointCommand,
  DescribeAccessPointsCommand,
  EFSClient,
} from "@aws-sdk/client-efs";
import {
  type Action,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  type RuleTransform,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { IAMClient } from "@aws-sdk/client-iam";
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import {
  cpuUnits,
  desiredReplicas,
  type Replicas,
  SCALING_COOLDOWNS_MS,
  SCALING_TARGETS,
} from "#lambdas/deployments/capacity.ts";
import type { Slot, SlotResources } from "#lambdas/deployments/deployment-record.ts";
import { CAPTURE_ROLE_PATH, captureRoleName } from "#lambdas/deployments/serving/aws-serving-names.ts";
import type {
  RuntimeHealth,
  RuntimeLaunch,
  ServingInfrastructure,
  SlotVolume,
  TaggedResource,
  TaggedResources,
  TrafficListener,
  TrafficRule,
} from "#lambdas/deployments/serving/serving-port.ts";
import {
  LEGACY_HEALTH_PATH,
  MODELS_FILE_SYSTEM_PATH,
  PROCESSOR_CONTAINER,
  RUNTIME_PORT,
  type StepSetting,
} from "#lambdas/deployments/serving-contract.ts";
import { slotDir } from "#lambdas/deployments/workflow/models-volume.ts";
import { workflowSettings } from "#lambdas/deployments/workflow/workflow-settings.ts";
import { deleteDeploymentAlarms, putDeploymentAlarms } from "#lambdas/monitoring/deployment-alarms.ts";
import { deleteBoundedRole, ensureBoundedRole } from "#lambdas/shared/bounded-role.ts";
import { optionalEnv as optionalEnvOf, requireEnv as requireEnvOf } from "#lambdas/shared/env.ts";

const RUNTIME_CONTAINER = "runtime";
/** Listener rule priorities: slot rules must win over the deployment rule whose path they share. */
const SLOT_PRIORITIES = { from: 1, to: 24_999 };
const DEPLOYMENT_PRIORITIES = { from: 25_000, to: 50_000 };

interface AwsServingSettings {
  readonly clusterArn: string;
  readonly vpcId: string;
  readonly listenerArn: string;
  readonly endpointBaseUrl: string;
  /** The listener only runtimes reach, for shadow rules, and its URL (absent: shadow copies are off). */
  readonly shadowListenerArn: string | undefined;
  readonly shadowBaseUrl: string | undefined;
  readonly subnetIds: string[];
  readonly securityGroupIds: string[];
  readonly executionRoleArn: string;
  readonly processorExecutionRoleArn: string;
  readonly processorTaskRoleArn: string;
  readonly taskRoleArn: string;
  /** The boundary of capturing deployments' own task roles and the bucket they write to. */
  readonly captureBoundaryArn?: string | undefined;
  readonly bucketName?: string | undefined;
  readonly runtimeLogGroup: string;
  readonly processorLogGroup: string;
  /** Where the deployments' alarms notify (context byom:alarmTopicArn); absent: they only change state. */
  readonly alarmTopicArn: string | undefined;
  readonly fileSystemId: string;
  readonly cpu: string;
  readonly memory: string;
  readonly region: string;
}

const requireEnv = (name: StepSetting) => requireEnvOf(name);
const optionalEnv = (name: StepSetting, fallback: string) => optionalEnvOf(name, fallback);

function settingsFromEnv(): AwsServingSettings {
  return {
    clusterArn: requireEnv("CLUSTER_ARN"),
    vpcId: requireEnv("VPC_ID"),
    listenerArn: requireEnv("LISTENER_ARN"),
    endpointBaseUrl: requireEnv("SCORING_BASE_URL"),
    shadowListenerArn: optionalEnv("SHADOW_LISTENER_ARN", "") || undefined,
    shadowBaseUrl: optionalEnv("SHADOW_BASE_URL", "") || undefined,
    subnetIds: requireEnv("TASK_SUBNET_IDS").split(","),
    securityGroupIds: requireEnv("RUNTIME_SECURITY_GROUP_IDS").split(","),
    processorExecutionRoleArn: requireEnv("PROCESSOR_EXECUTION_ROLE_ARN"),
    processorTaskRoleArn: requireEnv("PROCESSOR_TASK_ROLE_ARN"),
    executionRoleArn: requireEnv("RUNTIME_EXECUTION_ROLE_ARN"),
    taskRoleArn: requireEnv("RUNTIME_TASK_ROLE_ARN"),
    captureBoundaryArn: optionalEnv("CAPTURE_ROLE_BOUNDARY_ARN", "") || undefined,
    bucketName: optionalEnv("BUCKET_NAME", "") || undefined,
    runtimeLogGroup: requireEnv("RUNTIME_LOG_GROUP"),
    processorLogGroup: requireEnv("PROCESSOR_LOG_GROUP"),
    alarmTopicArn: optionalEnv("ALARM_TOPIC_ARN", "") || undefined,
    fileSystemId: requireEnv("EFS_FILE_SYSTEM_ID"),
    cpu: optionalEnv("RUNTIME_CPU", "1024"),
    memory: optionalEnv("RUNTIME_MEMORY_MB", "2048"),
    // Set by the Lambda runtime itself.
    region: requireEnvOf("AWS_REGION"),
  };
}

const CAPTURE_POLICY = "capture";

/** Runtime secrets are named `byom/<deploymentId>/<slotId>`: the IAM policies name this prefix. */
export const RUNTIME_SECRET_PREFIX = "byom/";

/**
 * The POSIX user and group of a slot's processor and runtime: one of their own per slot (from the
 * slot id's random hex), above the ids images and the system use.
 */
export const slotPosixId = (slotId: string) =>
  1_000_000 + (Number.parseInt(slotId.slice(1, 8), 16) % 1_000_000_000);

/** `app/<name>/<id>` of the load balancer a listener ARN (`…:listener/app/<name>/<id>/<listener>`) is on. */
export const loadBalancerOfListener = (listenerArn: string) =>
  listenerArn.split(":listener/")[1]?.split("/").slice(0, 3).join("/") ?? listenerArn;

const isNamed = (error: unknown, ...names: string[]) =>
  names.includes((error as Error | undefined)?.name ?? "");

async function tolerateGone(work: () => Promise<unknown>, ...goneErrors: string[]): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (!isNamed(error, ...goneErrors)) throw error;
  }
}

/**
 * The deployer's infrastructure port on AWS: a Fargate service per slot registered in an ALB target
 * group (health-checked on /readyz), listener rules with weighted forwarding and a URL rewrite that
 * strips `/{deploymentId}` (runtimes serve `/model/...`).
 */
export class AwsServing implements ServingInfrastructure, TaggedResources {
  private readonly ecs = new ECSClient({});
  private readonly elb = new ElasticLoadBalancingV2Client({});
  private readonly logs = new CloudWatchLogsClient({});
  private readonly efs = new EFSClient({});
  private readonly secrets = new SecretsManagerClient({});
  private readonly scaling = new ApplicationAutoScalingClient({});
  private readonly cloudwatch = new CloudWatchClient({});
  private readonly iam = new IAMClient({});
  readonly endpointBaseUrl: string;
  readonly shadowBaseUrl: string | undefined;
  /**
   * The shadow listener is on a load balancer of its own when the scoring ALB is internet-facing
   * (cdk/constructs/scoring-cluster.ts): its ARN then names another load balancer than LISTENER_ARN.
   */
  readonly shadowTargetGroups: boolean;

  constructor(private readonly settings: AwsServingSettings = settingsFromEnv()) {
    this.endpointBaseUrl = settings.endpointBaseUrl;
    this.shadowBaseUrl = settings.shadowListenerArn ? settings.shadowBaseUrl : undefined;
    this.shadowTargetGroups =
      settings.shadowListenerArn !== undefined &&
      loadBalancerOfListener(settings.shadowListenerArn) !== loadBalancerOfListener(settings.listenerArn);
  }

  async putDeploymentAlarms(deploymentId: string, deploymentName: string): Promise<void> {
    await putDeploymentAlarms(this.cloudwatch, deploymentId, deploymentName, {
      topicArn: this.settings.alarmTopicArn,
    });
  }

  async deleteDeploymentAlarms(deploymentId: string): Promise<void> {
    await deleteDeploymentAlarms(this.cloudwatch, deploymentId);
  }

  async createTargetGroup(
    deploymentId: string,
    slot: Slot,
    listener: TrafficListener = "scoring",
  ): Promise<string> {
    if (listener === "shadow" && !this.shadowTargetGroups) {
      throw new Error(
        "The shadow listener shares the scoring load balancer: the slot's target group serves both.",
      );
    }
    // At most 32 characters, and the slot's own: a retried step finds the group it created.
    const Name = listener === "shadow" ? `byom-${slot.slotId}-shadow` : `byom-${slot.slotId}`;
    const out = await this.elb
      .send(
        new CreateTargetGroupCommand({
          Name,
          Protocol: "HTTP",
          Port: RUNTIME_PORT,
          VpcId: this.settings.vpcId,
          TargetType: "ip",
          // The runtime entry's health path (docs/catalog.md): a custom image may lack /readyz.
          HealthCheckPath: slot.target.healthPath ?? LEGACY_HEALTH_PATH,
          HealthCheckIntervalSeconds: 10,
          HealthCheckTimeoutSeconds: 5,
          HealthyThresholdCount: 2,
          UnhealthyThresholdCount: 3,
          Matcher: { HttpCode: "200" },
          Tags: [
            { Key: "byom:deployment", Value: deploymentId },
            { Key: "byom:slot", Value: slot.slotId },
            { Key: "byom:listener", Value: listener },
          ],
        }),
      )
      .catch(async (error: unknown) => {
        // AWS answers a second create with the same name and settings with the existing group;
        // with other settings (and in moto, always) DuplicateTargetGroupName: the slot's name is
        // unique, so the group found by it is the one a crashed attempt created.
        if (!isNamed(error, "DuplicateTargetGroupNameException")) throw error;
        return this.elb.send(new DescribeTargetGroupsCommand({ Names: [Name] }));
      });
    const arn = out.TargetGroups?.[0]?.TargetGroupArn;
    if (!arn) throw new Error(`CreateTargetGroup returned no ARN for slot ${slot.slotId}`);
    await this.elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: arn,
        Attributes: [
          { Key: "deregistration_delay.timeout_seconds", Value: String(workflowSettings().drainSeconds) },
        ],
      }),
    );
    return arn;
  }

  async deleteTargetGroup(targetGroupArn: string): Promise<void> {
    // A group stays "in use" for a moment after its service and rule are gone.
    for (let attempt = 0; ; attempt++) {
      try {
        await tolerateGone(
          () => this.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn })),
          "TargetGroupNotFoundException",
        );
        return;
      } catch (error) {
        if (!isNamed(error, "ResourceInUseException") || attempt >= 10) throw error;
        await new Promise((resolve) => setTimeout(resolve, 3_000));
      }
    }
  }

  async putTrafficRule(rule: TrafficRule, existingRuleArn?: string): Promise<string> {
    const actions: Action[] = [
      {
        Type: "forward",
        ForwardConfig: {
          TargetGroups: rule.targets.map((t) => ({ TargetGroupArn: t.targetGroupArn, Weight: t.weight })),
          TargetGroupStickinessConfig: { Enabled: false },
        },
      },
    ];
    const transforms: RuleTransform[] = [
      {
        Type: "url-rewrite",
        UrlRewriteConfig: { Rewrites: [{ Regex: `^${rule.pathPrefix}/(.*)$`, Replace: "/$1" }] },
      },
    ];
    if (existingRuleArn) {
      await this.elb.send(
        new ModifyRuleCommand({ RuleArn: existingRuleArn, Actions: actions, Transforms: transforms }),
      );
      return existingRuleArn;
    }
    const range = rule.pathPrefix.includes("/slots/") ? SLOT_PRIORITIES : DEPLOYMENT_PRIORITIES;
    const listenerArn =
      rule.listener === "shadow" ? this.settings.shadowListenerArn : this.settings.listenerArn;
    if (!listenerArn) throw new Error("This installation has no shadow listener (SHADOW_LISTENER_ARN).");
    for (let attempt = 0; attempt < 8; attempt++) {
      try {
        const out = await this.elb.send(
          new CreateRuleCommand({
            ListenerArn: listenerArn,
            Priority: await this.freePriority(listenerArn, range),
            Conditions: [{ Field: "path-pattern", PathPatternConfig: { Values: [`${rule.pathPrefix}/*`] } }],
            Actions: actions,
            Transforms: transforms,
            Tags: [{ Key: "byom:deployment", Value: rule.deploymentId }],
          }),
        );
        const arn = out.Rules?.[0]?.RuleArn;
        if (!arn) throw new Error("CreateRule returned no ARN");
        return arn;
      } catch (error) {
        // Another deployment took the same priority between our read and our write.
        if (!isNamed(error, "PriorityInUseException")) throw error;
      }
    }
    throw new Error(`No free listener rule priority for ${rule.pathPrefix} after 8 attempts.`);
  }

  private async freePriority(listenerArn: string, range: { from: number; to: number }): Promise<number> {
    const used = new Set<number>();
    let marker: string | undefined;
    do {
      const page = await this.elb.send(
        new DescribeRulesCommand({ ListenerArn: listenerArn, Marker: marker, PageSize: 400 }),
      );
      for (const r of page.Rules ?? [])
        if (r.Priority && r.Priority !== "default") used.add(Number(r.Priority));
      marker = page.NextMarker;
    } while (marker);
    const jitter = Math.floor(Math.random() * 20);
    for (let p = range.from + jitter; p <= range.to; p++) if (!used.has(p)) return p;
    for (let p = range.from; p <= range.to; p++) if (!used.has(p)) return p;
    throw new Error(`The listener has no free rule priority between ${range.from} and ${range.to}.`);
  }

  async storeRuntimeSecret(deploymentId: string, slot: Slot, value: string): Promise<string> {
    const name = `${RUNTIME_SECRET_PREFIX}${deploymentId}/${slot.slotId}`;
    try {
      const out = await this.secrets.send(
        new CreateSecretCommand({
          Name: name,
          SecretString: value,
          Description: `Byom: the secrets of runtime slot ${slot.slotId} (passphrase hash, secret settings)`,
          Tags: [
            { Key: "byom:deployment", Value: deploymentId },
            { Key: "byom:slot", Value: slot.slotId },
          ],
        }),
      );
      if (!out.ARN) throw new Error(`CreateSecret returned no ARN for ${name}`);
      return out.ARN;
    } catch (error) {
      // A retried step: the secret exists already; it gets the value again.
      if (!isNamed(error, "ResourceExistsException")) throw error;
      await this.secrets.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      const described = await this.secrets.send(new DescribeSecretCommand({ SecretId: name }));
      if (!described.ARN) throw new Error(`DescribeSecret returned no ARN for ${name}`);
      return described.ARN;
    }
  }

  async deleteRuntimeSecret(secretArn: string): Promise<void> {
    await tolerateGone(
      () =>
        this.secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true })),
      "ResourceNotFoundException",
    );
  }

  async createSlotVolume(deploymentId: string, slot: Slot): Promise<SlotVolume> {
    const id = slotPosixId(slot.slotId);
    // A retried step (its first attempt crashed before recording the id) reuses the slot's access
    // point: found by its byom:slot tag, as the ClientToken below is only honoured by EFS itself.
    const existing = await this.slotAccessPoint(slot.slotId);
    if (existing) return { accessPointId: existing, owner: { uid: id, gid: id } };
    const out = await this.efs.send(
      new CreateAccessPointCommand({
        // The same token again returns the same access point (a retried step creates no second one).
        ClientToken: `byom-${slot.slotId}`,
        FileSystemId: this.settings.fileSystemId,
        PosixUser: { Uid: id, Gid: id },
        RootDirectory: {
          Path: `${MODELS_FILE_SYSTEM_PATH}/${deploymentId}/${slot.slotId}`,
          CreationInfo: { OwnerUid: id, OwnerGid: id, Permissions: "750" },
        },
        Tags: [
          { Key: "Name", Value: `byom-${slot.slotId}` },
          { Key: "byom:deployment", Value: deploymentId },
          { Key: "byom:slot", Value: slot.slotId },
        ],
      }),
    );
    if (!out.AccessPointId) throw new Error(`CreateAccessPoint returned no id for slot ${slot.slotId}`);
    return { accessPointId: out.AccessPointId, owner: { uid: id, gid: id } };
  }

  private async slotAccessPoint(slotId: string): Promise<string | undefined> {
    let NextToken: string | undefined;
    do {
      const page = await this.efs.send(
        new DescribeAccessPointsCommand({ FileSystemId: this.settings.fileSystemId, NextToken }),
      );
      const found = (page.AccessPoints ?? []).find((point) =>
        (point.Tags ?? []).some((tag) => tag.Key === "byom:slot" && tag.Value === slotId),
      );
      if (found?.AccessPointId) return found.AccessPointId;
      NextToken = page.NextToken;
    } while (NextToken);
    return undefined;
  }

  async deleteSlotVolume(accessPointId: string): Promise<void> {
    await tolerateGone(
      () => this.efs.send(new DeleteAccessPointCommand({ AccessPointId: accessPointId })),
      "AccessPointNotFound",
    );
  }

  /**
   * Registers the slot's processor task definition from the processor's catalog entry: its image
   * (pinned by digest), its env, the processor roles and the slot's access point alone. The state
   * machine adds SOURCE_PATH/TARGET_PATH and the model's description per run.
   */
  async processorTaskFor(
    deploymentId: string,
    slot: Slot,
    accessPointId: string,
  ): Promise<{ taskDefinitionArn: string; containerName: string }> {
    const image = imageOf(slot, "processor");
    const registered = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: `byom-${deploymentId}-${slot.slotId}-processor`,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        cpu: "1024",
        memory: "4096",
        ephemeralStorage: { sizeInGiB: 40 },
        runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
        executionRoleArn: slot.target.executionRoles?.processor ?? this.settings.processorExecutionRoleArn,
        taskRoleArn: this.settings.processorTaskRoleArn,
        containerDefinitions: [
          {
            name: PROCESSOR_CONTAINER,
            image,
            essential: true,
            environment: Object.entries(slot.target.processorEnv ?? {}).map(([name, value]) => ({
              name,
              value,
            })),
            // SOURCE_PATH and TARGET_PATH are under the slot's directory: only it is mounted.
            mountPoints: [
              { sourceVolume: "models", containerPath: slotDir(deploymentId, slot.slotId), readOnly: false },
            ],
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": this.settings.processorLogGroup,
                "awslogs-region": this.settings.region,
                "awslogs-stream-prefix": "processor",
              },
            },
          },
        ],
        volumes: [
          {
            name: "models",
            efsVolumeConfiguration: {
              fileSystemId: this.settings.fileSystemId,
              transitEncryption: "ENABLED",
              authorizationConfig: { accessPointId, iam: "ENABLED" },
            },
          },
        ],
        tags: [{ key: "byom:deployment", value: deploymentId }],
      }),
    );
    const arn = registered.taskDefinition?.taskDefinitionArn;
    if (!arn) throw new Error("RegisterTaskDefinition returned no ARN");
    return { taskDefinitionArn: arn, containerName: PROCESSOR_CONTAINER };
  }

  async deleteProcessorTask(taskDefinitionArn: string): Promise<void> {
    await tolerateGone(
      () => this.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: taskDefinitionArn })),
      "ClientException",
    );
  }

  async deleteTrafficRule(ruleArn: string): Promise<void> {
    await tolerateGone(
      () => this.elb.send(new DeleteRuleCommand({ RuleArn: ruleArn })),
      "RuleNotFoundException",
    );
  }

  async startRuntime(launch: RuntimeLaunch) {
    const { slot } = launch;
    const { resources } = slot.target;
    const replicas = resources?.replicas ?? { min: 1, max: 1 };
    const image = imageOf(slot, "runtime");
    const registered = await this.ecs.send(
      new RegisterTaskDefinitionCommand({
        family: `byom-${launch.deploymentId}-${slot.slotId}`,
        networkMode: "awsvpc",
        requiresCompatibilities: ["FARGATE"],
        // The target's size; a slot built before targets had one keeps the installation's.
        cpu: resources ? String(cpuUnits(resources.cpu)) : this.settings.cpu,
        memory: resources ? String(resources.memoryMiB) : this.settings.memory,
        runtimePlatform: { cpuArchitecture: "X86_64", operatingSystemFamily: "LINUX" },
        executionRoleArn: slot.target.executionRoles?.runtime ?? this.settings.executionRoleArn,
        taskRoleArn: launch.taskRoleArn ?? this.settings.taskRoleArn,
        containerDefinitions: [
          {
            name: RUNTIME_CONTAINER,
            image,
            essential: true,
            portMappings: [{ containerPort: RUNTIME_PORT, protocol: "tcp" }],
            environment: Object.entries(launch.environment).map(([name, value]) => ({ name, value })),
            secrets: Object.entries(launch.secrets ?? {}).map(([name, valueFrom]) => ({ name, valueFrom })),
            // Only the slot's own directory, at the path MODEL_PATH names, read only.
            mountPoints: [
              {
                sourceVolume: "models",
                containerPath: slotDir(launch.deploymentId, slot.slotId),
                readOnly: true,
              },
            ],
            logConfiguration: {
              logDriver: "awslogs",
              options: {
                "awslogs-group": this.settings.runtimeLogGroup,
                "awslogs-region": this.settings.region,
                "awslogs-stream-prefix": slot.slotId,
              },
            },
          },
        ],
        volumes: [
          {
            name: "models",
            efsVolumeConfiguration: {
              fileSystemId: this.settings.fileSystemId,
              transitEncryption: "ENABLED",
              authorizationConfig: { accessPointId: slotAccessPoint(slot), iam: "ENABLED" },
            },
          },
        ],
        tags: [{ key: "byom:deployment", value: launch.deploymentId }],
      }),
    );
    const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn;
    if (!taskDefinitionArn) throw new Error("RegisterTaskDefinition returned no ARN");
    const cluster = this.settings.clusterArn;
    const serviceName = `byom-${slot.slotId}`;
    // A StartRuntime retried after its CreateService (the state machine retries Lambda service
    // errors): AWS refuses a second CreateService of the name with another task definition
    // ("Creation of service was not idempotent"), so the service moves to the new revision instead.
    const existing = (
      await this.ecs.send(new DescribeServicesCommand({ cluster, services: [serviceName] }))
    ).services?.find((s) => s.status === "ACTIVE");
    if (existing?.serviceArn) {
      await this.ecs.send(
        new UpdateServiceCommand({
          cluster,
          service: existing.serviceArn,
          taskDefinition: taskDefinitionArn,
        }),
      );
      const previous = existing.taskDefinition;
      if (previous && previous !== taskDefinitionArn) await this.stopRuntime({ taskDefinitionArn: previous });
      if (replicas.max > replicas.min)
        await this.scaleBetween(existing.serviceArn, launch.targetGroupArn, replicas);
      return { taskDefinitionArn, serviceArn: existing.serviceArn };
    }
    const created = await this.ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName,
        taskDefinition: taskDefinitionArn,
        // Fargate spreads a service's tasks over the subnets' AZs. With no load yet the scaling
        // rule (the one local mode applies too) asks for min.
        desiredCount: desiredReplicas({
          replicas,
          current: 0,
          load: 0,
          targetPerReplica: SCALING_TARGETS.requestsPerReplicaPerMinute,
          sinceLastChangeMs: 0,
          cooldownsMs: SCALING_COOLDOWNS_MS,
        }),
        launchType: "FARGATE",
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: this.settings.subnetIds,
            securityGroups: this.settings.securityGroupIds,
            assignPublicIp: "DISABLED",
          },
        },
        // A challenger with a shadow target group registers in both: the scoring ALB checks its
        // health, the shadow ALB forwards the champion's copies to it.
        loadBalancers: [launch.targetGroupArn, launch.shadowTargetGroupArn]
          .filter((arn): arn is string => arn !== undefined)
          .map((targetGroupArn) => ({
            targetGroupArn,
            containerName: RUNTIME_CONTAINER,
            containerPort: RUNTIME_PORT,
          })),
        healthCheckGracePeriodSeconds: 300,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: false } },
        propagateTags: "SERVICE",
        tags: [{ key: "byom:deployment", value: launch.deploymentId }],
      }),
    );
    const serviceArn = created.service?.serviceArn;
    if (!serviceArn) throw new Error("CreateService returned no ARN");
    if (replicas.max > replicas.min) await this.scaleBetween(serviceArn, launch.targetGroupArn, replicas);
    return { taskDefinitionArn, serviceArn };
  }

  /**
   * Application Auto Scaling moves the service between min and max tasks, tracking ALB requests
   * per task and CPU (whichever asks for more tasks wins).
   */
  private async scaleBetween(serviceArn: string, targetGroupArn: string, replicas: Replicas): Promise<void> {
    const target = {
      ServiceNamespace: "ecs" as const,
      ResourceId: scalingResourceOf(serviceArn),
      ScalableDimension: "ecs:service:DesiredCount" as const,
    };
    await this.scaling.send(
      new RegisterScalableTargetCommand({ ...target, MinCapacity: replicas.min, MaxCapacity: replicas.max }),
    );
    // `app/<lb>/<id>/targetgroup/<name>/<id>`: the ALB's metric for this target group.
    const resourceLabel = `${loadBalancerOfListener(this.settings.listenerArn)}/${targetGroupArn.split(":").at(-1)}`;
    await this.scaling.send(
      new PutScalingPolicyCommand({
        ...target,
        PolicyName: "byom-requests-per-task",
        PolicyType: "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: SCALING_TARGETS.requestsPerReplicaPerMinute,
          PredefinedMetricSpecification: {
            PredefinedMetricType: "ALBRequestCountPerTarget",
            ResourceLabel: resourceLabel,
          },
          ScaleOutCooldown: SCALING_COOLDOWNS_MS.scaleOut / 1000,
          ScaleInCooldown: SCALING_COOLDOWNS_MS.scaleIn / 1000,
        },
      }),
    );
    await this.scaling.send(
      new PutScalingPolicyCommand({
        ...target,
        PolicyName: "byom-cpu",
        PolicyType: "TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: SCALING_TARGETS.cpuPercent,
          PredefinedMetricSpecification: { PredefinedMetricType: "ECSServiceAverageCPUUtilization" },
          ScaleOutCooldown: SCALING_COOLDOWNS_MS.scaleOut / 1000,
          ScaleInCooldown: SCALING_COOLDOWNS_MS.scaleIn / 1000,
        },
      }),
    );
  }

  async captureRole(deploymentId: string): Promise<string> {
    const { captureBoundaryArn: boundary, bucketName, fileSystemId, region } = this.settings;
    if (!boundary || !bucketName)
      throw new Error("CAPTURE_ROLE_BOUNDARY_ARN and BUCKET_NAME must be set for capturing deployments.");
    const account = boundary.split(":")[4] ?? "";
    const partition = boundary.split(":")[1] ?? "aws";
    return ensureBoundedRole(this.iam, {
      roleName: captureRoleName(deploymentId),
      path: CAPTURE_ROLE_PATH,
      boundaryArn: boundary,
      description: `Byom: runtime tasks of ${deploymentId}, which capture requests`,
      tags: [{ Key: "byom:deployment", Value: deploymentId }],
      policyName: CAPTURE_POLICY,
      statements: [
        {
          Effect: "Allow",
          Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
          Resource: `arn:${partition}:s3:::${bucketName}/capture/${deploymentId}/*`,
        },
        {
          // The runtime still mounts its slot's models (IAM-authorized EFS access points).
          Effect: "Allow",
          Action: "elasticfilesystem:ClientMount",
          Resource: `arn:${partition}:elasticfilesystem:${region}:${account}:file-system/${fileSystemId}`,
        },
      ],
    });
  }

  async deleteCaptureRole(deploymentId: string): Promise<void> {
    await deleteBoundedRole(this.iam, captureRoleName(deploymentId), CAPTURE_POLICY);
  }

  async stopRuntime(resources: SlotResources): Promise<void> {
    const cluster = this.settings.clusterArn;
    const gone = ["ServiceNotFoundException", "ServiceNotActiveException"];
    if (resources.serviceArn) {
      const service = resources.serviceArn;
      // Its policies go with the scalable target; a service that never scaled (or whose removal is
      // retried) has none: looked up first, so the removal does not rest on the error AWS
      // (ObjectNotFoundException) or moto (ValidationException) gives for a missing one.
      const target = {
        ServiceNamespace: "ecs" as const,
        ScalableDimension: "ecs:service:DesiredCount" as const,
      };
      const ResourceId = scalingResourceOf(service);
      const registered = await this.scaling.send(
        new DescribeScalableTargetsCommand({ ...target, ResourceIds: [ResourceId] }),
      );
      if ((registered.ScalableTargets ?? []).length > 0)
        await tolerateGone(
          () => this.scaling.send(new DeregisterScalableTargetCommand({ ...target, ResourceId })),
          "ObjectNotFoundException",
        );
      await tolerateGone(
        () => this.ecs.send(new UpdateServiceCommand({ cluster, service, desiredCount: 0 })),
        ...gone,
      );
      await tolerateGone(
        () => this.ecs.send(new DeleteServiceCommand({ cluster, service, force: true })),
        ...gone,
      );
    }
    if (resources.taskDefinitionArn) {
      const taskDefinition = resources.taskDefinitionArn;
      await tolerateGone(
        () => this.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition })),
        "ClientException",
      );
    }
  }

  taggedResources(): Promise<TaggedResource[]> {
    return listTaggedResources(
      { ecs: this.ecs, elb: this.elb, efs: this.efs, secrets: this.secrets },
      this.settings,
    );
  }

  /** The slot operations' own removals, each tolerating a resource already gone. */
  async deleteTagged(resource: TaggedResource): Promise<void> {
    switch (resource.kind) {
      case "listenerRule":
        return this.deleteTrafficRule(resource.id);
      case "service":
        return this.stopRuntime({ serviceArn: resource.id });
      case "targetGroup":
        return this.deleteTargetGroup(resource.id);
      case "taskDefinition":
        return this.deleteProcessorTask(resource.id);
      case "accessPoint":
        return this.deleteSlotVolume(resource.id);
      case "secret":
        return this.deleteRuntimeSecret(resource.id);
    }
  }

  /**
   * The ALB's view: healthy once a target passes the health path; otherwise why not, from the
   * service's events and its last stopped task. A task that could not start (an image ECR cannot
   * give, say) or whose container exited means failing: waiting longer would not help.
   */
  async runtimeHealth(slot: Slot): Promise<RuntimeHealth> {
    const group = slot.resources.targetGroupArn;
    if (!group) return { state: "failing", detail: "the slot has no target group" };
    const health = await this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: group }));
    const targets = health.TargetHealthDescriptions ?? [];
    if (targets.some((t) => t.TargetHealth?.State === "healthy")) return { state: "healthy" };
    const states = targets
      .map(
        (t) =>
          `${t.Target?.Id}: ${t.TargetHealth?.State}${t.TargetHealth?.Description ? ` (${t.TargetHealth.Description})` : ""}`,
      )
      .join("; ");
    let serviceEvent = "";
    let stopped: StoppedTask | undefined;
    if (slot.resources.serviceArn) {
      const described = await this.ecs.send(
        new DescribeServicesCommand({
          cluster: this.settings.clusterArn,
          services: [slot.resources.serviceArn],
        }),
      );
      serviceEvent = described.services?.[0]?.events?.[0]?.message ?? "";
      stopped = await this.lastStoppedTask(slot.resources.serviceArn);
    }
    const detail = [
      stopped && `a task stopped: ${stopped.reason}`,
      states || "no task registered yet",
      serviceEvent && `latest service event: ${serviceEvent}`,
    ]
      .filter(Boolean)
      .join("; ");
    return { state: stopped?.final ? "failing" : "starting", detail };
  }

  /** Why the service's most recent stopped task stopped: ECS's stoppedReason and its containers'. */
  private async lastStoppedTask(serviceArn: string): Promise<StoppedTask | undefined> {
    const cluster = this.settings.clusterArn;
    const listed = await this.ecs.send(
      new ListTasksCommand({ cluster, serviceName: serviceArn.split("/").pop(), desiredStatus: "STOPPED" }),
    );
    const arns = (listed.taskArns ?? []).slice(0, 100);
    if (arns.length === 0) return undefined;
    const described = await this.ecs.send(new DescribeTasksCommand({ cluster, tasks: arns }));
    const [task] = (described.tasks ?? []).sort(
      (a, b) => (b.stoppedAt?.getTime() ?? 0) - (a.stoppedAt?.getTime() ?? 0),
    );
    if (!task) return undefined;
    const containers = (task.containers ?? [])
      .map((c) =>
        c.reason
          ? `container ${c.name}: ${c.reason}`
          : c.exitCode !== undefined && c.exitCode !== null
            ? `container ${c.name} exited with code ${c.exitCode}`
            : "",
      )
      .filter(Boolean);
    return {
      reason: [task.stoppedReason ?? task.stopCode ?? "no reason given", ...containers].join("; "),
      // TaskFailedToStart: the image could not be pulled or the task not set up; an essential
      // container that exited before the runtime was ever healthy will do so again.
      final: task.stopCode === "TaskFailedToStart" || task.stopCode === "EssentialContainerExited",
    };
  }

  /** A healthy task of the slot, reached directly (the deployer's security group may reach runtimes). */
  async slotEndpoint(_deploymentId: string, slot: Slot): Promise<string> {
    const group = slot.resources.targetGroupArn;
    if (!group) throw new Error(`Slot ${slot.slotId} has no target group.`);
    const health = await this.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: group }));
    const target = (health.TargetHealthDescriptions ?? []).find(
      (t) => t.TargetHealth?.State === "healthy",
    )?.Target;
    if (!target?.Id) throw new Error(`Slot ${slot.slotId} has no healthy target to verify.`);
    return `http://${target.Id}:${target.Port ?? RUNTIME_PORT}`;
  }

  async processorLogTail(taskArn: string, containerName: string): Promise<string | undefined> {
    const taskId = taskArn.split("/").pop();
    const out = await this.logs.send(
      new GetLogEventsCommand({
        logGroupName: this.settings.processorLogGroup,
        logStreamName: `processor/${containerName}/${taskId}`,
        startFromHead: false,
        limit: 20,
      }),
    );
    const lines = (out.events ?? []).map((e) => (e.message ?? "").trim()).filter(Boolean);
    return lines.at(-1);
  }
}

const DEPLOYMENT_TAG = "byom:deployment";
/** DescribeTags takes at most 20 ARNs, DescribeServices 10. */
const TAGS_PER_CALL = 20;
const SERVICES_PER_CALL = 10;

/** Pages through a list call until it returns no next token. */
async function allPages<T>(page: (token: string | undefined) => Promise<{ items: T[]; next?: string }>) {
  const items: T[] = [];
  let token: string | undefined;
  do {
    const out = await page(token);
    items.push(...out.items);
    token = out.next;
  } while (token);
  return items;
}

const chunks = <T>(items: readonly T[], size: number) =>
  Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));

/** The `byom:deployment` tag's value (ELB, EFS and Secrets Manager spell tags Key/Value, ECS key/value). */
function deploymentTagOf(
  tags: ReadonlyArray<{ Key?: string; Value?: string; key?: string; value?: string }>,
) {
  const tag = tags.find((t) => (t.Key ?? t.key) === DEPLOYMENT_TAG);
  return tag?.Value ?? tag?.value;
}

/**
 * The orphan sweep's listing on AWS: every resource kind the workflow creates, found by the
 * `byom:deployment` tag: target groups named byom-* and the rules of the two listeners (ELB
 * DescribeTags), the cluster's services (DescribeServices with tags), task definitions of the byom-
 * families, the file system's access points and the secrets under byom/ (their tags come with them).
 */
async function listTaggedResources(
  clients: {
    ecs: ECSClient;
    elb: ElasticLoadBalancingV2Client;
    efs: EFSClient;
    secrets: SecretsManagerClient;
  },
  settings: AwsServingSettings,
): Promise<TaggedResource[]> {
  const { ecs, elb, efs, secrets } = clients;
  const found: TaggedResource[] = [];
  const elbTagged = async (kind: "targetGroup" | "listenerRule", arns: string[]) => {
    for (const batch of chunks(arns, TAGS_PER_CALL)) {
      const out = await elb.send(new DescribeTagsCommand({ ResourceArns: batch }));
      for (const description of out.TagDescriptions ?? []) {
        const deploymentId = deploymentTagOf(description.Tags ?? []);
        if (deploymentId && description.ResourceArn)
          found.push({ kind, id: description.ResourceArn, deploymentId });
      }
    }
  };
  const groups = await allPages(async (Marker) => {
    const out = await elb.send(new DescribeTargetGroupsCommand({ Marker, PageSize: 400 }));
    return { items: out.TargetGroups ?? [], next: out.NextMarker };
  });
  await elbTagged(
    "targetGroup",
    groups
      .filter((g) => g.TargetGroupName?.startsWith("byom-") && g.TargetGroupArn)
      .map((g) => g.TargetGroupArn as string),
  );
  for (const listenerArn of new Set([settings.listenerArn, settings.shadowListenerArn])) {
    if (!listenerArn) continue;
    const rules = await allPages(async (Marker) => {
      const out = await elb.send(
        new DescribeRulesCommand({ ListenerArn: listenerArn, Marker, PageSize: 400 }),
      );
      return { items: out.Rules ?? [], next: out.NextMarker };
    });
    await elbTagged(
      "listenerRule",
      rules.filter((r) => !r.IsDefault && r.RuleArn).map((r) => r.RuleArn as string),
    );
  }
  const serviceArns = await allPages(async (nextToken) => {
    const out = await ecs.send(new ListServicesCommand({ cluster: settings.clusterArn, nextToken }));
    return { items: out.serviceArns ?? [], next: out.nextToken };
  });
  for (const batch of chunks(serviceArns, SERVICES_PER_CALL)) {
    const out = await ecs.send(
      new DescribeServicesCommand({ cluster: settings.clusterArn, services: batch, include: ["TAGS"] }),
    );
    for (const service of out.services ?? []) {
      const deploymentId = deploymentTagOf(service.tags ?? []);
      if (deploymentId && service.serviceArn && service.status !== "INACTIVE")
        found.push({ kind: "service", id: service.serviceArn, deploymentId });
    }
  }
  // ListTaskDefinitions' familyPrefix is a whole family name; the families' list takes a prefix.
  const families = await allPages(async (nextToken) => {
    const out = await ecs.send(
      new ListTaskDefinitionFamiliesCommand({ familyPrefix: "byom-", status: "ACTIVE", nextToken }),
    );
    return { items: out.families ?? [], next: out.nextToken };
  });
  const taskDefinitions: string[] = [];
  for (const family of families) {
    taskDefinitions.push(
      ...(await allPages(async (nextToken) => {
        const out = await ecs.send(
          new ListTaskDefinitionsCommand({ familyPrefix: family, status: "ACTIVE", nextToken }),
        );
        return { items: out.taskDefinitionArns ?? [], next: out.nextToken };
      })),
    );
  }
  for (const arn of taskDefinitions) {
    const out = await ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ["TAGS"] }));
    const deploymentId = deploymentTagOf(out.tags ?? []);
    if (deploymentId) found.push({ kind: "taskDefinition", id: arn, deploymentId });
  }
  const accessPoints = await allPages(async (NextToken) => {
    const out = await efs.send(
      new DescribeAccessPointsCommand({ FileSystemId: settings.fileSystemId, NextToken }),
    );
    return { items: out.AccessPoints ?? [], next: out.NextToken };
  });
  for (const point of accessPoints) {
    const deploymentId = deploymentTagOf(point.Tags ?? []);
    if (deploymentId && point.AccessPointId)
      found.push({ kind: "accessPoint", id: point.AccessPointId, deploymentId });
  }
  const secretList = await allPages(async (NextToken) => {
    const out = await secrets.send(
      new ListSecretsCommand({ Filters: [{ Key: "name", Values: [RUNTIME_SECRET_PREFIX] }], NextToken }),
    );
    return { items: out.SecretList ?? [], next: out.NextToken };
  });
  for (const secret of secretList) {
    const deploymentId = deploymentTagOf(secret.Tags ?? []);
    if (deploymentId && secret.ARN) found.push({ kind: "secret", id: secret.ARN, deploymentId });
  }
  return found;
}

interface StoppedTask {
  readonly reason: string;
  /** The runtime will not come up by waiting (the image, or the container, is at fault). */
  readonly final: boolean;
}

/** `service/<cluster>/<service>`: Application Auto Scaling's id of an ECS service. */
const scalingResourceOf = (serviceArn: string) => serviceArn.split(":").at(-1) as string;

/** The image the target recorded from its catalog entry (pinned by digest once imported). */
function imageOf(slot: Slot, kind: "processor" | "runtime"): string {
  const image = slot.target.images?.[kind];
  if (!image) {
    throw new Error(
      `Slot ${slot.slotId} records no ${kind} image: it was planned before images came from the catalog. Update the deployment to plan it again.`,
    );
  }
  return image;
}

function slotAccessPoint(slot: Slot): string {
  if (!slot.resources.accessPointId) throw new Error(`Slot ${slot.slotId} has no access point.`);
  return slot.resources.accessPointId;
}

let shared: AwsServing | undefined;

/** One instance per Lambda container, created at the first invocation (settings fail fast then). */
export function awsServing(): AwsServing {
  shared ??= new AwsServing();
  return shared;
}
