import type { DeploymentRecord } from "#lambdas/deployments/deployment-record.ts";
import { changeDeployment } from "#lambdas/deployments/deployments-repository.ts";
import { everyDeployment } from "#lambdas/deployments/every-deployment.ts";
import type { ServingInfrastructure } from "#lambdas/deployments/serving/serving-port.ts";
import { workflowRunning } from "#lambdas/deployments/workflow-executions.ts";
import { nowIso } from "#lambdas/shared/ids.ts";
import { logger } from "#lambdas/shared/logger.ts";

/**
 * The health monitor (a scheduled job): a HEALTHY deployment whose runtime stops answering becomes
 * UNHEALTHY, with the reason as an event, and HEALTHY again once every runtime answers. Deployments a
 * workflow holds are left to it.
 */
export async function monitorDeployments(infra: ServingInfrastructure): Promise<number> {
  let changed = 0;
  for await (const record of everyDeployment()) {
    if (await monitorDeployment(record, infra)) changed += 1;
  }
  return changed;
}

/** A hold older than this, by an execution that no longer runs, is released by the monitor. */
const STALE_HOLD_MS = 2 * 60_000;

async function monitorDeployment(record: DeploymentRecord, infra: ServingInfrastructure): Promise<boolean> {
  if (record.activeWorkflow) return releaseAbandoned(record, record.activeWorkflow);
  if (record.status !== "HEALTHY" && record.status !== "UNHEALTHY") return false;
  const failing: string[] = [];
  for (const slot of record.slots) {
    const health = await infra.runtimeHealth(slot).catch((error: Error) => ({
      state: "failing" as const,
      detail: error.message,
    }));
    if (health.state !== "healthy") {
      failing.push(
        `${slot.target.modelName} v${slot.target.version} (${slot.target.runtime}): ${health.detail}`,
      );
    }
  }
  const next = failing.length > 0 ? "UNHEALTHY" : "HEALTHY";
  if (next === record.status) return false;
  const message =
    next === "UNHEALTHY"
      ? `Stopped answering: ${failing.join("; ")}`
      : "Every runtime answers its health check again.";
  // Conditional on no workflow holding it: a change that starts meanwhile wins.
  const applied = await changeDeployment(record.projectId, record.deploymentId, {
    set: { status: next, updatedAt: nowIso() },
    event: { at: nowIso(), status: next, message },
    idle: true,
  });
  if (applied) logger.info("deployment health changed", { deploymentId: record.deploymentId, status: next });
  return applied;
}

/**
 * A workflow that stopped without finishing (timed out, stopped, or lost with local mode's process)
 * cannot release its deployment: the monitor does, and says so. What it built stays recorded on the
 * deployment, so the next PATCH or DELETE removes it.
 */
async function releaseAbandoned(record: DeploymentRecord, holder: string): Promise<boolean> {
  if (Date.now() - Date.parse(record.updatedAt) < STALE_HOLD_MS || (await workflowRunning(holder)))
    return false;
  const serving = record.liveRevision > 0 && record.status !== "DELETING";
  const reason = `The workflow ${holder} stopped before it finished. ${
    record.status === "DELETING" ? "Send DELETE again." : "PATCH the deployment to retry, or DELETE it."
  }`;
  const applied = await changeDeployment(record.projectId, record.deploymentId, {
    set: {
      activeWorkflow: null,
      failureReason: reason,
      ...(serving ? {} : { status: "FAILED" as const }),
      updatedAt: nowIso(),
    },
    event: { at: nowIso(), status: serving ? record.status : "FAILED", message: reason },
    heldBy: holder,
  });
  if (applied)
    logger.warn("released a deployment held by a stopped workflow", {
      deploymentId: record.deploymentId,
      holder,
    });
  return applied;
}
