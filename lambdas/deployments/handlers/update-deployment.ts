import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { accepted } from "#lambdas/shared/http/respond.ts";
import { updateDeployment } from "../deployments.ts";
import { updateDeploymentRoute } from "../routes.ts";

export const handler = httpHandler(updateDeploymentRoute, async ({ caller, params, body }) =>
  accepted(await updateDeployment(caller, params.projectId, params.deploymentId, body)),
);
