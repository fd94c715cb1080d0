import {
  changeDeployment,
  getDeployment,
  recordSlotResource,
} from "#lambdas/deployments/deployments-repository.ts";
import { DomainError } from "#lambdas/shared/errors.ts";
import { nowIso } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";
import { downloadArtifact } from "./artifact-store.ts";
import { deployerSettings } from "./deployer-settings.ts";
import {
  type DeploymentRecord,
  type DeploymentStatus,
  deploymentPathPrefix,
  type ResolvedTarget,
  SHADOW_HEADER,
  type Slot,
  shadowPathPrefix,
  slotPathPrefix,
} from "./model.ts";
import { modelPathOf, prepareSlotDirs, removeSlotDir, sourcePathOf } from "./models-volume.ts";
import { type RegistryReader, resolveTargets } from "./plan.ts";
import type { ServingInfrastructure, TrafficRule } from "./serving.ts";
import { newSlotId } from "./slot-ids.ts";
import type {
  BuildItem,
  FailedRun,
  PreparedDeploy,
  StatesError,
  SwitchedDeploy,
  WorkflowInput,
} from "./workflow-state.ts";

/**
 * The steps of the deploy workflow (cdk/constructs/deploy-workflow.ts), one function per Task
 * state. The same workflow deploys a new deployment and swaps the versions of a live one: it builds
 * slots for the new revision next to the live ones, verifies them, switches the traffic rule, drains
 * and then removes the slots no longer used.
 */

export class WorkflowLostError extends DomainError {
  readonly code = "WORKFLOW_LOST";
}

export class RuntimeNotReadyError extends DomainError {
  readonly code = "RUNTIME_NOT_READY";
}

export class ProcessorUnavailableError extends DomainError {
  readonly code = "PROCESSOR_UNAVAILABLE";
}

export class SampleScoreFailedError extends DomainError {
  readonly code = "SAMPLE_SCORE_FAILED";
}

async function load(input: WorkflowInput): Promise<DeploymentRecord> {
  const record = await getDeployment(input.projectId, input.deploymentId);
  if (!record || record.activeWorkflow !== input.workflowId) {
    throw new WorkflowLostError(
      `Deployment ${input.deploymentId} is no longer held by workflow ${input.workflowId}; nothing was changed.`,
    );
  }
  return record;
}

async function note(input: WorkflowInput, status: DeploymentStatus, message: string, setStatus = true) {
  await changeDeployment(input.projectId, input.deploymentId, {
    set: setStatus ? { status, updatedAt: nowIso() } : { updatedAt: nowIso() },
    event: { at: nowIso(), status, message },
    heldBy: input.workflowId,
  });
}

/** A live slot serves a target again when nothing it was started with would differ. */
const sameServing = (a: ResolvedTarget, b: ResolvedTarget) =>
  a.modelId === b.modelId &&
  a.version === b.version &&
  a.artifactId === b.artifactId &&
  a.processor === b.processor &&
  a.runtime === b.runtime &&
  // Only a champion mirrors (BYOM_SHADOW_URL): a champion that became challenger would send copies
  // to itself, so a role swap builds new slots.
  (a.role === "champion") === (b.role === "champion");

/**
 * Whether a slot can serve `target` as far as the shadow listener goes: a challenger needs a target
 * group on the shadow load balancer when that is a load balancer of its own.
 */
const needsShadowGroup = (target: ResolvedTarget, infra: ServingInfrastructure) =>
  target.role === "challenger" && infra.shadowBaseUrl !== undefined && infra.shadowTargetGroups;
const hasShadowGroupIfNeeded = (slot: Slot, target: ResolvedTarget, infra: ServingInfrastructure) =>
  !needsShadowGroup(target, infra) || slot.resources.shadowTargetGroupArn !== undefined;

const describe = (t: ResolvedTarget) => `${t.modelName} v${t.version} (${t.runtime})`;

