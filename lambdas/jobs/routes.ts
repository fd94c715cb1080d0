import * as z from "zod";
import { defineRoute } from "#lambdas/shared/http/route.ts";
import { idParam, standardErrors } from "#lambdas/shared/http/schemas.ts";
import { CATALOG_JOBS_PROJECT, JOB_KINDS, JOB_STATUSES } from "./job-kinds.ts";

export const jobIdParam = idParam("job");

export const jobSchema = z
  .object({
    jobId: z.string(),
    projectId: z.string(),
    kind: z.enum(JOB_KINDS),
    status: z.enum(JOB_STATUSES),
    progress: z.object({
      done: z.int(),
      total: z.int().nullable(),
      message: z.string(),
    }),
    result: z.unknown().describe("What the job produced, once SUCCEEDED (null before)"),
    error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .describe("Why the job FAILED (null otherwise)"),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .meta({ id: "Job" });

/** The 202 answer of every operation that runs as a job. */
export const jobAccepted = {
  202: {
    description: "Accepted: the work runs as a job; follow it at `location` (also the Location header)",
    schema: z
      .object({ jobId: z.string(), status: z.enum(JOB_STATUSES), location: z.string() })
      .meta({ id: "JobAccepted" }),
  },
} as const;

export const getJobRoute = defineRoute({
  operationId: "getJob",
  method: "GET",
  path: "/v1/projects/{projectId}/jobs/{jobId}",
  summary: "Show a job: status QUEUED, RUNNING, SUCCEEDED (with result) or FAILED (with error), and progress",
  tag: "jobs",
  handler: "lambdas/jobs/handlers/get-job.ts",
  // Not projects/routes.ts's projectIdParam: that file imports jobAccepted from here.
  params: z.object({
    projectId: z
      .union([idParam("prj"), z.literal(CATALOG_JOBS_PROJECT)])
      .describe("The job's project, or `catalog` for the catalog's image imports (docs/catalog.md)"),
    jobId: jobIdParam,
  }),
  responses: { 200: { description: "The job", schema: jobSchema }, ...standardErrors },
});

export const jobRoutes = [getJobRoute];
