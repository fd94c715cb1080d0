import * as z from "zod";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import { errorBody, listQuery, pageOf, standardErrors, text } from "#lambdas/shared/http/schemas.ts";
import {
  CATALOG_KIND_NAMES,
  catalogEntryView,
  catalogName,
  compositionSchema,
  newCatalogEntrySchema,
} from "./entries.ts";

const kindParams = z.object({
  kind: z
    .enum(CATALOG_KIND_NAMES)
    .describe("artifact-types, deployable-artifact-types, artifact-processors, model-types or runtimes"),
});

const handlers = "lambdas/catalog/handlers";

// Literal paths (compositions, entries) win over /v1/catalog/{kind}, as in API Gateway and OpenAPI.
export const listCompositionsRoute = defineRoute({
  operationId: "listCompositions",
  method: "GET",
  path: "/v1/catalog/compositions",
  summary: "The valid deployable type → processor → model type → runtime paths for an artifact type",
  tag: "catalog",
  handler: `${handlers}/list-compositions.ts`,
  query: z.object({
    artifactType: text("artifactType", { min: 1, max: 128 }).describe("e.g. python/mlflow"),
    framework: text("framework", { min: 1, max: 128 })
      .optional()
      .describe("Only runtimes that serve this framework"),
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
  path: "/v1/catalog/entries",
  summary: "Add a catalog entry of any kind (installation admins; built-ins cannot be overwritten)",
  tag: "catalog",
  handler: `${handlers}/add-entry.ts`,
  admin: true,
  // On AWS it reads the image's manifest from its registry (a few round trips) before answering.
  lambda: { timeoutSeconds: 29 },
  body: newCatalogEntrySchema,
  responses: {
    201: {
      description:
        "Added. On AWS a processor's or runtime's image is pinned by digest: imageStatus READY when it is in this account's ECR, IMPORTING while a job copies it there (then READY, or FAILED with imageStatusReason)",
      schema: catalogEntryView,
    },
    ...standardErrors,
    400: {
      description:
        "The body is not valid, or (on AWS) the image cannot be read: malformed reference, registry unreachable, no such image, access refused, no linux/amd64 image",
      schema: errorBody,
    },
    409: {
      description:
        "The name is taken, a referenced entry does not exist (UNKNOWN_CATALOG_ENTRY) or the kind is full (CATALOG_LIMIT_REACHED)",
      schema: errorBody,
    },
  },
});

export const deleteCatalogEntryRoute = defineRoute({
  operationId: "deleteCatalogEntry",
  method: "DELETE",
  path: "/v1/catalog/{kind}",
  summary: "Delete a catalog entry that nothing uses (installation admins; built-ins stay)",
  tag: "catalog",
  handler: `${handlers}/delete-entry.ts`,
  admin: true,
  params: kindParams,
  query: z.object({ name: catalogName.describe("The entry's name, e.g. python/mlflow") }),
  responses: {
    204: { description: "Deleted" },
    ...standardErrors,
    409: {
      description: "A built-in, or in use: a deployment runs it or another entry refers to it",
      schema: errorBody,
    },
  },
});

export const catalogRoutes = [
  listCompositionsRoute,
  addCatalogEntryRoute,
  listCatalogRoute,
  deleteCatalogEntryRoute,
];
