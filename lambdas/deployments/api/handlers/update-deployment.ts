import { updateDeployment } from "#lambdas/deployments/api/deployment-operations.ts";
import { updateDeploymentRoute } from "#lambdas/deployments/api/routes.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { accepted } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(updateDeploymentRoute, async ({ caller, params, body }) =>
  accepted(await updateDeployment(caller, params.projectId, params.deploymentId, body)),
);
