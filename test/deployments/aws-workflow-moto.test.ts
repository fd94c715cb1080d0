import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DescribeScalableTargetsCommand,
  DescribeScalingPoliciesCommand,
} from "@aws-sdk/client-application-auto-scaling";
import { DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import { CreateLogStreamCommand, PutLogEventsCommand } from "@aws-sdk/client-cloudwatch-logs";
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { DescribeAccessPointsCommand } from "@aws-sdk/client-efs";
import {
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetRoleCommand, GetRolePolicyCommand, ListRolePoliciesCommand } from "@aws-sdk/client-iam";
import { GetSecretValueCommand, ListSecretsCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import {
  type DeploymentRecord,
  newDeploymentRecord,
  type ResolvedTarget,
  type Slot,
  type TargetSpec,
} from "#lambdas/deployments/deployment-record.ts";
import type { AwsServing } from "#lambdas/deployments/serving/aws-serving.ts";
import type { BuildItem, WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { deployModels } from "../support/deployments.ts";
import { startTestTable, type TestTable } from "../support/dynamo-table.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";
import {
  type AwsServingSettings,
  type MotoServingClients,
  motoServingClients,
  motoServingStack,
} from "../support/moto-serving.ts";
import { type RunningRuntime, runProcessor, startRuntime } from "../support/runtime-process.ts";

/**
 * The deploy and delete workflows' own step functions (lambdas/deployments/workflow/), run in the
 * order the state machines run them (cdk/constructs/deploy-workflow.ts, delete-workflow.ts), with
 * the real AwsServing and its real SDK clients pointed at moto server, and the real deployments
 * repository on dynalite: a deployment of two targets with replicas min 2 max 4, a PATCH that
 * reweights one and resizes the other, a PATCH that fails, and the delete. After each, the AWS
 * state is read back from moto. Then a deployment with request capture, up to StartRuntime (its
 * own task role, read back from moto's IAM; a retried StartRuntime) and its delete; and a first
 * deploy whose processor fails, its reason read from the container's log stream in moto's
 * CloudWatch Logs.
 *
 * Run against moto (its models of the APIs): ECS RegisterTaskDefinition, DeregisterTaskDefinition,
 * DescribeTaskDefinition, CreateService, UpdateService (also a retried StartRuntime's),
 * DeleteService, DescribeServices, ListTasks, DescribeTasks; ELBv2 CreateTargetGroup (and its duplicate
 * name on a retry), DescribeTargetGroups, ModifyTargetGroupAttributes, DeleteTargetGroup,
 * CreateRule, ModifyRule, DescribeRules, DeleteRule, DescribeTargetHealth; EFS CreateAccessPoint,
 * DescribeAccessPoints, DeleteAccessPoint; Application Auto Scaling RegisterScalableTarget,
 * PutScalingPolicy, DescribeScalableTargets, DeregisterScalableTarget; Secrets Manager
 * CreateSecret, DeleteSecret; CloudWatch PutMetricAlarm, DeleteAlarms; IAM CreateRole (with a
 * permissions boundary, and its EntityAlreadyExists on a retry), GetRole, PutRolePolicy,
 * DeleteRolePolicy, DeleteRole (and their NoSuchEntity for a deployment without capture or a
 * retried Teardown); CloudWatch Logs GetLogEvents (the last of more lines than it reads, put by
 * the test with CreateLogStream and PutLogEvents where the task definition's awslogs options say).
 *
 * What moto does not do, and what stands in for it here:
 * - It runs no container, and its RunTask fails (a TypeError in moto 5.2.5) for a Fargate task
 *   definition without container-level memory, which AWS accepts: the RunProcessor state's
 *   RunTask is not sent; the processor image's own code runs as a local process on the slot's
 *   directory (test/support/runtime-process.ts), as local mode runs it. Likewise each runtime
 *   service's task: the runtime runs as a local process with the environment of the task
 *   definition moto holds and the secret values its `secrets` name, read from moto's Secrets
 *   Manager, and the test registers its loopback address in the slot's target group (what ECS
 *   does for a task it starts).
 * - It runs no health checks: a registered target is reported healthy (CheckRuntime's "healthy"
 *   comes from DescribeTargetHealth all the same; the runtime itself answers VerifySample).
 * - It applies no scaling policy and reports no real task counts (desiredCount is what the
 *   workflow set). A task that fails to start (stop codes) is in the recorder tests
 *   (aws-serving.test.ts), as moto cannot produce one.
 * - A second CreateService of a service's name with another task definition replaces the service
 *   in moto 5.2.5; AWS refuses it ("Creation of service was not idempotent"). The adapter looks
 *   the service up first and updates it, which the retried StartRuntime here checks by the old
 *   revision's deregistration. No IAM policy is enforced: the capture role's documents are
 *   checked as written; what AWS would allow with them is not.
 * - A processor's failure reaches RecordFailure as the RunTask integration's error (the stopped
 *   task's ARN, reason and exit code), written by the test, since RunTask is not sent.
 * - The registry (target resolution) and the bucket (the pinned download) are not what this test
 *   is about: targets resolve to the test's model, and the download copies its zip.
 */

let moto: MotoServer;
let table: TestTable;
let root: string;
let settings: AwsServingSettings;
let serving: AwsServing;
let modelZip: string;
const runtimes: RunningRuntime[] = [];

/** Targets resolve to the deploy fixture's model, its versions differing only in name. */
vi.mock("#lambdas/deployments/target-resolution.ts", () => ({
  resolveTargets: async (_reader: unknown, _projectId: string, _mode: string, targets: TargetSpec[]) =>
    targets.map(
      (t): ResolvedTarget => ({
        modelId: t.modelId,
        modelName: "churn",
        version: t.version,
        experimentId: `exp-${t.version}`,
        artifactId: `art-${t.version}`,
        artifactType: "python/mlflow",
        objectKey: `artifacts/${t.version}`,
        processor: "python-mlflow-processor",
        runtime: "python-tabular-runtime",
        runtimeEnv: { BYOM_WORKERS: "1" },
        images: {
          processor: "123456789012.dkr.ecr.us-east-1.amazonaws.com/byom/mlflow-processor@sha256:1",
          runtime: "123456789012.dkr.ecr.us-east-1.amazonaws.com/byom/tabular-runtime@sha256:2",
        },
        healthPath: "/readyz",
        framework: "sklearn",
        // The fixture model's signature, as registration records it.
        inputSchema: [
          { name: "age", type: "Int64" },
          { name: "income", type: "Float64" },
          { name: "tenure", type: "Float64" },
        ],
        outputSchema: null,
        weight: t.weight ?? 100,
        role: "primary",
        resources: t.resources as ResolvedTarget["resources"],
      }),
    ),
}));
vi.mock("#lambdas/deployments/workflow/pinned-download.ts", () => ({
  downloadArtifact: async (_objectKey: string, destination: string) => {
    copyFileSync(modelZip, destination);
    return statSync(destination).size;
  },
}));

let clients: MotoServingClients;
let steps: typeof import("#lambdas/deployments/workflow/plan-slots.ts") &
  typeof import("#lambdas/deployments/workflow/build-slot.ts") &
  typeof import("#lambdas/deployments/workflow/verify-sample.ts") &
  typeof import("#lambdas/deployments/workflow/traffic-rules.ts") &
  typeof import("#lambdas/deployments/workflow/retire-slots.ts") &
  typeof import("#lambdas/deployments/workflow/record-failure.ts") &
  typeof import("#lambdas/deployments/workflow/teardown.ts");
let repository: typeof import("#lambdas/deployments/deployments-repository.ts");
let slotPosixId: (slotId: string) => number;

beforeAll(async () => {
  modelZip = (await deployModels()).v1;
  root = mkdtempSync(join(tmpdir(), "byom-aws-workflow-"));
  moto = await startMotoServer();
  // Its credentials sign every call: dynalite's guard checks the signature; moto takes any key.
  table = await startTestTable("aws-workflow-test");
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    BUCKET_NAME: "unused-here",
    MODELS_ROOT: join(root, "models"),
    HEALTH_CHECK_INTERVAL_SECONDS: "1",
    HEALTH_CHECK_POLL_SECONDS: "30",
    HEALTH_CHECK_TIMEOUT_SECONDS: "60",
    DRAIN_SECONDS: "1",
  });
  clients = motoServingClients();
  settings = await motoServingStack(moto);
  // Imported only now: the modules read their environment when they load, as Lambdas do.
  const adapter = await import("#lambdas/deployments/serving/aws-serving.ts");
  slotPosixId = adapter.slotPosixId;
  serving = new adapter.AwsServing(settings);
  repository = await import("#lambdas/deployments/deployments-repository.ts");
  steps = {
    ...(await import("#lambdas/deployments/workflow/plan-slots.ts")),
    ...(await import("#lambdas/deployments/workflow/build-slot.ts")),
    ...(await import("#lambdas/deployments/workflow/verify-sample.ts")),
    ...(await import("#lambdas/deployments/workflow/traffic-rules.ts")),
    ...(await import("#lambdas/deployments/workflow/retire-slots.ts")),
    ...(await import("#lambdas/deployments/workflow/record-failure.ts")),
    ...(await import("#lambdas/deployments/workflow/teardown.ts")),
  };
}, 900_000);

afterAll(async () => {
  await Promise.all(runtimes.map((r) => r.stop()));
  await moto?.stop();
  await table?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

const PROJECT = "prj-moto";
const DEPLOYMENT = "dep-moto";
const ids = (workflowId: string): WorkflowInput => ({
  projectId: PROJECT,
  deploymentId: DEPLOYMENT,
  workflowId,
});
const sized = (min: number, max: number) => ({
  cpu: "0.5" as const,
  memoryMiB: 1024,
  replicas: { min, max },
});

const record = () => repository.getDeployment(PROJECT, DEPLOYMENT) as Promise<DeploymentRecord>;

/**
 * What ECS would do for the slot's runtime service: run its task definition's container (here the
 * runtime as a process, with the definition's environment and the secret values its `secrets`
 * name) and register the task's address in the service's target group.
 */
async function runServiceTask(slot: Slot): Promise<void> {
  const definition = (
    await clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: slot.resources.taskDefinitionArn }),
    )
  ).taskDefinition;
  const container = definition?.containerDefinitions?.[0];
  const env = Object.fromEntries((container?.environment ?? []).map((e) => [e.name, e.value]));
  for (const secret of container?.secrets ?? []) {
    // `<secret ARN>:<JSON key>::`: ECS reads the key's value from the secret's JSON.
    const [arn, key] = [secret.valueFrom?.split(":").slice(0, 7).join(":"), secret.valueFrom?.split(":")[7]];
    const value = await clients.secrets.send(new GetSecretValueCommand({ SecretId: arn }));
    env[secret.name as string] = JSON.parse(value.SecretString ?? "{}")[key as string];
  }
  const { MODEL_PATH, MODEL_ID, ...rest } = env as Record<string, string>;
  const runtime = await startRuntime(
    "python-tabular-runtime",
    MODEL_PATH as string,
    MODEL_ID as string,
    rest,
  );
  runtimes.push(runtime);
  const port = Number(new URL(runtime.url).port);
  await clients.elb.send(
    new RegisterTargetsCommand({
      TargetGroupArn: slot.resources.targetGroupArn,
      Targets: [{ Id: "127.0.0.1", Port: port }],
    }),
  );
}

