import * as z from "zod";
import { deploymentIdParam } from "#lambdas/deployments/api/routes.ts";
import { modelIdParam } from "#lambdas/models/routes.ts";
import { MAX_REFERENCE_BYTES, REFERENCE_FORMATS } from "#lambdas/monitoring/reference-dataset-keys.ts";
import { projectIdParam } from "#lambdas/projects/routes.ts";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import { instant, standardErrors } from "#lambdas/shared/http/schemas.ts";

const thresholdsSchema = z.object({
  psi: z.number().describe("A PSI above this is drift"),
  missingRateChange: z.number().describe("A missing rate that moves by more than this (0–1) is drift"),
});

const columnSchema = z.object({
  name: z.string(),
  kind: z.enum(["input", "output"]),
  type: z.string().describe("The schema's column type"),
  psi: z.number().nullable().describe("Population stability index; null when either side has no values"),
  missingRate: z.object({ baseline: z.number(), current: z.number(), change: z.number() }),
  rows: z.object({ baseline: z.int(), current: z.int() }),
  drifted: z.boolean(),
  thresholds: thresholdsSchema,
  bins: z
    .array(z.object({ bin: z.string(), baseline: z.number(), current: z.number() }))
    .describe("Share of the non-missing values per bin: baseline deciles, or categories plus (other)"),
});

export const driftReportSchema = z
  .object({
    deploymentId: z.string(),
    window: z
      .object({ start: z.string(), end: z.string() })
      .describe("The window's rows: captured at or after start and before end"),
    thresholds: thresholdsSchema,
    capture: z.object({ samplePercent: z.number(), baselineRows: z.int() }),
    targets: z.array(
      z.object({
        modelId: z.string(),
        modelName: z.string(),
        version: z.int(),
        role: z.enum(["primary", "champion", "challenger"]),
        baseline: z.object({
          source: z
            .enum(["reference", "captured"])
            .describe("The version's reference dataset, or (none attached) its first captured rows"),
          rows: z.int().describe("Rows in the baseline so far"),
          wanted: z.int().describe("The deployment's baselineRows (captured baselines only)"),
        }),
        rows: z.int().describe("Captured rows in the window, after the baseline's"),
        drifted: z
          .boolean()
          .nullable()
          .describe("Any column drifted; null before there is anything to compare"),
        columns: z.array(columnSchema),
      }),
    ),
  })
  .meta({ id: "DriftReport" });

export const getDeploymentDriftRoute = defineRoute({
  operationId: "getDeploymentDrift",
  method: "GET",
  path: "/v1/projects/{projectId}/deployments/{deploymentId}/drift",
  summary: "Drift of a deployment's inputs and outputs against each version's baseline (docs/monitoring.md)",
  tag: "deployments",
  handler: "lambdas/monitoring/handlers/get-deployment-drift.ts",
  params: z.object({ projectId: projectIdParam, deploymentId: deploymentIdParam }),
  query: z.object({
    from: instant().optional().describe("Start of the window (ISO 8601); default: 7 days before `to`"),
    to: instant().optional().describe("End of the window, exclusive (ISO 8601); default: now"),
  }),
  // Reads up to a few million captured rows (docs/benchmarks.md: 1 M rows).
  lambda: { timeoutSeconds: 29, memoryMb: 3008 },
  responses: {
    200: { description: "The drift per target and column", schema: driftReportSchema },
    ...standardErrors,
  },
});

export const attachReferenceDatasetRoute = defineRoute({
  operationId: "attachReferenceDataset",
  method: "PUT",
  path: "/v1/projects/{projectId}/models/{modelId}/versions/{version}/reference-dataset",
  summary:
    "Attach a CSV or Parquet reference dataset to a model version: its drift baseline (editors); answers a presigned PUT",
  tag: "models",
  handler: "lambdas/monitoring/handlers/attach-reference-dataset.ts",
  params: z.object({
    projectId: projectIdParam,
    modelId: modelIdParam,
    version: z.coerce
      .number()
      .int()
      .min(1, "versions start at 1")
      .max(2 ** 31),
  }),
  body: z.strictObject({
    format: z.enum(REFERENCE_FORMATS).describe("csv (a header row of column names) or parquet"),
    sizeBytes: z
      .int("sizeBytes must be a whole number")
      .min(1)
      .max(MAX_REFERENCE_BYTES)
      .describe("The file's size; the upload must send exactly this many bytes"),
  }),
  responses: {
    200: {
      description:
        "Upload the file with the presigned PUT (sending the headers given); the last one uploaded is the baseline",
      schema: z
        .object({
          modelId: z.string(),
          version: z.int(),
          format: z.enum(REFERENCE_FORMATS),
          objectKey: z.string(),
          upload: z.object({
            method: z.literal("PUT"),
            url: z.string(),
            headers: z.record(z.string(), z.string()),
          }),
          expiresAt: z.string(),
        })
        .meta({ id: "ReferenceDatasetUpload" }),
    },
    ...standardErrors,
  },
});

export const driftRoutes = [getDeploymentDriftRoute, attachReferenceDatasetRoute];
