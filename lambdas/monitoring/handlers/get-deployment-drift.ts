import { deploymentDrift } from "#lambdas/monitoring/drift-report.ts";
import { getDeploymentDriftRoute } from "#lambdas/monitoring/drift-routes.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(getDeploymentDriftRoute, async ({ caller, params, query }) =>
  ok(await deploymentDrift(caller, params.projectId, params.deploymentId, query)),
);
