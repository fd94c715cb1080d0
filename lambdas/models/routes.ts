import * as z from "zod";
import { experimentIdParam, experimentSchema } from "#lambdas/experiments/routes.ts";
import { projectIdParam } from "#lambdas/projects/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import {
  conflictError,
  idParam,
  listQuery,
  pageOf,
  standardErrors,
  text,
} from "#lambdas/shared/http/schemas.ts";

export const modelIdParam = idParam("mdl");

export const modelSchema = z
  .object({
    modelId: z.string(),
    projectId: z.string(),
    name: z.string(),
    description: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: "RegisteredModel" });

const artifactPinSchema = z
  .object({
    artifactId: z.string(),
    type: z.string(),
    sha256: z.string(),
    sizeBytes: z.int(),
    objectKey: z.string(),
    etag: z.string(),
    versionId: z.string().nullable().describe("The S3 object version (versioned buckets)"),
  })
  .meta({ id: "ArtifactPin" });

export const modelVersionSchema = z
  .object({
    modelId: z.string(),
    projectId: z.string(),
    version: z.int().min(1),
    experimentId: z.string(),
    artifact: artifactPinSchema
      .nullable()
      .describe("Exactly the bytes this version is; null if the experiment had no READY artifact"),
    createdAt: z.string(),
    createdBy: z.string(),
  })
  .meta({ id: "ModelVersion" });

const modelVersionWithExperimentSchema = modelVersionSchema
  .extend({ experiment: experimentSchema })
  .meta({ id: "ModelVersionWithExperiment" });

const projectParams = z.object({ projectId: projectIdParam });
const modelParams = z.object({ projectId: projectIdParam, modelId: modelIdParam });
const versionParams = modelParams.extend({
  version: z
    .string()
    .regex(/^[1-9][0-9]{0,9}$/, "version must be a version number: 1, 2, 3 …")
    .transform(Number),
});

const handlers = "lambdas/models/handlers";

export const createModelRoute = defineRoute({
  operationId: "createModel",
  method: "POST",
  path: "/v1/projects/{projectId}/models",
  summary: "Create a registered model; names are unique in a project (editors)",
  tag: "models",
  handler: `${handlers}/create-model.ts`,
  params: projectParams,
  body: z.strictObject({
    name: text("name", { max: 200, notBlank: true, trim: true }),
    description: text("description", { max: 2000 }).optional(),
  }),
  responses: { 201: { description: "Created", schema: modelSchema }, ...standardErrors, ...conflictError },
});

export const listModelsRoute = defineRoute({
  operationId: "listModels",
  method: "GET",
  path: "/v1/projects/{projectId}/models",
  summary: "List a project's registered models, oldest first",
  tag: "models",
  handler: `${handlers}/list-models.ts`,
  params: projectParams,
  query: listQuery,
  responses: { 200: { description: "A page of models", schema: pageOf(modelSchema) }, ...standardErrors },
});

export const getModelRoute = defineRoute({
  operationId: "getModel",
  method: "GET",
  path: "/v1/projects/{projectId}/models/{modelId}",
  summary: "Show a registered model",
  tag: "models",
  handler: `${handlers}/get-model.ts`,
  params: modelParams,
  responses: { 200: { description: "The model", schema: modelSchema }, ...standardErrors },
});

export const registerVersionRoute = defineRoute({
  operationId: "registerModelVersion",
  method: "POST",
  path: "/v1/projects/{projectId}/models/{modelId}/versions",
  summary:
    "Register an experiment as the model's next version (1, 2, 3 …); an experiment becomes at most one version",
  tag: "models",
  handler: `${handlers}/register-version.ts`,
  params: modelParams,
  body: z.strictObject({ experimentId: experimentIdParam }),
  responses: {
    201: { description: "The new version", schema: modelVersionSchema },
    ...standardErrors,
    ...conflictError,
  },
  // A registration gives up after 18 s under contention (lambdas/models/models.ts).
  lambda: { timeoutSeconds: 29 },
});

export const listVersionsRoute = defineRoute({
  operationId: "listModelVersions",
  method: "GET",
  path: "/v1/projects/{projectId}/models/{modelId}/versions",
  summary: "List a model's versions, version 1 first",
  tag: "models",
  handler: `${handlers}/list-versions.ts`,
  params: modelParams,
  query: listQuery,
  responses: {
    200: { description: "A page of versions", schema: pageOf(modelVersionSchema) },
    ...standardErrors,
  },
});

export const getVersionRoute = defineRoute({
  operationId: "getModelVersion",
  method: "GET",
  path: "/v1/projects/{projectId}/models/{modelId}/versions/{version}",
  summary: "Show a model version with its experiment",
  tag: "models",
  handler: `${handlers}/get-version.ts`,
  params: versionParams,
  responses: {
    200: { description: "The version and its experiment", schema: modelVersionWithExperimentSchema },
    ...standardErrors,
  },
});

export const modelRoutes = [
  createModelRoute,
  listModelsRoute,
  getModelRoute,
  registerVersionRoute,
  listVersionsRoute,
  getVersionRoute,
];
