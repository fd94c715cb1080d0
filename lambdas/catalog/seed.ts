import { BUILTIN_CATALOG } from "./builtin.ts";
import { putBuiltinEntry } from "./catalog-repository.ts";
import { CATALOG_KIND_NAMES, CATALOG_KINDS, type CatalogEntry } from "./entries.ts";

export const BUILTIN_CREATOR = "byom";

export interface SeedOptions {
  /**
   * Image folder (the built-ins' `image`) → image URI built for this deployment. On AWS the CDK app
   * passes the URIs of the images it built; local mode passes none and keeps the folder names.
   */
  readonly imageUris?: Readonly<Record<string, string>>;
}

/**
 * Writes every built-in catalog entry, marked builtIn. Idempotent: local mode runs it at every
 * start and the CDK app on every deploy that changes the catalog or an image.
 */
export async function seedBuiltinCatalog(options: SeedOptions = {}): Promise<number> {
  const seededAt = new Date().toISOString();
  let count = 0;
  for (const kind of CATALOG_KIND_NAMES) {
    const entries: readonly CatalogEntry[] = BUILTIN_CATALOG[CATALOG_KINDS[kind]];
    for (const [order, declared] of entries.entries()) {
      const entry =
        "image" in declared && options.imageUris?.[declared.image]
          ? { ...declared, image: options.imageUris[declared.image] as string }
          : declared;
      await putBuiltinEntry(
        { kind, entry, builtIn: true, order, createdAt: seededAt, createdBy: BUILTIN_CREATOR },
        seededAt,
      );
      count++;
    }
  }
  return count;
}
