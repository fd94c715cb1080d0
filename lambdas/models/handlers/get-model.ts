import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showModel } from "../models.ts";
import { getModelRoute } from "../routes.ts";

export const handler = httpHandler(getModelRoute, async ({ caller, params }) =>
  ok(await showModel(caller, params.projectId, params.modelId)),
);
