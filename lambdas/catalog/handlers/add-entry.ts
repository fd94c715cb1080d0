import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { created } from "#lambdas/shared/http/respond.ts";
import type { CatalogEntry } from "../entries.ts";
import { addCatalogEntryWithImage } from "../image-import.ts";
import { addCatalogEntryRoute } from "../routes.ts";

export const handler = httpHandler(addCatalogEntryRoute, async ({ caller, body }) => {
  const { kind, ...entry } = body;
  return created(await addCatalogEntryWithImage(caller, kind, entry as CatalogEntry));
});
