import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { completeArtifactUpload } from "../artifacts.ts";
import { completeArtifactRoute } from "../routes.ts";

export const handler = httpHandler(completeArtifactRoute, async ({ caller, params, body }) =>
  ok(await completeArtifactUpload(caller, params, body.parts)),
);
