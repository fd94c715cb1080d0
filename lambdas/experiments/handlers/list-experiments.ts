import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listExperiments } from "../experiments.ts";
import { listExperimentsRoute } from "../routes.ts";

export const handler = httpHandler(listExperimentsRoute, async ({ caller, params, query }) =>
  ok(await listExperiments(caller, params.projectId, query)),
);