/**
 * The RunProcessor state's work: the processor image's own code on the slot's directory, with the
 * environment the state passes as its container override. (Its ECS RunTask is not sent to moto:
 * moto 5.2.5 fails it with a TypeError for a Fargate task definition that sets memory only at the
 * task level, as Byom's do and AWS accepts.)
 */
async function runProcessorTask(item: BuildItem): Promise<void> {
  const run = item.processorRun;
  if (!run) throw new Error("StageArtifact returned no processor run");
  const env = Object.fromEntries(run.environment.map((e) => [e.Name, e.Value]));
  const { SOURCE_PATH, TARGET_PATH, ...rest } = env as Record<string, string>;
  const processed = await runProcessor(
    "python-mlflow-processor",
    SOURCE_PATH as string,
    TARGET_PATH as string,
    rest,
  );
  expect(processed.code, processed.stderr).toBe(0);
}

/** One BuildSlots Map item, state by state, up to and including VerifySample. */
async function buildSlot(item: BuildItem): Promise<void> {
  const staged = await steps.stageArtifact(item, serving);
  await runProcessorTask(staged);
  const withGroup = await steps.createTargetGroup(staged, serving);
  await steps.startRuntime(withGroup, serving);
  const slot = (await record()).pendingSlots.find((s) => s.slotId === item.slotId) as Slot;
  await runServiceTask(slot);
  const checked = await steps.checkRuntime(withGroup, serving);
  expect(checked.health.healthy).toBe(true);
  await steps.verifySample(checked, serving);
}

