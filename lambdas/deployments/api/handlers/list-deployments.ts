import { listDeployments } from "#lambdas/deployments/api/deployment-operations.ts";
import { listDeploymentsRoute } from "#lambdas/deployments/api/routes.ts";
import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";

export const handler = httpHandler(listDeploymentsRoute, async ({ caller, params, query }) =>
  ok(await listDeployments(caller, params.projectId, query)),
);
