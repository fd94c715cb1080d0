import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showDeployment } from "../deployments.ts";
import { getDeploymentRoute } from "../routes.ts";

export const handler = httpHandler(getDeploymentRoute, async ({ caller, params }) =>
  ok(await showDeployment(caller, params.projectId, params.deploymentId)),
);
