import { BUILTIN_CATALOG } from "#lambdas/catalog/builtin.ts";
import { getEntry, listEntries } from "#lambdas/catalog/catalog-repository.ts";

const BUILTIN_TYPES: readonly string[] = BUILTIN_CATALOG.artifactTypes.map((t) => t.name);

/**
 * The artifact types an upload may use, as far as `wanted` needs: the built-ins, plus the user-added
 * catalog entries (one GetItem when `wanted` is not built in; when it is unknown, a page of the
 * catalog for the error message, so that the caller learns what exists).
 */
export async function knownArtifactTypes(wanted: string): Promise<string[]> {
  if (BUILTIN_TYPES.includes(wanted)) return [...BUILTIN_TYPES];
  if (await getEntry("artifact-types", wanted)) return [...BUILTIN_TYPES, wanted];
  const page = await listEntries("artifact-types", { limit: 100 });
  return [...new Set([...BUILTIN_TYPES, ...page.items.map((record) => record.entry.name)])];
}
