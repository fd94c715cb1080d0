import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { createDeployment } from "../deployments.ts";
import { createDeploymentRoute } from "../routes.ts";

export const handler = httpHandler(createDeploymentRoute, async ({ caller, params, body }) =>
  created(await createDeployment(caller, params.projectId, body)),
);
