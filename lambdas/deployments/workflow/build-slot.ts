import {
  type DeploymentStatus,
  modelIdOf,
  type ResolvedTarget,
  shadowPathPrefix,
  slotPathPrefix,
} from "#lambdas/deployments/deployment-record.ts";
import { recordSlotResource } from "#lambdas/deployments/deployments-repository.ts";
import type { RuntimeHealth, ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import type { ProcessorEnvironment, RuntimeEnvironment } from "#lambdas/deployments/serving-contract.ts";
import {
  describeTarget,
  noteProgress,
  pendingSlot,
  WorkflowLostError,
} from "#lambdas/deployments/workflow/held-deployment.ts";
import {
  giveToOwner,
  modelPathOf,
  prepareSlotDirs,
  removeSourceDir,
  sourcePathOf,
} from "#lambdas/deployments/workflow/models-volume.ts";
import { downloadArtifact } from "#lambdas/deployments/workflow/pinned-download.ts";
import { needsShadowGroup } from "#lambdas/deployments/workflow/traffic-rules.ts";
import type { BuildItem } from "#lambdas/deployments/workflow/workflow-io.ts";
import { workflowSettings } from "#lambdas/deployments/workflow/workflow-settings.ts";
import { captureUri } from "#lambdas/monitoring/capture-location.ts";
import { DomainError } from "#lambdas/shared/errors.ts";
import { logger } from "#lambdas/shared/logger.ts";

/**
 * The steps that build one slot (an item of the BuildSlots Map in cdk/constructs/deploy-workflow.ts):
 * stage the artifact for the processor, create the slot's target group and rule, start the runtime
 * and wait until it is healthy. verify-sample.ts then scores it before traffic moves.
 */

export class RuntimeNotReadyError extends DomainError {
  readonly code = "RUNTIME_NOT_READY";
}

/**
 * Gives the slot its own entry to the models volume (recorded at once, so a failure removes it),
 * copies the artifact into the slot's directory and says how to run the processor on it: with a
 * task definition that mounts that directory alone.
 */
export async function stageArtifact(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { slot } = await pendingSlot(item);
  const { target } = slot;
  const volume = await infra.createSlotVolume(item.deploymentId, slot);
  await recordSlotResource(
    item.projectId,
    item.deploymentId,
    slot.slotId,
    "accessPointId",
    volume.accessPointId,
  );
  await prepareSlotDirs(item.deploymentId, slot.slotId, volume.owner);
  const source = sourcePathOf(item.deploymentId, slot.slotId);
  const bytes = await downloadArtifact(target.objectKey, source);
  await giveToOwner(source, volume.owner);
  logger.info("artifact staged", { deploymentId: item.deploymentId, slotId: slot.slotId, bytes });
  const processor = await infra.processorTaskFor(item.deploymentId, slot, volume.accessPointId);
  const taskDefinition = processor.taskDefinitionArn;
  await recordSlotResource(
    item.projectId,
    item.deploymentId,
    slot.slotId,
    "processorTaskDefinitionArn",
    taskDefinition,
  );
  const env: ProcessorEnvironment = {
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
      taskDefinition,
      containerName: processor.containerName,
      environment: Object.entries(env).map(([Name, Value]) => ({ Name, Value })),
    },
  };
}

/**
 * A target group for the slot and a rule that reaches it alone, for verification; a challenger also
 * gets its group on the shadow load balancer when that is a load balancer of its own.
 */
