import * as z from "zod";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import { conflictError, listQuery, pageOf, standardErrors } from "#lambdas/shared/http/schemas.ts";
import { CATALOG_KIND_NAMES, catalogEntryView, compositionSchema } from "./entries.ts";

const kindParams = z.object({
  kind: z
    .enum(CATALOG_KIND_NAMES)
    .describe("artifact-types, deployable-artifact-types, artifact-processors, model-types or runtimes"),
});

const handlers = "lambdas/catalog/handlers";

// Declared before the {kind} routes: a router trying routes in order must match the literal path first.
export const listCompositionsRoute = defineRoute({
  operationId: "listCompositions",
  method: "GET",
  path: "/v1/catalog/compositions",
  summary: "The valid deployable type → processor → model type → runtime paths for an artifact type",
  tag: "catalog",
  handler: `${handlers}/list-compositions.ts`,
  query: z.object({
    artifactType: z.string().min(1, "artifactType is required, e.g. python/mlflow").max(128),
    framework: z.string().min(1).max(128).optional().describe("Only runtimes that serve this framework"),
  }),
  responses: {
    200: {
      description: "The compositions, in the order the deployer prefers them",
      schema: z
        .object({ artifactType: z.string(), items: z.array(compositionSchema) })
        .meta({ id: "Compositions" }),
    },
    ...standardErrors,
  },
});

export const listCatalogRoute = defineRoute({
  operationId: "listCatalogEntries",
  method: "GET",
  path: "/v1/catalog/{kind}",
  summary: "List one kind of catalog entries, by name",
  tag: "catalog",
  handler: `${handlers}/list-entries.ts`,
  params: kindParams,
  query: listQuery,
  responses: {
    200: { description: "A page of entries", schema: pageOf(catalogEntryView) },
    ...standardErrors,
  },
});

export const addCatalogEntryRoute = defineRoute({
  operationId: "addCatalogEntry",
  method: "POST",
  path: "/v1/catalog/{kind}",
  summary: "Add a catalog entry (any authenticated caller; built-ins cannot be overwritten)",
  tag: "catalog",
  handler: `${handlers}/add-entry.ts`,
  params: kindParams,
  body: z
    .looseObject({ name: z.string() })
    .describe(
      "Fields by kind: artifact-types and model-types {name, readableName}; deployable-artifact-types {name, readableName, artifactType}; artifact-processors {name, deployableArtifactType, modelType, image}; runtimes {name, modelType, image, env?, frameworks?}. References must name existing entries.",
    ),
  responses: {
    201: { description: "Added", schema: catalogEntryView },
    ...standardErrors,
    ...conflictError,
  },
});

export const catalogRoutes = [listCompositionsRoute, listCatalogRoute, addCatalogEntryRoute];
