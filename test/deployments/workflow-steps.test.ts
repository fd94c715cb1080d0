import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type {
  DeploymentRecord,
  ResolvedTarget,
  Slot,
  SlotResources,
} from "#lambdas/deployments/deployment-record.ts";
import type {
  RuntimeLaunch,
  ServingInfrastructure,
  TrafficRule,
} from "#lambdas/deployments/serving/serving-port.ts";

// The step modules read their environment when they load, as Lambdas do.
process.env.TABLE_NAME ??= "unit";
process.env.BUCKET_NAME ??= "unit";
process.env.MODELS_ROOT = mkdtempSync(join(tmpdir(), "byom-workflow-steps-"));

/** The deployment item, held in memory: the steps' reads and conditional writes go here. */
const store: { record: DeploymentRecord | undefined } = { record: undefined };
/** The load balancer's reservations are alb-reservations.test.ts's subject, against dynalite. */
vi.mock("#lambdas/deployments/alb-reservations.ts", () => import("../support/alb-reservations-stub.ts"));
vi.mock("#lambdas/deployments/deployments-repository.ts", () => ({
  getDeployment: async () => structuredClone(store.record),
  changeDeployment: async (
    _p: string,
    _d: string,
    change: { set?: Partial<DeploymentRecord>; event?: DeploymentRecord["events"][number] },
  ) => {
    if (!store.record) return false;
    const events = change.event ? [...store.record.events, change.event] : store.record.events;
    store.record = { ...store.record, ...change.set, events };
    return true;
  },
  recordSlotResource: async (
    _p: string,
    _d: string,
    slotId: string,
    resource: keyof SlotResources,
    value: string,
  ) => {
    if (!store.record) throw new Error("no deployment");
    store.record = {
      ...store.record,
      pendingSlots: store.record.pendingSlots.map((s) =>
        s.slotId === slotId ? { ...s, resources: { ...s.resources, [resource]: value } } : s,
      ),
    };
  },
}));
/** The bucket is not what these tests are about: the "download" writes the object key as the file. */
vi.mock("#lambdas/deployments/workflow/pinned-download.ts", () => ({
  downloadArtifact: async (objectKey: string, destination: string) => {
    writeFileSync(destination, objectKey);
    return objectKey.length;
  },
}));
/** Targets resolve to what the test puts here (the registry is not what these tests are about). */
const resolved: { targets: ResolvedTarget[] } = { targets: [] };
vi.mock("#lambdas/deployments/target-resolution.ts", () => ({
  resolveTargets: async () => resolved.targets,
}));

const steps = {
  ...(await import("#lambdas/deployments/workflow/plan-slots.ts")),
  ...(await import("#lambdas/deployments/workflow/build-slot.ts")),
  ...(await import("#lambdas/deployments/workflow/traffic-rules.ts")),
  ...(await import("#lambdas/deployments/workflow/record-failure.ts")),
};
const deleteSteps = await import("#lambdas/deployments/workflow/teardown.ts");

const target = (role: ResolvedTarget["role"], version: number): ResolvedTarget => ({
  modelId: "m",
  modelName: "model",
  version,
  experimentId: `e${version}`,
  artifactId: `a${version}`,
  artifactType: "python/mlflow",
  objectKey: `k${version}`,
  processor: "mlflow",
  runtime: "python-scorer",
  runtimeEnv: {},
  framework: null,
  inputSchema: [],
  outputSchema: null,
  weight: role === "challenger" ? 0 : 100,
  role,
});

const IDS = { projectId: "p", deploymentId: "dep-x", workflowId: "wf-1" };

function deployment(slots: Slot[], pendingSlots: Slot[]): DeploymentRecord {
  return {
    ...IDS,
    name: "d",
    mode: "champion_challenger",
    targets: [],
    security: { mode: "none" },
    status: "STARTING",
    failureReason: null,
    endpointUrl: null,
    events: [],
    revision: 1,
    liveRevision: 0,
    slots,
    pendingSlots,
    trafficRuleArn: null,
    shadowRuleArn: null,
    activeWorkflow: IDS.workflowId,
    createdAt: "2026-01-01T00:00:00Z",
    updatedAt: "2026-01-01T00:00:00Z",
    createdBy: "u",
  };
}

