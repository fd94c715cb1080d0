import type {
  DeploymentRecord,
  DeploymentStatus,
  ResolvedTarget,
  Slot,
} from "#lambdas/deployments/deployment-record.ts";
import { changeDeployment, getDeployment } from "#lambdas/deployments/deployments-repository.ts";
import type { BuildItem, WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { DomainError } from "#lambdas/shared/errors.ts";
import { nowIso } from "#lambdas/shared/ids.ts";

/**
 * What every step of the deploy workflow starts with: the deployment as this run holds it. A step of
 * a superseded run (the deployment is held by another workflow) changes nothing.
 */
export class WorkflowLostError extends DomainError {
  readonly code = "WORKFLOW_LOST";
}

export async function heldDeployment(input: WorkflowInput): Promise<DeploymentRecord> {
  const record = await getDeployment(input.projectId, input.deploymentId);
  if (!record || record.activeWorkflow !== input.workflowId) {
    throw new WorkflowLostError(
      `Deployment ${input.deploymentId} is no longer held by workflow ${input.workflowId}; nothing was changed.`,
    );
  }
  return record;
}

/** The slot a Map item builds, from the deployment this run holds. */
export async function pendingSlot(item: BuildItem): Promise<{ record: DeploymentRecord; slot: Slot }> {
  const record = await heldDeployment(item);
  const slot = record.pendingSlots.find((s) => s.slotId === item.slotId);
  if (!slot) throw new WorkflowLostError(`Slot ${item.slotId} of deployment ${item.deploymentId} is gone.`);
  return { record, slot };
}

/** An event on the deployment (and, unless `setStatus` is false, its new status). */
export async function noteProgress(
  input: WorkflowInput,
  status: DeploymentStatus,
  message: string,
  setStatus = true,
) {
  await changeDeployment(input.projectId, input.deploymentId, {
    set: setStatus ? { status, updatedAt: nowIso() } : { updatedAt: nowIso() },
    event: { at: nowIso(), status, message },
    heldBy: input.workflowId,
  });
}

export const describeTarget = (t: ResolvedTarget) => `${t.modelName} v${t.version} (${t.runtime})`;

export const targetGroupOf = (slot: Slot) => {
  if (!slot.resources.targetGroupArn) throw new WorkflowLostError(`Slot ${slot.slotId} has no target group.`);
  return slot.resources.targetGroupArn;
};
