import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { renewArtifactUpload } from "../artifacts.ts";
import { renewArtifactUploadRoute } from "../routes.ts";

export const handler = httpHandler(renewArtifactUploadRoute, async ({ caller, params }) =>
  ok(await renewArtifactUpload(caller, params)),
);
