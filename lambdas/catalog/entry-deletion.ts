import type { Caller } from "#lambdas/shared/caller.ts";
import { deleteCatalogEntry } from "./catalog.ts";
import type { CatalogKind } from "./entries.ts";
import { deleteExecutionRole } from "./images/execution-role.ts";
import { imageImportSettings } from "./images/import-settings.ts";

/**
 * DELETE /v1/catalog/{kind}: the entry, then the execution role its image had (docs/catalog.md,
 * "Permissions"). Apart from image-import.ts, which starts jobs: this handler sends to no queue.
 */
export async function deleteCatalogEntryWithImage(caller: Caller, kind: CatalogKind, name: string) {
  await deleteCatalogEntry(caller, kind, name);
  const roles = imageImportSettings()?.executionRoles;
  if (roles && (kind === "artifact-processors" || kind === "runtimes"))
    await deleteExecutionRole(roles.iam, kind, name);
}