/** The AWS state of one slot as moto holds it. */
async function slotState(slot: Slot) {
  const service = (
    await clients.ecs.send(
      new DescribeServicesCommand({
        cluster: settings.clusterArn,
        services: [slot.resources.serviceArn as string],
      }),
    )
  ).services?.[0];
  const task = (
    await clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: slot.resources.taskDefinitionArn }),
    )
  ).taskDefinition;
  const processor = (
    await clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: slot.resources.processorTaskDefinitionArn }),
    )
  ).taskDefinition;
  return { service, task, processor };
}

const nonDefaultRules = async () =>
  (
    (await clients.elb.send(new DescribeRulesCommand({ ListenerArn: settings.listenerArn }))).Rules ?? []
  ).filter((r) => !r.IsDefault);
const accessPoints = async () =>
  (await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: settings.fileSystemId })))
    .AccessPoints ?? [];
const scalableTargets = async () =>
  (await clients.scaling.send(new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" })))
    .ScalableTargets ?? [];
const targetGroups = async () =>
  (await clients.elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
const secrets = async () => (await clients.secrets.send(new ListSecretsCommand({}))).SecretList ?? [];
const forwardWeights = (rule: {
  Actions?: Array<{ ForwardConfig?: { TargetGroups?: Array<{ TargetGroupArn?: string; Weight?: number }> } }>;
}) =>
  Object.fromEntries(
    (rule.Actions?.[0]?.ForwardConfig?.TargetGroups ?? []).map((g) => [g.TargetGroupArn, g.Weight]),
  );

/** What the API's PATCH writes: version 1 at 70 % as before, version 2 at 30 % with `resources`. */
const requestPatch = (workflowId: string, revision: number, resources: ReturnType<typeof sized>) =>
  repository.changeDeployment(PROJECT, DEPLOYMENT, {
    set: {
      targets: [
        { modelId: "mdl-1", version: 1, weight: 70, resources: sized(2, 4) },
        { modelId: "mdl-1", version: 2, weight: 30, resources },
      ],
      revision,
    },
    claimFor: workflowId,
  });

/** A removed slot left nothing in moto: service, task definitions, group, rule, secret, scaling. */
async function expectSlotGone(slot: Slot): Promise<void> {
  const state = await slotState(slot);
  expect(state.service?.status).not.toBe("ACTIVE");
  expect(state.task?.status).toBe("INACTIVE");
  expect(state.processor?.status).toBe("INACTIVE");
  expect((await targetGroups()).map((g) => g.TargetGroupArn)).not.toContain(slot.resources.targetGroupArn);
  expect((await nonDefaultRules()).map((r) => r.RuleArn)).not.toContain(slot.resources.slotRuleArn);
  expect((await accessPoints()).map((p) => p.AccessPointId)).not.toContain(slot.resources.accessPointId);
  expect((await secrets()).map((s) => s.ARN)).not.toContain(slot.resources.passphraseSecretArn);
  expect((await scalableTargets()).map((t) => t.ResourceId)).not.toContain(
    `service/byom/byom-${slot.slotId}`,
  );
}

/** A new deployment's item as the API's POST writes it, claimed by its deploy workflow. */
async function putNewDeployment(
  deploymentId: string,
  workflowId: string,
  fields: Pick<DeploymentRecord, "mode" | "targets" | "security" | "capture">,
) {
  await repository.putNewDeployment(
    newDeploymentRecord(
      { projectId: PROJECT, deploymentId, name: deploymentId, ...fields, createdBy: "local:test" },
      workflowId,
      new Date().toISOString(),
    ),
  );
}

/** One target per version, equal weights, replicas 1. */
const targetsOf = (...versions: number[]) =>
  versions.map((version) => ({
    modelId: "mdl-1",
    version,
    weight: 100 / versions.length,
    resources: sized(1, 1),
  }));

describe("the deploy and delete workflows' steps against moto", () => {
  let firstSlots: readonly Slot[] = [];

  it("deploys two targets with replicas min 2 max 4: services, task definitions, rules, scaling", async () => {
    const workflowId = "deploy-dep-moto-r1";
    await putNewDeployment(DEPLOYMENT, workflowId, {
      mode: "ab",
      targets: [
        { modelId: "mdl-1", version: 1, weight: 50, resources: sized(2, 4) },
        { modelId: "mdl-1", version: 2, weight: 50, resources: sized(2, 4) },
      ],
      // The hash a passphrase gets (lambdas/deployments/api/passphrase-hash.ts); the runtime checks it.
      security: {
        mode: "passphrase",
        passphraseHash: await (await import("#lambdas/deployments/api/passphrase-hash.ts")).hashPassphrase(
          "a long enough passphrase",
        ),
      },
    });

    const prepared = await steps.prepare(ids(workflowId), {} as never, serving);
    expect(prepared.build).toHaveLength(2);
    // A StageArtifact retried after a crash: its first attempt created the access point but died
    // before recording it. The retry finds it (by its byom:slot tag) and makes no second one.
    const first = prepared.build[0] as BuildItem;
    const crashed = await serving.createSlotVolume(
      DEPLOYMENT,
      (await record()).pendingSlots.find((s) => s.slotId === first.slotId) as Slot,
    );
    // Likewise a CreateTargetGroup retried after its group was created (found by its name).
    const crashedGroup = await serving.createTargetGroup(
      DEPLOYMENT,
      (await record()).pendingSlots.find((s) => s.slotId === first.slotId) as Slot,
    );
    for (const item of prepared.build) await buildSlot(item);
    const built = (await record()).pendingSlots.find((s) => s.slotId === first.slotId) as Slot;
    expect(built.resources.accessPointId).toBe(crashed.accessPointId);
    expect(built.resources.targetGroupArn).toBe(crashedGroup);

    const switched = await steps.switchTraffic(prepared, serving);
    expect(switched.retire).toEqual([]);
    await steps.retireSlots(switched, serving);

    const live = await record();
    expect(live.status).toBe("HEALTHY");
    expect(live.liveRevision).toBe(1);
    firstSlots = live.slots;
    expect(firstSlots).toHaveLength(2);
    for (const slot of firstSlots) {
      const { service, task, processor } = await slotState(slot);
      expect(service?.status).toBe("ACTIVE");
      expect(service?.desiredCount).toBe(2);
      expect(service?.loadBalancers?.map((l) => l.targetGroupArn)).toEqual([slot.resources.targetGroupArn]);
      expect(task?.cpu).toBe("512");
      expect(task?.memory).toBe("1024");
      // The slot's own access point, in the runtime's and the processor's task definitions.
      for (const definition of [task, processor])
        expect(definition?.volumes?.[0]?.efsVolumeConfiguration?.authorizationConfig).toEqual({
          accessPointId: slot.resources.accessPointId,
          iam: "ENABLED",
        });
      const container = task?.containerDefinitions?.[0];
      expect(container?.secrets).toEqual([
        {
          name: "BYOM_PASSPHRASE_HASH",
          valueFrom: `${slot.resources.passphraseSecretArn}:BYOM_PASSPHRASE_HASH::`,
        },
      ]);
      expect(container?.environment?.map((e) => e.name)).not.toContain("BYOM_PASSPHRASE_HASH");
      const secret = await clients.secrets.send(
        new GetSecretValueCommand({ SecretId: slot.resources.passphraseSecretArn }),
      );
      expect(JSON.parse(secret.SecretString ?? "{}")).toEqual({
        BYOM_PASSPHRASE_HASH: live.security.mode === "passphrase" ? live.security.passphraseHash : "",
      });
    }
    const points = await accessPoints();
    expect(points.map((p) => p.AccessPointId).sort()).toEqual(
      firstSlots.map((s) => s.resources.accessPointId).sort(),
    );
    for (const point of points) {
      const slotId = point.Tags?.find((t) => t.Key === "byom:slot")?.Value as string;
      expect(point.RootDirectory?.Path).toBe(`/models/${DEPLOYMENT}/${slotId}`);
      expect(point.PosixUser?.Uid).toBe(slotPosixId(slotId));
    }
    // The deployment's rule forwards 50/50; each slot keeps its own rule (for verification).
    const rules = await nonDefaultRules();
    expect(rules).toHaveLength(3);
    const deploymentRule = rules.find((r) => r.RuleArn === live.trafficRuleArn);
    expect(deploymentRule?.Conditions?.[0]?.PathPatternConfig?.Values).toEqual([`/${DEPLOYMENT}/*`]);
    expect(forwardWeights(deploymentRule ?? {})).toEqual(
      Object.fromEntries(firstSlots.map((s) => [s.resources.targetGroupArn, 50])),
    );
    expect((await targetGroups()).map((g) => [g.TargetGroupArn, g.HealthCheckPath]).sort()).toEqual(
      firstSlots.map((s) => [s.resources.targetGroupArn, "/readyz"]).sort(),
    );
    // Application Auto Scaling between 2 and 4 tasks, tracking ALB requests per task and CPU.
    const targets = await scalableTargets();
    expect(targets.map((t) => [t.ResourceId, t.MinCapacity, t.MaxCapacity]).sort()).toEqual(
      firstSlots.map((s) => [`service/byom/byom-${s.slotId}`, 2, 4]).sort(),
    );
    const policies =
      (await clients.scaling.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: "ecs" })))
        .ScalingPolicies ?? [];
    expect(policies).toHaveLength(4);
    expect(
      policies
        .map(
          (p) =>
            p.TargetTrackingScalingPolicyConfiguration?.PredefinedMetricSpecification?.PredefinedMetricType,
        )
        .sort(),
    ).toEqual([
      "ALBRequestCountPerTarget",
      "ALBRequestCountPerTarget",
      "ECSServiceAverageCPUUtilization",
      "ECSServiceAverageCPUUtilization",
    ]);
    const alarms = await clients.cloudwatch.send(new DescribeAlarmsCommand({}));
    expect(alarms.MetricAlarms?.map((a) => a.AlarmName).filter((n) => n?.includes(DEPLOYMENT))).toHaveLength(
      2,
    );
  }, 900_000);

  it("PATCHes to new weights and a resized target: the kept slot is reweighted, the resized one replaced", async () => {
    const workflowId = "deploy-dep-moto-r2";
    const [kept, resized] = firstSlots as [Slot, Slot];
    await requestPatch(workflowId, 2, sized(3, 4));
    const prepared = await steps.prepare(ids(workflowId), {} as never, serving);
    expect(prepared.build).toHaveLength(1);
    for (const item of prepared.build) await buildSlot(item);
    const switched = await steps.switchTraffic(prepared, serving);
    expect(switched.retire.map((s) => s.slotId)).toEqual([resized.slotId]);
    await steps.retireSlots(switched, serving);

    const live = await record();
    expect(live.liveRevision).toBe(2);
    const added = live.slots.find((s) => s.slotId !== kept.slotId) as Slot;
    expect(live.slots.map((s) => s.slotId)).toEqual([kept.slotId, added.slotId]);
    // The same deployment rule, modified in place to 70/30.
    expect(live.trafficRuleArn).toBe(
      (await nonDefaultRules()).find((r) => r.Priority && Number(r.Priority) >= 25_000)?.RuleArn,
    );
    const rule = (await nonDefaultRules()).find((r) => r.RuleArn === live.trafficRuleArn);
    expect(forwardWeights(rule ?? {})).toEqual({
      [kept.resources.targetGroupArn as string]: 70,
      [added.resources.targetGroupArn as string]: 30,
    });
    expect((await slotState(added)).service?.desiredCount).toBe(3);
    expect((await scalableTargets()).map((t) => [t.ResourceId, t.MinCapacity, t.MaxCapacity]).sort()).toEqual(
      [
        [`service/byom/byom-${kept.slotId}`, 2, 4],
        [`service/byom/byom-${added.slotId}`, 3, 4],
      ].sort(),
    );
    // The retired slot left nothing: its service, group, rule, access point, secret, task definitions.
    await expectSlotGone(resized);
    expect((await accessPoints()).map((p) => p.AccessPointId).sort()).toEqual(
      live.slots.map((s) => s.resources.accessPointId).sort(),
    );
    expect(existsSync(join(root, "models", DEPLOYMENT, resized.slotId))).toBe(false);
  }, 900_000);

  it("removes what a failed PATCH created, the access point included, and keeps the live revision serving", async () => {
    const workflowId = "deploy-dep-moto-r3";
    const before = await record();
    const liveRule = (await nonDefaultRules()).find((r) => r.RuleArn === before.trafficRuleArn);
    await requestPatch(workflowId, 3, sized(1, 2));
    const prepared = await steps.prepare(ids(workflowId), {} as never, serving);
    const item = prepared.build[0] as BuildItem;
    const staged = await steps.stageArtifact(item, serving);
    const withGroup = await steps.createTargetGroup(staged, serving);
    await steps.startRuntime(withGroup, serving);
    const pending = (await record()).pendingSlots.find((s) => s.slotId === item.slotId) as Slot;
    expect(pending.resources.accessPointId).toBeDefined();
    // No task ever registers: CheckRuntime gives up at its deadline, and the Catch runs RecordFailure.
    const error = await steps
      .checkRuntime({ ...withGroup, health: { ...withGroup.health, timeoutSeconds: 1 } }, serving)
      .catch((e: Error) => e);
    expect(String(error)).toMatch(/did not become ready within 1 s/);
    await steps.recordFailure(
      {
        ...ids(workflowId),
        error: {
          Error: "RuntimeNotReadyError",
          Cause: JSON.stringify({ errorMessage: (error as Error).message }),
        },
      },
      serving,
    );
    const after = await record();
    expect(after.liveRevision).toBe(2);
    expect(after.failureReason).toMatch(/did not become ready/);
    expect(after.slots.map((s) => s.slotId)).toEqual(before.slots.map((s) => s.slotId));
    expect((await accessPoints()).map((p) => p.AccessPointId)).not.toContain(pending.resources.accessPointId);
    expect((await accessPoints()).map((p) => p.AccessPointId).sort()).toEqual(
      before.slots.map((s) => s.resources.accessPointId).sort(),
    );
    await expectSlotGone(pending);
    // The live rule still forwards 70/30 to the live slots.
    const rule = (await nonDefaultRules()).find((r) => r.RuleArn === before.trafficRuleArn);
    expect(forwardWeights(rule ?? {})).toEqual(forwardWeights(liveRule ?? {}));
  }, 300_000);

  it("deletes: Teardown removes every resource, Forget the record; a retried removal finds them gone", async () => {
    const workflowId = "delete-dep-moto-r3";
    const before = await record();
    await repository.changeDeployment(PROJECT, DEPLOYMENT, {
      set: { status: "DELETING" },
      claimFor: workflowId,
    });
    await steps.teardown(ids(workflowId), serving);
    expect((await record()).status).toBe("DELETED");
    await steps.forget(ids(workflowId));
    expect(await repository.getDeployment(PROJECT, DEPLOYMENT)).toBeUndefined();

    expect(await nonDefaultRules()).toEqual([]);
    expect(await targetGroups()).toEqual([]);
    expect(await accessPoints()).toEqual([]);
    expect(await scalableTargets()).toEqual([]);
    expect((await secrets()).map((s) => s.Name).filter((n) => n?.startsWith("byom/"))).toEqual([]);
    for (const slot of before.slots) await expectSlotGone(slot);
    const alarms = await clients.cloudwatch.send(new DescribeAlarmsCommand({}));
    expect(alarms.MetricAlarms?.filter((a) => a.AlarmName?.includes(DEPLOYMENT))).toEqual([]);
    expect(existsSync(join(root, "models", DEPLOYMENT))).toBe(false);
    // Step Functions retries a task whose Lambda timed out after doing its work: removing the
    // slots again (services, scalable targets, groups, rules, access points, secrets) is no error.
    const { removeSlot } = await import("#lambdas/deployments/workflow/retire-slots.ts");
    for (const slot of before.slots) await removeSlot(DEPLOYMENT, slot, serving);
  }, 300_000);
});