/** A serving port that records what the steps ask of it, with a shadow listener on an ALB of its own. */
function fakeInfra(shadowTargetGroups: boolean, options: { secrets?: boolean } = {}) {
  const calls: Array<[string, ...unknown[]]> = [];
  let rules = 0;
  const infra: ServingInfrastructure = {
    endpointBaseUrl: "https://scoring.example",
    shadowBaseUrl: "http://internal-shadow.example:8081",
    shadowTargetGroups,
    createTargetGroup: async (_d, slot, listener = "scoring") => {
      calls.push(["createTargetGroup", slot.slotId, listener]);
      return listener === "shadow" ? `tg-${slot.slotId}-shadow` : `tg-${slot.slotId}`;
    },
    deleteTargetGroup: async (arn) => {
      calls.push(["deleteTargetGroup", arn]);
    },
    putTrafficRule: async (rule: TrafficRule, existing?: string) => {
      calls.push(["putTrafficRule", rule]);
      return existing ?? `rule-${++rules}`;
    },
    deleteTrafficRule: async (arn) => {
      calls.push(["deleteTrafficRule", arn]);
    },
    putDeploymentAlarms: async (deploymentId) => {
      calls.push(["putDeploymentAlarms", deploymentId]);
    },
    deleteDeploymentAlarms: async (deploymentId) => {
      calls.push(["deleteDeploymentAlarms", deploymentId]);
    },
    startRuntime: async (launch: RuntimeLaunch) => {
      calls.push(["startRuntime", launch]);
      return { taskDefinitionArn: `td-${launch.slot.slotId}`, serviceArn: `svc-${launch.slot.slotId}` };
    },
    stopRuntime: async (resources) => {
      calls.push(["stopRuntime", resources.serviceArn]);
    },
    createSlotVolume: async (_d, slot) => {
      calls.push(["createSlotVolume", slot.slotId]);
      return { accessPointId: `fsap-${slot.slotId}` };
    },
    deleteSlotVolume: async (id) => {
      calls.push(["deleteSlotVolume", id]);
    },
    processorTaskFor: async (_d, slot, accessPointId) => {
      calls.push(["processorTaskFor", slot.slotId, slot.target.processor, accessPointId]);
      return { taskDefinitionArn: `td-${slot.slotId}-processor`, containerName: "processor" };
    },
    deleteProcessorTask: async (arn) => {
      calls.push(["deleteProcessorTask", arn]);
    },
    storeRuntimeSecret: async (_d, slot, value) => {
      calls.push(["storeRuntimeSecret", slot.slotId, value]);
      return options.secrets ? `secret-${slot.slotId}` : undefined;
    },
    deleteRuntimeSecret: async (arn) => {
      calls.push(["deleteRuntimeSecret", arn]);
    },
    runtimeHealth: async () => ({ state: "healthy" }),
    slotEndpoint: async () => "http://127.0.0.1:1",
    processorLogTail: async () => undefined,
  };
  return { infra, calls };
}

const buildItem = (slotId: string) => ({
  ...IDS,
  slotId,
  health: { attempts: 0, intervalSeconds: 1, timeoutSeconds: 1, healthy: false },
});

const pending = (slotId: string, role: ResolvedTarget["role"], version: number): Slot => ({
  slotId,
  position: role === "challenger" ? 1 : 0,
  revision: 1,
  target: target(role, version),
  resources: {},
});