/** Resolves the targets again (the registry may have changed) and plans the slots to build. */
export async function prepare(
  input: WorkflowInput,
  reader: RegistryReader,
  infra: ServingInfrastructure,
): Promise<PreparedDeploy> {
  const record = await load(input);
  // Slots an abandoned run was building (its execution stopped before it could clean up).
  const live = new Set(record.slots.map((s) => s.slotId));
  for (const slot of record.pendingSlots)
    if (!live.has(slot.slotId)) await removeSlot(input.deploymentId, slot, infra);
  const targets = await resolveTargets(reader, input.projectId, record.mode, record.targets);
  const unused = [...record.slots];
  const pendingSlots: Slot[] = targets.map((target, position) => {
    const reusable = unused.findIndex(
      (slot) => sameServing(slot.target, target) && hasShadowGroupIfNeeded(slot, target, infra),
    );
    if (reusable >= 0) {
      const [slot] = unused.splice(reusable, 1) as [Slot];
      return { ...slot, position, target };
    }
    return { slotId: newSlotId(), position, revision: record.revision, target, resources: {} };
  });
  const build = pendingSlots.filter(
    (slot) => slot.revision === record.revision && !record.slots.some((s) => s.slotId === slot.slotId),
  );
  const first = record.liveRevision === 0;
  await changeDeployment(input.projectId, input.deploymentId, {
    set: { pendingSlots, ...(first ? { status: "PROCESSING" as const } : {}), updatedAt: nowIso() },
    event: {
      at: nowIso(),
      status: first ? "PROCESSING" : record.status,
      message: first
        ? `Processing ${build.map((s) => describe(s.target)).join(", ")}.`
        : build.length === 0
          ? `Revision ${record.revision}: the same versions with new weights or roles; nothing to build, switching traffic.`
          : `Revision ${record.revision}: building ${build.map((s) => describe(s.target)).join(", ")} next to the live slots.`,
    },
    heldBy: input.workflowId,
  });
  const settings = deployerSettings();
  return {
    ...input,
    drainSeconds: settings.drainSeconds,
    build: build.map((slot) => ({
      projectId: input.projectId,
      deploymentId: input.deploymentId,
      workflowId: input.workflowId,
      slotId: slot.slotId,
      health: {
        attempts: 0,
        intervalSeconds: settings.healthIntervalSeconds,
        timeoutSeconds: settings.healthTimeoutSeconds,
        healthy: false,
      },
    })),
  };
}

async function pendingSlot(item: BuildItem): Promise<{ record: DeploymentRecord; slot: Slot }> {
  const record = await load(item);
  const slot = record.pendingSlots.find((s) => s.slotId === item.slotId);
  if (!slot) throw new WorkflowLostError(`Slot ${item.slotId} of deployment ${item.deploymentId} is gone.`);
  return { record, slot };
}

/** Copies the artifact onto the models volume and says how to run the processor on it. */
export async function stageArtifact(item: BuildItem): Promise<BuildItem> {
  const { slot } = await pendingSlot(item);
  const { target } = slot;
  await prepareSlotDirs(item.deploymentId, slot.slotId);
  const bytes = await downloadArtifact(target.objectKey, sourcePathOf(item.deploymentId, slot.slotId));
  logger.info("artifact staged", { deploymentId: item.deploymentId, slotId: slot.slotId, bytes });
  const processor = deployerSettings().processorTaskDefinitions[target.processor];
  if (!processor) {
    throw new ProcessorUnavailableError(
      `Processor '${target.processor}' has no task definition in this installation. Add its image to the CDK app's catalog, or deploy with a built-in processor.`,
    );
  }
  const env: Record<string, string> = {
    SOURCE_PATH: sourcePathOf(item.deploymentId, slot.slotId),
    TARGET_PATH: modelPathOf(item.deploymentId, slot.slotId),
    BYOM_MODEL_ID: modelIdOf(target),
    BYOM_INPUT_SCHEMA: JSON.stringify(target.inputSchema),
    ...(target.outputSchema ? { BYOM_OUTPUT_SCHEMA: JSON.stringify(target.outputSchema) } : {}),
    ...(target.framework ? { BYOM_FRAMEWORK: target.framework } : {}),
  };
  return {
    ...item,
    processorRun: {
      taskDefinition: processor.taskDefinitionArn,
      containerName: processor.containerName,
      environment: Object.entries(env).map(([Name, Value]) => ({ Name, Value })),
    },
  };
}

