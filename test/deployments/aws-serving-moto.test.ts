import { DescribeScalableTargetsCommand } from "@aws-sdk/client-application-auto-scaling";
import { DescribeServicesCommand, DescribeTaskDefinitionCommand } from "@aws-sdk/client-ecs";
import { DescribeAccessPointsCommand } from "@aws-sdk/client-efs";
import {
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetSecretValueCommand, ListSecretsCommand } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { DeploymentRecord, Slot } from "#lambdas/deployments/deployment-record.ts";
import type { TaggedResource } from "#lambdas/deployments/serving/serving-port.ts";
import { type MotoServer, startMotoServer } from "../support/moto-s3.ts";
import { type MotoServingClients, motoServingClients, motoServingStack } from "../support/moto-serving.ts";

/**
 * The AWS serving adapter's calls against moto server (real ECS, ELBv2, EFS, Application Auto
 * Scaling and Secrets Manager wire protocols and moto's models of them): what a slot creates, the
 * replica counts GET shows, and the orphan sweep finding and removing by tag what belongs to a
 * deployment that no longer exists. The capture role (IAM) and a failed processor's log tail
 * (CloudWatch Logs) run against moto in aws-workflow-moto.test.ts.
 *
 * What moto does not check, so these tests do not prove: it runs no tasks (runningCount is what
 * MOTO_ECS_SERVICE_RUNNING says), runs no health checks (a registered IP target is reported
 * healthy), applies no scaling policy, does not refuse a task definition's EFS volume or
 * `secrets` for a missing access point or secret, enforces no IAM policy, and replaces a service
 * on a second CreateService of its name where AWS refuses one with another task definition.
 */

/** The registry table is not what this test is about: the deployments that exist, one record. */
const existing: { ids: string[]; record: DeploymentRecord | undefined } = { ids: [], record: undefined };
vi.mock("#lambdas/deployments/deployments-repository.ts", () => ({
  listAllDeployments: async () => ({
    items: existing.ids.map((deploymentId) => ({ deploymentId }) as DeploymentRecord),
    nextCursor: null,
  }),
  getDeployment: async () => structuredClone(existing.record),
  changeDeployment: async (_p: string, _d: string, change: { set?: Partial<DeploymentRecord> }) => {
    if (!existing.record) return false;
    existing.record = { ...existing.record, ...change.set };
    return true;
  },
}));

let moto: MotoServer;
let clients: MotoServingClients;
let serving: import("#lambdas/deployments/serving/aws-serving.ts").AwsServing;
let sweepOrphans: typeof import("#lambdas/deployments/workflow/orphan-sweep.ts").sweepOrphans;
let AwsReplicaStatus: typeof import("#lambdas/deployments/serving/aws-replica-status.ts").AwsReplicaStatus;
let clusterArn: string;
let fileSystemId: string;

const slot = (slotId: string, replicas = { min: 1, max: 1 }, resources = {}): Slot =>
  ({
    slotId,
    position: 0,
    revision: 1,
    target: {
      modelId: "mdl-1",
      modelName: "churn",
      version: 1,
      runtime: "tabular",
      processor: "mlflow",
      images: { processor: "mlflow-processor@sha256:1", runtime: "tabular-runtime@sha256:2" },
      resources: { cpu: "0.5", memoryMiB: 1024, replicas },
    },
    resources,
  }) as unknown as Slot;

/** Everything StartRuntime and the build steps create for one slot, as the workflow calls them. */
async function buildSlot(deploymentId: string, slotId: string, replicas: { min: number; max: number }) {
  const bare = slot(slotId, replicas);
  const targetGroupArn = await serving.createTargetGroup(deploymentId, bare);
  const volume = await serving.createSlotVolume(deploymentId, bare);
  const secretArn = await serving.storeRuntimeSecret(deploymentId, bare, '{"hash":"x"}');
  const { taskDefinitionArn: processorTaskDefinitionArn } = await serving.processorTaskFor(
    deploymentId,
    bare,
    volume.accessPointId,
  );
  const ruleArn = await serving.putTrafficRule({
    deploymentId,
    pathPrefix: `/${deploymentId}`,
    targets: [{ targetGroupArn, weight: 100 }],
  });
  const withVolume = slot(slotId, replicas, { accessPointId: volume.accessPointId, targetGroupArn });
  const started = await serving.startRuntime({
    slot: withVolume,
    deploymentId,
    environment: { MODEL_PATH: "/mnt/models/x/model" },
    secrets: { BYOM_PASSPHRASE_HASH: secretArn },
    targetGroupArn,
  });
  return {
    slot: slot(slotId, replicas, { ...withVolume.resources, ...started }),
    ids: {
      targetGroup: targetGroupArn,
      accessPoint: volume.accessPointId,
      secret: secretArn,
      processorTask: processorTaskDefinitionArn,
      rule: ruleArn,
      service: started.serviceArn,
      runtimeTask: started.taskDefinitionArn,
    },
  };
}