describe("a challenger's target group on a shadow ALB of its own", () => {
  beforeEach(() => {
    store.record = deployment([], [pending("schamp", "champion", 1), pending("schall", "challenger", 2)]);
  });

  it("is created with the challenger's slot, recorded, and passed to CreateService with the first", async () => {
    const { infra, calls } = fakeInfra(true);
    for (const slotId of ["schamp", "schall"]) {
      await steps.createTargetGroup(buildItem(slotId), infra);
      await steps.startRuntime(buildItem(slotId), infra);
    }
    expect(calls.filter((c) => c[0] === "createTargetGroup")).toEqual([
      ["createTargetGroup", "schamp", "scoring"],
      ["createTargetGroup", "schall", "scoring"],
      ["createTargetGroup", "schall", "shadow"],
    ]);
    const challenger = store.record?.pendingSlots.find((s) => s.slotId === "schall");
    expect(challenger?.resources).toMatchObject({
      targetGroupArn: "tg-schall",
      shadowTargetGroupArn: "tg-schall-shadow",
    });
    const launches = calls.filter((c) => c[0] === "startRuntime").map((c) => c[1] as RuntimeLaunch);
    expect(launches.map((l) => [l.targetGroupArn, l.shadowTargetGroupArn])).toEqual([
      ["tg-schamp", undefined],
      ["tg-schall", "tg-schall-shadow"],
    ]);
    // The champion mirrors to the shadow ALB's internal address.
    expect(launches[0]?.environment.BYOM_SHADOW_URL).toBe("http://internal-shadow.example:8081/dep-x/shadow");

    await steps.switchTraffic({ ...IDS, build: [], drainSeconds: 1 }, infra);
    const rules = calls.filter((c) => c[0] === "putTrafficRule").map((c) => c[1] as TrafficRule);
    const shadowRule = rules.find((r) => r.listener === "shadow");
    expect(shadowRule?.targets).toEqual([{ targetGroupArn: "tg-schall-shadow", weight: 100 }]);
    expect(store.record?.shadowRuleArn).toBeTruthy();
    const healthy = store.record?.events.at(-1);
    expect(healthy?.status).toBe("HEALTHY");
    expect(healthy?.message).toBe(
      "Serving revision 1: model v1 (python-scorer) 100%, model v2 (python-scorer) in shadow.",
    );
  });

  it("is not made when the shadow listener shares the scoring ALB (internal): one group per slot", async () => {
    const { infra, calls } = fakeInfra(false);
    await steps.createTargetGroup(buildItem("schall"), infra);
    await steps.startRuntime(buildItem("schall"), infra);
    expect(calls.filter((c) => c[0] === "createTargetGroup")).toEqual([
      ["createTargetGroup", "schall", "scoring"],
    ]);
    const launch = calls.find((c) => c[0] === "startRuntime")?.[1] as RuntimeLaunch;
    expect(launch.shadowTargetGroupArn).toBeUndefined();
  });

  it("goes with the slot when the run fails, after the shadow rule left it", async () => {
    const { infra, calls } = fakeInfra(true);
    await steps.createTargetGroup(buildItem("schall"), infra);
    await steps.startRuntime(buildItem("schall"), infra);
    calls.length = 0;
    await steps.recordFailure({ ...IDS, error: { Error: "Boom", Cause: "the runtime died" } }, infra);
    expect(calls.filter((c) => c[0] === "deleteTargetGroup")).toEqual([
      ["deleteTargetGroup", "tg-schall"],
      ["deleteTargetGroup", "tg-schall-shadow"],
    ]);
    expect(store.record?.status).toBe("FAILED");
  });

  it("is a reason to build a new slot: a live slot without one is not reused as the challenger", async () => {
    const { infra } = fakeInfra(true);
    const live = { ...pending("sold", "challenger", 2), resources: { targetGroupArn: "tg-sold" } };
    store.record = { ...deployment([live], []), revision: 2, liveRevision: 1 };
    resolved.targets = [target("champion", 1), target("challenger", 2)];
    const prepared = await steps.prepare(IDS, {} as never, infra);
    expect(prepared.build.map((b) => b.slotId)).not.toContain("sold");
    expect(prepared.build).toHaveLength(2);

    const withGroup = { ...live, resources: { ...live.resources, shadowTargetGroupArn: "tg-sold-shadow" } };
    store.record = { ...deployment([withGroup], []), revision: 2, liveRevision: 1 };
    const again = await steps.prepare(IDS, {} as never, infra);
    expect(again.build).toHaveLength(1);
    expect(store.record?.pendingSlots.map((s) => s.slotId)).toContain("sold");
  });

  it("goes with the deployment: the delete workflow removes the shadow rule, then both groups", async () => {
    const { infra, calls } = fakeInfra(true);
    const live = {
      ...pending("schall", "challenger", 2),
      resources: {
        targetGroupArn: "tg-schall",
        shadowTargetGroupArn: "tg-schall-shadow",
        serviceArn: "svc-schall",
        taskDefinitionArn: "td-schall",
      },
    };
    store.record = {
      ...deployment([live], []),
      trafficRuleArn: "rule-traffic",
      shadowRuleArn: "rule-shadow",
    };
    await deleteSteps.teardown(IDS, infra);
    expect(calls).toEqual([
      ["deleteTrafficRule", "rule-traffic"],
      ["deleteTrafficRule", "rule-shadow"],
      ["stopRuntime", "svc-schall"],
      ["deleteTargetGroup", "tg-schall"],
      ["deleteTargetGroup", "tg-schall-shadow"],
      ["deleteDeploymentAlarms", IDS.deploymentId],
    ]);
  });
});