export const modelIdOf = (target: ResolvedTarget) => `${target.modelId}-v${target.version}`;

/**
 * A target group for the slot and a rule that reaches it alone, for verification; a challenger also
 * gets its group on the shadow load balancer when that is a load balancer of its own.
 */
export async function createTargetGroup(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { slot } = await pendingSlot(item);
  const { processorRun: _done, ...rest } = item;
  const targetGroupArn = await infra.createTargetGroup(item.deploymentId, slot);
  await recordSlotResource(item.projectId, item.deploymentId, slot.slotId, "targetGroupArn", targetGroupArn);
  const ruleArn = await infra.putTrafficRule({
    deploymentId: item.deploymentId,
    pathPrefix: slotPathPrefix(item.deploymentId, slot.slotId),
    targets: [{ targetGroupArn, weight: 100 }],
  });
  await recordSlotResource(item.projectId, item.deploymentId, slot.slotId, "slotRuleArn", ruleArn);
  if (needsShadowGroup(slot.target, infra)) {
    const shadowTargetGroupArn = await infra.createTargetGroup(item.deploymentId, slot, "shadow");
    await recordSlotResource(
      item.projectId,
      item.deploymentId,
      slot.slotId,
      "shadowTargetGroupArn",
      shadowTargetGroupArn,
    );
  }
  return rest;
}

export async function startRuntime(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { record, slot } = await pendingSlot(item);
  const { target } = slot;
  if (!slot.resources.targetGroupArn) throw new WorkflowLostError(`Slot ${slot.slotId} has no target group.`);
  const environment: Record<string, string> = {
    ...target.runtimeEnv,
    MODEL_PATH: modelPathOf(item.deploymentId, slot.slotId),
    MODEL_ID: modelIdOf(target),
    // The V2 (Open Inference Protocol) model name through the deployment's endpoint.
    BYOM_MODEL_NAME: record.name,
    ...(record.security.mode === "passphrase"
      ? { BYOM_PASSPHRASE_HASH: record.security.passphraseHash }
      : {}),
    ...(target.role === "champion" && infra.shadowBaseUrl
      ? { BYOM_SHADOW_URL: `${infra.shadowBaseUrl}${shadowPathPrefix(item.deploymentId)}` }
      : {}),
  };
  const created = await infra.startRuntime({
    slot,
    deploymentId: item.deploymentId,
    environment,
    targetGroupArn: slot.resources.targetGroupArn,
    shadowTargetGroupArn: slot.resources.shadowTargetGroupArn,
  });
  await recordSlotResource(
    item.projectId,
    item.deploymentId,
    slot.slotId,
    "taskDefinitionArn",
    created.taskDefinitionArn,
  );
  await recordSlotResource(item.projectId, item.deploymentId, slot.slotId, "serviceArn", created.serviceArn);
  const first = record.liveRevision === 0;
  await note(
    item,
    first ? "STARTING" : record.status,
    `Starting runtime ${target.runtime} for ${describe(target)}.`,
    first,
  );
  return item;
}

/**
 * Looks at the runtime's health, polling for up to HEALTH_CHECK_POLL_SECONDS; the state machine's
 * Wait/Choice loop repeats it until the runtime is ready or its time is up.
 */