/** IAM returns policy documents URL-encoded (RFC 3986), as AWS documents. */
const policyDocument = (document: string | undefined) => JSON.parse(decodeURIComponent(document ?? "{}"));

describe("a capturing deployment's own task role, in moto's IAM", () => {
  const CAPTURING = "dep-capture";
  const inputOf = (workflowId: string): WorkflowInput => ({
    projectId: PROJECT,
    deploymentId: CAPTURING,
    workflowId,
  });

  const capturing = () => repository.getDeployment(PROJECT, CAPTURING) as Promise<DeploymentRecord>;

  it("StartRuntime creates it under the boundary, a retried StartRuntime reuses it, Teardown removes it", async () => {
    const workflowId = "deploy-dep-capture-r1";
    // Capture is the deployment's: both targets' runtimes run with its one role.
    await putNewDeployment(CAPTURING, workflowId, {
      mode: "ab",
      targets: targetsOf(1, 2),
      security: { mode: "none" },
      capture: { samplePercent: 10, baselineRows: 1000 },
    });
    const prepared = await steps.prepare(inputOf(workflowId), {} as never, serving);
    const [first, second] = prepared.build as [BuildItem, BuildItem];
    const withGroup = async (item: BuildItem) =>
      steps.createTargetGroup(await steps.stageArtifact(item, serving), serving);
    const firstItem = await withGroup(first);
    await steps.startRuntime(firstItem, serving);

    const RoleName = `byom-capture-${CAPTURING}`;
    const role = (await clients.iam.send(new GetRoleCommand({ RoleName }))).Role;
    expect(role?.Path).toBe("/byom/capture/");
    expect(role?.PermissionsBoundary).toEqual({
      PermissionsBoundaryType: "PermissionsBoundaryPolicy",
      PermissionsBoundaryArn: settings.captureBoundaryArn,
    });
    expect(role?.Tags).toEqual([{ Key: "byom:deployment", Value: CAPTURING }]);
    // Only ECS tasks of this account may assume it.
    expect(policyDocument(role?.AssumeRolePolicyDocument)).toEqual({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "ecs-tasks.amazonaws.com" },
          Action: "sts:AssumeRole",
          Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } },
        },
      ],
    });
    // One inline policy: writes under this deployment's capture prefix (a multipart upload's abort
    // with them), and the mount of the models file system every runtime needs; no read, no other prefix.
    expect((await clients.iam.send(new ListRolePoliciesCommand({ RoleName }))).PolicyNames).toEqual([
      "capture",
    ]);
    const inline = await clients.iam.send(new GetRolePolicyCommand({ RoleName, PolicyName: "capture" }));
    expect(policyDocument(inline.PolicyDocument).Statement).toEqual([
      {
        Effect: "Allow",
        Action: ["s3:PutObject", "s3:AbortMultipartUpload"],
        Resource: `arn:aws:s3:::byom-artifacts/capture/${CAPTURING}/*`,
      },
      {
        Effect: "Allow",
        Action: "elasticfilesystem:ClientMount",
        Resource: `arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/${settings.fileSystemId}`,
      },
    ]);
    const task = (await slotState((await capturing()).pendingSlots[0] as Slot)).task;
    expect(task?.taskRoleArn).toBe(role?.Arn);
    expect(task?.containerDefinitions?.[0]?.environment).toContainEqual({
      name: "BYOM_CAPTURE_PERCENT",
      value: "10",
    });

    // Step Functions retries StartRuntime on a Lambda service error, which may come after its work
    // was done. The retry finds the role (CreateRole: EntityAlreadyExists) and puts its policy
    // again, and finds the service: AWS refuses a second CreateService of the name with another
    // task definition ("Creation of service was not idempotent"; moto 5.2.5 would silently replace
    // the service), so the adapter moves the service to the new revision and deregisters the old.
    const once = (await capturing()).pendingSlots[0] as Slot;
    await steps.startRuntime(firstItem, serving);
    const retried = (await capturing()).pendingSlots[0] as Slot;
    expect(retried.resources.serviceArn).toBe(once.resources.serviceArn);
    expect(retried.resources.taskDefinitionArn).not.toBe(once.resources.taskDefinitionArn);
    expect((await slotState(retried)).service?.taskDefinition).toBe(retried.resources.taskDefinitionArn);
    expect((await slotState(once)).task?.status).toBe("INACTIVE");
    expect(
      (
        await clients.ecs.send(
          new DescribeServicesCommand({ cluster: settings.clusterArn, services: [`byom-${once.slotId}`] }),
        )
      ).services,
    ).toHaveLength(1);
    // The second target's StartRuntime takes the same role.
    await steps.startRuntime(await withGroup(second), serving);
    const slots = (await capturing()).pendingSlots;
    expect(slots).toHaveLength(2);
    for (const built of slots) expect((await slotState(built)).task?.taskRoleArn).toBe(role?.Arn);
    expect((await clients.iam.send(new GetRoleCommand({ RoleName }))).Role?.RoleId).toBe(role?.RoleId);
    expect((await clients.iam.send(new ListRolePoliciesCommand({ RoleName }))).PolicyNames).toEqual([
      "capture",
    ]);

    const deleteId = "delete-dep-capture-r1";
    await repository.changeDeployment(PROJECT, CAPTURING, {
      set: { status: "DELETING" },
      claimFor: deleteId,
    });
    await steps.teardown(inputOf(deleteId), serving);
    await steps.forget(inputOf(deleteId));
    const gone = await clients.iam.send(new GetRoleCommand({ RoleName })).catch((e: Error) => e);
    expect((gone as Error).name).toBe("NoSuchEntityException");
    for (const built of slots) await expectSlotGone(built);
    // A retried Teardown finds the role gone: no error.
    await serving.deleteCaptureRole(CAPTURING);
  }, 300_000);
});