describe("a slot's own entry to the models volume", () => {
  const slotPath = (slotId: string, ...rest: string[]) =>
    join(process.env.MODELS_ROOT as string, IDS.deploymentId, slotId, ...rest);

  beforeEach(() => {
    store.record = deployment([], [pending("sone", "primary", 1)]);
  });

  it("is created and recorded before the artifact is staged, and the processor runs with it", async () => {
    const { infra, calls } = fakeInfra(false);
    const staged = await steps.stageArtifact(buildItem("sone"), infra);
    expect(calls).toEqual([
      ["createSlotVolume", "sone"],
      ["processorTaskFor", "sone", "mlflow", "fsap-sone"],
    ]);
    expect(store.record?.pendingSlots[0]?.resources).toEqual({
      accessPointId: "fsap-sone",
      processorTaskDefinitionArn: "td-sone-processor",
    });
    expect(staged.processorRun?.taskDefinition).toBe("td-sone-processor");
    const env = Object.fromEntries(staged.processorRun?.environment.map((e) => [e.Name, e.Value]) ?? []);
    expect(env.SOURCE_PATH).toBe(slotPath("sone", "source", "artifact"));
    expect(env.TARGET_PATH).toBe(slotPath("sone", "model"));
    expect(existsSync(slotPath("sone", "source", "artifact"))).toBe(true);
  });

  it("loses the raw source/ copy once the processor has succeeded; model/ stays", async () => {
    const { infra } = fakeInfra(false);
    await steps.stageArtifact(buildItem("sone"), infra);
    await steps.createTargetGroup(buildItem("sone"), infra);
    expect(existsSync(slotPath("sone", "source"))).toBe(false);
    expect(existsSync(slotPath("sone", "model"))).toBe(true);
  });

  it("is removed with the slot's processor task definition and files when the run fails", async () => {
    const { infra, calls } = fakeInfra(false);
    await steps.stageArtifact(buildItem("sone"), infra);
    calls.length = 0;
    await steps.recordFailure({ ...IDS, error: { Error: "States.TaskFailed", Cause: "{}" } }, infra);
    expect(calls).toEqual([
      ["deleteProcessorTask", "td-sone-processor"],
      ["deleteSlotVolume", "fsap-sone"],
    ]);
    expect(existsSync(slotPath("sone"))).toBe(false);
    expect(store.record?.status).toBe("FAILED");
  });

  it("is removed by the delete workflow, after the runtime and the target group", async () => {
    const { infra, calls } = fakeInfra(false);
    const live = {
      ...pending("sone", "primary", 1),
      resources: {
        accessPointId: "fsap-sone",
        processorTaskDefinitionArn: "td-sone-processor",
        targetGroupArn: "tg-sone",
        serviceArn: "svc-sone",
        taskDefinitionArn: "td-sone",
      },
    };
    store.record = { ...deployment([live], []), trafficRuleArn: "rule-traffic" };
    await deleteSteps.teardown(IDS, infra);
    expect(calls).toEqual([
      ["deleteTrafficRule", "rule-traffic"],
      ["stopRuntime", "svc-sone"],
      ["deleteTargetGroup", "tg-sone"],
      ["deleteProcessorTask", "td-sone-processor"],
      ["deleteSlotVolume", "fsap-sone"],
      ["deleteDeploymentAlarms", IDS.deploymentId],
    ]);
  });
});

