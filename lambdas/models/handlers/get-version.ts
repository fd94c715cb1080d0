import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showModelVersion } from "../models.ts";
import { getVersionRoute } from "../routes.ts";

export const handler = httpHandler(getVersionRoute, async ({ caller, params }) =>
  ok(await showModelVersion(caller, params.projectId, params.modelId, params.version)),
);
