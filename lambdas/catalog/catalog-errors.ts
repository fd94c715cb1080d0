import { ConflictError } from "#lambdas/shared/errors.ts";

/**
 * A reference (a runtime's modelType, an artifact's type) names no entry of the catalog. Its own
 * module: uploads raise it without loading the catalog's domain code.
 */
export class UnknownCatalogEntryError extends ConflictError {
  override readonly code = "UNKNOWN_CATALOG_ENTRY";
}
