import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { registerVersion } from "../models.ts";
import { registerVersionRoute } from "../routes.ts";

export const handler = httpHandler(registerVersionRoute, async ({ caller, params, body }) =>
  created(await registerVersion(caller, params.projectId, params.modelId, body.experimentId)),
);
