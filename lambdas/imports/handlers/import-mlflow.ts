import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { importFromMlflow } from "../imports.ts";
import { importMlflowRoute } from "../routes.ts";

export const handler = httpHandler(importMlflowRoute, async ({ caller, params, body }) =>
  created(await importFromMlflow(caller, params.projectId, body)),
);
