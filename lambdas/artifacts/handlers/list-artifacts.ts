import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listArtifacts } from "../artifacts.ts";
import { listArtifactsRoute } from "../routes.ts";

export const handler = httpHandler(listArtifactsRoute, async ({ caller, params, query }) =>
  ok(await listArtifacts(caller, params.projectId, params.experimentId, query)),
);
