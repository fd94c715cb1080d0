import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listCompositions } from "../catalog.ts";
import { listCompositionsRoute } from "../routes.ts";

export const handler = httpHandler(listCompositionsRoute, async ({ caller, query }) =>
  ok(await listCompositions(caller, query.artifactType, query.framework)),
);
