import { showDeployment } from "#lambdas/deployments/api/deployment-operations.ts";
import { getDeploymentRoute } from "#lambdas/deployments/api/routes.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(getDeploymentRoute, async ({ caller, params }) =>
  ok(await showDeployment(caller, params.projectId, params.deploymentId)),
);
