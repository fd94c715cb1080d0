import { createDeployment } from "#lambdas/deployments/api/deployment-operations.ts";
import { createDeploymentRoute } from "#lambdas/deployments/api/routes.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(createDeploymentRoute, async ({ caller, params, body }) =>
  created(await createDeployment(caller, params.projectId, body)),
);
