import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { artifactDownload } from "../artifacts.ts";
import { downloadArtifactRoute } from "../routes.ts";

export const handler = httpHandler(downloadArtifactRoute, async ({ caller, params }) =>
  ok(await artifactDownload(caller, params)),
);
