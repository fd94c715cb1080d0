import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { createExperiment } from "../experiments.ts";
import { createExperimentRoute } from "../routes.ts";

export const handler = httpHandler(createExperimentRoute, async ({ caller, params, body }) =>
  created(await createExperiment(caller, params.projectId, body)),
);
