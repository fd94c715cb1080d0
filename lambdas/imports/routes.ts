import * as z from "zod";
import { artifactSchema } from "#lambdas/artifacts/routes.ts";
import { experimentSchema } from "#lambdas/experiments/routes.ts";
import { projectIdParam } from "#lambdas/projects/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import { conflictError, errorBody, standardErrors, text } from "#lambdas/shared/http/schemas.ts";

export const importMlflowRoute = defineRoute({
  operationId: "importMlflowModel",
  method: "POST",
  path: "/v1/projects/{projectId}/imports/mlflow",
  summary: "Import a model version from an MLflow Model Registry as a new experiment (editors)",
  tag: "imports",
  handler: "lambdas/imports/handlers/import-mlflow.ts",
  params: z.object({ projectId: projectIdParam }),
  body: z.strictObject({
    trackingUri: text("trackingUri", { max: 2048 })
      .meta({ format: "uri" })
      .describe(
        "Base URL of the MLflow tracking server (http or https). Hosts at loopback, private or link-local addresses are refused unless the installation allows them.",
      ),
    modelName: text("modelName", { max: 256, notBlank: true, trim: true }),
    version: z
      .union([
        z.int().min(1).max(Number.MAX_SAFE_INTEGER),
        z.string().regex(/^[1-9][0-9]{0,9}$/, "version must be a positive integer"),
      ])
      .transform(String)
      .describe("The registered model version, e.g. 3"),
  }),
  responses: {
    201: {
      description:
        "Imported: the experiment (with source_model_name/source_model_version) and its artifact, which ingestion picks up next",
      schema: z
        .object({ experiment: experimentSchema, artifact: artifactSchema })
        .meta({ id: "MlflowImport" }),
    },
    ...standardErrors,
    ...conflictError,
    502: {
      description: "The MLflow server is unreachable or answered something unusable",
      schema: errorBody,
    },
  },
  // The transfer runs in the request: up to the Lambda maximum (see docs/ingestion.md).
  lambda: { timeoutSeconds: 900, memoryMb: 1024 },
});

export const importRoutes = [importMlflowRoute];
