import * as z from "zod";
import { jobAccepted } from "#lambdas/jobs/routes.ts";
import { projectIdParam } from "#lambdas/projects/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import { standardErrors, text } from "#lambdas/shared/http/schemas.ts";

export const importMlflowRoute = defineRoute({
  operationId: "importMlflowModel",
  method: "POST",
  path: "/v1/projects/{projectId}/imports/mlflow",
  summary:
    "Import a model version from an MLflow Model Registry as a new experiment, in a job whose result is {experiment, artifact} (editors)",
  tag: "imports",
  handler: "lambdas/imports/handlers/import-mlflow.ts",
  params: z.object({ projectId: projectIdParam }),
  body: z.strictObject({
    trackingUri: text("trackingUri", { max: 2048 })
      .meta({ format: "uri" })
      .describe(
        "Base URL of the MLflow tracking server (http or https). Its host is resolved when the request arrives: one at a loopback, private or link-local address is refused with 400 VALIDATION_FAILED unless the installation allows it (context value byom:mlflowAllowedHosts), as is one whose lookup does not answer within 5 s; one that does not resolve is 404. The job checks again before it connects.",
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
  // The request only records the job; the job worker copies the files.
  responses: { ...jobAccepted, ...standardErrors },
  // Each import holds the job worker for up to minutes: far below the other writes' 25/s.
  throttle: { rateLimit: 2, burstLimit: 5 },
});

export const importRoutes = [importMlflowRoute];
