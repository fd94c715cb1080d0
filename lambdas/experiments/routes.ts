import * as z from "zod";
import { jobAccepted } from "#lambdas/jobs/routes.ts";
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
import { metadataKeySchema, metadataPatchSchema, metadataSchema, metadataValueView } from "./metadata.ts";

export const experimentIdParam = idParam("exp");

export const experimentSchema = z
  .object({
    experimentId: z.string(),
    projectId: z.string(),
    name: z.string(),
    description: z.string(),
    metadata: z.record(metadataKeySchema, metadataValueView),
    createdAt: z.string(),
    updatedAt: z.string(),
    createdBy: z.string(),
    registeredAs: z
      .object({ modelId: z.string(), version: z.int().min(1) })
      .nullable()
      .describe("The model version this experiment became, or null"),
  })
  .meta({ id: "Experiment" });

const projectParams = z.object({ projectId: projectIdParam });
const experimentParams = z.object({ projectId: projectIdParam, experimentId: experimentIdParam });

const handlers = "lambdas/experiments/handlers";

export const createExperimentRoute = defineRoute({
  operationId: "createExperiment",
  method: "POST",
  path: "/v1/projects/{projectId}/experiments",
  summary: "Create an experiment with optional typed metadata (editors)",
  tag: "experiments",
  handler: `${handlers}/create-experiment.ts`,
  params: projectParams,
  body: z.strictObject({
    name: text("name", { max: 200, notBlank: true, trim: true }),
    description: text("description", { max: 2000 }).optional(),
    metadata: metadataSchema.optional(),
  }),
  responses: { 201: { description: "Created", schema: experimentSchema }, ...standardErrors },
});

export const listExperimentsRoute = defineRoute({
  operationId: "listExperiments",
  method: "GET",
  path: "/v1/projects/{projectId}/experiments",
  summary: "List a project's experiments, oldest first",
  tag: "experiments",
  handler: `${handlers}/list-experiments.ts`,
  params: projectParams,
  query: listQuery,
  responses: {
    200: { description: "A page of experiments", schema: pageOf(experimentSchema) },
    ...standardErrors,
  },
});

export const getExperimentRoute = defineRoute({
  operationId: "getExperiment",
  method: "GET",
  path: "/v1/projects/{projectId}/experiments/{experimentId}",
  summary: "Show an experiment with its metadata",
  tag: "experiments",
  handler: `${handlers}/get-experiment.ts`,
  params: experimentParams,
  responses: { 200: { description: "The experiment", schema: experimentSchema }, ...standardErrors },
});

export const patchExperimentRoute = defineRoute({
  operationId: "patchExperiment",
  method: "PATCH",
  path: "/v1/projects/{projectId}/experiments/{experimentId}",
  summary: "Merge metadata into an experiment: a value object sets a key, null removes it (editors)",
  tag: "experiments",
  handler: `${handlers}/patch-experiment.ts`,
  params: experimentParams,
  body: z.strictObject({ metadata: metadataPatchSchema }),
  responses: {
    200: { description: "The updated experiment", schema: experimentSchema },
    ...standardErrors,
    413: { description: "The experiment would exceed its size limit", schema: standardErrors[400].schema },
  },
});

export const deleteExperimentRoute = defineRoute({
  operationId: "deleteExperiment",
  method: "DELETE",
  path: "/v1/projects/{projectId}/experiments/{experimentId}",
  summary:
    "Delete an experiment at once and its artifacts in a job (editors; refused once it is a model version)",
  tag: "experiments",
  handler: `${handlers}/delete-experiment.ts`,
  params: experimentParams,
  responses: { ...jobAccepted, ...standardErrors, ...conflictError },
});

export const experimentRoutes = [
  createExperimentRoute,
  listExperimentsRoute,
  getExperimentRoute,
  patchExperimentRoute,
  deleteExperimentRoute,
];
