import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showExperiment } from "../experiments.ts";
import { getExperimentRoute } from "../routes.ts";

export const handler = httpHandler(getExperimentRoute, async ({ caller, params }) =>
  ok(await showExperiment(caller, params.projectId, params.experimentId)),
);
