/** GET …/deployments/{d}/metrics: who may read, which deployment, then the answer (metrics-answer.ts). */
import { DeploymentNotFoundError } from "#lambdas/deployments/api/deployment-operations.ts";
import { getDeployment } from "#lambdas/deployments/deployments-repository.ts";
import { authorize } from "#lambdas/projects/access.ts";
import type { Caller } from "#lambdas/shared/caller.ts";
import { type DeploymentMetrics, metricsWindow, readMetrics, type WindowInput } from "./metrics-answer.ts";
import type { MetricsSource } from "./metrics-source.ts";

export async function deploymentMetrics(
  caller: Caller,
  projectId: string,
  deploymentId: string,
  input: WindowInput,
  source: MetricsSource,
): Promise<DeploymentMetrics> {
  await authorize(caller, projectId, "viewer");
  const window = metricsWindow(input);
  const record = await getDeployment(projectId, deploymentId);
  if (!record) throw new DeploymentNotFoundError(projectId, deploymentId);
  return readMetrics(record, window, source);
}