export async function checkRuntime(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { slot } = await pendingSlot(item);
  const deadline = item.health.deadline ?? Date.now() + item.health.timeoutSeconds * 1000;
  const pollUntil = Math.min(deadline, Date.now() + deployerSettings().healthPollSeconds * 1000);
  const attempts = item.health.attempts + 1;
  for (;;) {
    const health = await infra.runtimeHealth(slot);
    if (health.state === "healthy")
      return { ...item, health: { ...item.health, attempts, deadline, healthy: true } };
    if (Date.now() >= deadline) {
      throw new RuntimeNotReadyError(
        `Runtime ${slot.target.runtime} for ${describe(slot.target)} did not become ready within ${item.health.timeoutSeconds} s: ${health.detail}`,
      );
    }
    if (Date.now() >= pollUntil)
      return { ...item, health: { ...item.health, attempts, deadline, healthy: false } };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Scores the runtime's own sample request once, through the slot's rule (DESIGN §2). */
export async function verifySample(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { record, slot } = await pendingSlot(item);
  const base = await infra.slotEndpoint(item.deploymentId, slot);
  const what = describe(slot.target);
  const sample = await fetch(`${base}/model/sample_request`, { signal: AbortSignal.timeout(10_000) });
  const protectedByPassphrase = record.security.mode === "passphrase";
  if (protectedByPassphrase) {
    // The workflow never holds the passphrase (only its hash): it checks that the runtime refuses
    // callers without it, which /readyz (healthy) does not show.
    const refused = await fetch(`${base}/model/score`, {
      method: "POST",
      headers: { "content-type": "application/json", [SHADOW_HEADER]: "verify" },
      body: "{}",
      signal: AbortSignal.timeout(10_000),
    });
    if (refused.status !== 401) {
      throw new SampleScoreFailedError(
        `${what} answers ${refused.status} without the passphrase; it must answer 401.`,
      );
    }
    return item;
  }
  if (!sample.ok)
    throw new SampleScoreFailedError(
      `${what}: GET /model/sample_request answered ${sample.status}: ${await sample.text()}`,
    );
  const scored = await fetch(`${base}/model/score`, {
    method: "POST",
    headers: { "content-type": "application/json", [SHADOW_HEADER]: "verify" },
    body: await sample.text(),
    signal: AbortSignal.timeout(30_000),
  });
  if (!scored.ok) {
    throw new SampleScoreFailedError(
      `${what} failed to score its own sample request: ${scored.status} ${(await scored.text()).slice(0, 500)}`,
    );
  }
  return item;
}

const targetGroupOf = (slot: Slot) => {
  if (!slot.resources.targetGroupArn) throw new WorkflowLostError(`Slot ${slot.slotId} has no target group.`);
  return slot.resources.targetGroupArn;
};

/** The traffic rule of a deployment for a set of slots: A/B weights, or the champion alone. */
export function trafficRuleFor(deploymentId: string, slots: readonly Slot[]): TrafficRule {
  return {
    deploymentId,
    pathPrefix: deploymentPathPrefix(deploymentId),
    targets: slots
      .filter((s) => s.target.role !== "challenger")
      .map((s) => ({ targetGroupArn: targetGroupOf(s), weight: s.target.weight })),
  };
}

/**
 * The rule that takes the champion's copies to the challenger, on the shadow listener (undefined
 * without a challenger): to the challenger's shadow target group when it has one (the shadow
 * listener is then on a load balancer of its own). The champion mirrors them itself: an ALB cannot.
 */
export function shadowRuleFor(deploymentId: string, slots: readonly Slot[]): TrafficRule | undefined {
  const challenger = slots.find((s) => s.target.role === "challenger");
  if (!challenger) return undefined;
  return {
    deploymentId,
    pathPrefix: shadowPathPrefix(deploymentId),
    targets: [
      { targetGroupArn: challenger.resources.shadowTargetGroupArn ?? targetGroupOf(challenger), weight: 100 },
    ],
    listener: "shadow",
  };
}

/**
 * Points the shadow rule at the challenger among `slots` (creating it the first time, recorded at
 * once so a failure removes it), or removes it when there is none.
 */
async function syncShadowRule(
  record: DeploymentRecord,
  slots: readonly Slot[],
  infra: ServingInfrastructure,
  heldBy: string,
): Promise<void> {
  // A challenger started before this installation had a shadow load balancer has no group there:
  // its copies start with the next revision, whose challenger gets one.
  const challenger = slots.find((s) => s.target.role === "challenger");
  const reachable = challenger !== undefined && hasShadowGroupIfNeeded(challenger, challenger.target, infra);
  const rule = infra.shadowBaseUrl && reachable ? shadowRuleFor(record.deploymentId, slots) : undefined;
  const existing = record.shadowRuleArn ?? undefined;
  if (rule) {
    const ruleArn = await infra.putTrafficRule(rule, existing);
    if (ruleArn !== existing)
      await changeDeployment(record.projectId, record.deploymentId, {
        set: { shadowRuleArn: ruleArn },
        heldBy,
      });
  } else if (existing) {
    await infra.deleteTrafficRule(existing);
    await changeDeployment(record.projectId, record.deploymentId, { set: { shadowRuleArn: null }, heldBy });
  }
}

/**
 * Points the deployment's rule at the new revision's slots in one change; the old ones drain. The
 * shadow rule moves first, so the champion's copies reach the new challenger from its first request.
 */
export async function switchTraffic(
  input: PreparedDeploy,
  infra: ServingInfrastructure,
): Promise<SwitchedDeploy> {
  const record = await load(input);
  const live = record.pendingSlots;
  await syncShadowRule(record, live, infra, input.workflowId);
  const ruleArn = await infra.putTrafficRule(
    trafficRuleFor(input.deploymentId, live),
    record.trafficRuleArn ?? undefined,
  );
  const retire = record.slots.filter((old) => !live.some((s) => s.slotId === old.slotId));
  const endpointUrl = `${infra.endpointBaseUrl}${deploymentPathPrefix(input.deploymentId)}`;
  await changeDeployment(input.projectId, input.deploymentId, {
    set: {
      slots: live,
      pendingSlots: [],
      trafficRuleArn: ruleArn,
      liveRevision: record.revision,
      // Released now: the slots left to retire are no longer the deployment's, so a next change
      // may start while they drain.
      activeWorkflow: null,
      status: "HEALTHY",
      failureReason: null,
      endpointUrl,
      updatedAt: nowIso(),
    },
    event: {
      at: nowIso(),
      status: "HEALTHY",
      message: `Serving revision ${record.revision}: ${live.map((s) => `${describe(s.target)} ${s.target.role === "challenger" ? "in shadow" : `${s.target.weight}%`}`).join(", ")}.`,
    },
    heldBy: input.workflowId,
  });
  return {
    projectId: input.projectId,
    deploymentId: input.deploymentId,
    workflowId: input.workflowId,
    retire,
    drainSeconds: input.drainSeconds,
  };
}

/** Removes one slot's resources, newest first; each removal tolerates what is already gone. */
export async function removeSlot(
  deploymentId: string,
  slot: Slot,
  infra: ServingInfrastructure,
): Promise<void> {
  const { resources } = slot;
  if (resources.serviceArn || resources.taskDefinitionArn) await infra.stopRuntime(resources);
  if (resources.slotRuleArn) await infra.deleteTrafficRule(resources.slotRuleArn);
  if (resources.targetGroupArn) await infra.deleteTargetGroup(resources.targetGroupArn);
  if (resources.shadowTargetGroupArn) await infra.deleteTargetGroup(resources.shadowTargetGroupArn);
  await removeSlotDir(deploymentId, slot.slotId);
}

/** After the drain: the slots of the previous revision go. */
export async function retireSlots(
  input: SwitchedDeploy,
  infra: ServingInfrastructure,
): Promise<WorkflowInput> {
  for (const slot of input.retire) await removeSlot(input.deploymentId, slot, infra);
  if (input.retire.length > 0) {
    await changeDeployment(input.projectId, input.deploymentId, {
      set: { updatedAt: nowIso() },
      event: {
        at: nowIso(),
        status: "HEALTHY",
        message: `Removed ${input.retire.length} slot(s) of the previous revision after draining.`,
      },
    });
  }
  return { projectId: input.projectId, deploymentId: input.deploymentId, workflowId: input.workflowId };
}

/**
 * Any failure: everything this run created goes, and the deployment says why. A first deploy
 * ends FAILED; a failed update leaves the live revision serving, as it was.
 */
export async function recordFailure(input: FailedRun, infra: ServingInfrastructure): Promise<WorkflowInput> {
  const record = await getDeployment(input.projectId, input.deploymentId);
  const reason = await failureReasonOf(input.error, infra);
  const base = { projectId: input.projectId, deploymentId: input.deploymentId, workflowId: input.workflowId };
  if (!record || record.activeWorkflow !== input.workflowId) return base;
  // A switch that failed halfway may have moved the shadow rule: back to the live challenger (or gone).
  await syncShadowRule(record, record.slots, infra, input.workflowId);
  const live = new Set(record.slots.map((s) => s.slotId));
  for (const slot of record.pendingSlots)
    if (!live.has(slot.slotId)) await removeSlot(input.deploymentId, slot, infra);
  const first = record.liveRevision === 0;
  await changeDeployment(input.projectId, input.deploymentId, {
    set: first
      ? {
          status: "FAILED",
          failureReason: reason,
          pendingSlots: [],
          activeWorkflow: null,
          updatedAt: nowIso(),
        }
      : {
          pendingSlots: [],
          activeWorkflow: null,
          targets: record.slots.map((s) => specOf(s.target)),
          failureReason: reason,
          updatedAt: nowIso(),
        },
    event: {
      at: nowIso(),
      status: first ? "FAILED" : record.status,
      message: first
        ? `Failed: ${reason}`
        : `Update to revision ${record.revision} failed, revision ${record.liveRevision} keeps serving: ${reason}`,
    },
    heldBy: input.workflowId,
  });
  return base;
}

function specOf(target: ResolvedTarget) {
  return {
    modelId: target.modelId,
    version: target.version,
    runtime: target.runtime,
    processor: target.processor,
    ...(target.role === "primary" ? { weight: target.weight } : { role: target.role }),
  };
}

/** A reason a person can act on, from a States error: a Lambda error, an ECS task, a timeout. */
export async function failureReasonOf(
  error: StatesError | undefined,
  infra: ServingInfrastructure,
): Promise<string> {
  if (!error) return "The workflow failed without an error.";
  const cause = error.Cause ?? "";
  let parsed: Record<string, unknown> | undefined;
  try {
    parsed = JSON.parse(cause) as Record<string, unknown>;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.errorMessage === "string") return parsed.errorMessage;
  const task = parsed && (parsed.TaskArn ?? parsed.taskArn);
  if (typeof task === "string") {
    const containers = (parsed?.Containers ?? parsed?.containers ?? []) as Array<Record<string, unknown>>;
    const container = containers[0] ?? {};
    const exitCode = container.ExitCode ?? container.exitCode;
    const tail = await infra
      .processorLogTail(task, String(container.Name ?? container.name ?? ""))
      .catch(() => undefined);
    const stopped = (parsed?.StoppedReason ?? parsed?.stoppedReason ?? "") as string;
    return `The artifact processor failed${exitCode !== undefined ? ` (exit code ${String(exitCode)})` : ""}: ${tail ?? (stopped || "no reason was logged")}`;
  }
  if (error.Error === "States.Timeout") return `A workflow step timed out: ${cause || "no detail"}.`;
  return cause ? `${error.Error ?? "Error"}: ${cause}` : (error.Error ?? "unknown error");
}