export async function createTargetGroup(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { slot } = await pendingSlot(item);
  const { processorRun: _done, ...rest } = item;
  // The processor has written the model: the raw artifact goes (the bucket keeps it).
  await removeSourceDir(item.deploymentId, slot.slotId);
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
  // The passphrase hash and the target's secret settings: on AWS one secret per slot holds them as
  // JSON (recorded at once so a failure removes it), each variable read from its key by ECS.
  const hash = record.security.mode === "passphrase" ? record.security.passphraseHash : undefined;
  const secretNames = target.secretEnv ?? [];
  const secretValues: Record<string, string> = {
    ...Object.fromEntries(secretNames.map((name) => [name, target.runtimeEnv[name] ?? ""])),
    ...(hash ? { BYOM_PASSPHRASE_HASH: hash } : {}),
  };
  const secretArn =
    Object.keys(secretValues).length > 0
      ? await infra.storeRuntimeSecret(item.deploymentId, slot, JSON.stringify(secretValues))
      : undefined;
  if (secretArn)
    await recordSlotResource(
      item.projectId,
      item.deploymentId,
      slot.slotId,
      "passphraseSecretArn",
      secretArn,
    );
  const plainEnv = secretArn
    ? Object.fromEntries(Object.entries(target.runtimeEnv).filter(([name]) => !secretNames.includes(name)))
    : target.runtimeEnv;
  const environment: RuntimeEnvironment = {
    ...plainEnv,
    MODEL_PATH: modelPathOf(item.deploymentId, slot.slotId),
    MODEL_ID: modelIdOf(target),
    // The V2 (Open Inference Protocol) model name through the deployment's endpoint.
    BYOM_MODEL_NAME: record.name,
    // The DeploymentId dimension of the runtime's metrics (docs/monitoring.md).
    BYOM_DEPLOYMENT_ID: item.deploymentId,
    ...(hash && !secretArn ? { BYOM_PASSPHRASE_HASH: hash } : {}),
    ...(target.role === "champion" && infra.shadowBaseUrl
      ? { BYOM_SHADOW_URL: `${infra.shadowBaseUrl}${shadowPathPrefix(item.deploymentId)}` }
      : {}),
    ...(target.capturePercent
      ? {
          BYOM_CAPTURE_URI: captureUri(item.deploymentId, modelIdOf(target)),
          BYOM_CAPTURE_PERCENT: String(target.capturePercent),
        }
      : {}),
  };
  // A capturing runtime writes with credentials that reach only its deployment's capture prefix.
  const taskRoleArn =
    target.capturePercent && infra.captureRole ? await infra.captureRole(item.deploymentId) : undefined;
  const created = await infra.startRuntime({
    slot,
    deploymentId: item.deploymentId,
    environment,
    taskRoleArn,
    // ECS's `<secret ARN>:<JSON key>::` form: each variable gets its own key's value.
    secrets: secretArn
      ? Object.fromEntries(Object.keys(secretValues).map((name) => [name, `${secretArn}:${name}::`]))
      : undefined,
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
  await noteProgress(
    item,
    first ? "STARTING" : record.status,
    `Starting runtime ${target.runtime} for ${describeTarget(target)}.`,
    first,
  );
  return item;
}

/**
 * Looks at the runtime's health, polling for up to HEALTH_CHECK_POLL_SECONDS; the state machine's
 * Wait/Choice loop repeats it until the runtime is ready or its time is up.
 */
export async function checkRuntime(item: BuildItem, infra: ServingInfrastructure): Promise<BuildItem> {
  const { record, slot } = await pendingSlot(item);
  const deadline = item.health.deadline ?? Date.now() + item.health.timeoutSeconds * 1000;
  const pollUntil = Math.min(deadline, Date.now() + workflowSettings().healthPollSeconds * 1000);
  const attempts = item.health.attempts + 1;
  for (;;) {
    const health = await infra.runtimeHealth(slot);
    if (health.state === "healthy")
      return { ...item, health: { ...item.health, attempts, deadline, healthy: true } };
    // ECS says it will not start (a pull failure, a container that exited): fail with its reason now.
    if (health.state === "failing")
      throw new RuntimeNotReadyError(
        `Runtime ${slot.target.runtime} for ${describeTarget(slot.target)} cannot start: ${health.detail}`,
      );
    if (Date.now() >= deadline) {
      throw new RuntimeNotReadyError(
        `Runtime ${slot.target.runtime} for ${describeTarget(slot.target)} did not become ready within ${item.health.timeoutSeconds} s: ${health.detail}`,
      );
    }
    if (Date.now() >= pollUntil) {
      const status = record.liveRevision === 0 ? "STARTING" : record.status;
      const reported = await reportWait(item, status, slot.target, health);
      return { ...item, health: { ...item.health, ...reported, attempts, deadline, healthy: false } };
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** At most this many "not ready yet" events per slot: the deployment's event list stays readable. */
const MAX_WAIT_REPORTS = 10;

/**
 * Says on the deployment what its runtime is doing while it is not ready (installing its Python
 * environment, loading the model, what ECS says of the task), each new detail once: a first
 * deploy that waits minutes for an install then shows why in `byom deployments get` and --wait.
 */
async function reportWait(
  item: BuildItem,
  status: DeploymentStatus,
  target: ResolvedTarget,
  health: RuntimeHealth,
): Promise<Pick<BuildItem["health"], "reported" | "reports">> {
  const reports = item.health.reports ?? 0;
  if (health.state === "healthy" || health.detail === item.health.reported || reports >= MAX_WAIT_REPORTS)
    return { reported: item.health.reported, reports };
  await noteProgress(
    item,
    status,
    `Runtime ${target.runtime} for ${describeTarget(target)} is not ready yet: ${health.detail}`,
    false,
  );
  return { reported: health.detail, reports: reports + 1 };
}
