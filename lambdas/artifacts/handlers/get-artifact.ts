import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { showArtifact } from "../artifacts.ts";
import { getArtifactRoute } from "../routes.ts";

export const handler = httpHandler(getArtifactRoute, async ({ caller, params }) =>
  ok(await showArtifact(caller, params)),
);