describe("a passphrase deployment's hash", () => {
  const protectedDeployment = () => ({
    ...deployment([], [{ ...pending("sone", "primary", 1), resources: { targetGroupArn: "tg-sone" } }]),
    security: { mode: "passphrase" as const, passphraseHash: "scrypt$16384$8$1$aa$bb" },
  });

  it("reaches the runtime through a secret, recorded at once, never in its environment (AWS)", async () => {
    store.record = protectedDeployment();
    const { infra, calls } = fakeInfra(false, { secrets: true });
    await steps.startRuntime(buildItem("sone"), infra);
    const launch = calls.find((c) => c[0] === "startRuntime")?.[1] as RuntimeLaunch;
    expect(launch.environment.BYOM_PASSPHRASE_HASH).toBeUndefined();
    expect(JSON.stringify(launch.environment)).not.toContain("scrypt$");
    expect(launch.secrets).toEqual({ BYOM_PASSPHRASE_HASH: "secret-sone:BYOM_PASSPHRASE_HASH::" });
    expect(calls.find((c) => c[0] === "storeRuntimeSecret")?.[2]).toBe(
      JSON.stringify({ BYOM_PASSPHRASE_HASH: "scrypt$16384$8$1$aa$bb" }),
    );
    expect(store.record?.pendingSlots[0]?.resources.passphraseSecretArn).toBe("secret-sone");

    calls.length = 0;
    await steps.recordFailure({ ...IDS, error: { Error: "Boom", Cause: "x" } }, infra);
    expect(calls).toContainEqual(["deleteRuntimeSecret", "secret-sone"]);
  });

  it("stays in the process environment where the port keeps no secrets (local mode)", async () => {
    store.record = protectedDeployment();
    const { infra, calls } = fakeInfra(false);
    await steps.startRuntime(buildItem("sone"), infra);
    const launch = calls.find((c) => c[0] === "startRuntime")?.[1] as RuntimeLaunch;
    expect(launch.environment.BYOM_PASSPHRASE_HASH).toBe("scrypt$16384$8$1$aa$bb");
    expect(launch.secrets).toBeUndefined();
  });
});

describe("a target's secret runtime settings", () => {
  const withSettings = (security: DeploymentRecord["security"]) => {
    const slot = { ...pending("sone", "primary", 1), resources: { targetGroupArn: "tg-sone" } };
    const settings = {
      ...slot,
      target: {
        ...slot.target,
        runtimeEnv: { FROM_ENTRY: "x", API_TOKEN: "tok-123456", BYOM_WORKERS: "2" },
        secretEnv: ["API_TOKEN"],
      },
    };
    return { ...deployment([], [settings]), security };
  };

  it("go through the slot's secret with the passphrase hash, keyed by name, never the environment (AWS)", async () => {
    store.record = withSettings({ mode: "passphrase", passphraseHash: "scrypt$h" });
    const { infra, calls } = fakeInfra(false, { secrets: true });
    await steps.startRuntime(buildItem("sone"), infra);
    const launch = calls.find((c) => c[0] === "startRuntime")?.[1] as RuntimeLaunch;
    expect(launch.secrets).toEqual({
      API_TOKEN: "secret-sone:API_TOKEN::",
      BYOM_PASSPHRASE_HASH: "secret-sone:BYOM_PASSPHRASE_HASH::",
    });
    expect(JSON.parse(calls.find((c) => c[0] === "storeRuntimeSecret")?.[2] as string)).toEqual({
      API_TOKEN: "tok-123456",
      BYOM_PASSPHRASE_HASH: "scrypt$h",
    });
    expect(JSON.stringify(launch.environment)).not.toContain("tok-123456");
    expect(launch.environment).toMatchObject({ FROM_ENTRY: "x", BYOM_WORKERS: "2" });
  });

  it("get a secret of their own without a passphrase", async () => {
    store.record = withSettings({ mode: "none" });
    const { infra, calls } = fakeInfra(false, { secrets: true });
    await steps.startRuntime(buildItem("sone"), infra);
    const launch = calls.find((c) => c[0] === "startRuntime")?.[1] as RuntimeLaunch;
    expect(launch.secrets).toEqual({ API_TOKEN: "secret-sone:API_TOKEN::" });
    expect(launch.environment.API_TOKEN).toBeUndefined();
    expect(store.record?.pendingSlots[0]?.resources.passphraseSecretArn).toBe("secret-sone");
  });

  it("stay in the process environment where the port keeps no secrets (local mode)", async () => {
    store.record = withSettings({ mode: "none" });
    const { infra, calls } = fakeInfra(false);
    await steps.startRuntime(buildItem("sone"), infra);
    const launch = calls.find((c) => c[0] === "startRuntime")?.[1] as RuntimeLaunch;
    expect(launch.environment.API_TOKEN).toBe("tok-123456");
    expect(launch.secrets).toBeUndefined();
  });
});

