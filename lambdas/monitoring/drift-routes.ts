import * as z from "zod";
import { deploymentIdParam } from "#lambdas/deployments/api/routes.ts";
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
          source: z.enum(["captured"]),
          rows: z.int().describe("Rows in the baseline so far"),
          wanted: z.int().describe("The deployment's baselineRows"),
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

export const driftRoutes = [getDeploymentDriftRoute];
