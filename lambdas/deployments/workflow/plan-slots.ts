import { DEFAULT_RESOURCES } from "#lambdas/deployments/capacity.ts";
import type { ResolvedTarget, Slot } from "#lambdas/deployments/deployment-record.ts";
import { changeDeployment } from "#lambdas/deployments/deployments-repository.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import { type RegistryReader, resolveTargets } from "#lambdas/deployments/target-resolution.ts";
import { describeTarget, heldDeployment } from "#lambdas/deployments/workflow/held-deployment.ts";
import { removeSlot } from "#lambdas/deployments/workflow/retire-slots.ts";
import { newSlotId } from "#lambdas/deployments/workflow/slot-ids.ts";
import { hasShadowGroupIfNeeded } from "#lambdas/deployments/workflow/traffic-rules.ts";
import type { PreparedDeploy, WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { workflowSettings } from "#lambdas/deployments/workflow/workflow-settings.ts";
import { nowIso } from "#lambdas/shared/ids.ts";

/**
 * The first step of the deploy workflow (cdk/constructs/deploy-workflow.ts). The same workflow
 * deploys a new deployment and swaps the versions of a live one: it builds slots for the new
 * revision next to the live ones, verifies them, switches the traffic rule, drains and then removes
 * the slots no longer used.
 */

/** A live slot serves a target again when nothing it was started with would differ. */
const sameServing = (a: ResolvedTarget, b: ResolvedTarget) =>
  a.modelId === b.modelId &&
  a.version === b.version &&
  a.artifactId === b.artifactId &&
  a.processor === b.processor &&
  a.runtime === b.runtime &&
  // Another size or replica range runs as a new slot, swapped in like a new version.
  JSON.stringify(a.resources ?? DEFAULT_RESOURCES) === JSON.stringify(b.resources ?? DEFAULT_RESOURCES) &&
  // Other runtime settings (or entry env) run as a new slot too: a process reads its env once.
  sameEnv(a, b) &&
  // Only a champion mirrors (BYOM_SHADOW_URL): a champion that became challenger would send copies
  // to itself, so a role swap builds new slots.
  (a.role === "champion") === (b.role === "champion") &&
  // A runtime reads its capture share once, at start.
  (a.capturePercent ?? 0) === (b.capturePercent ?? 0);

const sortedEntries = (env: Readonly<Record<string, string>>) =>
  JSON.stringify(Object.entries(env).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
const sameEnv = (a: ResolvedTarget, b: ResolvedTarget) =>
  sortedEntries(a.runtimeEnv) === sortedEntries(b.runtimeEnv) &&
  JSON.stringify([...(a.secretEnv ?? [])].sort()) === JSON.stringify([...(b.secretEnv ?? [])].sort());

/** Resolves the targets again (the registry may have changed) and plans the slots to build. */
export async function prepare(
  input: WorkflowInput,
  reader: RegistryReader,
  infra: ServingInfrastructure,
): Promise<PreparedDeploy> {
  const record = await heldDeployment(input);
  // Slots an abandoned run was building (its execution stopped before it could clean up).
  const live = new Set(record.slots.map((s) => s.slotId));
  for (const slot of record.pendingSlots)
    if (!live.has(slot.slotId)) await removeSlot(input.deploymentId, slot, infra);
  const capturePercent = record.capture?.samplePercent ?? 0;
  const targets = (
    await resolveTargets(reader, input.projectId, record.mode, record.targets, {
      securityMode: record.security.mode,
      capture: capturePercent > 0,
    })
  ).map((t) => (capturePercent > 0 ? { ...t, capturePercent } : t));
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
        ? `Processing ${build.map((s) => describeTarget(s.target)).join(", ")}.`
        : build.length === 0
          ? `Revision ${record.revision}: the same versions with new weights or roles; nothing to build, switching traffic.`
          : `Revision ${record.revision}: building ${build.map((s) => describeTarget(s.target)).join(", ")} next to the live slots.`,
    },
    heldBy: input.workflowId,
  });
  const settings = workflowSettings();
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
