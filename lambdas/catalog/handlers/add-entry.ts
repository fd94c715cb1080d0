import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { addCatalogEntry } from "../catalog.ts";
import { addCatalogEntryRoute } from "../routes.ts";

export const handler = httpHandler(addCatalogEntryRoute, async ({ caller, params, body }) =>
  created(await addCatalogEntry(caller, params.kind, body)),
);
