import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { accepted } from "#lambdas/shared/http/respond.ts";
import { deleteDeployment } from "../deployments.ts";
import { deleteDeploymentRoute } from "../routes.ts";

export const handler = httpHandler(deleteDeploymentRoute, async ({ caller, params }) =>
  accepted(await deleteDeployment(caller, params.projectId, params.deploymentId)),
);
