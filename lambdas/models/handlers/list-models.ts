import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listModels } from "../models.ts";
import { listModelsRoute } from "../routes.ts";

export const handler = httpHandler(listModelsRoute, async ({ caller, params, query }) =>
  ok(await listModels(caller, params.projectId, query)),
);
