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
  /**
   * Pins an image URI to `repository@sha256:…` (on AWS: ECR's digest of the asset), so built-ins
   * take the same path as any entry whose image is in this account's ECR (docs/catalog.md).
   */
  readonly pinImage?: (uri: string) => Promise<string>;
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
      const uri = "image" in declared ? options.imageUris?.[declared.image] : undefined;
      const entry = uri
        ? {
            ...declared,
            image: uri,
            ...(options.pinImage
              ? { pinnedImage: await options.pinImage(uri), imageStatus: "READY" as const }
              : {}),
          }
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
