import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { createModel } from "../models.ts";
import { createModelRoute } from "../routes.ts";

export const handler = httpHandler(createModelRoute, async ({ caller, params, body }) =>
  created(await createModel(caller, params.projectId, body)),
);