describe("a failed update", () => {
  it("leaves the previous revision serving: its slots, its traffic rule, its targets", async () => {
    const live: Slot = {
      ...pending("slive", "primary", 1),
      resources: { targetGroupArn: "tg-slive", serviceArn: "svc-slive", taskDefinitionArn: "td-slive" },
    };
    const building: Slot = {
      ...pending("snew", "primary", 2),
      revision: 2,
      resources: { accessPointId: "fsap-snew", targetGroupArn: "tg-snew", slotRuleArn: "rule-snew" },
    };
    store.record = {
      ...deployment([live], [building]),
      mode: "single",
      status: "HEALTHY",
      revision: 2,
      liveRevision: 1,
      trafficRuleArn: "rule-traffic",
      targets: [{ modelId: "m", version: 2 }],
    };
    const { infra, calls } = fakeInfra(false);
    await steps.recordFailure(
      {
        ...IDS,
        error: {
          Error: "States.TaskFailed",
          Cause: JSON.stringify({ errorMessage: "the processor failed" }),
        },
      },
      infra,
    );
    // Only what the failed run built goes; nothing touches the live slot or the traffic rule.
    expect(calls).toEqual([
      ["deleteTrafficRule", "rule-snew"],
      ["deleteTargetGroup", "tg-snew"],
      ["deleteSlotVolume", "fsap-snew"],
    ]);
    expect(store.record?.status).toBe("HEALTHY");
    expect(store.record?.slots).toEqual([live]);
    expect(store.record?.pendingSlots).toEqual([]);
    expect(store.record?.trafficRuleArn).toBe("rule-traffic");
    expect(store.record?.activeWorkflow).toBeNull();
    expect(store.record?.targets).toEqual([
      { modelId: "m", version: 1, runtime: "python-scorer", processor: "mlflow", weight: 100 },
    ]);
    expect(store.record?.failureReason).toBe("the processor failed");
    expect(store.record?.events.at(-1)?.message).toBe(
      "Update to revision 2 failed, revision 1 keeps serving: the processor failed",
    );
  });
});

describe("a target's resources", () => {
  it("build a new slot when they change, and reuse the live one when they do not", async () => {
    const small = { cpu: "0.5" as const, memoryMiB: 1024, replicas: { min: 1, max: 1 } };
    const live: Slot = {
      ...pending("slive", "primary", 1),
      target: { ...target("primary", 1), resources: small },
      resources: { targetGroupArn: "tg-slive" },
    };
    const { infra } = fakeInfra(false);
    store.record = { ...deployment([live], []), mode: "single", revision: 2, liveRevision: 1 };
    resolved.targets = [{ ...target("primary", 1), resources: { ...small, replicas: { min: 2, max: 4 } } }];
    const bigger = await steps.prepare(IDS, {} as never, infra);
    expect(bigger.build).toHaveLength(1);
    expect(bigger.build[0]?.slotId).not.toBe("slive");

    store.record = { ...deployment([live], []), mode: "single", revision: 2, liveRevision: 1 };
    resolved.targets = [{ ...target("primary", 1), resources: small }];
    const same = await steps.prepare(IDS, {} as never, infra);
    expect(same.build).toEqual([]);
    expect(store.record?.pendingSlots.map((s) => s.slotId)).toEqual(["slive"]);
  });
});

describe("a target's runtime settings", () => {
  it("build a new slot when they change, and reuse the live one when only their order differs", async () => {
    const live: Slot = {
      ...pending("slive", "primary", 1),
      target: { ...target("primary", 1), runtimeEnv: { BYOM_WORKERS: "2", BYOM_PREDICT_PROBA: "false" } },
      resources: { targetGroupArn: "tg-slive" },
    };
    const { infra } = fakeInfra(false);
    store.record = { ...deployment([live], []), mode: "single", revision: 2, liveRevision: 1 };
    resolved.targets = [
      { ...target("primary", 1), runtimeEnv: { BYOM_WORKERS: "2", BYOM_PREDICT_PROBA: "true" } },
    ];
    const changed = await steps.prepare(IDS, {} as never, infra);
    expect(changed.build).toHaveLength(1);
    expect(changed.build[0]?.slotId).not.toBe("slive");

    store.record = { ...deployment([live], []), mode: "single", revision: 2, liveRevision: 1 };
    resolved.targets = [
      { ...target("primary", 1), runtimeEnv: { BYOM_PREDICT_PROBA: "false", BYOM_WORKERS: "2" } },
    ];
    const same = await steps.prepare(IDS, {} as never, infra);
    expect(same.build).toEqual([]);
    expect(store.record?.pendingSlots.map((s) => s.slotId)).toEqual(["slive"]);
  });
});

