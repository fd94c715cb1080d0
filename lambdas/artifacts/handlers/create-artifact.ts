import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { createArtifact } from "../artifacts.ts";
import { createArtifactRoute } from "../routes.ts";

export const handler = httpHandler(createArtifactRoute, async ({ caller, params, body }) =>
  created(await createArtifact(caller, params.projectId, params.experimentId, body)),
);