beforeAll(async () => {
  // moto runs no tasks: it reports this many running per service.
  moto = await startMotoServer({ env: { MOTO_ECS_SERVICE_RUNNING: "2" } });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: moto.endpoint,
    AWS_ACCESS_KEY_ID: "moto",
    AWS_SECRET_ACCESS_KEY: "moto",
    AWS_REGION: "us-east-1",
    TABLE_NAME: "unused-here",
    MODELS_ROOT: "/mnt/models",
  });
  clients = motoServingClients();
  const settings = await motoServingStack(moto);
  ({ clusterArn, fileSystemId } = settings);
  const { AwsServing } = await import("#lambdas/deployments/serving/aws-serving.ts");
  ({ sweepOrphans } = await import("#lambdas/deployments/workflow/orphan-sweep.ts"));
  ({ AwsReplicaStatus } = await import("#lambdas/deployments/serving/aws-replica-status.ts"));
  serving = new AwsServing(settings);
}, 300_000);

afterAll(async () => {
  await moto?.stop();
});

describe("the AWS serving adapter against moto", () => {
  let live: Awaited<ReturnType<typeof buildSlot>>;
  let gone: Awaited<ReturnType<typeof buildSlot>>;

  it("creates a slot's resources, tagged to its deployment, with the target's size and replicas", async () => {
    live = await buildSlot("dep-live", "s0123456789ab", { min: 2, max: 2 });
    gone = await buildSlot("dep-gone", "sba9876543210", { min: 1, max: 3 });
    const described = await clients.ecs.send(
      new DescribeServicesCommand({ cluster: clusterArn, services: [live.ids.service], include: ["TAGS"] }),
    );
    const service = described.services?.[0];
    expect(service?.desiredCount).toBe(2);
    expect(service?.tags).toContainEqual({ key: "byom:deployment", value: "dep-live" });
    const task = await clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: live.ids.runtimeTask }),
    );
    expect(task.taskDefinition?.cpu).toBe("512");
    expect(task.taskDefinition?.memory).toBe("1024");
    expect(
      task.taskDefinition?.volumes?.[0]?.efsVolumeConfiguration?.authorizationConfig?.accessPointId,
    ).toBe(live.ids.accessPoint);
    expect(task.taskDefinition?.containerDefinitions?.[0]?.secrets).toEqual([
      { name: "BYOM_PASSPHRASE_HASH", valueFrom: live.ids.secret },
    ]);
    // max above min: registered with Application Auto Scaling between the bounds.
    const scalable = await clients.scaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" }),
    );
    expect(scalable.ScalableTargets?.map((t) => [t.ResourceId, t.MinCapacity, t.MaxCapacity])).toEqual([
      [`service/byom/byom-sba9876543210`, 1, 3],
    ]);
  });

  it("keeps what a retried step finds: the slot's target group, access point and secret, the rule modified in place", async () => {
    const again = slot("s0123456789ab");
    // A step retried after a crash before it recorded what it created finds it by the slot: the
    // same target group (by its name) and access point (by its byom:slot tag), no second one.
    expect(await serving.createTargetGroup("dep-live", again)).toBe(live.ids.targetGroup);
    expect((await serving.createSlotVolume("dep-live", again)).accessPointId).toBe(live.ids.accessPoint);
    const points = await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }));
    expect(
      points.AccessPoints?.filter((p) => p.Tags?.some((t) => t.Value === "s0123456789ab")).map(
        (p) => p.AccessPointId,
      ),
    ).toEqual([live.ids.accessPoint]);
    // The secret exists: it gets the new value and keeps its ARN.
    expect(await serving.storeRuntimeSecret("dep-live", again, '{"hash":"y"}')).toBe(live.ids.secret);
    const { SecretString } = await clients.secrets.send(
      new GetSecretValueCommand({ SecretId: live.ids.secret }),
    );
    expect(SecretString).toBe('{"hash":"y"}');
    // A rule put again for its ARN is modified in place, to the new weights.
    const other = await serving.createTargetGroup("dep-live", slot("s0123456789cd"));
    await serving.putTrafficRule(
      {
        deploymentId: "dep-live",
        pathPrefix: "/dep-live",
        targets: [
          { targetGroupArn: live.ids.targetGroup, weight: 90 },
          { targetGroupArn: other, weight: 10 },
        ],
      },
      live.ids.rule,
    );
    const [rule] =
      (await clients.elb.send(new DescribeRulesCommand({ RuleArns: [live.ids.rule] }))).Rules ?? [];
    expect(rule?.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((g) => g.Weight)).toEqual([90, 10]);
    await serving.putTrafficRule(
      {
        deploymentId: "dep-live",
        pathPrefix: "/dep-live",
        targets: [{ targetGroupArn: live.ids.targetGroup, weight: 100 }],
      },
      live.ids.rule,
    );
    await serving.deleteTargetGroup(other);
    // Removing what is already gone is no error (a retried teardown).
    await serving.deleteTargetGroup(other);
  });

  it("reports replicas as GET shows them: desired and running from ECS, healthy from the target group", async () => {
    // Two task IPs in the live slot's group (moto reports a registered IP target healthy).
    await clients.elb.send(
      new RegisterTargetsCommand({
        TargetGroupArn: live.ids.targetGroup,
        Targets: [
          { Id: "10.0.1.10", Port: 8080 },
          { Id: "10.0.2.10", Port: 8080 },
        ],
      }),
    );
    const counts = await new AwsReplicaStatus(() => clusterArn).replicaCounts([live.slot, gone.slot]);
    expect(counts.get(live.slot.slotId)).toEqual({ desired: 2, running: 2, healthy: 2 });
    expect(counts.get(gone.slot.slotId)).toEqual({ desired: 1, running: 2, healthy: 0 });
  });

  it("sweeps what is tagged to a deployment that no longer exists, and nothing else", async () => {
    existing.ids = ["dep-live"];
    const found = await serving.taggedResources();
    const kinds = (deploymentId: string) =>
      found
        .filter((r) => r.deploymentId === deploymentId)
        .map((r) => r.kind)
        .sort();
    const all = [
      "accessPoint",
      "listenerRule",
      "secret",
      "service",
      "targetGroup",
      "taskDefinition",
      "taskDefinition",
    ];
    expect(kinds("dep-live")).toEqual(all);
    expect(kinds("dep-gone")).toEqual(all);

    const removed = await sweepOrphans(serving);
    expect(removed.map((r: TaggedResource) => r.deploymentId)).toEqual(Array(7).fill("dep-gone"));
    // Rules went before the target groups they forward to.
    const order = removed.map((r) => r.kind);
    expect(order.indexOf("listenerRule")).toBeLessThan(order.indexOf("targetGroup"));

    const after = await serving.taggedResources();
    expect(after.filter((r) => r.deploymentId === "dep-gone")).toEqual([]);
    expect(after.filter((r) => r.deploymentId === "dep-live")).toHaveLength(7);
    const groups = await clients.elb.send(new DescribeTargetGroupsCommand({}));
    expect(groups.TargetGroups?.map((g) => g.TargetGroupArn)).toEqual([live.ids.targetGroup]);
    const rules = await clients.elb.send(
      new DescribeRulesCommand({ ListenerArn: (serving as any).settings.listenerArn }),
    );
    expect(rules.Rules?.filter((r) => !r.IsDefault).map((r) => r.RuleArn)).toEqual([live.ids.rule]);
    const points = await clients.efs.send(new DescribeAccessPointsCommand({ FileSystemId: fileSystemId }));
    expect(points.AccessPoints?.map((p) => p.AccessPointId)).toEqual([live.ids.accessPoint]);
    const secrets = await clients.secrets.send(new ListSecretsCommand({}));
    expect(secrets.SecretList?.map((s) => s.ARN)).toEqual([live.ids.secret]);
    const scalable = await clients.scaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" }),
    );
    expect(scalable.ScalableTargets).toEqual([]);
    const processor = await clients.ecs.send(
      new DescribeTaskDefinitionCommand({ taskDefinition: gone.ids.processorTask }),
    );
    expect(processor.taskDefinition?.status).toBe("INACTIVE");

    // Nothing is left to sweep; a second sweep removes nothing.
    expect(await sweepOrphans(serving)).toEqual([]);
  });

  it("runs the delete workflow's Teardown: everything the record names is removed", async () => {
    const built = await buildSlot("dep-delete", "s00000000dd01", { min: 1, max: 2 });
    const { teardown } = await import("#lambdas/deployments/workflow/teardown.ts");
    existing.record = {
      projectId: "prj-1",
      deploymentId: "dep-delete",
      status: "DELETING",
      trafficRuleArn: built.ids.rule,
      shadowRuleArn: null,
      slots: [
        {
          ...built.slot,
          resources: {
            ...built.slot.resources,
            processorTaskDefinitionArn: built.ids.processorTask,
            passphraseSecretArn: built.ids.secret,
          },
        },
      ],
      pendingSlots: [],
    } as unknown as DeploymentRecord;
    expect((await serving.taggedResources()).filter((r) => r.deploymentId === "dep-delete")).toHaveLength(7);
    await teardown({ projectId: "prj-1", deploymentId: "dep-delete", workflowId: "w-1" } as never, serving);
    expect(existing.record?.status).toBe("DELETED");
    expect((await serving.taggedResources()).filter((r) => r.deploymentId === "dep-delete")).toEqual([]);
    const scalable = await clients.scaling.send(
      new DescribeScalableTargetsCommand({ ServiceNamespace: "ecs" }),
    );
    expect(scalable.ScalableTargets).toEqual([]);
    // A retried Teardown's removal of a service already gone: the scalable target is looked up
    // first (AWS answers a missing one with ObjectNotFoundException, moto with ValidationException).
    await serving.stopRuntime(built.slot.resources);
  });
});
