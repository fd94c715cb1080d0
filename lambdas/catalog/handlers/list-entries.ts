import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { ok } from "#lambdas/shared/http/respond.ts";
import { listCatalog } from "../catalog.ts";
import { listCatalogRoute } from "../routes.ts";

export const handler = httpHandler(listCatalogRoute, async ({ caller, params, query }) =>
  ok(await listCatalog(caller, params.kind, query)),
);
