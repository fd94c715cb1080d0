import { albUseOf } from "#lambdas/deployments/alb-quotas.ts";
import { settleAlbReservation } from "#lambdas/deployments/alb-reservations.ts";
import type { ResolvedTarget } from "#lambdas/deployments/deployment-record.ts";
import { changeDeployment, getDeployment } from "#lambdas/deployments/deployments-repository.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import { failureReasonOf } from "#lambdas/deployments/workflow/failure-reason.ts";
import { removeSlot } from "#lambdas/deployments/workflow/retire-slots.ts";
import { syncShadowRule } from "#lambdas/deployments/workflow/traffic-rules.ts";
import type { FailedRun, WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { nowIso } from "#lambdas/shared/ids.ts";

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
  // A failed first deploy holds nothing; a failed update what its live revision holds.
  await settleAlbReservation(
    input.deploymentId,
    input.workflowId,
    first
      ? undefined
      : albUseOf({ ...record, pendingSlots: [], targets: record.slots.map((s) => specOf(s.target)) }),
  );
  return base;
}

/** The target as the API takes it, of what a live slot serves (restored after a failed update). */
function specOf(target: ResolvedTarget) {
  return {
    modelId: target.modelId,
    version: target.version,
    runtime: target.runtime,
    processor: target.processor,
    ...(target.role === "primary" ? { weight: target.weight } : { role: target.role }),
    ...(target.resources ? { resources: target.resources } : {}),
  };
}
