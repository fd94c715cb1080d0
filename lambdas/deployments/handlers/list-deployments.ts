import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listDeployments } from "../deployments.ts";
import { listDeploymentsRoute } from "../routes.ts";

export const handler = httpHandler(listDeploymentsRoute, async ({ caller, params, query }) =>
  ok(await listDeployments(caller, params.projectId, query)),
);
