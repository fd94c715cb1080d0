import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import { addCatalogEntry } from "../catalog.ts";
import type { CatalogEntry } from "../entries.ts";
import { addCatalogEntryRoute } from "../routes.ts";

export const handler = httpHandler(addCatalogEntryRoute, async ({ caller, body }) => {
  const { kind, ...entry } = body;
  return created(await addCatalogEntry(caller, kind, entry as CatalogEntry));
});
