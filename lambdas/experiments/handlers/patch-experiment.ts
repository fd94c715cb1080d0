import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { patchExperiment } from "../experiments.ts";
import { patchExperimentRoute } from "../routes.ts";

export const handler = httpHandler(patchExperimentRoute, async ({ caller, params, body }) =>
  ok(await patchExperiment(caller, params.projectId, params.experimentId, body.metadata)),
);