describe("a failed processor's last log line, from moto's CloudWatch Logs", () => {
  const FAILING = "dep-logs";

  it("RecordFailure reads the container's log stream and says why, and removes the slot", async () => {
    const workflowId = "deploy-dep-logs-r1";
    await putNewDeployment(FAILING, workflowId, {
      mode: "single",
      targets: targetsOf(1),
      security: { mode: "none" },
    });
    const input = { projectId: PROJECT, deploymentId: FAILING, workflowId };
    const prepared = await steps.prepare(input, {} as never, serving);
    const staged = await steps.stageArtifact(prepared.build[0] as BuildItem, serving);
    const run = staged.processorRun as NonNullable<BuildItem["processorRun"]>;
    // The processor task's container logs where its task definition (as moto holds it) sends them:
    // the awslogs driver names the stream <prefix>/<container>/<task id>.
    const log = (
      await clients.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: run.taskDefinition }))
    ).taskDefinition?.containerDefinitions?.find((c) => c.name === run.containerName)?.logConfiguration
      ?.options as Record<string, string>;
    const taskArn = `arn:aws:ecs:us-east-1:123456789012:task/byom/0f1e2d3c4b5a69788796a5b4c3d2e1f0`;
    const logStreamName = `${log["awslogs-stream-prefix"]}/${run.containerName}/${taskArn.split("/").pop()}`;
    const logGroupName = log["awslogs-group"] as string;
    await clients.logs.send(new CreateLogStreamCommand({ logGroupName, logStreamName }));
    // More lines than the tail reads (20): the last one written is the one that must be reported.
    const start = Date.now() - 60_000;
    await clients.logs.send(
      new PutLogEventsCommand({
        logGroupName,
        logStreamName,
        logEvents: [
          ...Array.from({ length: 24 }, (_, i) => ({ timestamp: start + i, message: `loading part ${i}` })),
          {
            timestamp: start + 24,
            message: "ValueError: the MLmodel file names no python_function flavor\n",
          },
        ],
      }),
    );
    // The RunProcessor state's error: the stopped task as ECS's RunTask .sync integration describes it.
    await steps.recordFailure(
      {
        ...input,
        error: {
          Error: "States.TaskFailed",
          Cause: JSON.stringify({
            TaskArn: taskArn,
            StoppedReason: "Essential container in task exited",
            Containers: [{ Name: run.containerName, ExitCode: 1 }],
          }),
        },
      },
      serving,
    );
    const failed = (await repository.getDeployment(PROJECT, FAILING)) as DeploymentRecord;
    expect(failed.status).toBe("FAILED");
    expect(failed.failureReason).toBe(
      "The artifact processor failed (exit code 1): ValueError: the MLmodel file names no python_function flavor",
    );
    expect(failed.pendingSlots).toEqual([]);
    expect(
      (await accessPoints()).map((p) => p.Tags?.find((t) => t.Key === "byom:deployment")?.Value),
    ).not.toContain(FAILING);
    const processor = await clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: run.taskDefinition }),
    );
    expect(processor.taskDefinition?.status).toBe("INACTIVE");
  }, 300_000);
});
