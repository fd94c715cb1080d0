import {
  type DeploymentRecord,
  deploymentPathPrefix,
  type ResolvedTarget,
  type Slot,
  shadowPathPrefix,
} from "#lambdas/deployments/deployment-record.ts";
import { changeDeployment } from "#lambdas/deployments/deployments-repository.ts";
import type { ServingInfrastructure, TrafficRule } from "#lambdas/deployments/serving/serving-port.ts";
import {
  describeTarget,
  heldDeployment,
  targetGroupOf,
} from "#lambdas/deployments/workflow/held-deployment.ts";
import type { PreparedDeploy, SwitchedDeploy } from "#lambdas/deployments/workflow/workflow-io.ts";
import { nowIso } from "#lambdas/shared/ids.ts";

/**
 * Whether a slot can serve `target` as far as the shadow listener goes: a challenger needs a target
 * group on the shadow load balancer when that is a load balancer of its own.
 */
export const needsShadowGroup = (target: ResolvedTarget, infra: ServingInfrastructure) =>
  target.role === "challenger" && infra.shadowBaseUrl !== undefined && infra.shadowTargetGroups;
export const hasShadowGroupIfNeeded = (slot: Slot, target: ResolvedTarget, infra: ServingInfrastructure) =>
  !needsShadowGroup(target, infra) || slot.resources.shadowTargetGroupArn !== undefined;

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
export async function syncShadowRule(
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
  const record = await heldDeployment(input);
  const live = record.pendingSlots;
  await syncShadowRule(record, live, infra, input.workflowId);
  const ruleArn = await infra.putTrafficRule(
    trafficRuleFor(input.deploymentId, live),
    record.trafficRuleArn ?? undefined,
  );
  // Before the switch is recorded: a failed put fails the workflow, which then retries.
  await infra.putDeploymentAlarms(input.deploymentId, record.name);
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
      message: `Serving revision ${record.revision}: ${live.map((s) => `${describeTarget(s.target)} ${s.target.role === "challenger" ? "in shadow" : `${s.target.weight}%`}`).join(", ")}.`,
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
