import { deleteDeployment } from "#lambdas/deployments/api/deployment-operations.ts";
import { deleteDeploymentRoute } from "#lambdas/deployments/api/routes.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { accepted } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(deleteDeploymentRoute, async ({ caller, params }) =>
  accepted(await deleteDeployment(caller, params.projectId, params.deploymentId)),
);
