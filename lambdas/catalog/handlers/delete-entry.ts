import { httpHandler } from "#lambdas/shared/http/handler.ts";
import { noContent } from "#lambdas/shared/http/respond.ts";
import { deleteCatalogEntryWithImage } from "../entry-deletion.ts";
import { deleteCatalogEntryRoute } from "../routes.ts";

export const handler = httpHandler(deleteCatalogEntryRoute, async ({ caller, params, query }) => {
  await deleteCatalogEntryWithImage(caller, params.kind, query.name);
  return noContent();
});
