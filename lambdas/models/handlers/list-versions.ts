import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listModelVersions } from "../models.ts";
import { listVersionsRoute } from "../routes.ts";

export const handler = httpHandler(listVersionsRoute, async ({ caller, params, query }) =>
  ok(await listModelVersions(caller, params.projectId, params.modelId, query)),
);
