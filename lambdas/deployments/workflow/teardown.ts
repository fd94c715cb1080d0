import { releaseAlbReservation } from "#lambdas/deployments/alb-reservations.ts";
import {
  changeDeployment,
  deleteDeploymentItem,
  getDeployment,
} from "#lambdas/deployments/deployments-repository.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import { failureReasonOf } from "#lambdas/deployments/workflow/failure-reason.ts";
import { removeDeploymentDir } from "#lambdas/deployments/workflow/models-volume.ts";
import { removeSlot } from "#lambdas/deployments/workflow/retire-slots.ts";
import type { FailedRun, WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { nowIso } from "#lambdas/shared/ids.ts";

/**
 * The steps of the delete workflow (cdk/constructs/delete-workflow.ts): the traffic and shadow rules
 * go first, so no request reaches a runtime being stopped, then every slot, then the item.
 */
export async function teardown(input: WorkflowInput, infra: ServingInfrastructure): Promise<WorkflowInput> {
  const record = await getDeployment(input.projectId, input.deploymentId);
  if (!record) return input;
  if (record.trafficRuleArn) {
    await infra.deleteTrafficRule(record.trafficRuleArn);
    await changeDeployment(input.projectId, input.deploymentId, { set: { trafficRuleArn: null } });
  }
  if (record.shadowRuleArn) {
    await infra.deleteTrafficRule(record.shadowRuleArn);
    await changeDeployment(input.projectId, input.deploymentId, { set: { shadowRuleArn: null } });
  }
  for (const slot of [...record.slots, ...record.pendingSlots])
    await removeSlot(input.deploymentId, slot, infra);
  await infra.deleteDeploymentAlarms(input.deploymentId);
  await removeDeploymentDir(input.deploymentId);
  await infra.deleteCaptureRole?.(input.deploymentId);
  await changeDeployment(input.projectId, input.deploymentId, {
    set: { slots: [], pendingSlots: [], status: "DELETED", endpointUrl: null, updatedAt: nowIso() },
    event: { at: nowIso(), status: "DELETED", message: "All resources of the deployment were removed." },
  });
  return input;
}

/** A deleted deployment leaves nothing behind, its item included (GET then answers 404). */
export async function forget(input: WorkflowInput): Promise<WorkflowInput> {
  await deleteDeploymentItem(input.projectId, input.deploymentId);
  await releaseAlbReservation(input.deploymentId);
  return input;
}

export async function recordTeardownFailure(
  input: FailedRun,
  infra: ServingInfrastructure,
): Promise<WorkflowInput> {
  const reason = await failureReasonOf(input.error, infra);
  await changeDeployment(input.projectId, input.deploymentId, {
    set: {
      status: "FAILED",
      failureReason: `Delete failed: ${reason} Send DELETE again to retry.`,
      activeWorkflow: null,
      updatedAt: nowIso(),
    },
    event: { at: nowIso(), status: "FAILED", message: `Delete failed: ${reason}` },
  });
  return input;
}
