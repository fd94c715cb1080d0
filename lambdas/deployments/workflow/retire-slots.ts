import { albUseOf } from "#lambdas/deployments/alb-quotas.ts";
import { settleAlbReservation } from "#lambdas/deployments/alb-reservations.ts";
import type { Slot } from "#lambdas/deployments/deployment-record.ts";
import { changeDeployment, getDeployment } from "#lambdas/deployments/deployments-repository.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import { removeSlotDir } from "#lambdas/deployments/workflow/models-volume.ts";
import type { SwitchedDeploy, WorkflowInput } from "#lambdas/deployments/workflow/workflow-io.ts";
import { nowIso } from "#lambdas/shared/ids.ts";

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
  if (resources.processorTaskDefinitionArn)
    await infra.deleteProcessorTask(resources.processorTaskDefinitionArn);
  if (resources.accessPointId) await infra.deleteSlotVolume(resources.accessPointId);
  if (resources.passphraseSecretArn) await infra.deleteRuntimeSecret(resources.passphraseSecretArn);
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
  // The revision's peak reservation comes down to what the deployment holds now.
  const record = await getDeployment(input.projectId, input.deploymentId);
  if (record) await settleAlbReservation(input.deploymentId, input.workflowId, albUseOf(record));
  return { projectId: input.projectId, deploymentId: input.deploymentId, workflowId: input.workflowId };
}