describe("a custom runtime that implements only the seed's minimum", () => {
  // A runtime over real HTTP with GET /model/schema and POST /model/score only (no sample_request,
  // no /readyz): verification scores one row built from the model's input schema.
  it("is verified with a row built from the schema", async () => {
    const { createServer } = await import("node:http");
    const bodies: unknown[] = [];
    const server = createServer((req, res) => {
      if (req.method === "POST" && req.url === "/model/score") {
        let text = "";
        req.on("data", (c) => {
          text += c;
        });
        req.on("end", () => {
          bodies.push(JSON.parse(text));
          res.writeHead(200, { "content-type": "application/json" }).end('{"score": [["1"]]}');
        });
        return;
      }
      res.writeHead(req.url === "/model/schema" ? 200 : 404).end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const slot = pending("scustom", "primary", 1);
      store.record = deployment(
        [],
        [
          {
            ...slot,
            target: {
              ...slot.target,
              inputSchema: [
                { name: "age", type: "Int64" },
                { name: "income", type: "Float64" },
                { name: "city", type: "String" },
                { name: "member", type: "Boolean" },
              ],
            },
          },
        ],
      );
      const { infra } = fakeInfra(false);
      infra.slotEndpoint = async () => `http://127.0.0.1:${port}`;
      const { verifySample } = await import("#lambdas/deployments/workflow/verify-sample.ts");
      await verifySample(buildItem("scustom"), infra);
      expect(bodies).toEqual([
        { fields: ["age", "income", "city", "member"], rows: [["1", "0.5", "a", "true"]] },
      ]);
    } finally {
      server.close();
    }
  });

  it("fails the check at once when ECS says the runtime cannot start", async () => {
    store.record = deployment([], [pending("sbroken", "primary", 1)]);
    const { infra } = fakeInfra(false);
    infra.runtimeHealth = async () => ({
      state: "failing",
      detail: "a task stopped: CannotPullContainerError: pull access denied",
    });
    await expect(steps.checkRuntime(buildItem("sbroken"), infra)).rejects.toThrow(
      /cannot start: a task stopped: CannotPullContainerError: pull access denied/,
    );
  });
});

describe("a runtime that is not ready yet", () => {
  it("says on the deployment what it is doing, each new detail once, and how the wait ended", async () => {
    store.record = { ...deployment([], [pending("sfirst", "primary", 1)]), mode: "single" };
    const { infra } = fakeInfra(false);
    const details = [
      "the process is installing the Python environment of tabular-runtime (step 1 of 2: creating the venv)",
      "the process is installing the Python environment of tabular-runtime (step 2 of 2: pip installs 57 packages)",
      "the process is installing the Python environment of tabular-runtime (step 2 of 2: pip installs 57 packages)",
      "/readyz answered 503; the process is running",
    ];
    let item = { ...buildItem("sfirst"), health: { ...buildItem("sfirst").health, timeoutSeconds: 60 } };
    for (const detail of details) {
      infra.runtimeHealth = async () => ({ state: "starting", detail });
      item = await steps.checkRuntime(item, infra);
      expect(item.health.healthy).toBe(false);
    }
    infra.runtimeHealth = async () => ({ state: "healthy" });
    item = await steps.checkRuntime(item, infra);
    expect(item.health.healthy).toBe(true);

    const said = store.record?.events.map((e) => `${e.status} ${e.message}`);
    expect(said).toEqual([
      `STARTING Runtime python-scorer for model v1 (python-scorer) is not ready yet: ${details[0]}`,
      `STARTING Runtime python-scorer for model v1 (python-scorer) is not ready yet: ${details[1]}`,
      `STARTING Runtime python-scorer for model v1 (python-scorer) is not ready yet: ${details[3]}`,
    ]);
    // The status stays what it was: the events explain it.
    expect(store.record?.status).toBe("STARTING");
  });

  it("stops reporting after ten details, so the event list stays readable", async () => {
    store.record = { ...deployment([], [pending("schatty", "primary", 1)]), mode: "single" };
    const { infra } = fakeInfra(false);
    let item = { ...buildItem("schatty"), health: { ...buildItem("schatty").health, timeoutSeconds: 60 } };
    for (let i = 0; i < 15; i++) {
      infra.runtimeHealth = async () => ({ state: "starting", detail: `last output: line ${i}` });
      item = await steps.checkRuntime(item, infra);
    }
    expect(store.record?.events).toHaveLength(10);
  });
});
